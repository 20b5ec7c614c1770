/**
 * perennial on the cluster topology (Temporal v1.30.8 on PostgreSQL, the PostgreSQL registry
 * and prediction log, artifacts on S3), measured:
 *  - prediction-log inserts per second, PostgreSQL against SQLite, through the sinks the
 *    model server writes with;
 *  - the training pipeline's orchestration per step against a bare SDK workflow of no-op
 *    steps, on the same server in the same run;
 *  - many monitored lifecycles on one worker (a child process, `npm run worker`): the real
 *    lifecycle workflow and real `checkChampion` activities every minute against real
 *    prediction logs that a real model server writes from HTTP traffic. Check lateness,
 *    worker memory per lifecycle, history events per lifecycle per day.
 * How the champions come to be: one small model is trained through the real pipeline; each
 * lifecycle's model registers that artifact as its v1 (`champion` alias) and its lifecycle
 * starts from the state a serving lifecycle hands on at continue-as-new (SERVING, v1).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import YAML from 'yaml';
import { startFleet, type Fleet } from '../../test/cluster/fleet';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logging';
import { installRuntime } from '../../src/temporal/runtime';
import { openRegistry } from '../../src/registry/open';
import { openArtifactStore } from '../../src/artifacts/open';
import { readJsonArtifact } from '../../src/artifacts/read';
import { openPredictionSink } from '../../src/serving/openPredictions';
import type { ServedPrediction } from '../../src/serving/predictionLogThread';
import { parseSpec, SHIPPED_SPECS_DIR, type LoadedSpec } from '../../src/spec/load';
import type { ModelSpecInput } from '../../src/spec/modelSpec';
import { startTraining } from '../../src/client/startTraining';
import { lifecycleWorkflowId } from '../../src/lifecycle/names';
import { modelSearchAttributes } from '../../src/temporal/searchAttributes';
import { canonicalJson } from '../../src/util/canonicalJson';
import { freePort } from '../../src/util/net';
import { spawnServer, stopServer } from './servingBench';
import { protoSeconds, median, quantile } from './stats';
import { cpuShares, sampleCpu } from './cpuShares';
import { localCheck, monitorChecks } from './monitorChecks';
import { checkClockLag } from '../../src/lifecycle/checkClock';

const ROOT = path.resolve(__dirname, '../..');
type History = temporal.api.history.v1.IHistory;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const fmt = (x: number, d = 1) => x.toFixed(d);

/** A small flights spec: 20 trees of depth 4, checked every minute once 30 rows arrived, no retrain policy. */
function loadSpec(name: string): LoadedSpec {
  const raw = YAML.parse(readFileSync(path.join(SHIPPED_SPECS_DIR, 'flight-delays.yaml'), 'utf8')) as ModelSpecInput & Record<string, unknown>;
  raw.data.training = { start: '2001-01-01', end: '2001-01-04' };
  raw.data.holdout = { start: '2001-01-04', end: '2001-01-05' };
  raw.trainer = { ...(raw.trainer as object), params: { ...(raw.trainer as { params: object }).params, rounds: 20, maxDepth: 4 } } as never;
  raw.monitoring = { ...(raw.monitoring as object), interval: '1m', minRows: 30 } as never;
  delete raw.retrain;
  return parseSpec({ ...raw, name }, `<bench ${name}>`, SHIPPED_SPECS_DIR);
}

// ---------------------------------------------------------------------------------------
// Prediction-log inserts

const COLUMNS = ['date', 'distance', 'origin', 'destination'] as const;

