/**
 * How many cores the machine gives us right now: a fixed arithmetic loop on 1 thread, then the
 * same loop on 2 threads at once (eval'd workers, no TypeScript to load). 2.00× means two free
 * cores; on a shared, loaded machine it is less, and so is any parallel speed-up measured then.
 */
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';

const SPIN = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (n) => {
  let x = 0;
  for (let i = 0; i < n; i++) x = (x * 1.0000001 + i) % 1e9;
  parentPort.postMessage(x);
});`;

function spinOn(workers: Worker[], n: number): Promise<number> {
  const t = performance.now();
  return Promise.all(workers.map((w) => new Promise((resolve) => { w.once('message', resolve); w.postMessage(n); }))).then(() => performance.now() - t);
}

/** Median over `rounds` of (time of 2 loops on 1 thread) / (time of 2 loops on 2 threads). */
export async function parallelHeadroom(rounds = 5, n = 30_000_000): Promise<number> {
  const workers = [new Worker(SPIN, { eval: true }), new Worker(SPIN, { eval: true })];
  try {
    await spinOn(workers, 1_000_000); // start and warm both
    const ratios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const one = (await spinOn([workers[0]], n)) + (await spinOn([workers[0]], n));
      const two = await spinOn(workers, n);
      ratios.push(one / two);
    }
    ratios.sort((a, b) => a - b);
    return ratios[Math.floor(rounds / 2)];
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
