/**
 * `npm start`: the embedded default on one machine. Brings up the Temporal server (unless
 * TEMPORAL_ADDRESS points at a running one), a worker and the model server, starts the
 * demo model's lifecycle, and prints what to do next (the exact approve command) and
 * where to watch it. Once a champion serves, it sends simulated traffic (by default a
 * loud covariate shift, with labels) so monitoring sees drift, retrains, and asks for
 * the next approval. Stays up until Ctrl-C, which stops everything cleanly; a second
 * `npm start` picks up the same lifecycle.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, workflowUrl, type Config } from '../src/config';
import { openRegistry } from '../src/registry/open';
import { createKey, currentKeys, readLocalKey } from '../src/auth/keyStore';
import { createLogger } from '../src/logging';
import { findSpec } from '../src/spec/load';
import { ensureTemporalServer, prepareNamespace } from '../src/temporal/ensureServer';
import { connectClient, connectWorker } from '../src/temporal/connection';
import { workerMetricsUrl } from '../src/temporal/runtime';
import { startLifecycleCensus } from '../src/worker/lifecycleCensus';
import { freePort, portIsFree } from '../src/util/net';
import { createWorker } from '../src/worker/createWorker';
import { startLifecycle } from '../src/client/startLifecycle';
import { serveModels } from '../src/serving/serveModels';
import { firstStopSignal } from '../src/util/stopSignals';
import { PYTHON_SETUP_HINT, pythonEnvDir, pythonEnvReady } from '../src/python/environment';
import { startPythonWorker } from '../src/python/workerProcess';
import { PYTHON_TASK_QUEUE } from '../src/spec/specValues';
import { statusQuery } from '../workflows';
import type { LifecycleStatus } from '../src/lifecycle/contract';
import { monitoringLines } from '../src/cli/status';
import { runTraffic, summaryText, SCENARIOS, type Scenario } from '../src/traffic';
import type { LoadedSpec } from '../src/spec/load';
import type { Logger } from 'pino';

const DEMO_MODEL = process.env.PERENNIAL_DEMO_MODEL ?? 'flight-delays';
const DEMO_ACTOR = 'perennial-demo';
/** The demo's traffic once a champion serves: a scenario of `perennial traffic`, or `off`. */
const DEMO_TRAFFIC = process.env.PERENNIAL_DEMO_TRAFFIC ?? 'shift';

function describe(s: LifecycleStatus): string {
  const m = (x: { auc: number; logLoss: number }) => `AUC ${x.auc.toFixed(4)}, log-loss ${x.logLoss.toFixed(4)}`;
  const lines = [`${s.model}: ${s.stage}`];
  if (s.champion) lines.push(`  champion  v${s.champion.version} (${m(s.champion.metrics)})`);
  if (s.candidate) {
    lines.push(`  candidate v${s.candidate.version} (${m(s.candidate.metrics)}; base rate log-loss ${s.candidate.baseRate.logLoss.toFixed(4)})`);
    lines.push(`  gate: ${s.candidate.gate.checks.map((c) => `${c.passed ? '✓' : '✗'} ${c.detail}`).join('; ')}`);
  }
  lines.push(`  waiting for ${s.waitingFor}`);
  lines.push(...monitoringLines(s, { relativeTimes: false }).map((l) => `  ${l}`));
  const last = s.history.at(-1);
  if (last) lines.push(`  last event: ${last.event}${last.version ? ` v${last.version}` : ''}${last.reason ? ` (${last.reason})` : ''}`);
  if (s.stage === 'AWAITING_APPROVAL' && s.candidate) {
    lines.push('', 'Approve it with:', `  npx perennial approve ${s.model} --version ${s.candidate.version} --by ml-lead --reason "beats the base rate"`);
    lines.push('or by signal (the same signed payload goes into the Web UI\'s "Send a Signal"):', `  temporal workflow signal --workflow-id lifecycle/${s.model} --name approve --input "$(npx perennial approve ${s.model} --version ${s.candidate.version} --by ops-lead --reason 'looks good' --print-signal)"`);
  }
  return lines.join('\n');
}

