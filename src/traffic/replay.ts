import type { PredictResponse } from '../serving/app';
import { now, type Bounds, type StopReason } from './bounds';
import { ErrorCounts } from './errorCounts';
import { predict } from './http';
import type { TrafficRow } from './scenarios';

/**
 * Unordered traffic may have this many requests out, to keep up when one takes longer than
 * the gap between two; few enough not to flood the server.
 */
const MAX_IN_FLIGHT = 4;
/** This many requests in a row without any answer: the server is gone, stop sending. */
const UNREACHABLE_AFTER = 3;

export interface ReplayRequest {
  serverUrl: string;
  model: string;
  rows: TrafficRow[];
  batch: number;
  /** Rows per second. */
  rate: number;
  /**
   * Keep the sending order at the server: one request at a time, so the prediction log holds
   * the rows in that order (requests in parallel may overtake each other).
   */
  ordered: boolean;
  bounds: Bounds;
  /** Called with each batch the server scored, in answer order. */
  onPredicted: (rows: TrafficRow[], predictions: PredictResponse['predictions']) => void;
  /** Called after every answered (or failed) batch, with the counts so far. */
  onAnswered?: (stats: ReplayStats) => void;
}

export interface ReplayStats {
  /** Rows in every request made, answered or not. */
  rowsSent: number;
  /** Rows the server scored. */
  predictions: number;
  /** Predictions per model version that scored them. */
  modelVersions: Record<string, number>;
  errors: ErrorCounts;
  positives: number;
  firstEventMs: number | null;
  lastEventMs: number | null;
  /** From the first request to the end of the last one's time slot (or its answer, if later). */
  sendMs: number;
  stoppedBy: 'done' | StopReason | 'unreachable';
}

/**
 * Sends the rows in batches at `rate` rows per second: batch j goes out `j·batch/rate`
 * seconds after the first, or as soon as a request slot frees when the server is slower
 * than that. Stops early at the deadline, on abort, or when the server stops answering.
 */
export async function replay(r: ReplayRequest): Promise<ReplayStats> {
  const stats: ReplayStats = { rowsSent: 0, predictions: 0, modelVersions: {}, errors: new ErrorCounts(), positives: 0, firstEventMs: null, lastEventMs: null, sendMs: 0, stoppedBy: 'done' };
  const inFlight = new Set<Promise<void>>();
  const startedAt = now();
  let slotEnd = startedAt;
  let lastAnswerAt = startedAt;
  let unanswered = 0;

  const send = async (rows: TrafficRow[]) => {
    const answer = await predict(r.serverUrl, r.model, rows.map((row) => row.instance));
    lastAnswerAt = now();
    if (answer.ok && answer.body.predictions?.length === rows.length) {
      unanswered = 0;
      stats.predictions += rows.length;
      const v = String(answer.body.model_version);
      stats.modelVersions[v] = (stats.modelVersions[v] ?? 0) + rows.length;
      r.onPredicted(rows, answer.body.predictions);
    } else if (answer.ok) {
      stats.errors.count(200, `${answer.body.predictions?.length ?? 'no'} predictions for ${rows.length} instances`);
    } else {
      unanswered = answer.status === 'network' ? unanswered + 1 : 0;
      stats.errors.count(answer.status, answer.error);
    }
    r.onAnswered?.(stats);
  };

  for (let start = 0; start < r.rows.length; start += r.batch) {
    const dueAt = startedAt + (start / r.rate) * 1000;
    const stop = (await r.bounds.waitUntil(dueAt)) ?? (await freeSlot(inFlight, r.ordered ? 1 : MAX_IN_FLIGHT, r.bounds));
    if (stop) {
      stats.stoppedBy = stop;
      break;
    }
    if (unanswered >= UNREACHABLE_AFTER) {
      stats.stoppedBy = 'unreachable';
      break;
    }
    const rows = r.rows.slice(start, start + r.batch);
    count(stats, rows);
    slotEnd = Math.max(now(), dueAt) + (rows.length / r.rate) * 1000;
    const p: Promise<void> = send(rows).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  if (stats.stoppedBy === 'done' && unanswered >= UNREACHABLE_AFTER) stats.stoppedBy = 'unreachable';
  stats.sendMs = stats.rowsSent === 0 ? 0 : Math.max(slotEnd, lastAnswerAt) - startedAt;
  return stats;
}

/** Waits while `max` requests are out. */
async function freeSlot(inFlight: Set<Promise<void>>, max: number, bounds: Bounds): Promise<StopReason | undefined> {
  while (inFlight.size >= max) await Promise.race(inFlight);
  return bounds.stopped();
}

function count(stats: ReplayStats, rows: TrafficRow[]): void {
  stats.rowsSent += rows.length;
  for (const row of rows) {
    stats.positives += row.label;
    if (stats.firstEventMs === null || row.eventMs < stats.firstEventMs) stats.firstEventMs = row.eventMs;
    if (stats.lastEventMs === null || row.eventMs > stats.lastEventMs) stats.lastEventMs = row.eventMs;
  }
}