/** Rows committed per second when `rows` predictions are appended with `inFlight` waiting at once, as a busy model server does. */
async function insertRate(where: { home: string; registryUrl?: string | null }, rows: number, inFlight = 256): Promise<number> {
  const sink = await openPredictionSink(where, { maxPending: 100_000 });
  try {
    const features = Float64Array.from({ length: 12 }, (_, i) => i / 7);
    let next = 0;
    const t0 = performance.now();
    const one = async (): Promise<void> => {
      while (next < rows) {
        const i = next++;
        const p: ServedPrediction = {
          requestId: `bench-${process.pid}-${Date.now()}-${i}`,
          atMs: Date.now(),
          model: 'insert-bench',
          modelVersion: 1,
          columns: COLUMNS,
          instance: { date: '2001-01-04T10:00:00', distance: 100 + (i % 2500), origin: 'LAS', destination: 'ATL' },
          features,
          score: (i % 100) / 100,
        };
        await sink.append(p);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, one));
    return rows / ((performance.now() - t0) / 1000);
  } finally {
    await sink.close();
  }
}

// ---------------------------------------------------------------------------------------
// Orchestration per step

interface StepTimes {
  steps: number;
  /** Workflow started → completed, minus the activities' own time, per step (ms). */
  orchestrationMsPerStep: number;
  /** Of it: a step's scheduled → started (matching and the worker's poll), median (ms). */
  toStartMs: number;
  /** Of it: the previous step's end (or the start) → the next scheduled (a workflow task), median (ms). */
  toScheduleMs: number;
}

/** From a completed run's history: the time not spent inside activities, per activity. */
function stepTimes(history: History): StepTimes {
  const events = history.events ?? [];
  const startedAt = new Map<string, number>();
  const scheduledAt = new Map<string, number>();
  const toStart: number[] = [];
  const toSchedule: number[] = [];
  let lastEnd = protoSeconds(events[0]?.eventTime);
  let own = 0;
  let steps = 0;
  for (const e of events) {
    if (e.activityTaskScheduledEventAttributes) {
      scheduledAt.set(String(e.eventId), protoSeconds(e.eventTime));
      toSchedule.push((protoSeconds(e.eventTime) - lastEnd) * 1000);
    }
    const start = e.activityTaskStartedEventAttributes;
    if (start) {
      startedAt.set(String(start.scheduledEventId), protoSeconds(e.eventTime));
      toStart.push((protoSeconds(e.eventTime) - scheduledAt.get(String(start.scheduledEventId))!) * 1000);
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      own += protoSeconds(e.eventTime) - startedAt.get(String(done.scheduledEventId))!;
      lastEnd = protoSeconds(e.eventTime);
      steps++;
    }
  }
  const wall = protoSeconds(events.at(-1)?.eventTime) - protoSeconds(events[0]?.eventTime);
  return { steps, orchestrationMsPerStep: ((wall - own) * 1000) / steps, toStartMs: median(toStart), toScheduleMs: median(toSchedule) };
}

async function perennialPipeline(client: Client, config: ReturnType<typeof loadConfig>, loaded: LoadedSpec): Promise<{ times: StepTimes; version: number }> {
  const handle = await startTraining(client, config, loaded, 'bench');
  const result = await handle.result();
  return { times: stepTimes(await handle.fetchHistory()), version: result.version };
}

async function barePipeline(client: Client, taskQueue: string, steps: number, eager: boolean): Promise<StepTimes> {
  const handle = await client.workflow.start('bareSteps', { taskQueue, workflowId: `bare-steps-${process.pid}-${performance.now()}`, args: [steps, eager] });
  await handle.result();
  return stepTimes(await handle.fetchHistory());
}

// ---------------------------------------------------------------------------------------
// Many monitored lifecycles

/** What a serving lifecycle hands on at continue-as-new: v1 the champion, nothing checked yet. */
function servingState(metrics: { auc: number; logLoss: number; accuracy: number; brier: number }) {
  return {
    format: 1,
    specVersion: 1,
    stage: 'SERVING',
    champion: { version: 1, metrics, since: new Date().toISOString() },
    candidate: null,
    approvedVersions: [1],
    versionMetrics: { 1: metrics },
    history: [],
    refused: [],
    trainingFor: 'bench',
    paused: null,
    monitor: { cursor: 0, nextCheckAt: null, checks: 0, consecutiveBreaches: 0, lastCheck: null, labeledUntil: null },
    retrainStarts: [],
    run: 1,
    usedNonces: [],
  };
}

