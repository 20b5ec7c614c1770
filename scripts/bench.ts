/**
 * `npm run bench` (not a test): the trainer's fit time and holdout AUC on flights at
 * ~50k and ~1M training rows, predict throughput, and the training pipeline's wall time
 * with the orchestration's share per activity. Baselines are measured in the same run:
 * LightGBM on exactly the same matrices (written as Parquet, paths printed), and the
 * pipeline's steps called directly without Temporal; history events per monitor cycle; the
 * drift report at 1M × 1M × 20 and at a monitor's size, against scipy on the same inputs
 * (scripts/bench/driftBench.ts). Medians; the machine is noisy. Sections:
 * `npm run bench -- lifecycle`, `npm run bench -- monitor`, `npm run bench -- drift`,
 * `npm run bench -- serving` (the model server with the shipped spec's model alone),
 * `npm run bench -- report` (the report page with 10,000 stored checks),
 * `npm run bench -- kills` (how long a retry waits after a worker is killed in each step),
 * `npm run bench -- python` (the lightgbm trainer on the Python worker vs plain LightGBM, ONNX scoring and serving).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import YAML from 'yaml';
import { Client, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { gbdtTrainer, type ModelSpecInput } from '../src/spec/modelSpec';
import { PYTHON_TASK_QUEUE } from '../src/spec/specValues';
import { parseSpec, SHIPPED_SPECS_DIR, loadSpecFile, type LoadedSpec } from '../src/spec/load';
import type { ArtifactStore } from '../src/artifacts/store';
import { openArtifactStore } from '../src/artifacts/open';
import { filePath } from '../src/artifacts/fileStore';
import { readJsonArtifact } from '../src/artifacts/read';
import { ingest, validateData, trainModel, evaluateModel, loadWindow } from '../src/training/steps';
import type { ExternalTrainRequest, ExternalTrainResult, MatrixRef } from '../src/training/pythonContract';
import { storeMatrix } from '../src/training/featureMatrices';
import { ensurePythonEnv } from '../src/python/environment';
import { startPollingPythonWorker } from '../src/python/workerProcess';
import { rowMajor, type Scorer } from '../src/ml/scorer';
import { withDuckDb } from '../src/data/duckdb';
import { readWindow } from '../src/data/read';
import { featureMatrix, labels, type FittedPipeline, type RawColumns } from '../src/features/pipeline';
import { trainGbdt, type FeatureMatrix, type GbdtModel } from '../src/ml/gbdt';
import { auc } from '../src/ml/metrics';
import { ModelArtifact } from '../src/ml/modelArtifact';
import { GbdtScorer } from '../src/ml/gbdtScorer';
import { loadConfig, type Config } from '../src/config';
import { openRegistry, withRegistry } from '../src/registry/open';
import { ensureKey, signAction } from '../src/auth/keyStore';
import { startDevServer } from '../src/temporal/devServer';
import { connectClient, connectWorker } from '../src/temporal/connection';
import { createWorker } from '../src/worker/createWorker';
import { WORKFLOW_BUNDLE_OPTIONS } from '../src/worker/workflowBundle';
import { startTraining } from '../src/client/startTraining';
import { freePort } from '../src/util/net';

import { serveModels } from '../src/serving/serveModels';
import { fetchModelStatus } from '../src/serving/client';
import { startLifecycle } from '../src/client/startLifecycle';
import { approveUpdate, DEFAULT_CONTINUE_AS_NEW_AFTER, retrainNowUpdate, statusQuery } from '../workflows';
import { benchClusterLoad } from './bench/clusterLoad';
import { benchWorkflowCreation } from './bench/workflowCreation';
import { benchServing, type LoadResult } from './bench/servingBench';
import { homeWithChampion } from './bench/demoChampion';
import { benchDrift } from './bench/driftBench';
import { baselinePython } from './bench/python';
import { benchWorkerKills } from './bench/workerKills';
import { benchReportPage } from './bench/reportBench';
import { monitorChecks } from './bench/monitorChecks';
import { runTraffic } from '../src/traffic';
import { createLogger } from '../src/logging';
import { median, protoSeconds } from './bench/stats';

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(ROOT, '.perennial', 'bench');
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);

function flightsSpec(name: string, training: [string, string], holdout: [string, string]): LoadedSpec {
  const raw = YAML.parse(readFileSync(path.join(SHIPPED_SPECS_DIR, 'flight-delays.yaml'), 'utf8')) as ModelSpecInput;
  raw.data.training = { start: training[0], end: training[1] };
  raw.data.holdout = { start: holdout[0], end: holdout[1] };
  return parseSpec({ ...raw, name }, `<bench ${name}>`, SHIPPED_SPECS_DIR);
}

interface Matrices {
  train: FeatureMatrix;
  yTrain: Float64Array;
  holdout: FeatureMatrix;
  yHoldout: Float64Array;
  holdoutRaw: RawColumns;
  pipeline: FittedPipeline;
}

async function matrices(loaded: LoadedSpec, store: ArtifactStore): Promise<Matrices> {
  const { spec } = loaded;
  const snapshot = await ingest(spec, store);
  const prepared = await validateData(spec, snapshot.uri, store);
  const pipeline = (await readJsonArtifact(prepared.pipelineUri)) as FittedPipeline;
  return withDuckDb(async (db) => {
    const file = filePath(snapshot.uri);
    const trainRaw = await readWindow(db, file, spec, spec.data.training);
    const holdoutRaw = await readWindow(db, file, spec, spec.data.holdout);
    return {
      train: featureMatrix(pipeline, trainRaw),
      yTrain: labels(pipeline, trainRaw),
      holdout: featureMatrix(pipeline, holdoutRaw),
      yHoldout: labels(pipeline, holdoutRaw),
      holdoutRaw,
      pipeline,
    };
  });
}

interface TrainerFigures {
  rows: number;
  fitSeconds: number;
  auc: number;
  model: GbdtModel;
}

async function benchTrainer(m: Matrices, loaded: LoadedSpec, repeats: number): Promise<TrainerFigures> {
  const times: number[] = [];
  let model: GbdtModel | undefined;
  for (let r = 0; r < repeats; r++) {
    const t = performance.now();
    model = await trainGbdt(m.train, m.yTrain, { params: gbdtTrainer(loaded.spec).params });
    times.push((performance.now() - t) / 1000);
  }
  return { rows: m.train.nRows, fitSeconds: median(times), auc: auc(m.yHoldout, model!.predictProba(m.holdout)), model: model! };
}

function benchPredict(m: Matrices, model: GbdtModel, loaded: LoadedSpec): { batchRowsPerSec: number; servingRowsPerSec: number } {
  const batch: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t = performance.now();
    model.predictProba(m.holdout);
    batch.push(m.holdout.nRows / ((performance.now() - t) / 1000));
  }
  const artifact = new ModelArtifact(loaded.spec.name, m.pipeline, new GbdtScorer(model));
  const n = Math.min(20_000, m.holdoutRaw.nRows);
  const rows = Array.from({ length: n }, (_, i) => {
    const row: Record<string, unknown> = {};
    for (const [c, v] of Object.entries(m.holdoutRaw.columns)) row[c] = c === m.pipeline.timeColumn ? new Date(v[i] as number).toISOString() : v[i];
    return row;
  });
  const serving: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t = performance.now();
    for (const row of rows) artifact.predictRow(row);
    serving.push(n / ((performance.now() - t) / 1000));
  }
  return { batchRowsPerSec: median(batch), servingRowsPerSec: median(serving) };
}

/** LightGBM alone on the same Parquet matrices, with the built-in GBDT's parameters as near as LightGBM has them, one thread. */
function lightgbm(python: string, matrices: { train: MatrixRef; holdout: MatrixRef }, loaded: LoadedSpec, repeats: number) {
  const p = gbdtTrainer(loaded.spec).params;
  const params = {
    num_boost_round: p.rounds,
    learning_rate: p.learningRate,
    max_depth: p.maxDepth,
    num_leaves: 2 ** p.maxDepth,
    lambda_l2: p.l2,
    min_sum_hessian_in_leaf: p.minChildWeight,
    min_data_in_leaf: 1,
    max_bin: p.maxBins,
    num_threads: 1,
  };
  return plainLightgbm(python, matrices, params, p.seed, repeats);
}

