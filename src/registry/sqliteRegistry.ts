import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { KeyRecord } from '../auth/keyring';
import type { LatestMonitoring, LedgerEntry, LedgerRow, LiveServer, ModelVersion, MonitorCheckRecord, NewVersion, Registry, ServerReport, StoredCheck } from './registry';
import {
  CHECK_COLUMNS, CORE_TABLES, KEY_COLUMNS, LEDGER_COLUMNS, VERSION_COLUMNS, checkValues, keyValues, ledgerValues, mergeLatestMonitoring, placeholders,
  serverValues, toCheck, toKeyRecords, toLedgerRow, toLiveServers, toVersion, versionValues,
  type CheckRow, type KeyDbRow, type LedgerDbRow, type ServerRow, type VersionRow,
} from './rows';

export const REGISTRY_FILE = 'registry.sqlite';

const SCHEMA = `
  ${CORE_TABLES}
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
  CREATE TABLE IF NOT EXISTS model_servers (
    id TEXT PRIMARY KEY, url TEXT NOT NULL, started_at TEXT NOT NULL, seen_ms INTEGER NOT NULL, serving TEXT NOT NULL
  );
  CREATE TRIGGER IF NOT EXISTS actor_keys_append_only_update BEFORE UPDATE ON actor_keys
    BEGIN SELECT RAISE(ABORT, 'key records are append-only'); END;
  CREATE TRIGGER IF NOT EXISTS actor_keys_append_only_delete BEFORE DELETE ON actor_keys
    BEGIN SELECT RAISE(ABORT, 'key records are append-only'); END;
  CREATE TRIGGER IF NOT EXISTS ledger_append_only_update BEFORE UPDATE ON ledger
    BEGIN SELECT RAISE(ABORT, 'the promotion ledger is append-only'); END;
  CREATE TRIGGER IF NOT EXISTS ledger_append_only_delete BEFORE DELETE ON ledger
    BEGIN SELECT RAISE(ABORT, 'the promotion ledger is append-only'); END;
`;

const q = (n: number) => placeholders(n, 'sqlite');

/** The registry in one SQLite file (WAL), shared by the processes of one machine. */
export class SqliteRegistry implements Registry {
  private readonly db: Database.Database;

  constructor(readonly file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 10000');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
  }

  get location(): string {
    return this.file;
  }

  private migrate(): void {
    this.db.exec(SCHEMA);
    // Registries made before signed actions: the ledger gains the verified signer's columns.
    const columns = (this.db.prepare('PRAGMA table_info(ledger)').all() as { name: string }[]).map((c) => c.name);
    if (!columns.includes('signed_by')) this.db.exec('ALTER TABLE ledger ADD COLUMN signed_by TEXT; ALTER TABLE ledger ADD COLUMN key_fingerprint TEXT;');
    const versionColumns = (this.db.prepare('PRAGMA table_info(versions)').all() as { name: string }[]).map((c) => c.name);
    if (!versionColumns.includes('spec_json')) this.db.exec('ALTER TABLE versions ADD COLUMN spec_json TEXT;');
  }

  async next(model: string, name: string): Promise<number> {
    const row = this.db
      .prepare(
        `INSERT INTO sequences (model, name, value) VALUES (?, ?, 1)
         ON CONFLICT (model, name) DO UPDATE SET value = value + 1
         RETURNING value`,
      )
      .get(model, name) as { value: number };
    return row.value;
  }

  async register(v: NewVersion): Promise<{ version: ModelVersion; created: boolean }> {
    const tx = this.db.transaction((): { version: ModelVersion; created: boolean } => {
      const existing = this.db.prepare('SELECT * FROM versions WHERE model = ? AND workflow_id = ?').get(v.model, v.lineage.workflowId);
      if (existing) return { version: toVersion(existing as VersionRow), created: false };
      const { n } = this.db.prepare('SELECT coalesce(max(version), 0) + 1 AS n FROM versions WHERE model = ?').get(v.model) as { n: number };
      this.db.prepare(`INSERT INTO versions (${VERSION_COLUMNS.join(', ')}) VALUES (${q(VERSION_COLUMNS.length)})`).run(...versionValues(v, n));
      return { version: { ...v, version: n }, created: true };
    });
    return tx.immediate();
  }

