import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../src/util/net';
import { median } from './stats';

const ROOT = path.resolve(__dirname, '../..');

export interface LoadResult {
  /** Requests answered 2xx: a refusal (e.g. 503 while the prediction log catches up) is not throughput. */
  requests: number;
  seconds: number;
  /** Answered (2xx) requests per second. */
  reqPerSec: number;
  /** autocannon records latency in whole milliseconds: a p50 under 1 ms reads 0. */
  p50ms: number;
  p99ms: number;
  /** Mean latency (ms, fractional). */
  meanMs: number;
  errors: number;
}

/**
 * A bounded load from autocannon: `connections` keep-alive clients for `seconds`, each
 * sending `bodies` in turn (autocannon builds them once, so more bodies cost it nothing).
 */
export async function load(url: string, bodies: string | readonly string[], seconds: number, connections: number): Promise<LoadResult> {
  const list = typeof bodies === 'string' ? [bodies] : bodies;
  let clients = 0;
  // Each connection starts at its own place in the list: in step, consecutive requests
  // would carry the same body.
  const setupClient = (client: { setRequests(requests: { body: string }[]): void }) => {
    const from = Math.floor((clients++ * list.length) / connections) % list.length;
    client.setRequests([...list.slice(from), ...list.slice(0, from)].map((body) => ({ body })));
  };
  const r = await autocannon({ url, method: 'POST', headers: { 'content-type': 'application/json' }, requests: list.map((body) => ({ body })), setupClient, duration: seconds, connections });
  const requests = r['2xx'];
  return {
    requests,
    seconds: r.duration,
    reqPerSec: requests / r.duration,
    p50ms: r.latency.p50,
    p99ms: r.latency.p99,
    meanMs: r.latency.average,
    errors: r.errors + r.non2xx + r.timeouts,
  };
}

/** Starts a server script as its own process and waits until `readyUrl` answers. */
export async function spawnServer(script: string, env: NodeJS.ProcessEnv, readyUrl: string): Promise<ChildProcess> {
  // BENCH_CPU_PROF=<dir>: each spawned worker or server writes a V8 CPU profile there when it stops.
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROF)}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', path.join(ROOT, script)], { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'ignore' });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(readyUrl, { method: 'GET' });
      await res.arrayBuffer();
      return child;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`${script} did not answer at ${readyUrl}`);
      }
      await sleep(100);
    }
  }
}

export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/**
 * CPU seconds a process has used (Linux /proc; undefined elsewhere): its main thread
 * (`task/<pid>/stat`) or all its threads (`stat`), e.g. the model server's prediction-log
 * writer too. Per request it is the steadiest figure here: throughput on a shared 2-core
 * machine swings ±10 % between runs, CPU per request much less.
 */
function cpuSeconds(pid: number | undefined, threads: 'main' | 'all'): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const file = threads === 'main' ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`;
    const fields = readFileSync(file, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 1/100 s
  } catch {
    return undefined;
  }
}

export interface MeasuredLoad extends LoadResult {
  /** The server's main-thread CPU per answered request, µs (where /proc can be read). */
  cpuUsPerRequest?: number;
  /** The same for all the server's threads. */
  processCpuUsPerRequest?: number;
}

/**
 * One load, with the server's CPU time per request when it can be read. `settle` waits for
 * work the load left behind (the prediction log's last rows) before all threads' CPU is read.
 */
async function measured(server: ChildProcess, url: string, body: readonly string[], seconds: number, connections: number, settle?: () => Promise<void>): Promise<MeasuredLoad> {
  const main0 = cpuSeconds(server.pid, 'main');
  const all0 = cpuSeconds(server.pid, 'all');
  const r = await load(url, body, seconds, connections);
  const main1 = cpuSeconds(server.pid, 'main');
  await settle?.();
  const all1 = cpuSeconds(server.pid, 'all');
  if (r.requests === 0 || main0 === undefined || main1 === undefined || all0 === undefined || all1 === undefined) return r;
  return { ...r, cpuUsPerRequest: ((main1 - main0) * 1e6) / r.requests, processCpuUsPerRequest: ((all1 - all0) * 1e6) / r.requests };
}

/** Waits until the model server's prediction log has nothing waiting for the disk. */
async function logCaughtUp(port: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const pending = Number(/^perennial_prediction_log_pending (\S+)$/m.exec(text)?.[1]);
    if (pending === 0) return;
    if (Number.isNaN(pending)) throw new Error('the model server does not report perennial_prediction_log_pending');
    if (Date.now() > deadline) throw new Error(`the prediction log still has ${pending} rows waiting after ${timeoutMs} ms`);
    await sleep(50);
  }
}

interface Servers {
  serve: ChildProcess;
  bare: ChildProcess;
  servePort: number;
  serveUrl: string;
  bareUrl: string;
}

async function startServers(home: string, model: string): Promise<Servers> {
  const servePort = await freePort();
  const barePort = await freePort();
  const serve = await spawnServer('scripts/serve.ts', { PERENNIAL_HOME: home, PERENNIAL_SERVER_PORT: String(servePort), LOG_LEVEL: 'warn' }, `http://127.0.0.1:${servePort}/healthz`);
  try {
    const bare = await spawnServer('scripts/bench/bareServer.ts', { PORT: String(barePort) }, `http://127.0.0.1:${barePort}/`);
    return { serve, bare, servePort, serveUrl: `http://127.0.0.1:${servePort}/v1/models/${model}:predict`, bareUrl: `http://127.0.0.1:${barePort}/v1/models/${model}:predict` };
  } catch (err) {
    await stopServer(serve);
    throw err;
  }
}

