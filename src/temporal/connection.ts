import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config';
import type { Logger } from '../logging';
import { installRuntime } from './runtime';

/** A client connection to the configured server (address, API key, TLS from config/envconfig). */
export function connectConnection(config: Config, o: { connectTimeoutMs?: number } = {}): Promise<Connection> {
  return Connection.connect({
    address: config.temporalAddress,
    ...config.connection,
    ...(o.connectTimeoutMs ? { connectTimeout: o.connectTimeoutMs } : {}),
  });
}

/** A client for scripts, the CLI and tests; the caller closes `client.connection`. */
export async function connectClient(config: Config, identity?: string, o: { connectTimeoutMs?: number } = {}): Promise<Client> {
  const connection = await connectConnection(config, o);
  return new Client({ connection, namespace: config.namespace, identity });
}

/** The worker's connection (Rust core); with a logger, the SDK's logs go to it (and its metrics to `config.workerMetrics`). */
export function connectWorker(config: Config, logger?: Logger): Promise<NativeConnection> {
  if (logger) installRuntime(logger, config.workerMetrics);
  return NativeConnection.connect({ address: config.temporalAddress, ...config.connection });
}
