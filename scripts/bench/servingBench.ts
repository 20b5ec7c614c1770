import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import autocannon from 'autocannon';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../src/util/net';

const ROOT = path.resolve(__dirname, '../..');

export interface LoadResult {
  requests: number;
  seconds: number;
  reqPerSec: number;
  p50ms: number;
  p99ms: number;
  errors: number;
}

/** A bounded load from autocannon: `connections` keep-alive clients for `seconds`. */
export async function load(url: string, body: string, seconds: number, connections: number): Promise<LoadResult> {
  const r = await autocannon({ url, method: 'POST', headers: { 'content-type': 'application/json' }, body, duration: seconds, connections });
  const requests = r.requests.total;
  return {
    requests,
    seconds: r.duration,
    reqPerSec: requests / r.duration,
    p50ms: r.latency.p50,
    p99ms: r.latency.p99,
    errors: r.errors + r.non2xx + r.timeouts,
  };
}

/** Starts a server script as its own process and waits until `readyUrl` answers. */
export async function spawnServer(script: string, env: NodeJS.ProcessEnv, readyUrl: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, script)], { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'ignore' });
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

/** perennial's model server vs a bare fastify route on loopback, each in its own process. */
export async function benchServing(home: string, model: string, instance: Record<string, unknown>, seconds = 5, concurrency = 8) {
  const servePort = await freePort();
  const barePort = await freePort();
  const serve = await spawnServer('scripts/serve.ts', { PERENNIAL_HOME: home, PERENNIAL_SERVER_PORT: String(servePort), LOG_LEVEL: 'warn' }, `http://127.0.0.1:${servePort}/healthz`);
  const bare = await spawnServer('scripts/bench/bareServer.ts', { PORT: String(barePort) }, `http://127.0.0.1:${barePort}/`);
  try {
    const one = JSON.stringify({ instances: [instance] });
    const hundred = JSON.stringify({ instances: Array.from({ length: 100 }, () => instance) });
    // Warm both up, then measure one after the other (never at the same time: 2 cores).
    await load(`http://127.0.0.1:${servePort}/v1/models/${model}:predict`, one, 1, concurrency);
    await load(`http://127.0.0.1:${barePort}/v1/models/${model}:predict`, one, 1, concurrency);
    const perennial = await load(`http://127.0.0.1:${servePort}/v1/models/${model}:predict`, one, seconds, concurrency);
    const baseline = await load(`http://127.0.0.1:${barePort}/v1/models/${model}:predict`, one, seconds, concurrency);
    const batch = await load(`http://127.0.0.1:${servePort}/v1/models/${model}:predict`, hundred, seconds, concurrency);
    return { perennial, baseline, batch100RowsPerSec: batch.reqPerSec * 100, batch };
  } finally {
    await stopServer(serve);
    await stopServer(bare);
  }
}
