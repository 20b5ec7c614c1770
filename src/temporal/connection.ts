import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config';
import type { Logger } from '../logging';
import { installRuntimeLogger } from './runtime';

/** A client for scripts and tests; the caller closes `client.connection`. */
export async function connectClient(config: Config, identity?: string): Promise<Client> {
  const connection = await Connection.connect({ address: config.temporalAddress, ...config.connection });
  return new Client({ connection, namespace: config.namespace, identity });
}

/** The worker's connection (Rust core); with a logger, the SDK's logs go to it. */
export function connectWorker(config: Config, logger?: Logger): Promise<NativeConnection> {
  if (logger) installRuntimeLogger(logger);
  return NativeConnection.connect({ address: config.temporalAddress, ...config.connection });
}