  async get(model: string, version: number): Promise<ModelVersion | undefined> {
    const row = this.db.prepare('SELECT * FROM versions WHERE model = ? AND version = ?').get(model, version);
    return row ? toVersion(row as VersionRow) : undefined;
  }

  async versions(model: string): Promise<ModelVersion[]> {
    return (this.db.prepare('SELECT * FROM versions WHERE model = ? ORDER BY version').all(model) as VersionRow[]).map(toVersion);
  }

  async models(): Promise<string[]> {
    return (this.db.prepare('SELECT DISTINCT model FROM versions ORDER BY model').all() as { model: string }[]).map((r) => r.model);
  }

  async knownModels(): Promise<string[]> {
    return (this.db.prepare('SELECT model FROM versions UNION SELECT model FROM sequences ORDER BY model').all() as { model: string }[]).map((r) => r.model);
  }

  async setAlias(model: string, alias: string, version: number): Promise<void> {
    if (!(await this.get(model, version))) throw new Error(`${model} has no version ${version}`);
    this.db
      .prepare(
        `INSERT INTO aliases (model, alias, version, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at`,
      )
      .run(model, alias, version, new Date().toISOString());
  }

  async clearAlias(model: string, alias: string): Promise<void> {
    this.db.prepare('DELETE FROM aliases WHERE model = ? AND alias = ?').run(model, alias);
  }

  async alias(model: string, alias: string): Promise<{ version: number; updatedAt: string } | undefined> {
    return this.aliasNow(model, alias);
  }

  async aliasesNamed(alias: string): Promise<Map<string, { version: number; updatedAt: string }>> {
    const rows = this.db.prepare('SELECT model, version, updated_at FROM aliases WHERE alias = ?').all(alias) as { model: string; version: number; updated_at: string }[];
    return new Map(rows.map((r) => [r.model, { version: r.version, updatedAt: r.updated_at }]));
  }

  async watchAliases(): Promise<null> {
    return null;
  }

  async reportServer(r: ServerReport): Promise<void> {
    const v = serverValues(r);
    this.db
      .prepare(
        `INSERT INTO model_servers (id, url, started_at, seen_ms, serving) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET url = excluded.url, seen_ms = excluded.seen_ms, serving = excluded.serving`,
      )
      .run(v.id, v.url, new Date().toISOString(), Date.now(), v.serving);
  }

  async removeServer(id: string): Promise<void> {
    this.db.prepare('DELETE FROM model_servers WHERE id = ?').run(id);
  }

  async liveServers(withinMs: number): Promise<LiveServer[]> {
    const now = Date.now();
    const rows = this.db.prepare('SELECT *, ? - seen_ms AS age_ms FROM model_servers WHERE seen_ms >= ? ORDER BY started_at, id').all(now, now - withinMs) as ServerRow[];
    return toLiveServers(rows);
  }

  private aliasNow(model: string, alias: string): { version: number; updatedAt: string } | undefined {
    const row = this.db.prepare('SELECT version, updated_at FROM aliases WHERE model = ? AND alias = ?').get(model, alias) as
      | { version: number; updated_at: string }
      | undefined;
    return row ? { version: row.version, updatedAt: row.updated_at } : undefined;
  }

  async appendLedger(e: LedgerEntry & { dedupeKey?: string }): Promise<LedgerRow> {
    this.db.prepare(`INSERT INTO ledger (${LEDGER_COLUMNS.join(', ')}) VALUES (${q(LEDGER_COLUMNS.length)}) ON CONFLICT (dedupe_key) DO NOTHING`).run(...ledgerValues(e));
    const row = e.dedupeKey
      ? this.db.prepare('SELECT * FROM ledger WHERE dedupe_key = ?').get(e.dedupeKey)
      : this.db.prepare('SELECT * FROM ledger WHERE id = last_insert_rowid()').get();
    return toLedgerRow(row as LedgerDbRow);
  }