interface LocalStack {
  config: Config;
  client: Client;
  modelServerUrl: string;
}

/** Temporal dev server, worker and model server on free loopback ports, for the run of `fn`. */
async function withLocalStack<T>(home: string, fn: (s: LocalStack) => Promise<T>): Promise<T> {
  const config = loadConfig({
    PERENNIAL_HOME: home,
    TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
    PERENNIAL_UI_PORT: String(await freePort()),
    PERENNIAL_SERVER_PORT: String(await freePort()),
    PERENNIAL_SERVER_POLL_MS: '100',
    TEMPORAL_CONFIG_FILE: path.join(home, 'none.toml'),
  });
  const logger = createLogger('warn', 'perennial-bench');
  const server = await startDevServer({ home, address: config.temporalAddress, uiPort: config.uiPort, namespace: config.namespace });
  const workerConnection = await connectWorker(config, logger);
  const models = await serveModels(config, logger);
  let client: Client | undefined;
  try {
    const bundle = await bundleWorkflowCode({ ...WORKFLOW_BUNDLE_OPTIONS, logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } });
    const worker = await createWorker({ config, connection: workerConnection, workflowBundle: bundle });
    client = await connectClient(config, 'bench');
    const c = client;
    return await worker.runUntil(() => fn({ config, client: c, modelServerUrl: models.url }));
  } finally {
    await client?.connection.close();
    await models.server.close();
    await workerConnection.close();
    await server.stop();
  }
}

