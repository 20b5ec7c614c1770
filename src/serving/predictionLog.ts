import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { PredictionReader } from './predictionStore';

/** One scored instance, as the model server logs it. */
export interface PredictionRecord {
  requestId: string;
  /** ISO-8601 UTC time the prediction was made. */
  at: string;
  model: string;
  modelVersion: number;
  /** The raw instance as the client sent it (validated). */
  instance: unknown;
  /**
   * The computed features in the model's feature order. Stored as a BLOB of little-endian
   * float64s (NaN for a missing value): writing numbers as JSON text cost the writer a third
   * of its time per row. Read back as numbers with null for missing (see `PredictionRow`).
   */
  features: ArrayLike<number>;
  score: number;
}

/** One row of the log, as monitoring reads it. */
export interface PredictionRow {
  /** Autoincrement row id: the cursor monitoring reads by (`afterId`). */
  id: number;
  requestId: string;
  at: string;
  model: string;
  modelVersion: number;
  instance: unknown;
  /** In the model's feature order; null where a value was missing (or not finite). */
  features: (number | null)[];
  score: number;
  label: 0 | 1 | null;
  labeledAt: string | null;
}

/** One monitor check's rows: the newest first; features in the model's feature order. */
export interface MonitorWindow {
  /** The cursor before and after this read (row ids). */
  from: number;
  to: number;
  /** Rows of this version logged since the cursor (the window holds at most `limit` of them). */
  available: number;
  features: (number | null)[][];
  scores: number[];
}

export interface LabelInput {
  requestId: string;
  label: 0 | 1;
}

export interface LabelResult {
  /** Labels now recorded: new ones plus repeats of the same value (idempotent). */
  accepted: number;
  /** Request ids this model never logged. */
  unknown: string[];
  /** Ids already labeled with the other value: kept as they were, not overwritten. */
  conflicts: { requestId: string; label: 0 | 1; existing: 0 | 1 }[];
}

export interface PredictionLogOptions {
  /** Flush the buffer this often (ms). Default 200. */
  flushMs?: number;
  /** Flush as soon as this many rows are buffered. Default 500. */
  flushRows?: number;
  onError?: (err: unknown) => void;
  /** How long a write waits for another connection's lock before it fails (ms). Default 10,000. */
  busyTimeoutMs?: number;
}

export interface DbRow {
  id: number;
  request_id: string;
  at: string;
  model: string;
  model_version: number;
  instance: string;
  /** A float64 BLOB; JSON text in rows logged before the BLOB layout. */
  features: Buffer | string;
  score: number;
  label: number | null;
  labeled_at: string | null;
}

/**
 * The prediction log: every served prediction, in SQLite (WAL) at
 * `<home>/predictions.sqlite`. Monitoring reads it here; the model server writes it
 * through `PredictionLogThread`, which runs this class on a writer thread. Writes are
 * batched: `append` buffers, and the buffer goes to disk in one transaction every
 * `flushMs` or every `flushRows` rows, on `flush()`, and
 * on `close()` — so a clean stop loses nothing, and a crash loses at most the last
 * `flushMs` of predictions. Delayed labels are applied to the same rows (after a flush, so
 * they reach rows that were still buffered).
 */
