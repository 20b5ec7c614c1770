import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { KeyRecord } from '../auth/keyring';

/** What a version depended on: enough to trace any prediction back to data and code. */
export interface Lineage {
  datasetUri: string;
  datasetSha256: string;
  specHash: string;
  codeVersion: string;
  profileUri: string;
  pipelineUri: string;
  workflowId: string;
  runId: string;
  trainedBy: string;
  trainedAt: string;
}

export interface ModelVersion {
  model: string;
  version: number;
  artifactUri: string;
  artifactSha256: string;
  metrics: Record<string, unknown>;
  lineage: Lineage;
  /** The spec the version was trained under, as canonical JSON (absent for versions registered before it was kept). */
  specJson?: string;
}

export type NewVersion = Omit<ModelVersion, 'version'>;

/**
 * The model registry: immutable versions with lineage, and the per-model sequence that
 * numbers training runs. SQLite in WAL mode under `$PERENNIAL_HOME`, so the worker,
 * scripts and the model server can share it on one machine.
 */
export class Registry {
  private readonly db: Database.Database;

  constructor(file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 10000');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
  }

  static forHome(home: string): Registry {
    return new Registry(path.join(home, 'registry.sqlite'));
  }

  private migrate(): void {
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS sequences (
        model TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL,
        PRIMARY KEY (model, name)
      );
      CREATE TABLE IF NOT EXISTS versions (
        model TEXT NOT NULL,
        version INTEGER NOT NULL,
        artifact_uri TEXT NOT NULL,
        artifact_sha256 TEXT NOT NULL,
        metrics TEXT NOT NULL,
        dataset_uri TEXT NOT NULL,
        dataset_sha256 TEXT NOT NULL,
        spec_hash TEXT NOT NULL,
        code_version TEXT NOT NULL,
        profile_uri TEXT NOT NULL,
        pipeline_uri TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        run_id TEXT NOT NULL,
        trained_by TEXT NOT NULL,
        trained_at TEXT NOT NULL,
        registered_at TEXT NOT NULL,
        PRIMARY KEY (model, version),
        UNIQUE (model, workflow_id)
      );
      CREATE TABLE IF NOT EXISTS aliases (
        model TEXT NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL, updated_at TEXT NOT NULL,
        PRIMARY KEY (model, alias),
        FOREIGN KEY (model, version) REFERENCES versions (model, version)
      );
      CREATE TABLE IF NOT EXISTS ledger (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        model TEXT NOT NULL, version INTEGER, decision TEXT NOT NULL,
        by TEXT NOT NULL, identity TEXT, reason TEXT NOT NULL, at TEXT NOT NULL,
        workflow_id TEXT, run_id TEXT, details TEXT NOT NULL DEFAULT '{}',
        dedupe_key TEXT UNIQUE
      );
      CREATE TABLE IF NOT EXISTS monitor_checks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        model TEXT NOT NULL, version INTEGER NOT NULL, at TEXT NOT NULL,
        rows INTEGER NOT NULL, enough_data INTEGER NOT NULL, breached INTEGER NOT NULL,
        score REAL NOT NULL, performance_ok INTEGER, cursor_from INTEGER NOT NULL, cursor_to INTEGER NOT NULL,
        report_uri TEXT NOT NULL, summary TEXT NOT NULL,
        dedupe_key TEXT UNIQUE
      );
      CREATE INDEX IF NOT EXISTS monitor_checks_model_at ON monitor_checks (model, at);
      CREATE TABLE IF NOT EXISTS actor_keys (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL, op TEXT NOT NULL CHECK (op IN ('add', 'revoke')),
        public_key TEXT NOT NULL, fingerprint TEXT NOT NULL, at TEXT NOT NULL,
        endorsed_by TEXT, endorsement TEXT
      );
      CREATE INDEX IF NOT EXISTS actor_keys_name ON actor_keys (name, seq);
      CREATE TRIGGER IF NOT EXISTS actor_keys_append_only_update BEFORE UPDATE ON actor_keys
        BEGIN SELECT RAISE(ABORT, 'key records are append-only'); END;
      CREATE TRIGGER IF NOT EXISTS actor_keys_append_only_delete BEFORE DELETE ON actor_keys
        BEGIN SELECT RAISE(ABORT, 'key records are append-only'); END;
      CREATE TRIGGER IF NOT EXISTS ledger_append_only_update BEFORE UPDATE ON ledger
        BEGIN SELECT RAISE(ABORT, 'the promotion ledger is append-only'); END;
      CREATE TRIGGER IF NOT EXISTS ledger_append_only_delete BEFORE DELETE ON ledger
        BEGIN SELECT RAISE(ABORT, 'the promotion ledger is append-only'); END;
    `);
    // Registries made before signed actions: the ledger gains the verified signer's columns.
    const columns = (this.db.prepare('PRAGMA table_info(ledger)').all() as { name: string }[]).map((c) => c.name);
    if (!columns.includes('signed_by')) this.db.exec('ALTER TABLE ledger ADD COLUMN signed_by TEXT; ALTER TABLE ledger ADD COLUMN key_fingerprint TEXT;');
    const versionColumns = (this.db.prepare('PRAGMA table_info(versions)').all() as { name: string }[]).map((c) => c.name);
    if (!versionColumns.includes('spec_json')) this.db.exec('ALTER TABLE versions ADD COLUMN spec_json TEXT;');
  }

  /** Appends a key record (add or revoke); whether it is honoured is the lifecycle's call (src/auth/keyring.ts). */
  appendKeyRecord(r: Omit<KeyRecord, 'seq'>): KeyRecord {
    const row = this.db
      .prepare('INSERT INTO actor_keys (name, op, public_key, fingerprint, at, endorsed_by, endorsement) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq')
      .get(r.name, r.op, r.publicKey, r.fingerprint, r.at, r.endorsedBy, r.endorsement) as { seq: number };
    return { ...r, seq: row.seq };
  }

  /**
   * Key records of these names (all of them when none are given), oldest first; at most
   * `limit` per name (the oldest: a name's chain of trust starts with its first key).
   */
  keyRecords(names?: readonly string[], limit = 500): KeyRecord[] {
    const rows = (names
      ? this.db.prepare(`SELECT * FROM actor_keys WHERE name IN (${names.map(() => '?').join(',') || "''"}) ORDER BY seq`).all(...names)
      : this.db.prepare('SELECT * FROM actor_keys ORDER BY seq').all()) as { seq: number; name: string; op: 'add' | 'revoke'; public_key: string; fingerprint: string; at: string; endorsed_by: string | null; endorsement: string | null }[];
    const perName = new Map<string, number>();
    return rows
      .filter((r) => {
        const n = (perName.get(r.name) ?? 0) + 1;
        perName.set(r.name, n);
        return n <= limit;
      })
      .map((r) => ({ seq: r.seq, name: r.name, op: r.op, publicKey: r.public_key, fingerprint: r.fingerprint, at: r.at, endorsedBy: r.endorsed_by, endorsement: r.endorsement }));
  }

  /** The next number of a per-model sequence (e.g. training runs): atomic across processes. */
  next(model: string, name: string): number {
    const row = this.db
      .prepare(
        `INSERT INTO sequences (model, name, value) VALUES (?, ?, 1)
         ON CONFLICT (model, name) DO UPDATE SET value = value + 1
         RETURNING value`,
      )
      .get(model, name) as { value: number };
    return row.value;
  }

  /**
   * Registers a new immutable version. Idempotent per training workflow: a retried
   * activity or a replayed run gets the version already registered.
   */
  register(v: NewVersion): { version: ModelVersion; created: boolean } {
    const tx = this.db.transaction((): { version: ModelVersion; created: boolean } => {
      const existing = this.byWorkflow(v.model, v.lineage.workflowId);
      if (existing) return { version: existing, created: false };
      const { n } = this.db.prepare('SELECT coalesce(max(version), 0) + 1 AS n FROM versions WHERE model = ?').get(v.model) as { n: number };
      const l = v.lineage;
      this.db
        .prepare(
          `INSERT INTO versions (model, version, artifact_uri, artifact_sha256, metrics, dataset_uri, dataset_sha256,
             spec_hash, code_version, profile_uri, pipeline_uri, workflow_id, run_id, trained_by, trained_at, registered_at, spec_json)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(v.model, n, v.artifactUri, v.artifactSha256, JSON.stringify(v.metrics), l.datasetUri, l.datasetSha256,
          l.specHash, l.codeVersion, l.profileUri, l.pipelineUri, l.workflowId, l.runId, l.trainedBy, l.trainedAt,
          new Date().toISOString(), v.specJson ?? null);
      return { version: { ...v, version: n }, created: true };
    });
    return tx.immediate();
  }

  get(model: string, version: number): ModelVersion | undefined {
    const row = this.db.prepare('SELECT * FROM versions WHERE model = ? AND version = ?').get(model, version);
    return row ? toVersion(row as VersionRow) : undefined;
  }

  versions(model: string): ModelVersion[] {
    return (this.db.prepare('SELECT * FROM versions WHERE model = ? ORDER BY version').all(model) as VersionRow[]).map(toVersion);
  }

  private byWorkflow(model: string, workflowId: string): ModelVersion | undefined {
    const row = this.db.prepare('SELECT * FROM versions WHERE model = ? AND workflow_id = ?').get(model, workflowId);
    return row ? toVersion(row as VersionRow) : undefined;
  }

  /** Points an alias (e.g. `champion`) at a registered version. */
  setAlias(model: string, alias: string, version: number): void {
    if (!this.get(model, version)) throw new Error(`${model} has no version ${version}`);
    this.db
      .prepare(
        `INSERT INTO aliases (model, alias, version, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at`,
      )
      .run(model, alias, version, new Date().toISOString());
  }

  clearAlias(model: string, alias: string): void {
    this.db.prepare('DELETE FROM aliases WHERE model = ? AND alias = ?').run(model, alias);
  }

  alias(model: string, alias: string): { version: number; updatedAt: string } | undefined {
    const row = this.db.prepare('SELECT version, updated_at FROM aliases WHERE model = ? AND alias = ?').get(model, alias) as
      | { version: number; updated_at: string }
      | undefined;
    return row ? { version: row.version, updatedAt: row.updated_at } : undefined;
  }

  /** Every model with a registered version. */
  models(): string[] {
    return (this.db.prepare('SELECT DISTINCT model FROM versions ORDER BY model').all() as { model: string }[]).map((r) => r.model);
  }

  /**
   * Models perennial has begun to work on: with registered versions, or with a training
   * run numbered (a lifecycle's first training is under way). Both tables are small.
   */
  knownModels(): string[] {
    return (this.db.prepare('SELECT model FROM versions UNION SELECT model FROM sequences ORDER BY model').all() as { model: string }[]).map((r) => r.model);
  }

  /**
   * Appends a decision to the promotion ledger. With a `dedupeKey`, appending the same
   * decision twice (an activity retried) keeps one row.
   */
  appendLedger(e: LedgerEntry & { dedupeKey?: string }): LedgerRow {
    const at = e.at ?? new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO ledger (model, version, decision, by, identity, reason, at, workflow_id, run_id, details, dedupe_key, signed_by, key_fingerprint)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
      )
      .run(e.model, e.version ?? null, e.decision, e.by, e.identity ?? null, e.reason, at, e.workflowId ?? null, e.runId ?? null,
        JSON.stringify(e.details ?? {}), e.dedupeKey ?? null, e.signer?.name ?? null, e.signer?.fingerprint ?? null);
    const row = e.dedupeKey
      ? this.db.prepare('SELECT * FROM ledger WHERE dedupe_key = ?').get(e.dedupeKey)
      : this.db.prepare('SELECT * FROM ledger WHERE id = last_insert_rowid()').get();
    return toLedgerRow(row as LedgerDbRow);
  }

  ledger(model: string): LedgerRow[] {
    return (this.db.prepare('SELECT * FROM ledger WHERE model = ? ORDER BY id').all(model) as LedgerDbRow[]).map(toLedgerRow);
  }

  /** The ledger entries about one version, oldest first, and the deploys that replaced it (`details.previous` = version). */
  ledgerOf(model: string, version: number): LedgerRow[] {
    const rows = this.db
      .prepare("SELECT * FROM ledger WHERE model = ? AND (version = ? OR (decision = 'deployed' AND json_extract(details, '$.previous') = ?)) ORDER BY id")
      .all(model, version, version) as LedgerDbRow[];
    return rows.map(toLedgerRow);
  }

  /**
   * Stores one monitor check (every check, breached or not). Idempotent through the
   * dedupe key, so a retried activity stores it once.
   */
  recordCheck(c: MonitorCheckRecord): MonitorCheckRecord & { id: number } {
    const existing = this.db.prepare('SELECT id FROM monitor_checks WHERE dedupe_key = ?').get(c.dedupeKey) as { id: number } | undefined;
    if (existing) return { ...c, id: existing.id };
    const r = this.db
      .prepare(
        `INSERT INTO monitor_checks (model, version, at, rows, enough_data, breached, score, performance_ok, cursor_from, cursor_to, report_uri, summary, dedupe_key)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        c.model, c.version, c.at, c.rows, c.enoughData ? 1 : 0, c.breached ? 1 : 0, c.score,
        c.performanceOk === null ? null : c.performanceOk ? 1 : 0, c.cursorFrom, c.cursorTo, c.reportUri, JSON.stringify(c.summary), c.dedupeKey,
      );
    return { ...c, id: Number(r.lastInsertRowid) };
  }

  /** A model's stored checks, oldest first. */
  checks(model: string): (MonitorCheckRecord & { id: number })[] {
    return (this.db.prepare('SELECT * FROM monitor_checks WHERE model = ? ORDER BY id').all(model) as CheckRow[]).map(toCheck);
  }

  /** What changes whenever a model's checks or ledger grow (or checks are pruned): a cache key for pages built from them. */
  changeMark(model: string): string {
    const c = this.db.prepare('SELECT max(id) AS last, count(*) AS n FROM monitor_checks WHERE model = ?').get(model) as { last: number | null; n: number };
    const l = this.db.prepare('SELECT max(id) AS last FROM ledger WHERE model = ?').get(model) as { last: number | null };
    const a = this.alias(model, 'champion');
    return `${c.last}/${c.n}/${l.last}/${a?.version}@${a?.updatedAt}`;
  }

  /** One stored check of a model, by its id. */
  check(model: string, id: number): (MonitorCheckRecord & { id: number }) | undefined {
    const row = this.db.prepare('SELECT * FROM monitor_checks WHERE model = ? AND id = ?').get(model, id) as CheckRow | undefined;
    return row && toCheck(row);
  }

  /** Each model's latest check with a drift score, and its latest judged live AUC: what the model server's gauges show. */
  latestMonitoring(): { model: string; scored: { score: number; breached: boolean; atMs: number } | null; liveAuc: number | null }[] {
    const scored = this.db
      .prepare('SELECT model, score, breached, at FROM monitor_checks WHERE id IN (SELECT max(id) FROM monitor_checks WHERE enough_data = 1 GROUP BY model)')
      .all() as { model: string; score: number; breached: number; at: string }[];
    const judged = this.db
      .prepare("SELECT model, json_extract(summary, '$.performance.auc') AS auc FROM monitor_checks WHERE id IN (SELECT max(id) FROM monitor_checks WHERE performance_ok IS NOT NULL GROUP BY model)")
      .all() as { model: string; auc: number | null }[];
    const models = [...new Set([...scored.map((r) => r.model), ...judged.map((r) => r.model)])].sort();
    return models.map((model) => {
      const s = scored.find((r) => r.model === model);
      const auc = judged.find((r) => r.model === model)?.auc;
      return { model, scored: s ? { score: s.score, breached: s.breached === 1, atMs: Date.parse(s.at) } : null, liveAuc: typeof auc === 'number' ? auc : null };
    });
  }

  /** Deletes a model's checks recorded before `before`; returns their report URIs (the caller removes the files). */
  pruneChecks(model: string, before: string): string[] {
    return this.db.transaction(() => {
      const uris = (this.db.prepare('SELECT report_uri FROM monitor_checks WHERE model = ? AND at < ?').all(model, before) as { report_uri: string }[]).map((r) => r.report_uri);
      this.db.prepare('DELETE FROM monitor_checks WHERE model = ? AND at < ?').run(model, before);
      return uris;
    })();
  }

  close(): void {
    this.db.close();
  }
}

/** One monitor check as stored; the full report is the JSON artifact at `reportUri`. */
export interface MonitorCheckRecord {
  model: string;
  version: number;
  at: string;
  rows: number;
  enoughData: boolean;
  breached: boolean;
  score: number;
  /** null: performance not judged (too few labels). */
  performanceOk: boolean | null;
  cursorFrom: number;
  cursorTo: number;
  reportUri: string;
  summary: Record<string, unknown>;
  dedupeKey: string;
}

function toCheck(r: CheckRow): MonitorCheckRecord & { id: number } {
  return {
    id: r.id, model: r.model, version: r.version, at: r.at, rows: r.rows, enoughData: r.enough_data === 1, breached: r.breached === 1,
    score: r.score, performanceOk: r.performance_ok === null ? null : r.performance_ok === 1, cursorFrom: r.cursor_from, cursorTo: r.cursor_to,
    reportUri: r.report_uri, summary: JSON.parse(r.summary) as Record<string, unknown>, dedupeKey: r.dedupe_key,
  };
}

interface CheckRow {
  id: number;
  model: string;
  version: number;
  at: string;
  rows: number;
  enough_data: number;
  breached: number;
  score: number;
  performance_ok: number | null;
  cursor_from: number;
  cursor_to: number;
  report_uri: string;
  summary: string;
  dedupe_key: string;
}

export interface LedgerEntry {
  model: string;
  version?: number;
  /** e.g. trained, gate-failed, approved, rejected, expired, deployed, deploy-failed, rolled-back, retired, spec-updated */
  decision: string;
  by: string;
  /** The Temporal client identity that sent the action, beside the self-declared `by`. */
  identity?: string;
  reason: string;
  at?: string;
  workflowId?: string;
  runId?: string;
  details?: Record<string, unknown>;
  /** The name and key fingerprint a verified signature proved (absent: unsigned, e.g. perennial's own decisions). */
  signer?: { name: string; fingerprint: string };
}

export interface LedgerRow extends LedgerEntry {
  id: number;
  at: string;
}

interface LedgerDbRow {
  id: number;
  model: string;
  version: number | null;
  decision: string;
  by: string;
  identity: string | null;
  reason: string;
  at: string;
  workflow_id: string | null;
  run_id: string | null;
  details: string;
  signed_by: string | null;
  key_fingerprint: string | null;
}

function toLedgerRow(r: LedgerDbRow): LedgerRow {
  return {
    id: r.id,
    model: r.model,
    version: r.version ?? undefined,
    decision: r.decision,
    by: r.by,
    identity: r.identity ?? undefined,
    reason: r.reason,
    at: r.at,
    workflowId: r.workflow_id ?? undefined,
    runId: r.run_id ?? undefined,
    details: JSON.parse(r.details) as Record<string, unknown>,
    ...(r.signed_by && r.key_fingerprint ? { signer: { name: r.signed_by, fingerprint: r.key_fingerprint } } : {}),
  };
}

interface VersionRow {
  model: string;
  version: number;
  artifact_uri: string;
  artifact_sha256: string;
  metrics: string;
  dataset_uri: string;
  dataset_sha256: string;
  spec_hash: string;
  code_version: string;
  profile_uri: string;
  pipeline_uri: string;
  workflow_id: string;
  run_id: string;
  trained_by: string;
  trained_at: string;
  spec_json: string | null;
}

function toVersion(r: VersionRow): ModelVersion {
  return {
    model: r.model,
    version: r.version,
    artifactUri: r.artifact_uri,
    artifactSha256: r.artifact_sha256,
    metrics: JSON.parse(r.metrics) as Record<string, unknown>,
    lineage: {
      datasetUri: r.dataset_uri,
      datasetSha256: r.dataset_sha256,
      specHash: r.spec_hash,
      codeVersion: r.code_version,
      profileUri: r.profile_uri,
      pipelineUri: r.pipeline_uri,
      workflowId: r.workflow_id,
      runId: r.run_id,
      trainedBy: r.trained_by,
      trainedAt: r.trained_at,
    },
    ...(r.spec_json ? { specJson: r.spec_json } : {}),
  };
}
