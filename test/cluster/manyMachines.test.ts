/**
 * perennial on shared parts, as on several machines: a worker, two model servers and a CLI,
 * each with a PERENNIAL_HOME of its own (no shared disk), working through one PostgreSQL
 * registry and prediction log, one S3 bucket and the Temporal server v1.30.8 on PostgreSQL
 * (what `npm run cluster` runs). The model servers are processes of their own, so one can
 * be SIGKILLed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import YAML from 'yaml';
import type { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { openRegistry } from '../../src/registry/open';
import { openPredictionReader } from '../../src/serving/openPredictions';
import { createWorker, type PerennialWorker } from '../../src/worker/createWorker';
import { statusQuery } from '../../workflows';
import { expectExit, runCli } from '../helpers/cli';
import { waitForStatus } from '../helpers/lifecycle';
import { smallFlightsSpec } from '../helpers/specs';
import { freePort, tempHome, workflowBundle } from '../helpers/temporalServer';
import { startFleet, workerConnection, type Fleet } from './fleet';

const ROOT = path.resolve(__dirname, '../..');
const MODEL = 'fleet-flights';

let fleet: Fleet;
let shared: NodeJS.ProcessEnv;
let worker: PerennialWorker;
let connection: NativeConnection;
let running: Promise<void>;
const homes: string[] = [];
const servers: { url: string; home: string; child: ChildProcess }[] = [];

/** The settings every machine shares (what `npm run cluster` writes to cluster.env), and a home of its own. */
function machine(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const home = tempHome('perennial-machine-');
  homes.push(home);
  return { ...shared, PERENNIAL_HOME: home, PERENNIAL_KEYS_DIR: path.join(home, 'keys'), ...extra };
}

async function startServer(): Promise<{ url: string; home: string; child: ChildProcess }> {
  const port = await freePort();
  const env = machine({ PERENNIAL_SERVER_PORT: String(port), PERENNIAL_SERVER_URL: `http://127.0.0.1:${port}`, PERENNIAL_SERVER_HEARTBEAT_MS: '500' });
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/serve.ts')], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`a model server exited: ${stderr}`);
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) break;
    if (Date.now() > deadline) throw new Error(`a model server did not start: ${stderr}`);
    await sleep(200);
  }
  const server = { url, home: env.PERENNIAL_HOME!, child };
  servers.push(server);
  return server;
}

async function servedVersion(url: string): Promise<number | null> {
  const res = await fetch(`${url}/v1/models/${MODEL}:predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances: [{ date: '2001-02-01T08:30:00', distance: 600, origin: 'ORD', destination: 'ATL' }] }),
  });
  return res.ok ? ((await res.json()) as { model_version: number }).model_version : null;
}

before(async () => {
  fleet = await startFleet();
  shared = { ...fleet.env, PERENNIAL_SERVER_LIVENESS_MS: '4000', LOG_LEVEL: 'warn' };
  // The worker runs in this process (it reads the AWS_* settings from the environment).
  Object.assign(process.env, fleet.s3.env);
  const workerConfig = loadConfig(machine());
  connection = await workerConnection(fleet);
  worker = await createWorker({ config: workerConfig, connection, workflowBundle: await workflowBundle() });
  running = worker.run();
});

after(async () => {
  for (const s of servers) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGTERM');
  await Promise.all(servers.map((s) => (s.child.exitCode === null && s.child.signalCode === null ? new Promise((r) => s.child.once('exit', r)) : null)));
  worker?.shutdown();
  await running;
  await connection?.close();
  await fleet?.stop();
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

test('machines with separate homes: keys made on one are honoured on another, every live server serves each promotion, a killed server does not hold up the next', async () => {
  const [a, b] = [await startServer(), await startServer()];
  const cli = machine();
  const run = (args: string[]) => runCli(args, cli);
  for (const name of ['ml-lead', 'ops-lead']) expectExit(await run(['keys', 'create', '--as', name, '--json']), 0);

  const loaded = smallFlightsSpec((raw) => {
    raw.name = MODEL;
    raw.approval = { approvers: ['ml-lead', 'ops-lead'], separationOfDuties: true, timeout: '72h' };
    raw.evaluation = { gates: { min: { auc: 0.55 } } };
    raw.rollout = { deployTimeout: '60s' };
  });
  const specFile = path.join(cli.PERENNIAL_HOME!, `${MODEL}.yaml`);
  mkdirSync(path.dirname(specFile), { recursive: true });
  writeFileSync(specFile, YAML.stringify(loaded.spec));
  expectExit(await run(['start-lifecycle', specFile, '--by', 'bob', '--json']), 0);
  const handle = fleet.client.workflow.getHandle(`lifecycle/${MODEL}`);
  await waitForStatus(handle, (s) => s.stage === 'AWAITING_APPROVAL' && s.candidate?.version === 1, 'v1 to await approval', 240_000);

  // Signed on the CLI's machine, verified on the worker's, from the keys in the shared registry.
  expectExit(await run(['approve', MODEL, '--version', '1', '--by', 'ml-lead', '--reason', 'first champion', '--json']), 0);
  assert.deepEqual([await servedVersion(a.url), await servedVersion(b.url)], [1, 1], 'the deploy ended once both servers served v1');

  const registry = openRegistry({ home: cli.PERENNIAL_HOME!, registryUrl: shared.PERENNIAL_REGISTRY_URL });
  try {
    const live = await registry.liveServers(4000);
    assert.equal(live.length, 2);
    assert.deepEqual(live.map((s) => s.serving.find((m) => m.model === MODEL)?.version), [1, 1]);
    assert.deepEqual(new Set(live.map((s) => s.url)), new Set([a.url, b.url]));
    const approved = (await registry.ledger(MODEL)).find((e) => e.decision === 'approved');
    assert.equal(approved?.signer?.name, 'ml-lead');

    expectExit(await run(['retrain', MODEL, '--by', 'ml-lead', '--reason', 'fresh data', '--json']), 0);
    await waitForStatus(handle, (s) => s.stage === 'AWAITING_APPROVAL' && s.candidate?.version === 2, 'v2 to await approval', 240_000);
    // Server b dies without a word just before the approval: its last heartbeat still counts it
    // as live when the deploy starts. The deploy waits for it only until its heartbeat is missed.
    b.child.kill('SIGKILL');
    await new Promise((r) => b.child.once('exit', r));
    expectExit(await run(['approve', MODEL, '--version', '2', '--by', 'ops-lead', '--reason', 'beats v1', '--json']), 0);
    const status = await handle.query(statusQuery);
    assert.equal(status.champion?.version, 2);
    assert.equal(await servedVersion(a.url), 2);
    const deployed = (await registry.ledger(MODEL)).filter((e) => e.decision === 'deployed').map((e) => e.version);
    assert.deepEqual(deployed, [1, 2]);
    assert.deepEqual((await registry.liveServers(4000)).map((s) => s.url), [a.url], 'the dead server dropped out');

    // Predictions answered by either server are in the one shared log.
    const log = openPredictionReader({ home: cli.PERENNIAL_HOME!, registryUrl: shared.PERENNIAL_REGISTRY_URL });
    try {
      assert.deepEqual((await log.read({ model: MODEL })).map((r) => r.modelVersion), [1, 1, 2]);
    } finally {
      await log.close();
    }
  } finally {
    await registry.close();
  }

  // No machine kept an artifact on its own disk: they are all in the bucket (local copies are caches).
  for (const home of homes) assert.ok(!existsSync(path.join(home, 'artifacts')) || readdirSync(path.join(home, 'artifacts')).length === 0, `${home} has no artifacts folder`);
});
