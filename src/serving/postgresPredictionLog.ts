/**
 * The prediction log in PostgreSQL, shared by every model server and worker of a cluster.
 * Same rows as the SQLite log (src/serving/predictionLog.ts): instance as JSON text,
 * features as little-endian float64 bytes.
 *
 * Monitoring reads by row-id cursor, so a row id must never become visible after a larger
 * one was read: every insert takes one advisory lock before its ids are drawn and holds it
 * until it commits, so ids commit in order across all servers. Writes are group commits
 * (what gathered while the previous commit ran goes in the next), so the lock is taken
 * once per batch, not per prediction.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { inTransaction, openPool, schemaOnce } from '../postgres/pool';
import type { LabelInput, LabelResult, MonitorWindow, PredictionRow } from './predictionLog';
import { decodeFeatures, toRow, type DbRow } from './predictionLog';
import { BatchEncoder, decodePredictions } from './predictionEncoding';
import type { ServedPrediction } from './predictionLogThread';
import type { PredictionReader, PredictionSink } from './predictionStore';

/** Bumped whenever SCHEMA changes: a database at this version is not touched. */
const SCHEMA_VERSION = 1;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS predictions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id TEXT NOT NULL UNIQUE,
    at TEXT NOT NULL,
    model TEXT NOT NULL,
    model_version INTEGER NOT NULL,
    instance TEXT NOT NULL,
    features BYTEA NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    label SMALLINT CHECK (label IN (0, 1)),
    labeled_at TEXT
  );
  CREATE INDEX IF NOT EXISTS predictions_model_id ON predictions (model, id);
  CREATE INDEX IF NOT EXISTS predictions_model_at ON predictions (model, at);
  CREATE INDEX IF NOT EXISTS predictions_labeled ON predictions (model, model_version, id) WHERE label IS NOT NULL;
