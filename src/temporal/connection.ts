import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config';

/** A client for scripts and tests; the caller closes `client.connection`. */
export async function connectClient(config: Config, identity?: string): Promise<Client> {
  const connection = await Connection.connect({ address: config.temporalAddress, ...config.connection });
  return new Client({ connection, namespace: config.namespace, identity });
}

/** The worker's connection (Rust core). */
export function connectWorker(config: Config): Promise<NativeConnection> {
  return NativeConnection.connect({ address: config.temporalAddress, ...config.connection });
}
