/**
 * README's first command as a user runs it: `npm start` on a fresh home brings up Temporal,
 * a worker and the model server, trains the demo model up to "awaiting approval" and prints
 * the exact approve command; that command, pasted into a shell, gets v1 served; Ctrl-C stops
 * everything cleanly; a second `npm start` picks the same lifecycle up. Only the ports and
 * the home are the test's own (free ports, a temporary folder): the model, the spec, the
 * data and the demo traffic are the defaults.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { freePort, tempHome } from '../helpers/temporalServer';

const ROOT = path.resolve(__dirname, '../..');
const MODEL = 'flight-delays';
/** README's curl example. */
const README_INSTANCE = { date: '2001-02-01T08:30:00', distance: 600, origin: 'ORD', destination: 'ATL' };

/** One `npm start` in its own process group, as a terminal runs a foreground job. */
class NpmStart {
  readonly child: ChildProcess;
  output = '';
  /** How npm ended: its exit code, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(env: NodeJS.ProcessEnv) {
    this.child = spawn('npm', ['start'], { cwd: ROOT, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.output += d));
    this.child.stderr!.on('data', (d: Buffer) => (this.output += d));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** The output once it matches `pattern` (searched from `from`); fails with the output after `timeoutMs`. */
  async waitFor(pattern: RegExp, timeoutMs: number, from = 0): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(this.output.slice(from));
      if (m) return m;
      if (this.child.exitCode !== null) assert.fail(`npm start exited (${this.child.exitCode}) before printing ${pattern}:\n${this.output}`);
      if (Date.now() > deadline) assert.fail(`npm start did not print ${pattern} within ${timeoutMs} ms:\n${this.output}`);
      await sleep(250);
    }
  }

  /** Ctrl-C: SIGINT to the whole process group (npm, tsx, node and the Temporal server alike). */
  ctrlC(): void {
    process.kill(-this.child.pid!, 'SIGINT');
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) process.kill(-this.child.pid!, 'SIGKILL');
  }
}

/** A shell command line with the stack's settings, as a user pastes it into a second terminal. */
async function shell(command: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('sh', ['-c', command], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr };
}