`;

/** The lock every insert holds until it commits (see above). */
const INSERT_LOCK = 'perennial.predictions.insert';

const INSERT = `
  WITH ordered AS (SELECT pg_advisory_xact_lock(hashtext('${INSERT_LOCK}')))
  INSERT INTO predictions (request_id, at, model, model_version, instance, features, score)
  SELECT r.request_id, r.at, r.model, r.model_version, r.instance, r.features, r.score FROM ordered, unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::text[], $6::bytea[], $7::float8[]) WITH ORDINALITY
    AS r(request_id, at, model, model_version, instance, features, score, n)
  ORDER BY r.n
  ON CONFLICT (request_id) DO NOTHING`;

export interface PostgresPredictionLogOptions {
  /** While a commit runs, rows gather; a batch goes at once when this many have (default 500), else after `flushMs` (default 200). */
  flushRows?: number;
  flushMs?: number;
  /** Refuse predictions while this many rows wait for the database (default 50,000). */
  maxPending?: number;
  /** A failed commit is tried again after this long (ms). Default 1,000. */
  retryMs?: number;
  onError?: (err: unknown) => void;
}


export class PostgresPredictionLog implements PredictionReader, PredictionSink {
  private readonly pool: pg.Pool;
  readonly location: string;
  private readonly ready: () => Promise<void>;
  private readonly encoder = new BatchEncoder();
  private gathering: { resolve(): void; reject(err: Error): void }[] = [];
  private chain: Promise<void> = Promise.resolve();
  private batchesInFlight = 0;
  private rowsInFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private sendScheduled = false;
  private closing = false;
  private closeDeadline: number | undefined;
  private readonly flushRows: number;
  private readonly flushMs: number;
  private readonly maxPending: number;
  private readonly retryMs: number;
  private readonly onError: (err: unknown) => void;

  constructor(url: string, o: PostgresPredictionLogOptions = {}) {
    const handle = openPool(url, { applicationName: 'perennial-predictions' });
    this.pool = handle.pool;
    this.location = handle.location;
    this.flushRows = o.flushRows ?? 500;
    this.flushMs = o.flushMs ?? 200;
    this.maxPending = o.maxPending ?? 50_000;
    this.retryMs = o.retryMs ?? 1_000;
    this.onError = o.onError ?? (() => undefined);
    this.ready = schemaOnce(this.pool, 'predictions', SCHEMA_VERSION, SCHEMA);
  }

  /** Resolves once the table exists; rejects with why the database cannot be used. */
  async open(): Promise<this> {
    await this.ready();
    return this;
  }

  get pending(): number {
    return this.encoder.rows + this.rowsInFlight;
  }

  canAccept(n: number): boolean {
    return !this.closing && this.pending + n <= this.maxPending;
  }

  append(p: ServedPrediction): Promise<void> {
    if (this.closing) return Promise.reject(new Error('the prediction log is closed'));
    this.encoder.add(p);
    const written = new Promise<void>((resolve, reject) => this.gathering.push({ resolve, reject }));
    if (this.encoder.rows >= this.flushRows) this.send();
    else if (this.batchesInFlight === 0) this.sendSoon();
    else this.timer ??= setTimeout(() => this.send(), this.flushMs);
    return written;
  }

  /** Once the code that appended is done: what it appended in one go shares a commit. */
  private sendSoon(): void {
    if (this.sendScheduled) return;
    this.sendScheduled = true;
    queueMicrotask(() => {
      this.sendScheduled = false;
      if (this.batchesInFlight === 0) this.send();
    });
  }

  private send(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.encoder.rows === 0) return;
    const batch = this.encoder.take();
    const waiters = this.gathering;
    this.gathering = [];
    this.batchesInFlight++;
    this.rowsInFlight += batch.rows;
    this.chain = this.chain
      .then(() => this.commitUntilDone(decodePredictions(batch)))
      .then(
        () => waiters.forEach((w) => w.resolve()),
        (err: Error) => waiters.forEach((w) => w.reject(err)),
      )
      .finally(() => {
        this.batchesInFlight--;
        this.rowsInFlight -= batch.rows;
        // What gathered meanwhile goes now: one commit for everything that waited on this one.
        if (this.batchesInFlight === 0 && this.encoder.rows > 0) this.send();
      });
  }

  /**
   * Retried while the database is away (request ids make a repeat harmless); a refusal that
   * retrying cannot change (permissions, a changed table) fails the batch: its predictions
   * are not answered, so nothing answered is lost. While closing, retries end at a deadline.
   */
  private async commitUntilDone(values: unknown[]): Promise<void> {
    const columns: unknown[][] = [[], [], [], [], [], [], []];
    for (let i = 0; i < values.length; i++) columns[i % 7].push(values[i]);
    for (;;) {
      try {
        await this.ready();
        await this.pool.query(INSERT, columns);
        return;
      } catch (err) {
        this.onError(err);
        if (!isTransient(err)) throw err;
        if (this.closeDeadline !== undefined && Date.now() > this.closeDeadline) throw new Error(`the prediction log was closed while its database was away: ${(err as Error).message}`);
        await sleep(this.retryMs);
      }
    }
  }

  async flush(): Promise<void> {
    this.send();
    await this.chain;
  }

  async applyLabels(model: string, labels: readonly LabelInput[], at = new Date().toISOString()): Promise<LabelResult> {
    await this.flush();
    await this.ready();
    return inTransaction(this.pool, async (client) => {
      const ids = [...new Set(labels.map((l) => l.requestId))];
      const { rows } = await client.query('SELECT request_id, label FROM predictions WHERE model = $1 AND request_id = ANY($2::text[]) FOR UPDATE', [model, ids]);
      const current = new Map((rows as { request_id: string; label: number | null }[]).map((r) => [r.request_id, r.label]));
      const result: LabelResult = { accepted: 0, unknown: [], conflicts: [] };
      const set = new Map<string, 0 | 1>();
      for (const { requestId, label } of labels) {
        if (!current.has(requestId)) result.unknown.push(requestId);
        else {
          const existing = current.get(requestId);
          if (existing === null) {
            current.set(requestId, label);
            set.set(requestId, label);
            result.accepted++;
          } else if (existing === label) result.accepted++;
          else result.conflicts.push({ requestId, label, existing: existing as 0 | 1 });
        }
      }
      if (set.size > 0) {
        await client.query(
          `UPDATE predictions p SET label = v.label, labeled_at = $2
             FROM unnest($3::text[], $4::smallint[]) AS v(request_id, label)
            WHERE p.model = $1 AND p.request_id = v.request_id AND p.label IS NULL`,
          [model, at, [...set.keys()], [...set.values()]],
        );
      }
      return result;
    });
  }

  private async rows<T>(sql: string, values: unknown[]): Promise<T[]> {
    await this.ready();
    return (await this.pool.query(sql, values)).rows as T[];
  }

  async find(requestId: string): Promise<PredictionRow | undefined> {
    await this.flush();
    const [row] = await this.rows<DbRow>('SELECT * FROM predictions WHERE request_id = $1', [requestId]);
    return row && toRow(row);
  }

  async read(q: { model?: string; afterId?: number; limit?: number } = {}): Promise<PredictionRow[]> {
    await this.flush();
    const rows = await this.rows<DbRow>('SELECT * FROM predictions WHERE id > $1 AND ($2::text IS NULL OR model = $2) ORDER BY id LIMIT $3', [
      q.afterId ?? 0, q.model ?? null, q.limit ?? null,
    ]);
    return rows.map(toRow);
  }

  async window(q: { model: string; version: number; afterId: number; limit: number }): Promise<MonitorWindow> {
    // One statement, so one snapshot (as SQLite's read transaction): a prune meanwhile cannot
    // make the count and the rows disagree; and one round trip per monitor check, not six.
    // Ids up to `next` are all committed (inserts commit in id order): the count and rows are final.
    const rows = await this.rows<{ next: number; total: number; features: Buffer | null; score: number | null }>(
      `WITH bound AS (SELECT coalesce(max(id), $2) AS next FROM predictions WHERE model = $1 AND id > $2),
            newest AS (SELECT p.id, p.features, p.score FROM predictions p, bound
                        WHERE p.model = $1 AND p.model_version = $3 AND p.id > $2 AND p.id <= bound.next ORDER BY p.id DESC LIMIT $4)
       SELECT bound.next,
              (SELECT count(*) FROM predictions p WHERE p.model = $1 AND p.model_version = $3 AND p.id > $2 AND p.id <= bound.next) AS total,
              newest.features, newest.score
         FROM bound LEFT JOIN newest ON true ORDER BY newest.id DESC`,
      [q.model, q.afterId, q.version, q.limit],
    );
    const found = rows.filter((r): r is typeof r & { features: Buffer; score: number } => r.features !== null);
    return { from: q.afterId, to: rows[0].next, available: rows[0].total, features: found.map((r) => decodeFeatures(r.features)), scores: found.map((r) => r.score) };
  }

  async labeled(q: { model: string; version: number; upToId: number; limit: number }): Promise<{ scores: number[]; labels: (0 | 1)[] }> {
    const rows = await this.rows<{ score: number; label: 0 | 1 }>(
      'SELECT score, label FROM predictions WHERE model = $1 AND model_version = $2 AND label IS NOT NULL AND id <= $3 ORDER BY id DESC LIMIT $4',
      [q.model, q.version, q.upToId, q.limit],
    );
    return { scores: rows.map((r) => r.score), labels: rows.map((r) => r.label) };
  }

  async labeledWithEventTime(q: { model: string; version: number; upToId: number; timeColumn: string; limit: number }): Promise<{ scores: number[]; labels: (0 | 1)[]; times: (string | number | null)[] }> {
    const rows = await this.rows<{ score: number; label: 0 | 1 } & EventTime>(
      `SELECT score, label, ${EVENT_TIME} FROM (
         SELECT score, label, instance::jsonb -> $5 AS t FROM predictions
          WHERE model = $1 AND model_version = $2 AND label IS NOT NULL AND id <= $3 ORDER BY id DESC LIMIT $4) newest`,
      [q.model, q.version, q.upToId, q.limit, q.timeColumn],
    );
    return { scores: rows.map((r) => r.score), labels: rows.map((r) => r.label), times: rows.map(eventTime) };
  }

  async latestLabeledEventTime(model: string, timeColumn: string): Promise<string | number | null> {
    // As SQLite orders mixed values: any text above every number.
    const [row] = await this.rows<EventTime>(
      `SELECT max(t #>> '{}' COLLATE "C") FILTER (WHERE jsonb_typeof(t) = 'string') AS t_text,
              max((t #>> '{}')::float8) FILTER (WHERE jsonb_typeof(t) = 'number') AS t_number
         FROM (SELECT instance::jsonb -> $2 AS t FROM predictions WHERE model = $1 AND label IS NOT NULL) labeled`,
      [model, timeColumn],
    );
    return eventTime(row);
  }

  async prune(model: string, before: string): Promise<number> {
    await this.ready();
    return (await this.pool.query('DELETE FROM predictions WHERE model = $1 AND at < $2', [model, before])).rowCount ?? 0;
  }

  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      this.closeDeadline = Date.now() + CLOSE_RETRY_MS;
      await this.flush().catch(() => undefined);
    }
    
    await this.pool.end().catch(() => undefined);
  }
}

/** How long `close()` keeps retrying a commit while the database is away. */
const CLOSE_RETRY_MS = 30_000;

/** The database is away or busy (a connection error, a restart, a serialization conflict): worth trying again. */
function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  // Node's own codes (ECONNREFUSED, EPIPE, …) are the network's, not the database's answer; no SQLSTATE class starts with E.
  if (typeof code !== 'string' || code.startsWith('E') || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return ['08', '53', '57', '58'].includes(code.slice(0, 2)) || code === '40001' || code === '40P01';
}

/** An event time as logged: JSON text, or a number (epoch ms). */
type EventTime = { t_text: string | null; t_number: number | null };
const EVENT_TIME = `CASE jsonb_typeof(t) WHEN 'string' THEN t #>> '{}' END AS t_text, CASE jsonb_typeof(t) WHEN 'number' THEN (t #>> '{}')::float8 END AS t_number`;

function eventTime(r: EventTime | undefined): string | number | null {
  return r?.t_text ?? r?.t_number ?? null;
}