async function benchPipeline(loaded: LoadedSpec) {
  // Baseline: the same steps as plain function calls, no Temporal.
  const directHome = path.join(tmpdir(), `perennial-bench-direct-${process.pid}`);
  const store = openArtifactStore({ home: directHome });
  const t0 = performance.now();
  const snap = await ingest(loaded.spec, store);
  const prep = await validateData(loaded.spec, snap.uri, store);
  const trained = await trainModel(loaded.spec, snap.uri, prep.pipelineUri, store, { checkpointKey: 'bench' });
  await evaluateModel(loaded.spec, snap.uri, trained.artifactUri);
  const directSeconds = (performance.now() - t0) / 1000;
  rmSync(directHome, { recursive: true, force: true });

  const home = path.join(tmpdir(), `perennial-bench-${process.pid}`);
  try {
    return await withLocalStack(home, async ({ config, client }) => {
      const started = performance.now();
      const handle = await startTraining(client, config, loaded, 'bench');
      await handle.result();
      const wallSeconds = (performance.now() - started) / 1000;
      const perActivity = activityTimes(await handle.fetchHistory());
      const own = perActivity.reduce((a, p) => a + p.ownSeconds, 0);
      return { wallSeconds, directSeconds, activitySeconds: own, perActivity };
    });
  } finally {
    removeHome(home);
  }
}

interface ActivityTime {
  name: string;
  ownSeconds: number;
  orchestrationSeconds: number;
  /** The activity's JSON result. */
  result: unknown;
}