export class PredictionLog implements PredictionReader {
  private readonly db: Database.Database;
  /** Buffered predictions, already serialized: LOGGED_VALUES values per row (see `serializePrediction`). */
  private buffer: unknown[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly flushMs: number;
  private readonly flushRows: number;
  private readonly onError: (err: unknown) => void;
  private readonly insert: Database.Statement;
  /** One INSERT of INSERT_CHUNK rows: a flush's cost is mostly per statement call, not per row. */
  private readonly insertChunk: Database.Statement;
  private readonly insertMany: (values: readonly unknown[]) => void;

  constructor(readonly file: string, o: PredictionLogOptions = {}) {
    this.flushMs = o.flushMs ?? 200;
    this.flushRows = o.flushRows ?? 500;
    this.onError = o.onError ?? (() => undefined);
    mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    // Commits come often and small now (each answer waits for its own): checkpoint (the only
    // step that syncs to disk) every ~40 MB of log rather than every 4 MB.
    this.db.pragma('wal_autocheckpoint = 10000');
    this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(o.busyTimeoutMs ?? 10_000))}`);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS predictions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        request_id TEXT NOT NULL UNIQUE,
        at TEXT NOT NULL,
        model TEXT NOT NULL,
        model_version INTEGER NOT NULL,
        instance TEXT NOT NULL,
        features BLOB NOT NULL, -- little-endian float64s (logs from before hold JSON text: read both)
        score REAL NOT NULL,
        label INTEGER CHECK (label IN (0, 1)),
        labeled_at TEXT
      );
      CREATE INDEX IF NOT EXISTS predictions_model_id ON predictions (model, id);
      CREATE INDEX IF NOT EXISTS predictions_model_at ON predictions (model, at);
      -- Monitoring's performance reads only labeled rows: a partial index keeps them cheap to find.
      CREATE INDEX IF NOT EXISTS predictions_labeled ON predictions (model, model_version, id) WHERE label IS NOT NULL;
    `);
    this.insert = this.db.prepare(
      `INSERT OR IGNORE INTO predictions (request_id, at, model, model_version, instance, features, score) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertChunk = this.db.prepare(
      `INSERT OR IGNORE INTO predictions (request_id, at, model, model_version, instance, features, score) VALUES ${Array.from({ length: INSERT_CHUNK }, () => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
    );
    // Rows keep their order (ids follow it): whole chunks first, then the rest one by one.
    const chunkValues = INSERT_CHUNK * LOGGED_VALUES;
    const params: unknown[] = new Array(chunkValues);
    this.insertMany = this.db.transaction((values: readonly unknown[]) => {
      let i = 0;
      for (; i + chunkValues <= values.length; i += chunkValues) {
        for (let j = 0; j < chunkValues; j++) params[j] = values[i + j];
        this.insertChunk.run(params);
      }
      for (; i < values.length; i += LOGGED_VALUES) this.insert.run(values.slice(i, i + LOGGED_VALUES));
    });
  }

  static forHome(home: string, o?: PredictionLogOptions): PredictionLog {
    return new PredictionLog(path.join(home, PREDICTION_LOG_FILE), o);
  }

  /** Rows waiting for the next flush. */
  get pending(): number {
    return this.buffer.length / LOGGED_VALUES;
  }


  /** Buffers predictions; they reach the disk at the next flush. */
  append(records: readonly PredictionRecord[]): void {
    if (this.closed) throw new Error('the prediction log is closed');
    for (const r of records) serializePrediction(this.buffer, r);
    if (this.pending >= this.flushRows) this.flushQuietly();
    else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flushQuietly();
      }, this.flushMs);
    }
  }

  /** Writes every buffered row in one transaction; returns how many. A failure keeps them buffered. */
  flush(): number {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.buffer.length === 0) return 0;
    const values = this.buffer;
    this.buffer = [];
    try {
      this.insertMany(values);
    } catch (err) {
      this.buffer = values.concat(this.buffer);
      throw err;
    }
    return values.length / LOGGED_VALUES;
  }

  /**
   * Writes serialized predictions (`serializePrediction`) in one transaction, in order,
   * after anything buffered here. A request id already logged is skipped, so writing the
   * same batch twice (a retry after a crash between write and acknowledgement) logs it once.
   * Returns how many rows were given.
   */
  writeSerialized(values: readonly unknown[]): number {
    if (this.closed) throw new Error('the prediction log is closed');
    if (values.length % LOGGED_VALUES !== 0) throw new Error(`writeSerialized: ${values.length} values is not whole rows of ${LOGGED_VALUES}`);
    this.flush();
    this.insertMany(values);
    return values.length / LOGGED_VALUES;
  }

  private flushQuietly(): void {
    try {
      this.flush();
    } catch (err) {
      this.onError(err);
      // Try again later.
      if (!this.closed && !this.timer) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.flushQuietly();
        }, Math.max(this.flushMs, 1000));
      }
    }
  }

  /**
   * Records delayed labels for one model's predictions, in one transaction. A request id
   * this model never logged is reported as unknown; labeling an id again with the same
   * value changes nothing and counts as accepted (a retried call is harmless); a
   * different value for an id already labeled is a conflict: the first label stays.
   */
  applyLabels(model: string, labels: readonly LabelInput[], at = new Date().toISOString()): LabelResult {
    this.flush();
    const find = this.db.prepare('SELECT label FROM predictions WHERE request_id = ? AND model = ?');
    const set = this.db.prepare('UPDATE predictions SET label = ?, labeled_at = ? WHERE request_id = ? AND model = ? AND label IS NULL');
    return this.db.transaction((): LabelResult => {
      const result: LabelResult = { accepted: 0, unknown: [], conflicts: [] };
      for (const { requestId, label } of labels) {
        const row = find.get(requestId, model) as { label: number | null } | undefined;
        if (!row) result.unknown.push(requestId);
        else if (row.label === null) {
          set.run(label, at, requestId, model);
          result.accepted++;
        } else if (row.label === label) result.accepted++;
        else result.conflicts.push({ requestId, label, existing: row.label as 0 | 1 });
      }
      return result;
    }).immediate();
  }

  /** Logged rows in id order (flushes first), e.g. `read({ model, afterId: cursor, limit: 1000 })`. */
  read(q: { model?: string; afterId?: number; limit?: number } = {}): PredictionRow[] {
    this.flush();
    const rows = this.db
      .prepare(
        `SELECT * FROM predictions WHERE id > ? ${q.model !== undefined ? 'AND model = ?' : ''} ORDER BY id LIMIT ?`,
      )
      .all(...[q.afterId ?? 0, ...(q.model !== undefined ? [q.model] : []), q.limit ?? -1]) as DbRow[];
    return rows.map(toRow);
  }

  /** The logged prediction with this request id (flushes first), or undefined. */
  find(requestId: string): PredictionRow | undefined {
    this.flush();
    const row = this.db.prepare('SELECT * FROM predictions WHERE request_id = ?').get(requestId) as DbRow | undefined;
    return row && toRow(row);
  }

  /**
   * What monitoring reads: the newest `limit` rows of one model version logged after the
   * cursor `afterId`, and where the cursor goes next — past every row of the model seen
   * now, whichever version served it, so a check never reads a row twice.
   */
  window(q: { model: string; version: number; afterId: number; limit: number }): MonitorWindow {
    this.flush();
    // One read transaction: rows the model server logs meanwhile wait for the next check.
    return this.db.transaction((): MonitorWindow => {
      const { next } = this.db.prepare('SELECT coalesce(max(id), ?) AS next FROM predictions WHERE model = ? AND id > ?').get(q.afterId, q.model, q.afterId) as { next: number };
      const { total } = this.db
        .prepare('SELECT count(*) AS total FROM predictions WHERE model = ? AND model_version = ? AND id > ? AND id <= ?')
        .get(q.model, q.version, q.afterId, next) as { total: number };
      const rows = this.db
        .prepare('SELECT features, score FROM predictions WHERE model = ? AND model_version = ? AND id > ? AND id <= ? ORDER BY id DESC LIMIT ?')
        .all(q.model, q.version, q.afterId, next, q.limit) as { features: Buffer | string; score: number }[];
      return {
        from: q.afterId,
        to: next,
        available: total,
        features: rows.map((r) => decodeFeatures(r.features)),
        scores: rows.map((r) => r.score),
      };
    })();
  }
  /** The newest `limit` labeled predictions of a version at or before row `upToId`: live performance. */
  labeled(q: { model: string; version: number; upToId: number; limit: number }): { scores: number[]; labels: (0 | 1)[] } {
    this.flush();
    const rows = this.db
      .prepare('SELECT score, label FROM predictions WHERE model = ? AND model_version = ? AND label IS NOT NULL AND id <= ? ORDER BY id DESC LIMIT ?')
      .all(q.model, q.version, q.upToId, q.limit) as { score: number; label: 0 | 1 }[];
    return { scores: rows.map((r) => r.score), labels: rows.map((r) => r.label) };
  }

  /**
   * The newest `limit` labeled predictions of a version at or before row `upToId`, with each
   * one's event time as logged (the instance's `timeColumn`: ISO text or epoch ms).
   */
  labeledWithEventTime(q: { model: string; version: number; upToId: number; timeColumn: string; limit: number }): { scores: number[]; labels: (0 | 1)[]; times: (string | number | null)[] } {
    this.flush();
    const rows = this.db
      .prepare('SELECT score, label, json_extract(instance, ?) AS t FROM predictions WHERE model = ? AND model_version = ? AND label IS NOT NULL AND id <= ? ORDER BY id DESC LIMIT ?')
      .all(`$."${q.timeColumn.replace(/"/g, '')}"`, q.model, q.version, q.upToId, q.limit) as { score: number; label: 0 | 1; t: string | number | null }[];
    return { scores: rows.map((r) => r.score), labels: rows.map((r) => r.label), times: rows.map((r) => r.t) };
  }

  /** The latest event time (the instance's `timeColumn`) that labeled traffic of a model has reached. */
  latestLabeledEventTime(model: string, timeColumn: string): string | number | null {
    this.flush();
    const row = this.db
      .prepare('SELECT max(json_extract(instance, ?)) AS t FROM predictions WHERE model = ? AND label IS NOT NULL')
      .get(`$."${timeColumn}"`, model) as { t: string | number | null };
    return row.t;
  }

  /** Deletes a model's rows logged before `before` (ISO time); returns how many. */
  prune(model: string, before: string): number {
    this.flush();
    return this.db.prepare('DELETE FROM predictions WHERE model = ? AND at < ?').run(model, before).changes;
  }

  /** Flushes and closes; later appends throw. */
  close(): void {
    if (this.closed) return;
    try {
      this.flush();
    } finally {
      this.closed = true;
      this.db.close();
    }
  }
}

