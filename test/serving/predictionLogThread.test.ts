/**
 * The model server's prediction log on its writer thread: a real worker thread, a real
 * SQLite file. The failures are real too: another connection holding the write lock, and
 * the writer thread terminated mid-flight.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { PredictionLog, serializePrediction } from '../../src/serving/predictionLog';
import { BatchEncoder, decodePredictions } from '../../src/serving/predictionEncoding';
import { PredictionLogThread, type ServedPrediction } from '../../src/serving/predictionLogThread';

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'perennial-plog-thread-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const COLUMNS = ['when', 'amount', 'kind'] as const;
const features = new Float64Array(3);

/** Prediction n; the feature buffer is shared and overwritten, as the model server does. */
function served(n: number, model = 'm'): ServedPrediction {
  features[0] = n;
  features[1] = n % 2 ? NaN : n / 3;
  features[2] = -n;
  const instance: Record<string, unknown> = { when: `2001-01-0${1 + (n % 9)}T10:00:00`, amount: n };
  if (n % 3) instance.kind = n % 2 ? 'a' : null; // every third omits the nullable column
  return { requestId: `req-${model}-${n}`, atMs: Date.UTC(2026, 10, 27, 12, 0, 0, n), model, modelVersion: 2, columns: COLUMNS, instance, features, score: n / 100 };
}

