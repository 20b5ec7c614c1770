/**
 * Where predictions are scored. The jobs read in one event-loop turn are dealt with
 * together at the turn's end (see `endTurn`). Small jobs are scored and answered then, on
 * the request thread; large ones are handed to a scoring thread then, and answered as it
 * completes them, so a batch of a thousand rows does not block the event loop while it is
 * scored. The request thread computes the features (the same code as training) and hands
 * the rows over through shared memory (scoringRing.ts): no message and no copy per job,
 * one wake-up per turn's jobs and per batch of completions.
 *
 * Scores are the same on both threads exactly: the same GbdtModel code, on a model rebuilt
 * from its JSON (which round-trips exactly, as artifacts on disk do). Whenever the thread
 * cannot take a job — the model is still loading on it, the ring is full, the job is
 * larger than the ring, the thread died — the request thread scores it itself. A thread
 * that dies is replaced and the jobs it held are scored here, so no request fails.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { GbdtModel } from '../ml/gbdt';
import {
  COMPLETED, DATA_FLOATS, DOORBELL, JOB_MODEL, JOB_OFFSET, JOB_ROWS, JOB_SLOTS, JOB_STATUS, JOB_WIDTH, STATUS_PENDING, STATUS_SCORED, SUBMITTED,
  newRing, ringViews, slotOf, scoreRows, type ScoringControl, type ScoringReply,
} from './scoringRing';

const WORKER_ENTRY = path.join(__dirname, 'scoringWorker.cjs');
/** Scoring threads that may die in a row, without scoring a job, before the request thread scores everything. */
const MAX_CRASHES = 3;
/** A model the thread holds is dropped after this long unused (e.g. a champion replaced). */
const UNLOAD_AFTER_MS = 60_000;
/**
 * A thread that completes nothing for this long with jobs in flight is taken for hung: it is
 * ended, and its jobs are scored here. The largest job the ring holds scores in ~2 s.
 */
const STALL_MS = 10_000;
/**
 * Jobs smaller than this many tree walks (rows × trees) are scored on the request thread.
 * On this project's 2-core machine a hand-over costs both threads more CPU than a small
 * job takes to score, and the thread's CPU is taken from the load itself. Measured in
 * same-run A/Bs with the shipped 100-tree model (8 connections): batch 1 (100 walks)
 * served ~15 % more requests scored here; batch 4 (400) the same either way; batch 10
 * (1,000) 13 % and batch 100 10 % more on the thread. Exported for tests.
 */
export const MIN_TREE_WALKS = 400;

/** A job's rows once scored: valid only during the callback that receives them (their memory is reused after). */
export interface ScoredRows {
  readonly rows: number;
  score(row: number): number;
  /** The row's features in the model's order. */
  features(row: number): Float64Array;
}

/** Writes row `row`'s features into `out` from `offset`. */
export type FillFeatures = (out: Float64Array, offset: number, row: number) => void;

/** Gets the scored rows, or why they could not be scored (e.g. features the model does not take). */
export type ScoredCallback = (error: Error | null, scored: ScoredRows | null) => void;

class Region implements ScoredRows {
  constructor(
    private readonly data: Float64Array,
    private readonly offset: number,
    readonly rows: number,
    private readonly width: number,
  ) {}

  score(row: number): number {
    return this.data[this.offset + row];
  }

  features(row: number): Float64Array {
    const from = this.offset + this.rows + row * this.width;
    return this.data.subarray(from, from + this.width);
  }
}

/** A model as the scoring thread knows it. */
interface ThreadModel {
  id: number;
  gbdt: GbdtModel;
  state: 'loading' | 'ready' | 'failed';
  /** The thread it was sent to (a replaced thread's models are gone with it). */
  thread: number;
  lastUsed: number;
  inFlight: number;
}

interface Job {
  model: ThreadModel;
  rows: number;
  width: number;
  offset: number;
  done: ScoredCallback;
}

/** A job the request thread scores. */
interface HereJob {
  model: GbdtModel;
  rows: number;
  width: number;
  fill: FillFeatures;
  done: ScoredCallback;
  /** Its features could not be written: it is answered with this. */
  failed?: Error;
}

