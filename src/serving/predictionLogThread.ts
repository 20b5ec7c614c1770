/**
 * The model server's prediction log. A prediction is answered only once it is on disk:
 * `append` resolves when the batch holding it is committed, so a `kill -9` of the server
 * loses no prediction it answered.
 *
 * The rows appended while one piece of code runs (a turn's predictions) are committed
 * together right after it, on this thread, in one short transaction: a hand-over to a
 * thread and back cost about three times the commit itself. A commit that cannot go
 * through at once (the database is busy) goes to a writer thread instead, which retries;
 * the rows after it follow it there, in order. The writer thread also applies labels and
 * answers reads, behind every row asked before them — so a label sent right after its
 * prediction always finds the row.
 *
 * A batch sent to the writer is kept on this side until it says the batch is written; if
 * the writer thread dies, a new one is started and every unwritten batch is sent again
 * (request ids are unique, so a batch written just before the crash is not logged twice).
 * `close()` resolves once everything appended is on disk.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { PredictionLog, type LabelInput, type LabelResult, type PredictionLogOptions, type PredictionRow } from './predictionLog';
import type { LogCall, LogReply, LogRequest, LogWorkerData } from './predictionLogWorker';
import { BatchEncoder, decodePredictions, type EncodedBatch } from './predictionEncoding';

const WORKER_ENTRY = path.join(__dirname, 'predictionLogWorker.cjs');
/** Writer threads that may die in a row, without answering anything, before the log gives up. */
const MAX_CRASHES = 3;

/**
 * One prediction as the model server hands it over: its raw parts. The writer thread turns
 * them into the log's row (ISO time, instance as JSON, features as a BLOB), off the request path.
 */
export interface ServedPrediction {
  requestId: string;
  /** When it was made (epoch ms). */
  atMs: number;
  model: string;
  modelVersion: number;
  /** The instance's possible columns (pass the same array for every row of a model: it is sent once per batch). */
  columns: readonly string[];
  /** The validated instance: `columns` are its only keys; an absent one is not logged. */
  instance: Record<string, unknown>;
  /** The computed features in the model's order; read at once, so the caller may reuse the buffer. */
  features: ArrayLike<number>;
  score: number;
}

export interface PredictionLogThreadOptions extends PredictionLogOptions {
  /**
   * Refuse new predictions (`canAccept` false) while this many rows wait for the disk,
   * e.g. when SQLite keeps failing: a prediction that cannot be logged is not served.
   * Default 50,000.
   */
  maxPending?: number;
  /** A failed write is tried again after this long (ms). Default 1,000. */
  retryMs?: number;
}

class WriterLost extends Error {}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

interface Call {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

export class PredictionLogThread {
  private worker!: Worker;
  /** Predictions not yet sent to the writer thread. */
  private readonly encoder = new BatchEncoder();
  private timer: NodeJS.Timeout | undefined;
  /** Insert batches sent and not yet acknowledged, by request id, in sending order. */
  private readonly unwritten = new Map<number, EncodedBatch & { waiters: Waiter[] }>();
  /** Who waits for the rows in the encoder (the batch being gathered). */
  private gathering: Waiter[] = [];
  private sendScheduled = false;
  private unwrittenRows = 0;
  private readonly calls = new Map<number, Call>();
  private nextId = 1;
  private closing = false;
  private terminating = false;
  private closed: Promise<void> | undefined;
  private readonly flushMs: number;
  private readonly flushRows: number;
  private readonly maxPending: number;
  private readonly onError: (err: unknown) => void;
  private readonly workerData: LogWorkerData;
  /** This thread's own connection, for the commits that answer predictions. */
  private direct: PredictionLog | undefined;
  private crashesInARow = 0;
  private broken: Error | undefined;
  private started = 0;

  private constructor(readonly file: string, o: PredictionLogThreadOptions) {
    this.flushMs = o.flushMs ?? 200;
    this.flushRows = o.flushRows ?? 500;
    this.maxPending = o.maxPending ?? 50_000;
    this.onError = o.onError ?? (() => undefined);
    this.workerData = { file, busyTimeoutMs: o.busyTimeoutMs, retryMs: o.retryMs ?? 1000 };
  }

