/**
 * `npm run worker`: runs perennial's workflows and activities; run more of them to scale out.
 * PERENNIAL_WORKER_ROLE=orchestration or training polls one of its two task queues.
 */
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logging';
import { connectClient, connectWorker } from '../src/temporal/connection';
import { startLifecycleCensus } from '../src/worker/lifecycleCensus';
import { createWorker } from '../src/worker/createWorker';
import { prepareNamespace } from '../src/temporal/ensureServer';
import { firstStopSignal } from '../src/util/stopSignals';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  await prepareNamespace(config, logger);
  const connection = await connectWorker(config, logger);
  const worker = await createWorker({ config, connection });
  // With a metrics endpoint, the census of lifecycles by stage goes on it too.
  const client = config.workerMetrics ? await connectClient(config, 'perennial-worker-census') : undefined;
  const stopCensus = client ? startLifecycleCensus(client, logger) : () => undefined;
  logger.info({ taskQueues: worker.taskQueues, role: config.workerRole, address: config.temporalAddress, namespace: config.namespace, home: config.home }, 'worker polling');
  // Worker.run returns after SIGINT/SIGTERM once in-flight tasks are done. The SDK stops
  // listening once it starts draining: the repeats of one Ctrl-C must not kill the drain.
  void firstStopSignal((signal) => logger.info({ signal }, 'already draining: in-flight activities finish first'));
  await worker.run();
  stopCensus();
  await client?.connection.close();
  await connection.close();
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
