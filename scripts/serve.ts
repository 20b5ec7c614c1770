/**
 * `npm run serve`: the model server on PERENNIAL_SERVER_HOST:PERENNIAL_SERVER_PORT
 * (127.0.0.1:8080), serving every model's registry champion from PERENNIAL_HOME and
 * following promotions and rollbacks without a restart. SIGTERM or SIGINT stops it
 * cleanly: no new requests, those in flight finish, the prediction log is flushed (a
 * clean stop loses no prediction), exit 0. Tuning: the PERENNIAL_SERVER_* settings
 * in src/config.ts.
 */
// First: the JIT's inlining budget must be set before the request path is compiled.
import '../src/serving/inliningBudget';
import { ConfigError, loadConfig } from '../src/config';
import { createLogger } from '../src/logging';
import { serveModels } from '../src/serving/serveModels';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, 'perennial-server');
  const { server } = await serveModels(config, logger);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'stopping: draining requests and flushing the prediction log');
    server.close().then(
      () => {
        logger.info('model server stopped');
        logger.flush?.();
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'unclean stop');
        logger.flush?.();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(err);
  process.exit(1);
});
