/**
 * The shared memory between the model server's request thread and its scoring thread (see
 * scoringThread.ts): one SharedArrayBuffer holding three counters, a ring of job
 * descriptors, and a ring of float64s where each job's rows live — its scores first, then
 * its features row after row. The request thread writes a job's features and descriptor,
 * then bumps SUBMITTED; the scoring thread writes the scores and status, then bumps
 * COMPLETED. Jobs complete in the order they were submitted.
 */

/** Int32 counters at the start of the buffer. */
export const SUBMITTED = 0;
export const COMPLETED = 1;
/** Bumped after anything is asked of the scoring thread (a job or a message): it sleeps on it. */
export const DOORBELL = 2;
const COUNTER_BYTES = 64;

/** Job descriptors: JOB_INTS int32s each, in a ring of JOB_SLOTS. */
export const JOB_SLOTS = 1024;
export const JOB_INTS = 8;
export const JOB_MODEL = 0;
export const JOB_ROWS = 1;
export const JOB_OFFSET = 2;
export const JOB_WIDTH = 3;
export const JOB_STATUS = 4;
export const STATUS_PENDING = 0;
export const STATUS_SCORED = 1;
/** The scoring thread could not score the job (e.g. it does not have the model): the request thread does. */
export const STATUS_FAILED = 2;

/**
 * Where job number `count`'s descriptor starts in `jobs`. Job counts are int32s that wrap
 * around after 2^31 jobs; a job's slot is its count's low bits (JOB_SLOTS is a power of two).
 */
export const slotOf = (count: number): number => (count & (JOB_SLOTS - 1)) * JOB_INTS;

/** Float64s in the data ring: 8 MiB, a thousand rows of a thousand features. */
export const DATA_FLOATS = 1 << 20;

export interface RingViews {
  counters: Int32Array;
  jobs: Int32Array;
  data: Float64Array;
}

export function newRing(): SharedArrayBuffer {
  return new SharedArrayBuffer(COUNTER_BYTES + JOB_SLOTS * JOB_INTS * 4 + DATA_FLOATS * 8);
}

export function ringViews(buffer: SharedArrayBuffer): RingViews {
  return {
    counters: new Int32Array(buffer, 0, COUNTER_BYTES / 4),
    jobs: new Int32Array(buffer, COUNTER_BYTES, JOB_SLOTS * JOB_INTS),
    data: new Float64Array(buffer, COUNTER_BYTES + JOB_SLOTS * JOB_INTS * 4, DATA_FLOATS),
  };
}

/** What the request thread posts to the scoring thread besides jobs. */
export type ScoringControl = { op: 'load'; id: number; model: unknown } | { op: 'unload'; id: number };

/** What the scoring thread answers. */
export type ScoringReply = { op: 'loaded'; id: number } | { op: 'loadFailed'; id: number; error: string };

/**
 * Scores a job's rows in place: row r's features are at `offset + rows + r * width`, its
 * score goes to `offset + r`. Both threads score with this.
 */
export function scoreRows(model: { predictRow(values: ArrayLike<number>): number }, data: Float64Array, offset: number, rows: number, width: number): void {
  for (let r = 0; r < rows; r++) {
    const from = offset + rows + r * width;
    data[offset + r] = model.predictRow(data.subarray(from, from + width));
  }
}