/** Rows per multi-row INSERT (7 parameters each, far below SQLite's variable limit). */
const INSERT_CHUNK = 50;

/** The prediction log's file name in the state folder. */
export const PREDICTION_LOG_FILE = 'predictions.sqlite';

/** Values per serialized prediction: the INSERT's columns. */
const LOGGED_VALUES = 7;

/**
 * Appends one prediction to `out` as the log stores it: request id, time, model, version,
 * instance JSON, features BLOB, score. Done when the prediction is made, so the caller may
 * reuse its feature buffer and only strings and bytes wait for the disk.
 */
export function serializePrediction(out: unknown[], r: PredictionRecord): void {
  serializeRow(out, r.requestId, r.at, r.model, r.modelVersion, JSON.stringify(r.instance), featuresBlob(r.features), r.score);
}

/** The row layout itself, with the instance as JSON text and the features as stored (`featuresBlob`, `storedFeatures`). */
export function serializeRow(out: unknown[], requestId: string, at: string, model: string, modelVersion: number, instanceJson: string, features: Buffer, score: number): void {
  out.push(requestId, at, model, modelVersion, instanceJson, features, score);
}

/** The features as stored: little-endian float64s, in order. A copy: the caller may reuse `features`. */
function featuresBlob(features: ArrayLike<number>): Buffer {
  const blob = Buffer.allocUnsafe(8 * features.length);
  for (let i = 0; i < features.length; i++) blob.writeDoubleLE(features[i], 8 * i);
  return blob;
}