  /** Starts the writer thread; resolves once it has opened (and if need be created) the log. */
  static async open(file: string, o: PredictionLogThreadOptions = {}): Promise<PredictionLogThread> {
    const log = new PredictionLogThread(file, o);
    log.spawn();
    try {
      await log.call({ op: 'sync' });
      // Never waits for a lock: a busy database sends the batch to the writer thread instead.
      log.direct = new PredictionLog(file, { busyTimeoutMs: 0 });
    } catch (err) {
      log.closing = true;
      log.terminating = true;
      await log.worker.terminate();
      throw err;
    }
    return log;
  }

  /** Rows appended and not yet on disk. */
  get pending(): number {
    return this.encoder.rows + this.unwrittenRows;
  }

  /** Whether `n` more predictions may be served (and so logged) now. */
  canAccept(n: number): boolean {
    return !this.closing && !this.broken && this.pending + n <= this.maxPending;
  }

  /**
   * Queues one prediction (copied now: the caller may reuse its feature buffer at once);
   * resolves once it is committed to the log. It goes with the next batch: at once when no
   * batch is being written, else when the one being written is committed (or when `flushRows`
   * have gathered).
   */
  append(p: ServedPrediction): Promise<void> {
    if (this.closing) return Promise.reject(new Error('the prediction log is closed'));
    if (this.broken) return Promise.reject(this.broken);
    this.encoder.add(p);
    const written = new Promise<void>((resolve, reject) => this.gathering.push({ resolve, reject }));
    if (this.encoder.rows >= this.flushRows) this.sendBatch();
    else if (this.unwritten.size === 0) this.sendSoon();
    else if (!this.timer) {
      // A writer that takes long (a locked database) still gets the rows within flushMs.
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.sendBatch();
      }, this.flushMs);
    }
    return written;
  }

  /** Once the code that appended is done: what it appended in one go shares a commit. */
  private sendSoon(): void {
    if (this.sendScheduled) return;
    this.sendScheduled = true;
    queueMicrotask(() => {
      this.sendScheduled = false;
      if (this.unwritten.size === 0) this.sendBatch();
    });
  }

  /** Commits the gathered rows on this thread; false (nothing changed) when that cannot be done at once. */
  private commitHere(): boolean {
    if (!this.direct || this.unwritten.size > 0 || this.encoder.rows === 0) return false;
    const batch = this.encoder.take();
    try {
      this.direct.writeSerialized(decodePredictions(batch));
    } catch (err) {
      this.onError(err);
      this.toWriter(batch);
      return true;
    }
    for (const w of this.gathering.splice(0)) w.resolve();
    return true;
  }

  /** Resolves once everything appended so far is on disk. */
  async flush(): Promise<void> {
    this.sendBatch();
    await this.call({ op: 'sync' });
  }

  /** `PredictionLog.applyLabels`, after every prediction appended before it is written. */
  async applyLabels(model: string, labels: readonly LabelInput[], at = new Date().toISOString()): Promise<LabelResult> {
    this.sendBatch();
    return (await this.call({ op: 'labels', model, labels, at })) as LabelResult;
  }

  /** `PredictionLog.read`, after every prediction appended before it is written. */
  async read(q: { model?: string; afterId?: number; limit?: number } = {}): Promise<PredictionRow[]> {
    this.sendBatch();
    return (await this.call({ op: 'read', q })) as PredictionRow[];
  }

  /** `PredictionLog.find`, after every prediction appended before it is written. */
  async find(requestId: string): Promise<PredictionRow | undefined> {
    this.sendBatch();
    return ((await this.call({ op: 'find', requestId })) as PredictionRow | null) ?? undefined;
  }

  /** Writes everything appended, closes the database and ends the thread. Later appends throw. */
  close(): Promise<void> {
    return (this.closed ??= (async () => {
      this.closing = true;
      this.sendBatch();
      try {
        // A writer thread that dies meanwhile is replaced (see `lost`) and asked again.
        for (;;) {
          try {
            this.direct?.close();
            this.direct = undefined;
            await this.call({ op: 'close' });
            return;
          } catch (err) {
            if (!(err instanceof WriterLost) || this.broken) throw err;
          }
        }
      } finally {
        this.terminating = true;
        await this.worker.terminate();
      }
    })());
  }

  /** Writer threads started so far (more than one only after a crash). */
  get startedWorkers(): number {
    return this.started;
  }

  /** @internal The writer thread, for tests that make it die. */
  get thread(): Worker {
    return this.worker;
  }

  private spawn(): void {
    const worker = new Worker(WORKER_ENTRY, { workerData: this.workerData });
    this.started++;
    this.worker = worker;
    worker.on('message', (reply: LogReply) => this.settle(reply));
    worker.on('error', (err) => this.onError(err));
    worker.on('exit', (code) => {
      if (this.worker !== worker || this.terminating) return;
      this.lost(new WriterLost(`the prediction log's writer thread exited (code ${code}); starting a new one`));
    });
    // Batches not yet acknowledged go first again, in their order.
    for (const [id, batch] of this.unwritten) worker.postMessage({ id, op: 'insert', values: batch.values, numbers: batch.numbers } satisfies LogRequest);
  }

  /**
   * The writer thread died: calls in flight fail, unwritten batches go to a new thread. A
   * thread that keeps dying before it answers anything is not restarted forever: after
   * MAX_CRASHES the log is broken — predictions are refused (`canAccept` false) rather than
   * served unlogged.
   */
  private lost(err: Error): void {
    this.onError(err);
    for (const call of this.calls.values()) call.reject(err);
    this.calls.clear();
    if (++this.crashesInARow > MAX_CRASHES) {
      this.broken = new Error(`the prediction log's writer thread died ${this.crashesInARow} times in a row; ${this.pending} predictions are not on disk`);
      this.onError(this.broken);
      // Nobody is told these are on disk: their requests fail instead of being answered.
      for (const batch of this.unwritten.values()) for (const w of batch.waiters) w.reject(this.broken);
      for (const w of this.gathering.splice(0)) w.reject(this.broken);
      return;
    }
    this.spawn();
  }

  private sendBatch(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.encoder.rows === 0) return;
    if (this.commitHere()) return;
    this.toWriter(this.encoder.take());
  }

  /** The batch (and whoever waits for it) to the writer thread, which retries until it is written. */
  private toWriter(encoded: EncodedBatch): void {
    const batch = { ...encoded, waiters: this.gathering };
    this.gathering = [];
    const id = this.nextId++;
    this.unwritten.set(id, batch);
    this.unwrittenRows += batch.rows;
    this.worker.postMessage({ id, op: 'insert', values: batch.values, numbers: batch.numbers } satisfies LogRequest);
  }

  private call(request: LogCall): Promise<unknown> {
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id } satisfies LogRequest);
    });
  }

  private settle(reply: LogReply): void {
    this.crashesInARow = 0;
    if (reply.kind === 'writeFailed') {
      this.onError(Object.assign(new Error(reply.error.message), { stack: reply.error.stack }));
      return;
    }
    const batch = this.unwritten.get(reply.id);
    if (batch) {
      this.unwritten.delete(reply.id);
      this.unwrittenRows -= batch.rows;
      for (const w of batch.waiters) w.resolve();
      // What gathered meanwhile goes now: one commit for everything that waited on this one.
      if (this.unwritten.size === 0 && this.encoder.rows > 0) this.sendBatch();
      return;
    }
    const call = this.calls.get(reply.id);
    if (!call) return;
    this.calls.delete(reply.id);
    if (reply.kind === 'ok') call.resolve(reply.value);
    else call.reject(Object.assign(new Error(reply.error.message), { stack: reply.error.stack }));
  }
}
