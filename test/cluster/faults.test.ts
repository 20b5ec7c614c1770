/**
 * Faults on the PostgreSQL-backed fleet (Temporal v1.30.8 on PostgreSQL, the PostgreSQL
 * registry and prediction log, S3 artifacts), each survived with nothing lost: a worker
 * SIGKILLed mid-training and in each training step, the Temporal server restarted mid-training and mid-approval,
 * PostgreSQL restarted under serving load, S3 unreachable during a training.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { openArtifactStore } from '../../src/artifacts/open';
import { startLocalS3 } from '../../src/cluster/s3';
import { loadConfig, type Config } from '../../src/config';
import { startLifecycle } from '../../src/client/startLifecycle';
import { startTraining } from '../../src/client/startTraining';
import { openRegistry, withRegistry } from '../../src/registry/open';
import { trainVersions } from '../../src/training/trainVersions';
import { buildModelServer, type ModelServer } from '../../src/serving/app';
import { openPredictionReader } from '../../src/serving/openPredictions';
import { createWorker, type PerennialWorker } from '../../src/worker/createWorker';
import { approveUpdate, statusQuery } from '../../workflows';
import { waitForStatus } from '../helpers/lifecycle';
import { signers, type Signers } from '../helpers/signing';
import { setGbdtParams, smallFlightsSpec } from '../helpers/specs';
import { freePort, tempHome, workflowBundle } from '../helpers/temporalServer';
import { startFleet, workerConnection, type Fleet } from './fleet';

const ROOT = path.resolve(__dirname, '../..');
let fleet: Fleet;
const homes: string[] = [];
const children: ChildProcess[] = [];

/** A machine's settings: the fleet's shared ones and a home of its own. */
function machineConfig(extra: NodeJS.ProcessEnv = {}): { env: NodeJS.ProcessEnv; config: Config } {
  const home = tempHome('perennial-machine-');
  homes.push(home);
  const env = { ...fleet.env, PERENNIAL_HOME: home, PERENNIAL_SERVER_LIVENESS_MS: '4000', LOG_LEVEL: 'warn', ...extra };
  return { env, config: loadConfig(env) };
}

/** `npm run worker` in a process of its own (so it can be SIGKILLed), on a machine of its own. */
function spawnWorker(): ChildProcess {
  const { env } = machineConfig();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/worker.ts')], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  return child;
}

