import type { Config } from '../config';
import type { Logger } from '../logging';
import { buildModelServer, type ModelServer } from './app';

/** The model server as configured, listening; `url` is where it answers. */
export async function serveModels(config: Config, logger: Logger): Promise<{ server: ModelServer; url: string }> {
  const { host, port, pollMs, flushMs, flushRows, logMaxPending, maxBodyBytes, maxInstances, requestTimeoutMs, heartbeatMs, livenessMs } = config.server;
  const server = await buildModelServer({ home: config.home, registryUrl: config.registryUrl, logger, pollMs, flushMs, flushRows, logMaxPending, maxBodyBytes, maxInstances, requestTimeoutMs, heartbeatMs, livenessMs });
  try {
    await server.app.listen({ host, port });
  } catch (err) {
    await server.close();
    throw err;
  }
  const address = server.app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const url = config.serverUrlIsExplicit ? config.server.url : `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  await server.presence.advertise(url);
  const models = server.champions.all().map((s) => (s.champion ? `${s.model} v${s.champion.version}` : `${s.model} (no champion)`));
  logger.info({ url, models }, `model server listening on ${url}`);
  return { server, url };
}