  async ledger(model: string): Promise<LedgerRow[]> {
    return (this.db.prepare('SELECT * FROM ledger WHERE model = ? ORDER BY id').all(model) as LedgerDbRow[]).map(toLedgerRow);
  }

  async ledgerOf(model: string, version: number): Promise<LedgerRow[]> {
    const rows = this.db
      .prepare("SELECT * FROM ledger WHERE model = ? AND (version = ? OR (decision = 'deployed' AND json_extract(details, '$.previous') = ?)) ORDER BY id")
      .all(model, version, version) as LedgerDbRow[];
    return rows.map(toLedgerRow);
  }

  async recordCheck(c: MonitorCheckRecord): Promise<StoredCheck> {
    const existing = this.db.prepare('SELECT id FROM monitor_checks WHERE dedupe_key = ?').get(c.dedupeKey) as { id: number } | undefined;
    if (existing) return { ...c, id: existing.id };
    const r = this.db.prepare(`INSERT INTO monitor_checks (${CHECK_COLUMNS.join(', ')}) VALUES (${q(CHECK_COLUMNS.length)})`).run(...checkValues(c));
    return { ...c, id: Number(r.lastInsertRowid) };
  }

  async checks(model: string): Promise<StoredCheck[]> {
    return (this.db.prepare('SELECT * FROM monitor_checks WHERE model = ? ORDER BY id').all(model) as CheckRow[]).map(toCheck);
  }

  async check(model: string, id: number): Promise<StoredCheck | undefined> {
    const row = this.db.prepare('SELECT * FROM monitor_checks WHERE model = ? AND id = ?').get(model, id) as CheckRow | undefined;
    return row && toCheck(row);
  }

  async changeMark(model: string): Promise<string> {
    const c = this.db.prepare('SELECT max(id) AS last, count(*) AS n FROM monitor_checks WHERE model = ?').get(model) as { last: number | null; n: number };
    const l = this.db.prepare('SELECT max(id) AS last FROM ledger WHERE model = ?').get(model) as { last: number | null };
    const a = this.aliasNow(model, 'champion');
    return `${c.last}/${c.n}/${l.last}/${a?.version}@${a?.updatedAt}`;
  }

  async latestMonitoring(): Promise<LatestMonitoring[]> {
    const scored = this.db
      .prepare('SELECT model, score, breached, at FROM monitor_checks WHERE id IN (SELECT max(id) FROM monitor_checks WHERE enough_data = 1 GROUP BY model)')
      .all() as { model: string; score: number; breached: number; at: string }[];
    const judged = this.db
      .prepare("SELECT model, json_extract(summary, '$.performance.auc') AS auc FROM monitor_checks WHERE id IN (SELECT max(id) FROM monitor_checks WHERE performance_ok IS NOT NULL GROUP BY model)")
      .all() as { model: string; auc: number | null }[];
    return mergeLatestMonitoring(scored, judged);
  }

  async pruneChecks(model: string, before: string): Promise<string[]> {
    return this.db.transaction(() => {
      const uris = (this.db.prepare('SELECT report_uri FROM monitor_checks WHERE model = ? AND at < ?').all(model, before) as { report_uri: string }[]).map((r) => r.report_uri);
      this.db.prepare('DELETE FROM monitor_checks WHERE model = ? AND at < ?').run(model, before);
      return uris;
    })();
  }

  async appendKeyRecord(r: Omit<KeyRecord, 'seq'>): Promise<KeyRecord> {
    const row = this.db.prepare(`INSERT INTO actor_keys (${KEY_COLUMNS.join(', ')}) VALUES (${q(KEY_COLUMNS.length)}) RETURNING seq`).get(...keyValues(r)) as { seq: number };
    return { ...r, seq: row.seq };
  }

  async keyRecords(names?: readonly string[], limit = 500): Promise<KeyRecord[]> {
    const rows = (names
      ? this.db.prepare(`SELECT * FROM actor_keys WHERE name IN (${names.map(() => '?').join(',') || "''"}) ORDER BY seq`).all(...names)
      : this.db.prepare('SELECT * FROM actor_keys ORDER BY seq').all()) as KeyDbRow[];
    return toKeyRecords(rows, limit);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