async function predict(serverUrl: string): Promise<{ model_version: number; predictions: { score: number; label: number; request_id: string }[] }> {
  const res = await fetch(`${serverUrl}/v1/models/${MODEL}:predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: [README_INSTANCE] }) });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as Awaited<ReturnType<typeof predict>>;
}

async function refusesConnections(url: string): Promise<boolean> {
  try {
    await (await fetch(url, { signal: AbortSignal.timeout(2000) })).arrayBuffer();
    return false;
  } catch {
    return true;
  }
}

describe('npm start (README\'s first command)', { timeout: 600_000 }, () => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  let serverUrl: string;
  let uiUrl: string;
  let temporalPort: number;
  const started: NpmStart[] = [];

  before(async () => {
    home = tempHome('perennial-start-');
    temporalPort = await freePort();
    const uiPort = await freePort();
    const serverPort = await freePort();
    env = {
      PERENNIAL_HOME: home,
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
      PERENNIAL_UI_PORT: String(uiPort),
      PERENNIAL_SERVER_PORT: String(serverPort),
      LOG_LEVEL: 'info',
      TEMPORAL_CONFIG_FILE: path.join(home, 'no-such-temporal.toml'),
    };
    serverUrl = `http://127.0.0.1:${serverPort}`;
    uiUrl = `http://127.0.0.1:${uiPort}`;
  });

  after(() => {
    for (const s of started) s.kill();
    rmSync(home, { recursive: true, force: true });
  });

  test('trains v1, stops at awaiting approval, and the approve command it prints gets v1 served', async () => {
    const run = new NpmStart(env);
    started.push(run);
    // The summary's last line: the lines before it may arrive in separate reads of the pipe.
    await run.waitFor(/perennial is up\.\n(?:.*\n)*? {2}lifecycle: .*\n/, 120_000);
    assert.match(run.output, new RegExp(`Temporal Web UI: ${uiUrl}/namespaces/default/workflows`));
    assert.match(run.output, new RegExp(`lifecycle: +${uiUrl}/namespaces/default/workflows/lifecycle%2F${MODEL} \\(started\\)`));

    const approve = await run.waitFor(/Approve it with:\n {2}(npx perennial approve .*)\n/, 300_000);
    const waiting = run.output.slice(0, approve.index);
    assert.match(waiting, new RegExp(`${MODEL}: AWAITING_APPROVAL\\n {2}candidate v1 \\(AUC 0\\.\\d{4}`));
    assert.match(waiting, /gate: ✓ auc/);
    const command = approve[1];
    assert.equal(command, `npx perennial approve ${MODEL} --version 1 --by ml-lead --reason "beats the base rate"`);
    // Nothing is served before the approval.
    assert.equal((await fetch(`${serverUrl}/v1/models/${MODEL}:predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: [README_INSTANCE] }) })).status, 503);

    const approved = await shell(command, env);
    assert.equal(approved.code, 0, `${command}\nstdout: ${approved.stdout}\nstderr: ${approved.stderr}`);
    assert.match(approved.stdout, /v1 approved by ml-lead and served/);

    const answer = await predict(serverUrl);
    assert.equal(answer.model_version, 1);
    assert.ok(answer.predictions[0].score > 0 && answer.predictions[0].score < 1);

    // npm start narrates the promotion and starts the demo's traffic on its own.
    await run.waitFor(new RegExp(`${MODEL}: SERVING\\n {2}champion {2}v1`), 60_000);
    await run.waitFor(/A champion serves: sending shift traffic/, 60_000);
  });

  test('Ctrl-C, even twice, stops the worker, the model server and Temporal cleanly, and every answered prediction is on disk', async () => {
    const run = started[0];
    // Let the traffic run a little.
    const deadline = Date.now() + 60_000;
    while ((await metricCount(serverUrl)) < 20 && Date.now() < deadline) await sleep(250);
    // An impatient user: Ctrl-C twice. The second must not cut the stop short.
    const from = run.output.length;
    run.ctrlC();
    await sleep(300);
    run.ctrlC();
    const summary = await run.waitFor(/\n {2}predictions (\d+) \(v1: \d+\)/, 30_000, from);
    await run.waitFor(/already stopping/, 30_000, from);
    await run.waitFor(/stopped cleanly/, 60_000, from);
    // Once the script has stopped, npm ends as an interrupted program does: by the SIGINT it got.
    assert.deepEqual(await run.exited, { code: null, signal: 'SIGINT' });
    assert.ok(await refusesConnections(`${serverUrl}/healthz`), 'the model server is still up');
    assert.ok(await refusesConnections(uiUrl), 'the Web UI is still up');

    const db = new Database(path.join(home, 'predictions.sqlite'), { readonly: true });
    try {
      const logged = (db.prepare('SELECT count(*) AS n FROM predictions WHERE model = ?').get(MODEL) as { n: number }).n;
      // The traffic's answered predictions and the test's own; one more if a request was in flight at Ctrl-C.
      assert.ok(logged >= Number(summary[1]) + 1, `${logged} predictions logged, ${summary[1]} answered to the traffic plus 1 to the test`);
    } finally {
      db.close();
    }
  });

  test('a second npm start picks the same lifecycle up, still serving v1', async () => {
    const run = new NpmStart(env);
    started.push(run);
    await run.waitFor(new RegExp(`lifecycle: +\\S+lifecycle%2F${MODEL} \\(already running\\)`), 120_000);
    await run.waitFor(new RegExp(`${MODEL}: SERVING\\n {2}champion {2}v1`), 60_000);
    assert.equal((await predict(serverUrl)).model_version, 1);
    run.ctrlC();
    await run.waitFor(/stopped cleanly/, 60_000);
    assert.deepEqual(await run.exited, { code: null, signal: 'SIGINT' });
  });
});

/** Predictions the model server has answered for the model (its Prometheus counter). */
async function metricCount(serverUrl: string): Promise<number> {
  const text = await (await fetch(`${serverUrl}/metrics`)).text();
  const m = new RegExp(`^perennial_predictions_total\\{model="${MODEL}"[^}]*\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}