function count(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM predictions').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

const EDGE_TIMES = [0, 1, 999, 59_999, 86_399_999, 86_400_000, Date.UTC(2000, 1, 29, 23, 59, 59, 999), Date.UTC(2100, 2, 1), Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(10000, 0, 1), -1, -86_400_001, 1.5, Date.UTC(1970, 0, 2, 0, 0, 0, 7)];

describe('prediction log thread', () => {
  test('the wire format decodes to exactly the rows the synchronous log writes: models of different columns and widths in one batch', () => {
    const encoder = new BatchEncoder();
    const expected: unknown[] = [];
    const odd = ['t', 'say "hi"', 'n'] as const;
    for (let n = 0; n < 3000; n++) {
      // Past the encoder's first buffer, alternating two models with their own columns and feature counts;
      // a first column absent, a key and a value that need escaping.
      const p = n % 2 ? served(n) : { ...served(n, 'other'), columns: odd, instance: { ...(n % 4 ? { t: '2001-01-01' } : {}), 'say "hi"': n % 3 ? 'é\n"' : null, n: -n / 7 }, features: Float64Array.of(n, NaN) };
      // Times across seconds, days, leap days and centuries, runs of equal ones, and the edges of what toISOString writes.
      if (n % 5 === 0) p.atMs = EDGE_TIMES[(n / 5) % EDGE_TIMES.length];
      else if (n % 5 === 1) p.atMs = Date.UTC(1999, 11, 31, 23, 59, 58) + Math.floor(n / 3) * 3_599_937;
      encoder.add(p);
      serializePrediction(expected, { requestId: p.requestId, at: new Date(p.atMs).toISOString(), model: p.model, modelVersion: p.modelVersion, instance: p.instance, features: p.features, score: p.score });
    }
    const batch = encoder.take();
    assert.equal(batch.rows, 3000);
    assert.deepEqual(decodePredictions(structuredClone(batch)), expected);
    assert.equal(encoder.take().rows, 0, 'a take empties the encoder');
  });

  test('features are stored as float64 BLOBs; a log written with JSON-text features still reads, old and new rows alike', () => {
    const file = path.join(dir, 'legacy.sqlite');
    // The table as earlier versions created it, with one row they logged.
    const old = new Database(file);
    old.exec(`CREATE TABLE predictions (id INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL UNIQUE, at TEXT NOT NULL,
      model TEXT NOT NULL, model_version INTEGER NOT NULL, instance TEXT NOT NULL, features TEXT NOT NULL, score REAL NOT NULL,
      label INTEGER CHECK (label IN (0, 1)), labeled_at TEXT)`);
    old.prepare(`INSERT INTO predictions (request_id, at, model, model_version, instance, features, score) VALUES ('old-1', '2026-11-01T00:00:00.000Z', 'm', 2, '{"amount":1}', '[1.5,null,-3]', 0.25)`).run();
    old.close();

    const log = new PredictionLog(file);
    log.append([{ requestId: 'new-1', at: '2026-11-27T00:00:00.000Z', model: 'm', modelVersion: 2, instance: { amount: 2 }, features: Float64Array.of(0.1, NaN, 1e300), score: 0.5 }]);
    const rows = log.read({ model: 'm' });
    assert.deepEqual(rows.map((r) => [r.requestId, r.features]), [['old-1', [1.5, null, -3]], ['new-1', [0.1, null, 1e300]]]);
    assert.deepEqual(log.window({ model: 'm', version: 2, afterId: 0, limit: 10 }).features, [[0.1, null, 1e300], [1.5, null, -3]], 'monitoring reads both, newest first');
    log.close();

    const raw = new Database(file, { readonly: true });
    const stored = raw.prepare("SELECT typeof(features) AS type, length(features) AS bytes FROM predictions WHERE request_id = 'new-1'").get();
    raw.close();
    assert.deepEqual(stored, { type: 'blob', bytes: 24 });
  });

  test('rows are logged as the synchronous log writes them, in order; a label right after its prediction finds it', async () => {
    const file = path.join(dir, 'order.sqlite');
    const log = await PredictionLogThread.open(file, { flushMs: 10_000, flushRows: 1_000 });
    for (let n = 1; n <= 7; n++) log.append(served(n));
    assert.equal(log.pending, 7);
    assert.equal(count(file), 0, 'nothing written before a batch is due');
    // No flush in between: the labels are applied after the rows queued before them.
    const labels = await log.applyLabels('m', [
      { requestId: 'req-m-2', label: 1 },
      { requestId: 'req-m-5', label: 0 },
      { requestId: 'req-m-99', label: 1 },
    ]);
    assert.deepEqual(labels, { accepted: 2, unknown: ['req-m-99'], conflicts: [] });
    assert.equal(log.pending, 0);
    const rows = await log.read({ model: 'm' });
    assert.deepEqual(rows.map((r) => r.requestId), [1, 2, 3, 4, 5, 6, 7].map((n) => `req-m-${n}`));
    assert.deepEqual(rows[1].features, [2, 2 / 3, -2]);
    assert.deepEqual(rows[0].features, [1, null, -1], 'NaN is logged as null');
    assert.deepEqual(rows[2].instance, { when: '2001-01-04T10:00:00', amount: 3 }, 'an omitted column stays omitted');
    assert.deepEqual(rows[1].instance, { when: '2001-01-03T10:00:00', amount: 2, kind: null });
    assert.equal(rows[4].at, '2026-11-27T12:00:00.005Z');
    assert.equal(rows[4].label, 0);
    assert.equal(rows[4].score, 0.05);
    await log.close();

    // The same rows through the synchronous log read back identically.
    const sync = new PredictionLog(path.join(dir, 'order-sync.sqlite'));
    for (let n = 1; n <= 7; n++) {
      const p = served(n);
      sync.append([{ requestId: p.requestId, at: new Date(p.atMs).toISOString(), model: p.model, modelVersion: p.modelVersion, instance: p.instance, features: p.features, score: p.score }]);
    }
    const again = new PredictionLog(file);
    const strip = (rs: ReturnType<PredictionLog['read']>) => rs.map(({ label, labeledAt, ...r }) => r);
    assert.deepEqual(strip(again.read()), strip(sync.read()));
    sync.close();
    again.close();
  });

  test('an append resolves only once its row is committed: another connection reads it then; a locked log holds the answer back', async () => {
    const file = path.join(dir, 'durable.sqlite');
    const log = await PredictionLogThread.open(file, { flushMs: 10_000, busyTimeoutMs: 20, retryMs: 50 });
    await log.append(served(1));
    assert.equal(count(file), 1, 'on disk when the append resolved');
    const holder = new Database(file);
    holder.exec('BEGIN IMMEDIATE');
    let answered = false;
    const second = log.append(served(2)).then(() => (answered = true));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(answered, false, 'not acknowledged while it cannot be written');
    holder.exec('ROLLBACK');
    holder.close();
    await second;
    assert.equal(count(file), 2);
    await log.close();
  });

  test('batches go by row count and by time; close writes the rest and later appends fail', async () => {
    const file = path.join(dir, 'batches.sqlite');
    const log = await PredictionLogThread.open(file, { flushMs: 100, flushRows: 3 });
    log.append(served(1));
    log.append(served(2));
    log.append(served(3)); // a full batch goes now
    await log.flush();
    assert.equal(count(file), 3);
    log.append(served(4));
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(count(file), 4, 'written after flushMs without a flush');
    log.append(served(5));
    await log.close();
    assert.equal(count(file), 5);
    await assert.rejects(log.append(served(6)), /closed/);
    assert.equal(log.canAccept(1), false);
  });

  test('a locked database: predictions wait and are retried, labels fail with the reason, backpressure past maxPending, nothing lost', async () => {
    const file = path.join(dir, 'locked.sqlite');
    const errors: string[] = [];
    const log = await PredictionLogThread.open(file, { flushMs: 10_000, maxPending: 5, busyTimeoutMs: 20, retryMs: 50, onError: (e) => errors.push((e as Error).message) });
    const holder = new Database(file);
    holder.exec('BEGIN IMMEDIATE'); // another writer holds the lock
    for (let n = 1; n <= 4; n++) log.append(served(n));
    assert.equal(log.canAccept(1), true);
    assert.equal(log.canAccept(2), false, 'a sixth pending row would pass maxPending');
    await assert.rejects(log.applyLabels('m', [{ requestId: 'req-m-1', label: 1 }]), /the prediction log cannot be written: database is locked/);
    assert.equal(log.pending, 4, 'the rows are kept');
    assert.ok(errors.some((m) => /database is locked/.test(m)), errors.join('\n'));
    holder.exec('ROLLBACK');
    holder.close();
    await log.flush(); // the retry gets through
    assert.equal(log.pending, 0);
    assert.deepEqual((await log.read()).map((r) => r.requestId), ['req-m-1', 'req-m-2', 'req-m-3', 'req-m-4']);
    await log.close();
  });

  test('the writer thread dies with a batch unwritten: a new one writes it, once', async () => {
    const file = path.join(dir, 'crash.sqlite');
    const errors: string[] = [];
    const log = await PredictionLogThread.open(file, { flushMs: 10_000, busyTimeoutMs: 20, retryMs: 50, onError: (e) => errors.push((e as Error).message) });
    log.append(served(1));
    await log.flush();
    const holder = new Database(file);
    holder.exec('BEGIN IMMEDIATE');
    for (let n = 2; n <= 5; n++) log.append(served(n));
    await assert.rejects(log.flush(), /database is locked/); // sent, not written
    const first = log.thread;
    await first.terminate();
    holder.exec('ROLLBACK');
    holder.close();
    await log.flush();
    assert.notEqual(log.thread, first);
    assert.equal(log.startedWorkers, 2);
    assert.ok(errors.some((m) => /writer thread exited/.test(m)), errors.join('\n'));
    assert.deepEqual((await log.read()).map((r) => r.requestId), [1, 2, 3, 4, 5].map((n) => `req-m-${n}`));
    await log.close();
  });

  test('a log that cannot be opened fails at open, with the reason', async () => {
    const blocker = path.join(dir, 'not-a-dir');
    new Database(blocker).close(); // a file where the log's folder would be
    await assert.rejects(PredictionLogThread.open(path.join(blocker, 'p.sqlite')), /EEXIST|ENOTDIR|not a directory|file already exists/i);
  });

  test('writing the same serialized batch twice logs it once', () => {
    const log = new PredictionLog(path.join(dir, 'twice.sqlite'));
    const values = ['r1', '2026-11-27T12:00:00.000Z', 'm', 1, '{}', '[1]', 0.5, 'r2', '2026-11-27T12:00:00.000Z', 'm', 1, '{}', '[2]', 0.25];
    log.writeSerialized(values);
    log.writeSerialized(values);
    assert.deepEqual(log.read().map((r) => [r.id, r.requestId]), [[1, 'r1'], [2, 'r2']]);
    log.close();
  });
});