/** Each completed activity of a run: its own time (started → completed) and the orchestration before it. */
function activityTimes(history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>): ActivityTime[] {
  const scheduled = new Map<string, { name: string; at: number }>();
  const startedAt = new Map<string, number>();
  const out: ActivityTime[] = [];
  let lastClose = 0;
  const events = history.events ?? [];
  const workflowStart = protoSeconds(events[0]?.eventTime);
  for (const e of events) {
    const at = protoSeconds(e.eventTime);
    const id = String(e.eventId);
    if (e.activityTaskScheduledEventAttributes) scheduled.set(id, { name: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?', at });
    if (e.activityTaskStartedEventAttributes) startedAt.set(String(e.activityTaskStartedEventAttributes.scheduledEventId), at);
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const s = scheduled.get(String(done.scheduledEventId))!;
      const st = startedAt.get(String(done.scheduledEventId))!;
      const gapBefore = s.at - (lastClose || workflowStart);
      const data = done.result?.payloads?.[0]?.data;
      out.push({ name: s.name, ownSeconds: at - st, orchestrationSeconds: gapBefore + (st - s.at), result: data ? JSON.parse(Buffer.from(data).toString('utf8')) : undefined });
      lastClose = at;
    }
  }
  return out;
}

/** A latency autocannon measured in whole milliseconds: 0 means under one. */
function wholeMs(ms: number): string {
  return ms < 1 ? '<1 ms' : `${fmt(ms, 0)} ms`;
}

/**
 * A bench's state folder, removed after it. A process still closing may write into it a
 * moment longer (retried), and a failure here never hides the error that ended the bench.
 */
function removeHome(home: string): void {
  try {
    rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  } catch (err) {
    console.error(`could not remove ${home}: ${(err as Error).message}`);
  }
}

/** The benches act as people do: signed, an approver approves and an operator retrains. */
const BENCH_APPROVAL = { approvers: ['bench-approver'], operators: ['bench-trainer'], signatures: 'required' as const, keys: {}, separationOfDuties: true, timeout: '72h' };

async function benchSigner(config: Config): Promise<(name: 'bench-approver' | 'bench-trainer', action: string, args: Record<string, unknown>, workflowId: string) => never> {
  const registry = openRegistry(config);
  const keys = { 'bench-approver': await ensureKey(config.keysDir, registry, 'bench-approver'), 'bench-trainer': await ensureKey(config.keysDir, registry, 'bench-trainer') };
  await registry.close();
  return (name, action, args, workflowId) => signAction(keys[name], workflowId, action, args) as never;
}

/** Time from an approval (update returns) to the model server answering with the new version; then serving load. */
async function benchLifecycle(loaded: LoadedSpec, rounds = 3) {
  const home = path.join(tmpdir(), `perennial-bench-lifecycle-${process.pid}`);
  try {
    const promotions = await withLocalStack(home, async ({ config, client, modelServerUrl }) => {
      const sign = await benchSigner(config);
      const { handle } = await startLifecycle(client, config, loaded, 'bench-trainer');
      const times: number[] = [];
      for (let v = 1; v <= rounds; v++) {
        if (v > 1) await handle.executeUpdate(retrainNowUpdate, { args: [sign('bench-trainer', 'retrainNow', { by: 'bench-trainer', reason: 'bench' }, handle.workflowId)] });
        for (;;) {
          const s = await handle.query(statusQuery);
          if (s.stage === 'AWAITING_APPROVAL' && s.candidate?.version === v) break;
          const failed = s.history.find((h) => h.version === v && (h.event === 'gate-failed' || h.event === 'training-failed'));
          if (failed) throw new Error(`v${v} did not reach approval: ${failed.event} (${failed.reason})`);
          await sleep(100);
        }
        const approval = sign('bench-approver', 'approve', { version: v, by: 'bench-approver', reason: 'bench' }, handle.workflowId);
        const t = performance.now();
        await handle.executeUpdate(approveUpdate, { args: [approval] });
        for (;;) {
          const served = await fetchModelStatus(modelServerUrl, loaded.spec.name);
          if (served?.champion?.version === v) break;
          await sleep(10);
        }
        times.push((performance.now() - t) / 1000);
        while ((await handle.query(statusQuery)).stage !== 'SERVING') await sleep(50);
      }
      return times;
    });
    const serving = await benchServing(home, loaded.spec.name, flightInstances(500));
    return { promotions, serving };
  } finally {
    removeHome(home);
  }
}

/**
 * `n` flights as clients would send them, the same every run: departures over two days at
 * any minute, busy 2001 airports in any pairing (1 in 20 an airport the model never saw),
 * distances from short hops to coast to coast.
 */
function flightInstances(n: number): Record<string, unknown>[] {
  const airports = ['ATL', 'ORD', 'DFW', 'LAX', 'PHX', 'DEN', 'IAH', 'LAS', 'DTW', 'MSP', 'SFO', 'EWR', 'STL', 'SEA', 'BOS', 'CLT', 'PHL', 'LGA', 'SLC', 'MCO', 'BWI', 'DCA', 'CVG', 'PIT', 'SAN', 'MIA', 'TPA', 'MDW', 'HOU', 'OAK'];
  let seed = 42;
  const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const airport = () => (next() < 0.05 ? 'ZZZ' : airports[Math.floor(next() * airports.length)]);
  return Array.from({ length: n }, () => ({
    date: new Date(Date.UTC(2001, 0, 4) + Math.floor(next() * 2 * 24 * 60) * 60_000).toISOString().slice(0, 19),
    distance: 100 + Math.floor(next() * 2500),
    origin: airport(),
    destination: airport(),
  }));
}

/**
 * A monitor cycle's cost on the dev server: history events per check (what bounds how long
 * a run lives before continue-as-new) and the check's own time, on live traffic.
 */
async function benchMonitorCycle(loaded: LoadedSpec, checks = 12) {
  const home = path.join(tmpdir(), `perennial-bench-monitor-${process.pid}`);
  try {
    return await withLocalStack(home, async ({ config, client, modelServerUrl }) => {
      const sign = await benchSigner(config);
      const { handle } = await startLifecycle(client, config, loaded, 'bench-trainer');
      while ((await handle.query(statusQuery)).stage !== 'AWAITING_APPROVAL') await sleep(100);
      await handle.executeUpdate(approveUpdate, { args: [sign('bench-approver', 'approve', { version: 1, by: 'bench-approver', reason: 'bench' }, handle.workflowId)] });
      while ((await handle.query(statusQuery)).stage !== 'SERVING') await sleep(100);
      const traffic = runTraffic({ spec: loaded.spec, serverUrl: modelServerUrl, scenario: 'same', rows: 100 * checks, rate: 50, batch: 10, labelDelayMs: 0, seed: 1 });
      while ((await handle.query(statusQuery)).monitoring.checks < checks) await sleep(200);
      await traffic;
      const events = (await handle.fetchHistory()).events ?? [];
      const checkEvents = monitorChecks(events);
      const checkAt = checkEvents.map((c) => c.index);
      const own = checkEvents.map((c) => c.completedAt - c.scheduledAt);
      const perCycle = checkAt.slice(1).map((v, i) => v - checkAt[i]);
      return { eventsPerCycle: median(perCycle), checks: checkAt.length, checkSeconds: median(own), totalEvents: events.length };
    });
  } finally {
    removeHome(home);
  }
}

const fmt = (x: number, d = 3) => x.toFixed(d);

async function main(): Promise<void> {
  const only = process.argv[2];
  mkdirSync(OUT, { recursive: true });
  if (only === 'lifecycle') return printLifecycle();
  if (only === 'drift') return benchDrift(OUT, Math.max(REPEATS, 5));
  if (only === 'monitor') return printMonitor();
  if (only === 'kills') return printWorkerKills();
  if (only === 'serving') return printShippedModelServing();
  if (only === 'report') return printReportPage();
  if (only === 'python') return printPythonTrainer();
  if (only === 'cluster') return printClusterLoad();
  if (only === 'creation') return benchWorkflowCreation();
  const store = openArtifactStore({ home: path.join(OUT, 'home') });
  const python = await baselinePython('LightGBM');
  const sizes: [string, LoadedSpec, number][] = [
    ['50k', flightsSpec('flights-bench-50k', ['2001-01-01', '2001-01-04'], ['2001-01-04', '2001-01-14']), REPEATS],
    ['1M', flightsSpec('flights-bench-1m', ['2001-01-01', '2001-03-01'], ['2001-03-01', '2001-03-11']), 1],
  ];
  console.log(`\n# trainer: histogram GBDT vs LightGBM (same matrices, 1 thread each, ${gbdtTrainer(loadSpecFile(path.join(SHIPPED_SPECS_DIR, 'flight-delays.yaml')).spec).params.rounds} rounds, depth 6, lr 0.1)`);
  for (const [label, loaded, repeats] of sizes) {
    const m = await matrices(loaded, store);
    const files = { train: await storeMatrix(store, m.train, m.yTrain), holdout: await storeMatrix(store, m.holdout, m.yHoldout) };
    const ours = await benchTrainer(m, loaded, repeats);
    console.log(`\n${label}: ${m.train.nRows} training rows, ${m.holdout.nRows} holdout rows (train ${loaded.spec.data.training.start}..${loaded.spec.data.training.end}, holdout ${loaded.spec.data.holdout.start}..${loaded.spec.data.holdout.end})`);
    console.log(`  matrices: ${filePath(files.train.uri)}\n            ${filePath(files.holdout.uri)}`);
    console.log(`  perennial fit ${fmt(ours.fitSeconds, 2)} s (median of ${repeats}), holdout AUC ${fmt(ours.auc, 4)}`);
    if (python) {
      const lgbm = lightgbm(python, files, loaded, repeats);
      console.log(`  LightGBM ${lgbm.version} fit ${fmt(lgbm.fitSeconds, 2)} s, holdout AUC ${fmt(lgbm.auc, 4)}`);
      console.log(`  AUC gap (perennial − LightGBM) ${fmt(ours.auc - lgbm.auc, 4)}; fit-time ratio perennial/LightGBM ${fmt(ours.fitSeconds / lgbm.fitSeconds, 2)}×`);
    }
    const p = benchPredict(m, ours.model, loaded);
    console.log(`  predict: ${Math.round(p.batchRowsPerSec).toLocaleString('en-US')} rows/s on matrices; ${Math.round(p.servingRowsPerSec).toLocaleString('en-US')} rows/s one raw JSON row at a time (features + trees)`);
  }

  console.log('\n# training pipeline on a real Temporal dev server (50k rows) vs the same steps called directly');
  const pipe = await benchPipeline(sizes[0][1]);
  console.log(`  wall time start → registered ${fmt(pipe.wallSeconds, 2)} s; activities' own time ${fmt(pipe.activitySeconds, 2)} s; orchestration ${fmt(pipe.wallSeconds - pipe.activitySeconds, 2)} s (${fmt((100 * (pipe.wallSeconds - pipe.activitySeconds)) / pipe.wallSeconds, 1)}%)`);
  console.log(`  steps called directly (no Temporal): ${fmt(pipe.directSeconds, 2)} s; ratio with Temporal/direct ${fmt(pipe.wallSeconds / pipe.directSeconds, 2)}×`);
  for (const a of pipe.perActivity) console.log(`    ${a.name.padEnd(13)} own ${fmt(a.ownSeconds)} s, orchestration before it ${fmt(a.orchestrationSeconds)} s`);
  await printLifecycle();
  await printMonitor();
  await benchDrift(OUT, Math.max(REPEATS, 5));
  await printWorkerKills();
  await printReportPage();
  await printPythonTrainer();
  await benchWorkflowCreation();
  await printClusterLoad();
}

/** BENCH_LIFECYCLES (default 1000; 0 measures inserts and orchestration only) monitored lifecycles for BENCH_LOAD_MINUTES (default 15) on the cluster topology. */
function printClusterLoad(): Promise<void> {
  const setting = (name: string, fallback: number, least: number) => {
    const n = Number(process.env[name] ?? fallback);
    if (!Number.isInteger(n) || n < least || n > 100_000) throw new Error(`${name}: expected a whole number from ${least} to 100000, got ${process.env[name]}`);
    return n;
  };
  return benchClusterLoad({ lifecycles: setting('BENCH_LIFECYCLES', 1000, 0), minutes: setting('BENCH_LOAD_MINUTES', 15, 1) });
}

/**
 * perennial's `lightgbm` trainer through the whole pipeline on a dev server with the Python
 * worker, at ~1M training rows, against one plain Python process fitting LightGBM on the
 * same Parquet matrices with the same params; the ONNX model's scoring in Node against the
 * built-in forest; the model server with the ONNX champion against bare fastify.
 */
async function printPythonTrainer(): Promise<void> {
  const started = performance.now();
  const python = await ensurePythonEnv((m) => console.log(`  ${m}`));
  const envSeconds = (performance.now() - started) / 1000;
  const params = { num_leaves: 31, learning_rate: 0.1, num_boost_round: 100, num_threads: 2 };
  const loaded = flightsSpec('flights-bench-python', ['2001-01-01', '2001-03-01'], ['2001-03-01', '2001-03-11']);
  loaded.spec.trainer = { type: 'lightgbm', params, seed: 42, taskQueue: PYTHON_TASK_QUEUE };
  console.log(`\n# trainer type lightgbm (${JSON.stringify(params)}) on the Python worker vs one plain Python process, ~1M training rows`);
  const home = path.join(tmpdir(), `perennial-bench-python-${process.pid}`);
  try {
    await withLocalStack(home, async ({ config, client }) => {
      const worker = await startPollingPythonWorker({ address: config.temporalAddress, namespace: config.namespace, logLevel: 'info' });
      try {
        const t0 = performance.now();
        const handle = await startTraining(client, config, loaded, 'bench');
        const result = await handle.result();
        const wallSeconds = (performance.now() - t0) / 1000;
        const steps = activityTimes(await handle.fetchHistory());
        const request = steps.find((s) => s.name === 'prepareMatrices')!.result as ExternalTrainRequest;
        const train = steps.find((s) => s.name === 'train')!;
        const plain = plainLightgbm(python, request.matrices, params, request.trainer.seed);
        const plainTotal = plain.readSeconds + plain.fitSeconds + plain.predictSeconds;
        console.log(`  ${request.matrices.train.rows} training rows, ${request.matrices.holdout.rows} holdout rows`);
        const trained = train.result as ExternalTrainResult;
        console.log(`  train activity (read Parquet, fit, ONNX, holdout scores, store) ${fmt(train.ownSeconds, 2)} s; plain Python (read, fit, predict) ${fmt(plainTotal, 2)} s → ${fmt(train.ownSeconds / plainTotal, 2)}×`);
        console.log(`  the fit alone: in the activity ${fmt(trained.fitSeconds, 2)} s, plain ${fmt(plain.fitSeconds, 2)} s → ${fmt(trained.fitSeconds / plain.fitSeconds, 2)}×`);
        console.log(`  holdout AUC perennial ${fmt(result.evaluation.model.auc, 8)}, LightGBM alone ${fmt(plain.auc, 8)}: difference ${Math.abs(result.evaluation.model.auc - plain.auc).toExponential(2)}`);
        console.log(`  parity at registration: max |onnxruntime-node − LightGBM| ${result.parity?.maxAbsDiff.toExponential(2)} on ${result.parity?.rows} holdout rows (worst row ${result.parity?.worstRow})`);
        console.log(`  whole pipeline ${fmt(wallSeconds, 2)} s: ${steps.map((s) => `${s.name} ${fmt(s.ownSeconds, 2)} s`).join(', ')}`);
        await printOnnxScoring(home, loaded.spec.name, result.version);
        await withRegistry({ home }, (registry) => registry.setAlias(loaded.spec.name, 'champion', result.version));
      } finally {
        await worker.stop();
      }
    });
    printServing('an ONNX champion (LightGBM, 100 trees of 31 leaves)', await benchServing(home, loaded.spec.name, flightInstances(500)));
  } finally {
    removeHome(home);
  }
  const du = (p: string) => Number(execFileSync('du', ['-sk', p], { encoding: 'utf8' }).split('\t')[0]) / 1024;
  console.log(`\n  sizes: node_modules ${fmt(du(path.join(ROOT, 'node_modules')), 0)} MiB (onnxruntime-node ${fmt(du(path.join(ROOT, 'node_modules', 'onnxruntime-node')), 0)} MiB), Python environment ${fmt(du(path.dirname(path.dirname(python))), 0)} MiB; the environment was ${envSeconds < 1 ? 'already there' : `made in ${fmt(envSeconds, 0)} s`} (npm ci: see .ci/run's timing)`);
}

/** One plain Python process: LightGBM on the Parquet matrices with these params (scripts/bench/lightgbm_plain.py). */
function plainLightgbm(python: string, matrices: { train: MatrixRef; holdout: MatrixRef }, params: Record<string, unknown>, seed: number, repeats = 1) {
  const run = spawnSync(python, [path.join(__dirname, 'bench', 'lightgbm_plain.py'), filePath(matrices.train.uri), filePath(matrices.holdout.uri), JSON.stringify(params), String(seed), String(repeats)], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`plain LightGBM failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as { readSeconds: number; fitSeconds: number; predictSeconds: number; auc: number; version: string };
}

/** Rows/s of the ONNX model in onnxruntime-node and of a built-in forest of the same size, on the same holdout features. */
async function printOnnxScoring(home: string, model: string, version: number): Promise<void> {
  const v = (await withRegistry({ home }, (registry) => registry.get(model, version)))!;
  const onnx = await ModelArtifact.load(await readJsonArtifact(v.artifactUri));
  const pipeline = onnx.pipeline;
  const loaded = flightsSpec('flights-bench-python', ['2001-01-01', '2001-01-04'], ['2001-03-01', '2001-03-02']);
  const holdout = featureMatrix(pipeline, await loadWindow(loaded.spec, v.lineage.datasetUri, 'holdout'));
  const training = await loadWindow(loaded.spec, v.lineage.datasetUri, 'training');
  const sample = featureMatrix(pipeline, training);
  const y = labels(pipeline, training);
  // A built-in forest of about the same size: 100 trees, depth 5 (32 leaves), fitted on three days.
  const forest = new GbdtScorer(await trainGbdt(sample, y, { params: { ...gbdtTrainer(loaded.spec).params, rounds: 100, maxDepth: 5 } }));
  const rows = rowMajor(holdout);
  const width = holdout.columns.length;
  const rate = async (scorer: Scorer, batch: number) => {
    const n = Math.min(holdout.nRows - (holdout.nRows % batch), batch === 1 ? 20_000 : 200_000);
    const times: number[] = [];
    for (let r = 0; r < REPEATS; r++) {
      const t = performance.now();
      for (let i = 0; i < n; i += batch) await scorer.scoreRows(rows.subarray(i * width, (i + batch) * width), batch);
      times.push(n / ((performance.now() - t) / 1000));
    }
    return median(times);
  };
  for (const batch of [1, 1000]) {
    const o = await rate(onnx.scorer, batch);
    const f = await rate(forest, batch);
    console.log(`  scoring batch ${batch}: ONNX (onnxruntime-node, 1 thread) ${Math.round(o).toLocaleString('en-US')} rows/s, built-in forest ${Math.round(f).toLocaleString('en-US')} rows/s → ${fmt(o / f, 2)}×`);
  }
}

async function printReportPage(): Promise<void> {
  console.log('\n# the report page of a model with 10,000 stored checks');
  await benchReportPage();
}

async function printWorkerKills(): Promise<void> {
  console.log('\n# a worker killed (SIGKILL) inside each step: kill → the retried attempt starts on another worker (1M training rows, two workers polling)');
  const loaded = flightsSpec('flights-bench-kills', ['2001-01-01', '2001-03-01'], ['2001-03-01', '2001-03-11']);
  loaded.spec.approval = BENCH_APPROVAL;
  loaded.spec.evaluation.gates = { min: {}, max: {}, beatBaseRate: [], maxRegression: {} };
  loaded.spec.retrain = undefined;
  const home = path.join(tmpdir(), `perennial-bench-kills-${process.pid}`);
  try {
    for (const k of await benchWorkerKills(home, loaded, benchSigner)) {
      console.log(`  ${k.activity.padEnd(16)} ${k.secondsToRetry === null ? 'finished before the kill landed' : `retried after ${fmt(k.secondsToRetry, 1)} s (attempt ${k.attempt})`}`);
    }
  } finally {
    removeHome(home);
  }
}

/** The bench's small GBDT: 20 rounds of depth 4. */
function smallGbdt(loaded: LoadedSpec): void {
  const trainer = gbdtTrainer(loaded.spec);
  loaded.spec.trainer = { ...trainer, params: { ...trainer.params, rounds: 20, maxDepth: 4 } };
}

async function printMonitor(): Promise<void> {
  console.log('\n# monitor cycle on a real Temporal dev server (checks every 2 s on same-distribution traffic)');
  const loaded = flightsSpec('flights-bench-monitor', ['2001-01-01', '2001-01-04'], ['2001-01-04', '2001-01-05']);
  smallGbdt(loaded);
  loaded.spec.approval = BENCH_APPROVAL;
  loaded.spec.evaluation.gates = { min: { auc: 0.55 }, max: {}, beatBaseRate: [], maxRegression: {} };
  loaded.spec.monitoring = { ...loaded.spec.monitoring!, interval: '2s', minRows: 50 };
  const m = await benchMonitorCycle(loaded);
  console.log(`  history events per monitor cycle: ${m.eventsPerCycle} (median over ${m.checks} checks; ${m.totalEvents} events in the run)`);
  console.log(`  check (local activity), begun → its end: median ${fmt(m.checkSeconds * 1000, 1)} ms`);
  console.log(`  a run continues as new after ${DEFAULT_CONTINUE_AS_NEW_AFTER} cycles at the latest: ~${DEFAULT_CONTINUE_AS_NEW_AFTER * m.eventsPerCycle} events, well below Temporal's limits`);
}

async function printLifecycle(): Promise<void> {
  console.log('\n# lifecycle: approval → the model server answers with the new version (a 50k-row model)');
  // 100 rounds of depth 6 on three days overfit: that model does not beat the base rate's
  // log-loss on later days, and the gate rightly refuses it. Promotion timing needs
  // candidates that pass: a smaller model, judged on the next day.
  const loaded = flightsSpec('flights-bench-lifecycle', ['2001-01-01', '2001-01-04'], ['2001-01-04', '2001-01-05']);
  smallGbdt(loaded);
  loaded.spec.approval = BENCH_APPROVAL;
  loaded.spec.evaluation.gates = { min: { auc: 0.55 }, max: {}, beatBaseRate: ['logLoss'], maxRegression: { auc: 0.005 } };
  // The shipped spec's retrain cooldown (6h) and budget would refuse the bench's back-to-back
  // retrainNow rounds; without a retrain policy retrains run on demand only.
  loaded.spec.retrain = undefined;
  const { promotions, serving } = await benchLifecycle(loaded);
  console.log(`  approval → served: median ${fmt(median(promotions), 2)} s over ${promotions.length} promotions (${promotions.map((t) => fmt(t, 2)).join(', ')} s)`);
  printServing(`the lifecycle bench's small champion (${gbdtTrainer(loaded.spec).params.rounds} trees, depth ${gbdtTrainer(loaded.spec).params.maxDepth})`, serving);
  await printShippedModelServing();
}

/** The model npm start serves: the shipped spec's own trainer parameters. */
async function printShippedModelServing(): Promise<void> {
  const demo = flightsSpec('flights-bench-serving', ['2001-01-01', '2001-01-04'], ['2001-01-04', '2001-01-05']);
  const home = path.join(tmpdir(), `perennial-bench-serving-${process.pid}`);
  try {
    await homeWithChampion(home, demo);
    const params = gbdtTrainer(demo.spec).params;
    printServing(`the shipped spec's model (${params.rounds} trees, depth ${params.maxDepth}, as npm start trains it)`, await benchServing(home, demo.spec.name, flightInstances(500)));
  } finally {
    removeHome(home);
  }
}

function printServing(model: string, serving: Awaited<ReturnType<typeof benchServing>>): void {
  const rounds = serving.pairs;
  console.log(`\n# model server on loopback with ${model}: batch 1, autocannon with 8 connections, ${rounds.length} rounds, each with fresh server processes, 5 s per side, the side loaded first alternating`);
  for (const [i, { perennial: p, baseline: b }] of rounds.entries()) {
    const cpu =
      p.cpuUsPerRequest !== undefined && b.cpuUsPerRequest !== undefined
        ? `; CPU per request: main thread ${fmt(p.cpuUsPerRequest, 0)} vs ${fmt(b.cpuUsPerRequest, 0)} µs, all threads ${fmt(p.processCpuUsPerRequest!, 0)} vs ${fmt(b.processCpuUsPerRequest!, 0)} µs`
        : '';
    const latency = (l: LoadResult) => `p50 ${wholeMs(l.p50ms)}, p99 ${wholeMs(l.p99ms)}, mean ${fmt(l.meanMs, 2)} ms`;
    console.log(`  round ${i + 1}: perennial ${Math.round(p.reqPerSec)} req/s (${latency(p)}, ${p.errors} errors), bare fastify ${Math.round(b.reqPerSec)} req/s (${latency(b)}) → ${fmt(serving.ratios[i], 2)}${cpu}`);
  }
  const p50 = median(rounds.map((r) => r.perennial.p50ms));
  const p99 = median(rounds.map((r) => r.perennial.p99ms));
  console.log(`  ratio perennial/bare: throughput median ${fmt(serving.medianRatio, 2)} (range ${fmt(Math.min(...serving.ratios), 2)}–${fmt(Math.max(...serving.ratios), 2)}; goal ≥ 0.8); perennial latency medians p50 ${wholeMs(p50)}, p99 ${wholeMs(p99)} (goal ≤ 10 ms; autocannon measures whole milliseconds)`);
  const costs = rounds.filter((r) => r.perennial.processCpuUsPerRequest !== undefined && r.baseline.processCpuUsPerRequest !== undefined);
  if (costs.length) {
    const cpuRatio = median(costs.map((r) => r.baseline.processCpuUsPerRequest! / r.perennial.processCpuUsPerRequest!));
    // What the ratio would be with the load generator on other cores: the server's whole CPU cost per request.
    console.log(`  CPU per request bare/perennial (all threads, prediction-log writer included): median ${fmt(cpuRatio, 2)}`);
  }
  const b = serving.batch;
  console.log(`  batch 100: ${Math.round(serving.batch100RowsPerSec).toLocaleString('en-US')} rows/s answered (p50 ${fmt(b.p50ms, 2)} ms per request, ${b.errors} refused or failed)`);
  console.log(`    with logging: the prediction log caught up ${fmt(serving.catchUpSeconds, 2)} s after the load → ${Math.round(serving.batch100LoggedRowsPerSec).toLocaleString('en-US')} rows/s answered and on disk`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