const LITTLE_ENDIAN = new Uint8Array(Float64Array.of(-0).buffer)[7] === 0x80;

/**
 * The same bytes as `featuresBlob` for `count` numbers from `from`, as a view where the
 * platform is little-endian (a copy elsewhere): for numbers nothing writes again before the insert.
 */
export function storedFeatures(numbers: Float64Array, from: number, count: number): Buffer {
  return LITTLE_ENDIAN ? Buffer.from(numbers.buffer, numbers.byteOffset + 8 * from, 8 * count) : featuresBlob(numbers.subarray(from, from + count));
}

/** Stored features as numbers, null where missing: a float64 BLOB, or the JSON text of rows logged before it. */
export function decodeFeatures(stored: Buffer | string): (number | null)[] {
  if (typeof stored === 'string') return JSON.parse(stored) as (number | null)[];
  if (stored.length % 8 !== 0) throw new Error(`a logged features BLOB of ${stored.length} bytes is not whole float64s`);
  const out = new Array<number | null>(stored.length / 8);
  for (let i = 0; i < out.length; i++) {
    const v = stored.readDoubleLE(8 * i);
    out[i] = Number.isFinite(v) ? v : null;
  }
  return out;
}

export function toRow(r: DbRow): PredictionRow {
  return {
    id: r.id,
    requestId: r.request_id,
    at: r.at,
    model: r.model,
    modelVersion: r.model_version,
    instance: JSON.parse(r.instance),
    features: decodeFeatures(r.features),
    score: r.score,
    label: r.label as 0 | 1 | null,
    labeledAt: r.labeled_at,
  };
}
