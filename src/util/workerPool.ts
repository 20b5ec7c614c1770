/**
 * A fixed-size pool of worker threads running one entry module, reused across calls: workers
 * start on first use (starting one costs ~100–300 ms, far more than a small task), each runs one
 * task at a time, and tasks queue for the next idle worker.
 *
 * Process lifetime: idle workers are unref'd, so a process whose only remaining handles are idle
 * pool workers exits on its own; a busy worker is ref'd, so an awaited task keeps the process
 * alive until it answers. `close()` terminates the workers (tests, shutdown).
 *
 * Protocol: the entry calls `serveTasks(handler)`; the pool posts a task's message and gets back
 * `{ ok: true, value }` or `{ ok: false, error }` (name, message, stack). A task is prepared only
 * when a worker takes it, so the caller's copying into shared memory overlaps the workers' work.
 */

import { parentPort, Worker, type TransferListItem } from 'node:worker_threads';

export interface PoolTask<Req> {
  message: Req;
  transfer?: TransferListItem[];
}

interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

type Reply<Res> = { ok: true; value: Res } | { ok: false; error: SerializedError };

interface Job<Req, Res> {
  prepare: () => PoolTask<Req>;
  resolve: (value: Res) => void;
  reject: (err: unknown) => void;
}

export class WorkerPool<Req, Res> {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Job<Req, Res>[] = [];
  private readonly running = new Map<Worker, Job<Req, Res>>();
  private closed = false;
  private startedCount = 0;

  constructor(
    private readonly entry: string,
    readonly size: number,
  ) {
    if (!(Number.isInteger(size) && size >= 1)) throw new RangeError(`WorkerPool: size ${size} must be an integer ≥ 1`);
  }

  /** Workers started over the pool's life (a reused pool starts `size` at most, unless one dies). */
  get started(): number {
    return this.startedCount;
  }

  /** Runs one task on the next idle worker; `prepare` is called when a worker takes it. */
  run(prepare: () => PoolTask<Req>): Promise<Res> {
    if (this.closed) return Promise.reject(new Error('WorkerPool: closed'));
    return new Promise<Res>((resolve, reject) => {
      this.queue.push({ prepare, resolve, reject });
      this.dispatch();
    });
  }

  /** Terminates the workers; queued tasks are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('WorkerPool: closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const worker = this.idle.pop() ?? (this.workers.length < this.size ? this.spawn() : undefined);
      if (!worker) return;
      const job = this.queue.shift()!;
      let task: PoolTask<Req>;
      try {
        task = job.prepare();
      } catch (err) {
        this.idle.push(worker);
        job.reject(err);
        continue;
      }
      this.running.set(worker, job);
      worker.ref();
      worker.postMessage(task.message, task.transfer);
    }
  }

  private spawn(): Worker {
    const worker = new Worker(this.entry);
    this.startedCount++;
    worker.unref();
    worker.on('message', (reply: Reply<Res>) => this.settle(worker, reply));
    worker.on('error', (err) => this.lose(worker, err));
    worker.on('exit', (code) => this.lose(worker, new Error(`WorkerPool: worker exited with code ${code}`)));
    this.workers.push(worker);
    return worker;
  }

  private settle(worker: Worker, reply: Reply<Res>): void {
    const job = this.running.get(worker);
    this.running.delete(worker);
    worker.unref();
    this.idle.push(worker);
    if (job) {
      if (reply.ok) job.resolve(reply.value);
      else job.reject(deserializeError(reply.error));
    }
    this.dispatch();
  }

  /** A worker died (uncaught error, exit, terminate): fail its task; a later task spawns a new one. */
  private lose(worker: Worker, err: Error): void {
    const job = this.running.get(worker);
    this.running.delete(worker);
    remove(this.workers, worker);
    remove(this.idle, worker);
    job?.reject(this.closed ? new Error('WorkerPool: closed') : err);
    if (!this.closed) this.dispatch();
  }
}

function remove<T>(xs: T[], x: T): void {
  const i = xs.indexOf(x);
  if (i >= 0) xs.splice(i, 1);
}

/** In a worker thread: answers each task message with handler's result or error. */
export function serveTasks<Req, Res>(handler: (req: Req) => Res): void {
  const port = parentPort;
  if (!port) throw new Error('serveTasks: not in a worker thread');
  port.on('message', (req: Req) => {
    let reply: Reply<Res>;
    try {
      reply = { ok: true, value: handler(req) };
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      reply = { ok: false, error: { name: e.name, message: e.message, stack: e.stack } };
    }
    port.postMessage(reply);
  });
}

const ERROR_TYPES: Record<string, new (message: string) => Error> = { RangeError, TypeError, Error };

/** The worker's error as the same class (for the standard ones) and message, with its stack. */
function deserializeError(s: SerializedError): Error {
  const err = new (ERROR_TYPES[s.name] ?? Error)(s.message);
  if (s.stack) err.stack = s.stack;
  return err;
}
