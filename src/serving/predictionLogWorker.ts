/**
 * The prediction log's writer thread (started by predictionLogThread.ts through
 * predictionLogWorker.cjs): the only connection the model server writes the log with.
 * Requests are handled in arrival order. An insert that fails stays queued and is retried;
 * anything asked after it (labels, reads, close) waits for it, and fails with the write's
 * error if it still cannot be written.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PredictionLog, type LabelInput } from './predictionLog';
import { decodePredictions } from './predictionEncoding';

export interface LogWorkerData {
  file: string;
  busyTimeoutMs?: number;
  retryMs: number;
}

/** What the request thread asks for, besides inserts. */
export type LogCall =
  | { op: 'sync' }
  | { op: 'labels'; model: string; labels: readonly LabelInput[]; at: string }
  | { op: 'read'; q: { model?: string; afterId?: number; limit?: number } }
  | { op: 'find'; requestId: string }
  | { op: 'close' };

export type LogRequest = ({ op: 'insert'; values: unknown[]; numbers: Float64Array } | LogCall) & { id: number };

interface WireError {
  message: string;
  stack?: string;
}

export type LogReply =
  | { kind: 'ok'; id: number; value: unknown }
  | { kind: 'error'; id: number; error: WireError }
  /** An insert failed and will be retried: for the server's log, not an answer. */
  | { kind: 'writeFailed'; error: WireError };

const port = parentPort!;
const data = workerData as LogWorkerData;

function wire(err: unknown): WireError {
  const e = err instanceof Error ? err : new Error(String(err));
  return { message: e.message, stack: e.stack };
}

let log: PredictionLog | undefined;
let openError: unknown;
try {
  log = new PredictionLog(data.file, { busyTimeoutMs: data.busyTimeoutMs });
} catch (err) {
  openError = err;
}

/** Inserts not yet written, in order. */
const backlog: { id: number; values: unknown[]; numbers: Float64Array }[] = [];
/** Everything else, waiting behind the backlog. */
const waiting: (LogCall & { id: number })[] = [];
let retry: NodeJS.Timeout | undefined;
/** Why the backlog's first batch could not be written, for the calls that wait behind it. */
let lastWriteError: Error | undefined;

/** Writes the backlog in order; false (and a retry scheduled) if a write failed. */
function writeBacklog(): boolean {
  while (backlog.length > 0) {
    const batch = backlog[0];
    try {
      if (!log) throw openError;
      log.writeSerialized(decodePredictions(batch));
    } catch (err) {
      lastWriteError = new Error(`the prediction log cannot be written: ${err instanceof Error ? err.message : String(err)}`);
      port.postMessage({ kind: 'writeFailed', error: wire(err) } satisfies LogReply);
      retry ??= setTimeout(() => {
        retry = undefined;
        work();
      }, data.retryMs);
      return false;
    }
    backlog.shift();
    port.postMessage({ kind: 'ok', id: batch.id, value: null } satisfies LogReply);
  }
  return true;
}

function answer(call: LogCall & { id: number }, writeError: unknown): void {
  try {
    if (writeError !== undefined) throw writeError;
    if (!log) throw openError;
    let value: unknown;
    switch (call.op) {
      case 'sync':
        value = null;
        break;
      case 'labels':
        value = log.applyLabels(call.model, call.labels, call.at);
        break;
      case 'read':
        value = log.read(call.q);
        break;
      case 'find':
        value = log.find(call.requestId) ?? null;
        break;
      case 'close':
        log.close();
        value = null;
        break;
    }
    port.postMessage({ kind: 'ok', id: call.id, value } satisfies LogReply);
  } catch (err) {
    port.postMessage({ kind: 'error', id: call.id, error: wire(err) } satisfies LogReply);
  }
}

function work(): void {
  const written = writeBacklog();
  if (!written && waiting.length === 0) return;
  // Calls never overtake an insert asked before them: with the backlog stuck they fail
  // with its error rather than answer from a log missing those rows.
  const error = written ? undefined : lastWriteError;
  for (const call of waiting.splice(0)) answer(call, error);
}

port.on('message', (req: LogRequest) => {
  if (req.op === 'insert') backlog.push({ id: req.id, values: req.values, numbers: req.numbers });
  else waiting.push(req);
  work();
});
