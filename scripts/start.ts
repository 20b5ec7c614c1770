/**
 * `npm start`: the embedded default on one machine. Brings up the Temporal server (unless
 * TEMPORAL_ADDRESS points at a running one) and a worker, trains the demo model through
 * the durable training pipeline, prints where to watch it, and stays up until Ctrl-C.
 */
import { loadConfig, workflowUrl } from '../src/config';
import { createLogger } from '../src/logging';
import { findSpec } from '../src/spec/load';
import { ensureTemporalServer, prepareNamespace } from '../src/temporal/ensureServer';
import { connectClient, connectWorker } from '../src/temporal/connection';
import { createWorker } from '../src/worker/createWorker';
import { startTraining } from '../src/client/startTraining';
import { trainingText } from '../src/client/trainingReport';

const DEMO_MODEL = process.env.PERENNIAL_DEMO_MODEL ?? 'flight-delays';
const DEMO_ACTOR = 'perennial-demo';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const loaded = findSpec(DEMO_MODEL, config.home);
  const server = await ensureTemporalServer(config, logger);
  if (!server) await prepareNamespace(config, logger);
  const connection = await connectWorker(config, logger);
  const worker = await createWorker({ config, connection });
  const client = await connectClient(config, DEMO_ACTOR);

  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const running = worker.run();
  console.log(`\nperennial is up. Temporal Web UI: ${config.uiUrl}/namespaces/${config.namespace}/workflows\n`);

  const handle = await startTraining(client, config, loaded, DEMO_ACTOR);
  console.log(`Training ${loaded.spec.name}: ${workflowUrl(config, handle.workflowId, handle.firstExecutionRunId)}\n`);
  handle.result().then(
    (result) => console.log(`\n${trainingText(result, handle.workflowId, handle.firstExecutionRunId, config)}\n\nStill running: Ctrl-C stops everything.`),
    (err: unknown) => logger.error({ err }, 'demo training failed'),
  );

  const signal = await Promise.race([stopped, running.then(() => 'worker stopped' as const)]);
  logger.info({ signal }, 'shutting down');
  if (worker.getState() === 'RUNNING') worker.shutdown();
  await running;
  await client.connection.close();
  await connection.close();
  if (server) await server.stop();
  logger.info('stopped cleanly');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