/** Where npm start's worker serves its metrics, unless PERENNIAL_WORKER_METRICS_PORT says otherwise. */
const DEMO_METRICS_PORT = 9464;

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const loaded = findSpec(DEMO_MODEL, config.home);
  const temporal = await ensureTemporalServer(config, logger);
  if (!temporal) await prepareNamespace(config, logger);
  const models = await serveModels(config, logger.child({ component: 'model-server' }));
  // The demo's worker serves its metrics too: on PERENNIAL_WORKER_METRICS_PORT, else the
  // Prometheus exporters' usual 9464 when free, else any free port.
  config.workerMetrics ??= { host: '127.0.0.1', port: (await portIsFree(DEMO_METRICS_PORT)) ? DEMO_METRICS_PORT : await freePort() };
  const connection = await connectWorker(config, logger);
  // The demo is one process doing everything: it polls every queue, whatever the environment's role says.
  const worker = await createWorker({ config, connection, role: 'all' });
  const client = await connectClient(config, DEMO_ACTOR);
  const stopCensus = startLifecycleCensus(client, logger);

  let stopping = false;
  const stopped = firstStopSignal((signal) => logger.info({ signal }, 'already stopping; waiting for the worker, the model server and Temporal to stop'));
  void stopped.then(() => (stopping = true));
  const running = worker.run();
  const python = pythonWorker(config, logger);

  await demoKeys(config, loaded, logger);
  const { handle, started } = await startLifecycle(client, config, loaded, DEMO_ACTOR);
  console.log(`\nperennial is up.`);
  console.log(`  Temporal Web UI: ${config.uiUrl}/namespaces/${config.namespace}/workflows`);
  console.log(`  model server:    ${models.url}/v1/models/${loaded.spec.name}`);
  console.log(`  worker metrics:  ${workerMetricsUrl(config.workerMetrics)}`);
  console.log(`  python worker:   ${python ? `polling ${PYTHON_TASK_QUEUE} (trainers of type lightgbm and python)` : `not started: no environment in ${pythonEnvDir()}; make it with ${PYTHON_SETUP_HINT}`}`);
  console.log(`  lifecycle:       ${workflowUrl(config, handle.workflowId)} (${started ? 'started' : 'already running'})\n`);

  // Narrate the lifecycle's stages until Ctrl-C; send the demo traffic once a champion serves.
  const abort = new AbortController();
  let trafficStarted = false;
  const narrating = (async () => {
    let shown = '';
    while (!stopping) {
      try {
        // Cancelled at Ctrl-C: a query the client is still retrying would otherwise outlive its connection.
        const status = await client.connection.withAbortSignal(abort.signal, () => handle.query(statusQuery));
        if (!trafficStarted && status.stage === 'SERVING' && status.monitoring.state === 'watching') {
          trafficStarted = true;
          void demoTraffic(loaded, models.url, abort.signal, logger);
        }
        const text = describe(status);
        if (text !== shown) console.log(`\n${text}\n`);
        shown = text;
      } catch (err) {
        logger.debug({ err }, 'status query failed');
      }
      await sleep(2000, undefined, { signal: abort.signal }).catch(() => undefined);
    }
  })();

  const signal = await Promise.race([stopped, running.then(() => 'worker stopped' as const)]);
  stopping = true;
  abort.abort();
  logger.info({ signal }, 'shutting down');
  worker.shutdown();
  await running;
  await python?.stop();
  await models.server.close();
  stopCensus();
  // Closing the connection under a query's pending retry throws from the retry's timer (and ends the process).
  await Promise.race([narrating, sleep(10_000)]);
  await client.connection.close();
  await connection.close();
  if (temporal) await temporal.stop();
  logger.info('stopped cleanly (the lifecycle lives on in Temporal; npm start resumes it)');
}

/** The Python worker for trainers in Python, when its environment exists (npm run setup makes it). */
function pythonWorker(config: Config, logger: Logger): { stop(): Promise<void> } | undefined {
  if (!pythonEnvReady()) return undefined;
  const child = startPythonWorker({ address: config.temporalAddress, namespace: config.namespace, logLevel: config.logLevel });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') logger.warn({ code, signal }, 'the Python worker stopped; restart it with npm run worker:python');
  });
  return {
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * On first start, keys for the demo spec's approvers and operators, so the approve command
 * printed below works as is. Nothing else in perennial makes keys on its own.
 */
async function demoKeys(config: Config, loaded: LoadedSpec, logger: Logger): Promise<void> {
  const registry = openRegistry(config);
  try {
    const names = new Set([...loaded.spec.approval.approvers, ...(loaded.spec.approval.operators ?? [])]);
    for (const name of names) {
      if (readLocalKey(config.keysDir, name)) continue;
      if ((await currentKeys(registry, name)).length > 0) {
        logger.warn({ name }, `${name} has a registered key but none in ${config.keysDir}: actions by ${name} must be signed where that key is`);
        continue;
      }
      const { key } = await createKey(config.keysDir, registry, name);
      logger.info({ name, fingerprint: key.fingerprint, file: `${config.keysDir}/${name}.key` }, `created a demo key for ${name}`);
    }
  } finally {
    await registry.close();
  }
}

/**
 * The demo's live traffic: rows the champion never saw the like of, labeled 30 s later,
 * at a rate that gives every monitor check enough rows. Drift shows within a few checks.
 */
async function demoTraffic(loaded: LoadedSpec, serverUrl: string, signal: AbortSignal, logger: Logger): Promise<void> {
  if (DEMO_TRAFFIC === 'off') return;
  if (!(SCENARIOS as readonly string[]).includes(DEMO_TRAFFIC)) {
    logger.warn({ PERENNIAL_DEMO_TRAFFIC: DEMO_TRAFFIC }, `unknown demo traffic scenario (use ${SCENARIOS.join(', ')} or off)`);
    return;
  }
  const scenario = DEMO_TRAFFIC as Scenario;
  console.log(`\nA champion serves: sending ${scenario} traffic to ${serverUrl} (20 rows/s, labels after 30 s; PERENNIAL_DEMO_TRAFFIC=off to skip).`);
  console.log(`  the same by hand: npx perennial traffic ${loaded.spec.name} --scenario ${scenario} --rows 6000 --rate 20 --label-delay 30\n`);
  try {
    const summary = await runTraffic({ spec: loaded.spec, serverUrl, scenario, rows: 6000, rate: 20, batch: 1, labelDelayMs: 30_000, maxMs: 15 * 60_000, signal });
    console.log(`\n${summaryText(summary)}\n`);
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'demo traffic stopped');
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