/** Raw flight rows as clients send them, departures over two January days. */
function flights(n: number, seed: number): Record<string, unknown>[] {
  const airports = ['ATL', 'ORD', 'DFW', 'LAX', 'PHX', 'DEN', 'IAH', 'LAS', 'DTW', 'MSP', 'SFO', 'EWR', 'STL', 'SEA', 'BOS'];
  let s = seed;
  const next = () => (s = (s * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: n }, () => ({
    date: new Date(Date.UTC(2001, 0, 4) + Math.floor(next() * 2 * 24 * 60) * 60_000).toISOString().slice(0, 19),
    distance: 100 + Math.floor(next() * 2500),
    origin: airports[Math.floor(next() * airports.length)],
    destination: airports[Math.floor(next() * airports.length)],
  }));
}

/** Every `everyMs`, one request of `rows` instances to each model, `concurrency` requests at a time, until stopped. */
function sendTraffic(serverUrl: string, models: string[], rows: number, everyMs: number, concurrency = 16) {
  let stopped = false;
  const counts = { requests: 0, ok: 0, failed: 0 };
  const bodies = Array.from({ length: 50 }, (_, i) => JSON.stringify({ instances: flights(rows, i + 1) }));
  const done = (async () => {
    for (let round = 0; !stopped; round++) {
      const t0 = Date.now();
      let next = 0;
      const one = async () => {
        while (!stopped && next < models.length) {
          const model = models[next++];
          counts.requests++;
          try {
            const res = await fetch(`${serverUrl}/v1/models/${model}:predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[(round + next) % bodies.length] });
            await res.arrayBuffer();
            if (res.status === 200) counts.ok++;
            else counts.failed++;
          } catch {
            counts.failed++;
          }
        }
      };
      await Promise.all(Array.from({ length: concurrency }, one));
      const wait = everyMs - (Date.now() - t0);
      if (wait > 0 && !stopped) await sleep(wait);
    }
  })();
  return {
    counts,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

/** A process's resident memory (Linux /proc), in MiB. */
function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

interface CheckLateness {
  /** Due → the timer fired (ms): the server's timer. */
  firedMs: number;
  /** Of it, the workflow task that set the timer: from the clock it measured the wait by to its completion (the server starts the timer then). */
  settingMs: number;
  /** Of it, the server's own: the timer's expiry (set → + its duration) → fired. */
  serverTimerMs: number;
  /** Due → the check scheduled (ms): the timer and the workflow task. */
  scheduledMs: number;
  /** Due → the check started on the worker (ms). */
  startedMs: number;
  /** Started → completed: the check's own time (ms). */
  ownMs: number;
}

/**
 * Each monitor check of a lifecycle's history: when it was due (the time the workflow read
 * when it set the timer, plus the timer's duration) and when it was scheduled and started.
 */
function checkLateness(events: HistoryEvent[]): CheckLateness[] {
  interface Fired { due: number; set: number; expiry: number; at: number }
  let clock = 0;
  const timerDue = new Map<string, Omit<Fired, 'at'>>();
  let lastFired: Fired | undefined;
  const firedBefore = events.map((e) => {
    const at = protoSeconds(e.eventTime);
    // The workflow's clock during a task is the time that task started; after a check run
    // inside the task, the lifecycle measures its next wait from the check's end.
    if (e.workflowTaskStartedEventAttributes) clock = at;
    const local = localCheck(e);
    if (local && Number.isFinite(local.finishedAt)) clock += checkClockLag(local.finishedAt * 1000, clock * 1000) / 1000;
    const timer = e.timerStartedEventAttributes;
    if (timer) {
      const duration = protoSeconds(timer.startToFireTimeout);
      timerDue.set(String(e.eventId), { due: clock + duration, set: at - clock, expiry: at + duration });
    }
    const fired = e.timerFiredEventAttributes;
    const due = fired ? timerDue.get(String(fired.startedEventId)) : undefined;
    if (due !== undefined) lastFired = { ...due, at };
    return lastFired;
  });
  const claimed = new Set<Fired>();
  return monitorChecks(events).flatMap((c) => {
    const f = firedBefore[c.index];
    // A check not woken by its timer (the first, set while the lifecycle started) has no due time here.
    if (!f || claimed.has(f)) return [];
    claimed.add(f);
    const ms = (t: number) => (t - f.due) * 1000;
    return [{ firedMs: ms(f.at), settingMs: f.set * 1000, serverTimerMs: (f.at - f.expiry) * 1000, scheduledMs: ms(c.scheduledAt), startedMs: ms(c.startedAt), ownMs: (c.completedAt - c.startedAt) * 1000 }];
  });
}

async function inBatches<T, R>(items: T[], concurrency: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

export interface ClusterLoadOptions {
  lifecycles: number;
  minutes: number;
}

export async function benchClusterLoad(o: ClusterLoadOptions): Promise<void> {
  console.log(`\n# the cluster topology: Temporal v1.30.8 on PostgreSQL, the PostgreSQL registry and prediction log, S3 (gofakes3)`);
  const dir = mkdtempSync(path.join(tmpdir(), 'perennial-bench-cluster-'));
  const fleet = await startFleet();
  // This process writes and reads the bucket too (the adopted champions' artifacts).
  Object.assign(process.env, fleet.s3.env);
  const children: ChildProcess[] = [];
  const env = (home: string, extra: Record<string, string> = {}) => ({ ...fleet.env, PERENNIAL_HOME: path.join(dir, home), LOG_LEVEL: 'warn', ...extra }) as Record<string, string>;
  try {
    await printInsertRates(fleet, dir);

    const workerMetrics = await freePort();
    const worker = await spawnServer('scripts/worker.ts', env('worker', { PERENNIAL_WORKER_METRICS_PORT: String(workerMetrics) }), `http://127.0.0.1:${workerMetrics}/metrics`);
    children.push(worker);
    const config = loadConfig(env('bench'));
    const template = loadSpec('load-template');
    const { version } = await printOrchestrationOverhead(fleet, config, template);
    if (o.lifecycles === 0) return;

    const models = Array.from({ length: o.lifecycles }, (_, i) => `load-${String(i + 1).padStart(4, '0')}`);
    const metrics = await adoptTemplate(config, template.spec.name, version, models);

    const serverPort = await freePort();
    const serverUrl = `http://127.0.0.1:${serverPort}`;
    const server = await spawnServer('scripts/serve.ts', env('server', { PERENNIAL_SERVER_PORT: String(serverPort) }), `${serverUrl}/healthz`);
    children.push(server);
    await untilServing(serverUrl, models.length);

    await sleep(5000);
    const idleRss = rssMiB(worker.pid!);
    const traffic = sendTraffic(serverUrl, models, 8, 10_000);
    const started = Date.now();
    await inBatches(models, 16, async (model) => {
      const loaded = loadSpec(model);
      await fleet.client.workflow.start('lifecycle', {
        workflowId: lifecycleWorkflowId(model),
        taskQueue: config.taskQueue,
        args: [{ spec: loaded.spec, specHash: loaded.specHash, startedBy: 'bench', searchAttributes: true, carried: servingState(metrics) }],
        typedSearchAttributes: modelSearchAttributes(model),
      });
    });
    const startSeconds = (Date.now() - started) / 1000;
    console.log(`  started ${models.length} lifecycles in ${fmt(startSeconds)} s; checks every minute for ${o.minutes} minutes; traffic: 8 rows per model every 10 s through the model server`);
    const rss: number[] = [];
    const runUntil = started + (o.minutes + 1) * 60_000 + 20_000;
    const cpuRoots = { worker: worker.pid!, 'model server': server.pid!, 'Temporal server': fleet.temporal.pid, PostgreSQL: fleet.postgres.pid, S3: fleet.s3.pid };
    const cpuFrom = sampleCpu(cpuRoots);
    while (Date.now() < runUntil) {
      await sleep(15_000);
      rss.push(rssMiB(worker.pid!));
    }
    const cpuTo = sampleCpu(cpuRoots);
    await traffic.stop();
    const windowFrom = started / 1000 + 60;
    const windowTo = Date.now() / 1000;

    const perLifecycle = await inBatches(models, 8, async (model) => {
      const handle: WorkflowHandle = fleet.client.workflow.getHandle(lifecycleWorkflowId(model));
      const events = (await handle.fetchHistory()).events ?? [];
      const inWindow = events.filter((e) => protoSeconds(e.eventTime) >= windowFrom && protoSeconds(e.eventTime) <= windowTo).length;
      return { checks: checkLateness(events), eventsPerDay: (inWindow / (windowTo - windowFrom)) * 86_400 };
    });
    const checks = perLifecycle.flatMap((l) => l.checks);
    const late = (f: (c: CheckLateness) => number) => checks.map(f);
    console.log(`  checks: ${checks.length} completed (${fmt(checks.length / models.length)} per lifecycle; ${o.minutes} due in the window), check's own time median ${fmt(median(late((c) => c.ownMs)))} ms`);
    console.log(`  check lateness, due → the timer fired: p50 ${fmt(median(late((c) => c.firedMs)))} ms, p99 ${fmt(quantile(late((c) => c.firedMs), 0.99))} ms`);
    console.log(`    of it, the workflow task that set the timer (the clock it measured by → completed): p50 ${fmt(median(late((c) => c.settingMs)))} ms, p99 ${fmt(quantile(late((c) => c.settingMs), 0.99))} ms; the timer's expiry → fired: p50 ${fmt(median(late((c) => c.serverTimerMs)))} ms, p99 ${fmt(quantile(late((c) => c.serverTimerMs), 0.99))} ms`);
    console.log(`  check lateness, due → scheduled: p50 ${fmt(median(late((c) => c.scheduledMs)))} ms, p99 ${fmt(quantile(late((c) => c.scheduledMs), 0.99))} ms`);
    console.log(`  check lateness, due → started on the worker: p50 ${fmt(median(late((c) => c.startedMs)))} ms, p99 ${fmt(quantile(late((c) => c.startedMs), 0.99))} ms, max ${fmt(Math.max(...late((c) => c.startedMs)))} ms (goal p99 ≤ 1000 ms)`);
    const steady = perLifecycle.flatMap((l) => l.checks.slice(1)).map((c) => c.startedMs);
    console.log(`    from each lifecycle's second check on (its first is set while ${models.length} lifecycles start): p50 ${fmt(median(steady))} ms, p99 ${fmt(quantile(steady, 0.99))} ms`);
    const loadedRss = median(rss.slice(Math.floor(rss.length / 2)));
    console.log(`  worker memory (RSS): ${fmt(idleRss)} MiB before the lifecycles, ${fmt(loadedRss)} MiB with them (median of the second half), max ${fmt(Math.max(...rss))} MiB → ${fmt(((loadedRss - idleRss) * 1024) / models.length)} KiB per lifecycle`);
    console.log(`  history events per lifecycle per day: median ${Math.round(median(perLifecycle.map((l) => l.eventsPerDay)))} (at one check a minute; about ${Math.round(median(perLifecycle.map((l) => l.eventsPerDay)) / 60)} at one an hour)`);
    await printWorkflowTaskMetrics(`http://127.0.0.1:${workerMetrics}/metrics`);
    console.log(`  CPU from the last start to the end of the load, in cores: ${cpuShares(cpuFrom, cpuTo)}`);
    console.log(`  traffic: ${traffic.counts.ok} requests answered 200, ${traffic.counts.failed} not (${traffic.counts.requests} sent)`);
  } finally {
    for (const c of children.reverse()) await stopServer(c);
    await fleet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The worker's own view of its workflow tasks (the SDK's Prometheus histograms): how long it
 * held each, apart from the server's part of a task, and how often it had to replay a history.
 */
async function printWorkflowTaskMetrics(url: string): Promise<void> {
  const text = await (await fetch(url)).text();
  const histogram = (name: string) => {
    const buckets = new Map<number, number>();
    for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{.*le="([^"]+)".*\\} (\\S+)$`, 'gm'))) {
      const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
      buckets.set(le, (buckets.get(le) ?? 0) + Number(m[2]));
    }
    const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
    const count = sorted.at(-1)?.[1] ?? 0;
    const at = (q: number) => sorted.find(([, c]) => c >= q * count)?.[0] ?? NaN;
    return `${count} tasks, p50 ≤ ${at(0.5)}, p99 ≤ ${at(0.99)}`;
  };
  const counter = (name: string) => [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
  console.log(`  the worker's workflow tasks (SDK histograms, bucket bounds in ms): execution ${histogram('temporal_workflow_task_execution_latency')}; schedule → start ${histogram('temporal_workflow_task_schedule_to_start_latency')}; replay ${histogram('temporal_workflow_task_replay_latency')}`);
  console.log(`    sticky cache: ${counter('temporal_sticky_cache_hit')} hits, ${counter('temporal_sticky_cache_miss')} misses, ${counter('temporal_sticky_cache_total_forced_eviction')} forced evictions`);
}

async function printInsertRates(fleet: Fleet, dir: string): Promise<void> {
  const rows = 20_000;
  const pg: number[] = [];
  const sqlite: number[] = [];
  for (let round = 0; round < 3; round++) {
    pg.push(await insertRate({ home: path.join(dir, 'insert-pg'), registryUrl: fleet.env.PERENNIAL_REGISTRY_URL }, rows));
    sqlite.push(await insertRate({ home: path.join(dir, `insert-sqlite-${round}`) }, rows));
  }
  console.log(`  prediction-log inserts (${rows.toLocaleString('en-US')} rows, 256 waiting at once, 3 rounds): PostgreSQL median ${Math.round(median(pg)).toLocaleString('en-US')} rows/s, SQLite ${Math.round(median(sqlite)).toLocaleString('en-US')} rows/s → PostgreSQL/SQLite ${fmt(median(pg) / median(sqlite), 2)}`);
}

const ORCHESTRATION_ROUNDS = 9;

async function printOrchestrationOverhead(fleet: Fleet, config: ReturnType<typeof loadConfig>, template: LoadedSpec): Promise<{ version: number }> {
  const taskQueue = 'bench-bare-steps';
  installRuntime(createLogger('warn', 'perennial-bench'));
  const connection = await NativeConnection.connect({ address: fleet.temporal.address });
  const bare = await Worker.create({
    connection,
    taskQueue,
    workflowBundle: await bundleWorkflowCode({ workflowsPath: path.join(ROOT, 'scripts/bench/bareSteps.ts'), logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } }),
    activities: { step: async () => 1 },
  });
  const ours: StepTimes[] = [];
  const baseline: StepTimes[] = [];
  const eager: StepTimes[] = [];
  let version = 0;
  await bare.runUntil(async () => {
    for (let round = 0; round < ORCHESTRATION_ROUNDS; round++) {
      const run = await perennialPipeline(fleet.client, config, template);
      version = run.version;
      ours.push(run.times);
      baseline.push(await barePipeline(fleet.client, taskQueue, run.times.steps, false));
      eager.push(await barePipeline(fleet.client, taskQueue, run.times.steps, true));
    }
  });
  await connection.close();
  const perStep = (ts: StepTimes[]) => fmt(median(ts.map((t) => t.orchestrationMsPerStep)));
  // Each round runs ours and the bare pipelines back to back, so the paired difference cancels
  // most of what a busy moment of this machine adds to all.
  const pairedWith = (bare: StepTimes[]) => ours.map((t, i) => t.orchestrationMsPerStep - bare[i].orchestrationMsPerStep).sort((x, y) => x - y);
  const signed = (ms: number) => `${ms >= 0 ? '+' : '−'}${fmt(Math.abs(ms))}`;
  const paired = pairedWith(baseline);
  console.log(`  training pipeline, orchestration per step (run time minus the activities' own, ${ours[0].steps} steps, ${ORCHESTRATION_ROUNDS} rounds): perennial median ${perStep(ours)} ms, bare SDK workflow of no-op steps through matching (as perennial's steps on the training queue) ${perStep(baseline)} ms → median of paired differences ${signed(median(paired))} ms per step (goal ≤ +10 ms; rounds ranged ${signed(paired[0])} to ${signed(paired[paired.length - 1])} ms)`);
  console.log(`    the same bare workflow with its steps handed out eagerly (the server's activity eager execution, which steps on another queue cannot use): ${perStep(eager)} ms → ${signed(median(pairedWith(eager)))} ms per step`);
  const part = (ts: StepTimes[], f: (t: StepTimes) => number) => fmt(median(ts.map(f)));
  console.log(`    of it, a step's scheduled → started: perennial ${part(ours, (t) => t.toStartMs)} ms, bare ${part(baseline, (t) => t.toStartMs)} ms, eager ${part(eager, (t) => t.toStartMs)} ms; the previous step's end → scheduled: perennial ${part(ours, (t) => t.toScheduleMs)} ms, bare ${part(baseline, (t) => t.toScheduleMs)} ms, eager ${part(eager, (t) => t.toScheduleMs)} ms`);
  return { version };
}

/**
 * Each model registers the template's trained version as its v1 (the same trees, in a model
 * artifact of its own name: a server refuses another model's artifact) and makes it the champion.
 */
async function adoptTemplate(config: ReturnType<typeof loadConfig>, templateModel: string, version: number, models: string[]) {
  const registry = openRegistry(config);
  const store = openArtifactStore(config);
  try {
    const v = (await registry.get(templateModel, version))!;
    const artifact = (await readJsonArtifact(v.artifactUri)) as Record<string, unknown>;
    const holdout = (v.metrics as { holdout: { auc: number; logLoss: number; accuracy: number; brier: number } }).holdout;
    await inBatches(models, 8, async (model) => {
      const { version: _v, ...rest } = v;
      const stored = await store.putJson('models', { ...artifact, model });
      const spec = v.specJson ? { specJson: canonicalJson({ ...(JSON.parse(v.specJson) as object), name: model }) } : {};
      await registry.register({ ...rest, ...spec, model, artifactUri: stored.uri, artifactSha256: stored.sha256 });
      await registry.setAlias(model, 'champion', 1);
    });
    return { auc: holdout.auc, logLoss: holdout.logLoss, accuracy: holdout.accuracy, brier: holdout.brier };
  } finally {
    await registry.close();
  }
}

async function untilServing(serverUrl: string, n: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const res = await fetch(`${serverUrl}/v1/models`);
    const body = (await res.json()) as { models: { ready: boolean }[] };
    if (body.models.filter((m) => m.ready).length >= n) return;
    if (Date.now() > deadline) throw new Error(`the model server serves ${body.models.filter((m) => m.ready).length} of ${n} models after 2 minutes: ${JSON.stringify(body.models.find((m) => !m.ready) ?? null)}`);
    await sleep(1000);
  }
}