/** Writes the job's features from `from`, row after row; what `fill` threw, if it did. */
function fillRows(fill: FillFeatures, data: Float64Array, from: number, rows: number, width: number): Error | undefined {
  try {
    for (let r = 0; r < rows; r++) fill(data, from + r * width, r);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

type WaitAsync = (a: Int32Array, index: number, value: number, timeoutMs?: number) => { async: false; value: string } | { async: true; value: Promise<string> };

/**
 * Jobs are counted in int32s shared with the scoring thread, so the counts wrap around after
 * 2^31 jobs (about a month at 1,000 jobs/s): they are compared by their difference.
 */
const ahead = (a: number, b: number): boolean => ((a - b) | 0) > 0;
// Node 20 has it; TypeScript's ES2022 library does not declare it.
const waitAsync: WaitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync.bind(Atomics);

export class ScoringThread {
  private readonly views = ringViews(newRing());
  private worker: Worker | undefined;
  private control: MessagePort | undefined;
  /** Bumped whenever a thread is replaced. */
  private thread = 0;
  private submitted = 0;
  private completed = 0;
  /** Jobs submitted and not yet answered, in order. */
  private readonly inFlight: Job[] = [];
  /** Where the next job's rows go in the data ring. */
  private tail = 0;
  private readonly models = new WeakMap<GbdtModel, ThreadModel>();
  private readonly byId = new Map<number, ThreadModel>();
  private nextId = 1;
  private crashesInARow = 0;
  private collecting = false;
  /** The job count the thread was last told (SUBMITTED). */
  private published = 0;
  /** Jobs the request thread scores at the end of this turn. */
  private readonly here: HereJob[] = [];
  /** `endTurn` is scheduled. */
  private turnEnding = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private terminating = false;
  private scratch = new Float64Array(4096);
  private readonly sweeper: NodeJS.Timeout;
  /** Rows scored on the thread, rows scored here, threads started: for tests and operators. */
  readonly stats = { rowsOnThread: 0, rowsHere: 0, threadsStarted: 0 };

  /**
   * @param o.firstJob @internal where the job counts start (tests start them just below the
   * int32 wrap-around)
   */
  constructor(
    private readonly onError: (err: Error) => void = () => undefined,
    o: { firstJob?: number } = {},
  ) {
    this.submitted = this.completed = this.published = (o.firstJob ?? 0) | 0;
    this.spawn();
    this.sweeper = setInterval(() => this.sweep(), UNLOAD_AFTER_MS / 2).unref();
  }

  /**
   * Scores `rows` rows of `width` features with `model`: `fill` writes each row's features,
   * then `done` gets the scores, always after this returns: at the end of this event-loop
   * turn when the request thread scores them, later when the scoring thread does. Never
   * throws: an error, `fill`'s included, goes to `done`. `done` is called exactly once; an
   * error it throws is reported through `onError`. It must not call `score` itself: the
   * rows it reads would be reused.
   */
  score(model: GbdtModel, rows: number, width: number, fill: FillFeatures, done: ScoredCallback): void {
    const onThread = rows * model.rounds >= MIN_TREE_WALKS ? this.onThread(model) : undefined;
    const size = rows * (1 + width);
    const offset = onThread && this.inFlight.length < JOB_SLOTS ? this.allocate(size) : -1;
    let failed: Error | undefined;
    if (!onThread || offset < 0) {
      this.here.push({ model, rows, width, fill, done });
    } else if ((failed = fillRows(fill, this.views.data, offset + rows, rows, width))) {
      // Answered with its error at the end of the turn, as any other job.
      this.here.push({ model, rows, width, fill, done, failed });
    } else {
      const { jobs } = this.views;
      const at = slotOf(this.submitted);
      jobs[at + JOB_MODEL] = onThread.id;
      jobs[at + JOB_ROWS] = rows;
      jobs[at + JOB_OFFSET] = offset;
      jobs[at + JOB_WIDTH] = width;
      jobs[at + JOB_STATUS] = STATUS_PENDING;
      this.inFlight.push({ model: onThread, rows, width, offset, done });
      onThread.inFlight++;
      this.tail = offset + size;
      this.submitted = (this.submitted + 1) | 0;
    }
    if (!this.turnEnding) {
      this.turnEnding = true;
      setImmediate(this.endTurn);
    }
  }

  /**
   * The jobs read in one event-loop turn are dealt with together, once the turn has read
   * them all: the thread's are handed over with one wake-up, the request thread's are
   * scored back to back while the forest is in the CPU caches, and their responses go out
   * together. Under load this costs less CPU per request than answering each as it comes,
   * on every thread and in the load generator too (same-run A/Bs: 29 µs less request-thread
   * CPU per batch-1 request of a 20-tree model, a sixth).
   */
  private readonly endTurn = (): void => {
    this.turnEnding = false;
    const handOver = this.submitted !== this.published;
    if (handOver) {
      this.published = this.submitted;
      Atomics.store(this.views.counters, SUBMITTED, this.submitted);
      this.ringDoorbell();
    }
    // Scored while the thread scores its own; answered first, whatever the thread's speed.
    for (const job of this.here.splice(0)) this.scoreHere(job);
    if (handOver) void this.collect();
  };

  /** Sends a model to the thread ahead of its first job (e.g. a champion as it loads). */
  prepare(model: GbdtModel): void {
    this.onThread(model);
  }

  /** Waits for the jobs in flight, then ends the thread. Later jobs are scored on the request thread. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      this.closed = true;
      clearInterval(this.sweeper);
      while (this.inFlight.length > 0 && this.worker) await sleep(2);
      const worker = this.worker;
      this.terminating = true;
      this.worker = undefined;
      this.control?.close();
      await worker?.terminate();
    })());
  }

  /** @internal The scoring thread, for tests that make it die. */
  get threadForTests(): Worker | undefined {
    return this.worker;
  }

  private scoreHere({ model, rows, width, fill, done, failed }: HereJob): void {
    if (!failed) {
      const size = rows * (1 + width);
      if (this.scratch.length < size) this.scratch = new Float64Array(Math.max(size, 2 * this.scratch.length));
      failed = fillRows(fill, this.scratch, rows, rows, width);
      if (!failed) return this.answer(model, this.scratch, 0, rows, width, done, false);
    }
    this.call(done, failed, null);
  }

  /** The model as the thread has it, once loaded there; until then undefined (and it is sent). */
  private onThread(gbdt: GbdtModel): ThreadModel | undefined {
    if (!this.worker || this.closed) return undefined;
    let model = this.models.get(gbdt);
    if (!model || model.thread !== this.thread) {
      model = { id: this.nextId++, gbdt, state: 'loading', thread: this.thread, lastUsed: 0, inFlight: 0 };
      this.models.set(gbdt, model);
      this.byId.set(model.id, model);
      this.send({ op: 'load', id: model.id, model: gbdt.toJSON() });
    }
    model.lastUsed = Date.now();
    return model.state === 'ready' ? model : undefined;
  }

  /** Where `size` floats fit in the data ring after the jobs in flight (which end at `tail`), or -1. */
  private allocate(size: number): number {
    if (size > DATA_FLOATS) return -1;
    if (this.inFlight.length === 0) return 0;
    const head = this.inFlight[0].offset;
    if (this.tail > head) {
      if (this.tail + size <= DATA_FLOATS) return this.tail;
      return size <= head ? 0 : -1;
    }
    return this.tail + size <= head ? this.tail : -1;
  }

  /** Answers the jobs the thread has completed, until none is in flight; ends a thread that stalls. */
  private async collect(): Promise<void> {
    if (this.collecting) return;
    this.collecting = true;
    try {
      while (this.inFlight.length > 0) {
        const thread = this.thread;
        const before = this.completed;
        const wait = waitAsync(this.views.counters, COMPLETED, before, STALL_MS);
        const outcome = wait.async ? await wait.value : wait.value;
        // A thread that died meanwhile had its jobs answered by `lost`.
        if (thread !== this.thread) continue;
        if (outcome === 'timed-out' && Atomics.load(this.views.counters, COMPLETED) === before) {
          this.onError(new Error(`the scoring thread completed nothing in ${STALL_MS / 1000} s with ${this.inFlight.length} jobs in flight; ending it`));
          // Its 'exit' runs `lost`, which scores the jobs here.
          await this.worker?.terminate();
          continue;
        }
        this.answerCompleted();
      }
    } catch (err) {
      this.onError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.collecting = false;
    }
  }

  private answerCompleted(): void {
    const { counters, jobs, data } = this.views;
    const completed = Atomics.load(counters, COMPLETED);
    while (ahead(completed, this.completed)) {
      const job = this.inFlight[0];
      const scoredThere = jobs[slotOf(this.completed) + JOB_STATUS] === STATUS_SCORED;
      if (scoredThere) this.crashesInARow = 0;
      this.answer(job.model.gbdt, data, job.offset, job.rows, job.width, job.done, scoredThere);
      // Freed only now: its rows stay intact while `done` reads them.
      this.inFlight.shift();
      job.model.inFlight--;
      this.completed = (this.completed + 1) | 0;
    }
  }

  /** Calls `done` with the rows at `offset`, scoring them first unless the thread has. Never throws. */
  private answer(model: GbdtModel, data: Float64Array, offset: number, rows: number, width: number, done: ScoredCallback, scoredThere: boolean): void {
    let scored: ScoredRows;
    try {
      if (!scoredThere) scoreRows(model, data, offset, rows, width);
      scored = new Region(data, offset, rows, width);
    } catch (err) {
      this.call(done, err instanceof Error ? err : new Error(String(err)), null);
      return;
    }
    if (scoredThere) this.stats.rowsOnThread += rows;
    else this.stats.rowsHere += rows;
    this.call(done, null, scored);
  }

  private call(done: ScoredCallback, error: Error | null, scored: ScoredRows | null): void {
    try {
      done(error, scored);
    } catch (err) {
      this.onError(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private spawn(): void {
    const { port1, port2 } = new MessageChannel();
    Atomics.store(this.views.counters, SUBMITTED, this.submitted);
    Atomics.store(this.views.counters, COMPLETED, this.completed);
    const worker = new Worker(WORKER_ENTRY, { workerData: { ring: this.views.counters.buffer, control: port2, firstJob: this.completed }, transferList: [port2] });
    this.stats.threadsStarted++;
    this.worker = worker;
    this.control = port1;
    worker.on('message', (reply: ScoringReply) => {
      const model = this.byId.get(reply.id);
      if (!model || worker !== this.worker) return;
      if (reply.op === 'loaded') {
        model.state = 'ready';
      } else {
        model.state = 'failed';
        this.onError(new Error(`the scoring thread could not load model ${reply.id}: ${reply.error}; the request thread scores it`));
      }
    });
    worker.on('error', (err) => this.onError(err));
    worker.on('exit', (code) => {
      if (worker !== this.worker || this.terminating) return;
      this.lost(new Error(`the scoring thread exited (code ${code}); its jobs were scored on the request thread`));
    });
  }

  /** The thread died: its jobs are scored here (their rows are still in the ring), then a new thread starts. */
  private lost(reason: Error): void {
    this.onError(reason);
    this.worker = undefined;
    this.control?.close();
    this.thread++;
    this.byId.clear();
    const { counters, data } = this.views;
    for (const job of this.inFlight.splice(0)) {
      job.model.inFlight--;
      this.answer(job.model.gbdt, data, job.offset, job.rows, job.width, job.done, false);
    }
    this.submitted = 0;
    this.published = 0;
    this.completed = 0;
    this.tail = 0;
    Atomics.store(counters, SUBMITTED, 0);
    Atomics.store(counters, COMPLETED, 0);
    // Wakes `collect`, which finds nothing left in flight.
    Atomics.notify(counters, COMPLETED);
    if (this.closed) return;
    if (++this.crashesInARow > MAX_CRASHES) {
      this.onError(new Error(`the scoring thread died ${this.crashesInARow} times in a row; the request thread scores every prediction from now on`));
      return;
    }
    this.spawn();
  }

  private send(message: ScoringControl): void {
    this.control!.postMessage(message);
    this.ringDoorbell();
  }

  private ringDoorbell(): void {
    Atomics.add(this.views.counters, DOORBELL, 1);
    Atomics.notify(this.views.counters, DOORBELL);
  }

  /** Drops models unused for a while from the thread (e.g. a champion replaced); used again, they are sent again. */
  private sweep(): void {
    const now = Date.now();
    for (const [id, model] of this.byId) {
      if (model.inFlight > 0 || now - model.lastUsed < UNLOAD_AFTER_MS) continue;
      this.byId.delete(id);
      this.models.delete(model.gbdt);
      if (this.worker) this.send({ op: 'unload', id });
    }
  }
}
