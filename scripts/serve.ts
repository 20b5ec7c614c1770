/**
 * `npm run serve`: the model server on PERENNIAL_SERVER_HOST:PERENNIAL_SERVER_PORT
 * (127.0.0.1:8080), serving every model's registry champion from PERENNIAL_HOME and
 * following promotions and rollbacks without a restart. SIGTERM or SIGINT stops it
 * cleanly: no new requests, those in flight finish, the prediction log is flushed (a
 * clean stop loses no prediction), exit 0. Tuning (optional): PERENNIAL_SERVER_POLL_MS,
 * PERENNIAL_SERVER_FLUSH_MS, PERENNIAL_SERVER_FLUSH_ROWS, PERENNIAL_SERVER_MAX_BODY_BYTES,
 * PERENNIAL_SERVER_MAX_INSTANCES (src/serving/settings.ts).
 */
import { ConfigError, loadConfig } from '../src/config';
import { createLogger } from '../src/logging';
import { buildModelServer } from '../src/serving/app';
import { serverSettingsFromEnv } from '../src/serving/settings';

async function main(): Promise<void> {
  const config = loadConfig();
  const settings = serverSettingsFromEnv();
  const logger = createLogger(config.logLevel, 'perennial-server');
  const server = await buildModelServer({ home: config.home, logger, ...settings });
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
  try {
    await server.app.listen({ host: config.server.host, port: config.server.port });
  } catch (err) {
    await server.close();
    throw err;
  }
  const address = server.app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.server.port;
  const url = `http://${config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host}:${port}`;
  const models = server.champions.all().map((s) => (s.champion ? `${s.model} v${s.champion.version}` : `${s.model} (no champion)`));
  logger.info({ url, models }, `model server listening on ${url}`);
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(err);
  process.exit(1);
});