async function stopServers(s: Servers): Promise<void> {
  await stopServer(s.serve);
  await stopServer(s.bare);
}

/**
 * perennial's model server vs a bare fastify route on loopback, each in its own process,
 * batch 1: `rounds` rounds, each with a fresh pair of processes (the same server runs
 * ±8 % faster or slower from one process to the next, as the JIT settles differently),
 * each warmed, then loaded in turn — never both at once on 2 cores — with the side that
 * goes first alternating. The ratio is taken per round and its median reported. Then
 * batch 100 on the last round's server.
 */
export async function benchServing(home: string, model: string, instances: readonly Record<string, unknown>[], seconds = 5, concurrency = 8, rounds = 7) {
  // Many different instances, not one sent again and again: real traffic takes different
  // paths through the trees and the lookup tables, and hits no cache of the last value.
  const one = instances.map((instance) => JSON.stringify({ instances: [instance] }));
  const hundred = JSON.stringify({ instances: Array.from({ length: 100 }, (_, i) => instances[i % instances.length]) });
  const pairs: { perennial: MeasuredLoad; baseline: MeasuredLoad }[] = [];
  let servers: Servers | undefined;
  try {
    for (let r = 0; r < rounds; r++) {
      if (servers) await stopServers(servers);
      servers = undefined;
      const s = (servers = await startServers(home, model));
      // Warm both to steady state first: perennial's hot path is more code for the JIT to
      // settle (its first seconds cost ~15 % more CPU per request than later ones).
      await load(s.serveUrl, one, 3, concurrency);
      await load(s.bareUrl, one, 3, concurrency);
      await logCaughtUp(s.servePort);
      const perennial = () => measured(s.serve, s.serveUrl, one, seconds, concurrency, () => logCaughtUp(s.servePort));
      const baseline = () => measured(s.bare, s.bareUrl, one, seconds, concurrency);
      if (r % 2 === 0) {
        const p = await perennial();
        pairs.push({ perennial: p, baseline: await baseline() });
      } else {
        const b = await baseline();
        pairs.push({ perennial: await perennial(), baseline: b });
      }
    }
    const s = servers!;
    await logCaughtUp(s.servePort);
    const batch = await load(s.serveUrl, hundred, seconds, concurrency);
    // Every answered row is logged; the writer thread may still be behind when the load stops.
    const started = performance.now();
    await logCaughtUp(s.servePort);
    const catchUpSeconds = (performance.now() - started) / 1000;
    const ratios = pairs.map((p) => p.perennial.reqPerSec / p.baseline.reqPerSec);
    return {
      pairs,
      medianRatio: median(ratios),
      ratios,
      batch100RowsPerSec: batch.reqPerSec * 100,
      /** Rows answered per second counting the time until the last of them was on disk. */
      batch100LoggedRowsPerSec: (batch.requests * 100) / (batch.seconds + catchUpSeconds),
      catchUpSeconds,
      batch,
    };
  } finally {
    if (servers) await stopServers(servers);
  }
}