async function inProcessWorker(): Promise<{ worker: PerennialWorker; connection: NativeConnection; running: Promise<void>; stop(): Promise<void> }> {
  const { config } = machineConfig();
  const connection = await workerConnection(fleet);
  const worker = await createWorker({ config, connection, workflowBundle: await workflowBundle() });
  const running = worker.run();
  return {
    worker,
    connection,
    running,
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

async function versions(model: string): Promise<number[]> {
  const registry = openRegistry({ home: homes[0], registryUrl: fleet.env.PERENNIAL_REGISTRY_URL });
  try {
    return (await registry.versions(model)).map((v) => v.version);
  } finally {
    await registry.close();
  }
}

/** A training slow enough to be interrupted: 300 rounds, a checkpoint every 5. */
function slowSpec(name: string, more: Parameters<typeof smallFlightsSpec>[0] = () => undefined) {
  return smallFlightsSpec((raw) => {
    raw.name = name;
    raw.data.training = { start: '2001-01-01', end: '2001-01-15' };
    raw.data.holdout = { start: '2001-01-15', end: '2001-01-17' };
    setGbdtParams(raw, { rounds: 300, maxDepth: 6 }, 5);
    more(raw);
  });
}

/** Waits for the training run's first checkpoint in the bucket: durable evidence the fit is under way. */
async function firstCheckpoint(config: Config, workflowId: string): Promise<void> {
  const store = openArtifactStore(config);
  const deadline = Date.now() + 240_000;
  while (!(await store.namedJson(`checkpoints/${encodeURIComponent(workflowId)}.json`).catch(() => null))) {
    assert.ok(Date.now() < deadline, 'no checkpoint within 4 minutes');
    await sleep(50);
  }
}

before(async () => {
  fleet = await startFleet();
  // In-process workers and servers read the AWS_* settings from the environment.
  Object.assign(process.env, fleet.s3.env);
  machineConfig();
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await fleet?.stop();
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

test('a worker SIGKILLed mid-training: a worker on another machine resumes from the checkpoint in the bucket; one version', async () => {
  const { config } = machineConfig();
  const first = spawnWorker();
  const loaded = slowSpec('fault-worker-kill');
  const handle = await startTraining(fleet.client, config, loaded, 'fault-test');
  await firstCheckpoint(config, handle.workflowId);
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  spawnWorker();
  const result = await handle.result();
  assert.ok(result.training.resumedFromRound > 0, `the retry resumed from round ${result.training.resumedFromRound}, not 0`);
  assert.deepEqual(await versions(loaded.spec.name), [1]);
  for (const c of children) c.kill('SIGTERM');
});

test('a worker SIGKILLed in each training step, after the step did its work and before Temporal heard: every run finishes on another machine with one version', async () => {
  const steps = ['ingest', 'validateData', 'train', 'evaluate', 'register'];
  const specs = steps.map((step) => smallFlightsSpec((raw) => (raw.name = `fault-kill-${step.toLowerCase()}`)));
  const { env } = machineConfig({ PERENNIAL_TEST_HOLD: steps.map((step, i) => `${step}:${specs[i].spec.name}`).join(',') });
  const holder = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/cluster/holdingWorker.ts')], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(holder);
  const { config } = machineConfig();
  const handles = await Promise.all(specs.map((loaded) => startTraining(fleet.client, config, loaded, 'fault-test')));
  // Durable evidence each step did its work and is held: its first attempt's last heartbeat says `held`.
  const saysHeld = (p: { data?: Uint8Array | null }) => Buffer.from(p.data ?? []).toString('utf8') === JSON.stringify('held');
  const deadline = Date.now() + 240_000;
  for (const [i, handle] of handles.entries()) {
    for (;;) {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      if (pending.some((a) => a.activityType?.name === steps[i] && (a.heartbeatDetails?.payloads ?? []).some(saysHeld))) break;
      assert.ok(Date.now() < deadline, `${steps[i]} was not held within 4 minutes`);
      await sleep(200);
    }
  }
  holder.kill('SIGKILL');
  await new Promise((r) => holder.once('exit', r));
  const replacement = spawnWorker();
  try {
    const results = await Promise.all(handles.map((h) => h.result()));
    for (const [i, result] of results.entries()) {
      assert.equal(result.version, 1, steps[i]);
      assert.deepEqual(await versions(specs[i].spec.name), [1], `${steps[i]}: one version`);
      const events = (await handles[i].fetchHistory()).events ?? [];
      const scheduled = new Set(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === steps[i]).map((e) => String(e.eventId)));
      const attempts = events.flatMap((e) => (e.activityTaskStartedEventAttributes && scheduled.has(String(e.activityTaskStartedEventAttributes.scheduledEventId)) ? [e.activityTaskStartedEventAttributes.attempt ?? 1] : []));
      assert.deepEqual(attempts, [2], `${steps[i]} finished in its second attempt, on the other worker`);
    }
  } finally {
    replacement.kill('SIGTERM');
    await new Promise((r) => replacement.once('exit', r));
  }
});

test('the Temporal server restarted mid-training and mid-approval: the run finishes, the approval promotes, once', async () => {
  const w = await inProcessWorker();
  const { config } = machineConfig();
  const server = await startServer();
  try {
    const loaded = slowSpec('fault-temporal-restart', (raw) => {
      raw.approval = { approvers: ['ml-lead'], separationOfDuties: true, timeout: '72h' };
      raw.evaluation = { gates: { min: { auc: 0.5 } } };
      raw.rollout = { deployTimeout: '60s' };
    });
    const people: Signers = await signers(config, ['ml-lead']);
    const { handle } = await startLifecycle(fleet.client, config, loaded, 'bob');
    await firstCheckpoint(config, `train/${loaded.spec.name}/1`);
    await fleet.restartTemporal();
    const waiting = await waitForStatus(handle, (s) => s.stage === 'AWAITING_APPROVAL', 'v1 to await approval after the restart', 300_000);
    assert.equal(waiting.candidate?.version, 1);

    await fleet.restartTemporal();
    await handle.executeUpdate(approveUpdate, { args: [people.sign(handle.workflowId, 'approve', { version: 1, by: 'ml-lead', reason: 'after a restart' })] });
    const serving = await waitForStatus(handle, (s) => s.stage === 'SERVING', 'v1 served', 120_000);
    assert.equal(serving.champion?.version, 1);
    assert.equal((await handle.query(statusQuery)).champion?.version, 1);
    assert.deepEqual(await versions(loaded.spec.name), [1]);
    const res = await predict(server.url, loaded.spec.name);
    assert.equal(res.status, 200);
  } finally {
    await server.close();
    await w.stop();
  }
});

async function startServer(o: { logMaxPending?: number } = {}): Promise<ModelServer & { url: string }> {
  const { config } = machineConfig();
  const server = await buildModelServer({ home: config.home, registryUrl: config.registryUrl, pollMs: 100, heartbeatMs: 500, logMaxPending: o.logMaxPending });
  const port = await freePort();
  await server.app.listen({ host: '127.0.0.1', port });
  const url = `http://127.0.0.1:${port}`;
  await server.presence.advertise(url);
  return Object.assign(server, { url });
}

function predict(url: string, model: string): Promise<Response> {
  return fetch(`${url}/v1/models/${model}:predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances: [{ date: '2001-02-01T08:30:00', distance: 600, origin: 'ORD', destination: 'ATL' }] }),
    signal: AbortSignal.timeout(60_000),
  });
}

test('PostgreSQL restarted under serving load: no acknowledged prediction is lost, and the server recovers by itself', async () => {
  // A champion of its own, trained straight into the fleet's registry and bucket.
  const { config } = machineConfig();
  const loaded = smallFlightsSpec((raw) => (raw.name = 'fault-pg-restart'));
  const model = loaded.spec.name;
  const [trained] = await trainVersions(config, loaded, [{ rounds: 10, maxDepth: 3 }]);
  await withRegistry(config, (r) => r.setAlias(model, 'champion', trained.version.version));
  // At most 8 predictions wait for the log: more are refused (503) while the database is away, never answered unlogged.
  const server = await startServer({ logMaxPending: 8 });
  try {
    assert.equal((await predict(server.url, model)).status, 200, 'the champion serves');
    const acknowledged: string[] = [];
    const refused: number[] = [];
    let stop = false;
    const load = Promise.all(
      Array.from({ length: 16 }, async () => {
        while (!stop) {
          const res = await predict(server.url, model).catch(() => null);
          if (res?.status === 200) acknowledged.push(((await res.json()) as { predictions: { request_id: string }[] }).predictions[0].request_id);
          else {
            refused.push(res?.status ?? 0);
            await sleep(50);
          }
        }
      }),
    );
    const warmup = Date.now() + 60_000;
    while (acknowledged.length < 100) {
      assert.ok(Date.now() < warmup, `answers before the restart (${acknowledged.length})`);
      await sleep(20);
    }
    await fleet.restartPostgres();
    const afterRestart = acknowledged.length;
    const deadline = Date.now() + 120_000;
    while (acknowledged.length < afterRestart + 100) {
      assert.ok(Date.now() < deadline, `answers resumed after the restart (${acknowledged.length - afterRestart} so far)`);
      await sleep(50);
    }
    stop = true;
    await load;
    const log = openPredictionReader({ home: homes[0], registryUrl: fleet.env.PERENNIAL_REGISTRY_URL });
    try {
      const logged = new Set((await log.read({ model })).map((r) => r.requestId));
      assert.deepEqual(acknowledged.filter((id) => !logged.has(id)), [], 'every answered prediction is in the log');
    } finally {
      await log.close();
    }
    assert.ok(refused.length > 0, 'with more requests waiting than the log holds, some were refused while the database was away');
    assert.ok(refused.every((s) => s === 503), `only "busy" refusals (503) while the database was away, never an error or a dropped connection: ${[...new Set(refused)]}`);
    // The server still follows the registry: its heartbeat is there again.
    const registry = openRegistry({ home: homes[0], registryUrl: fleet.env.PERENNIAL_REGISTRY_URL });
    try {
      const deadline2 = Date.now() + 30_000;
      while (!(await registry.liveServers(2000)).some((s) => s.id === server.presence.id)) {
        assert.ok(Date.now() < deadline2, 'the server reports to the registry again');
        await sleep(200);
      }
    } finally {
      await registry.close();
    }
  } finally {
    await server.close();
  }
});

test('S3 unreachable during a training: retries, then a clear failure naming the object store, and nothing registered', async () => {
  const w = await inProcessWorker();
  const { config } = machineConfig();
  const port = fleet.s3.port;
  try {
    await fleet.s3.stop();
    const loaded = smallFlightsSpec((raw) => (raw.name = 'fault-s3'));
    const handle = await startTraining(fleet.client, config, loaded, 'fault-test');
    const failure = await handle.result().then(
      () => assert.fail('the training succeeded without its object store'),
      (err: unknown) => err,
    );
    assert.ok(failure instanceof WorkflowFailedError);
    const messages: string[] = [];
    for (let e: unknown = failure; e; e = (e as { cause?: unknown }).cause) messages.push((e as Error).message);
    assert.match(messages.join(' | '), new RegExp(`cannot write s3://perennial/artifacts/datasets/[0-9a-f]{64}\\.parquet: .*ECONNREFUSED`));
    const history = await handle.fetchHistory();
    const attempts = (history.events ?? []).flatMap((e) => (e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt ?? 1] : []));
    assert.ok(attempts.some((a) => a >= 5), `ingest was retried (attempts ${attempts})`);
    assert.deepEqual(await versions(loaded.spec.name), [], 'nothing half-registered');
  } finally {
    fleet.s3 = await restartS3(port);
    await w.stop();
  }
});

function restartS3(port: number) {
  return startLocalS3({ port, dataDir: fleet.s3.dataDir, bucket: fleet.s3.bucket });
}
