import { connectConnection } from './connection';
import type { Config } from '../config';
import { registerSearchAttributes } from './searchAttributes';
import type { Logger } from '../logging';
import { isServerUp, startDevServer, type RunningDevServer } from './devServer';

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost']);

/**
 * Uses the Temporal server at the configured address if one answers there; otherwise
 * starts the local dev server on that address. Returns the server it started, if any.
 */
export async function ensureTemporalServer(config: Config, logger: Logger): Promise<RunningDevServer | undefined> {
  if (await isServerUp(config.temporalAddress)) {
    logger.info({ address: config.temporalAddress }, 'using the Temporal server already running there');
    return undefined;
  }
  const host = config.temporalAddress.slice(0, config.temporalAddress.lastIndexOf(':'));
  if (!LOCAL_HOSTS.has(host)) {
    throw new Error(`no Temporal server answers at TEMPORAL_ADDRESS=${config.temporalAddress}; start it, or unset TEMPORAL_ADDRESS to run the local one`);
  }
  return startDevServer({
    home: config.home,
    address: config.temporalAddress,
    uiPort: config.uiPort,
    namespace: config.namespace,
    log: logger.child({ component: 'temporal-server' }),
  });
}

/**
 * Makes sure the namespace has perennial's search attributes. On a cluster the worker
 * does this at start; where the operator API is not allowed (e.g. Temporal Cloud API
 * keys without admin rights) it warns and goes on: runs still work, only filtering by
 * those attributes does not.
 */
export async function prepareNamespace(config: Config, logger: Logger): Promise<void> {
  const connection = await connectConnection(config);
  try {
    const added = await registerSearchAttributes(connection, config.namespace);
    if (added.length) logger.info({ added, namespace: config.namespace }, 'registered search attributes');
  } catch (err) {
    logger.warn({ err: (err as Error).message, namespace: config.namespace }, 'could not register search attributes; create them in your cluster to filter runs in the Web UI');
  } finally {
    await connection.close();
  }
}
