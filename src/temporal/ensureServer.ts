import type { Config } from '../config';
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
