import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KeyRecord } from '../auth/keyring';
import { inTransaction, openPool, schemaOnce } from '../postgres/pool';
import type { LatestMonitoring, LedgerEntry, LedgerRow, LiveServer, ModelVersion, MonitorCheckRecord, NewVersion, Registry, ServerReport, StoredCheck } from './registry';
import {
  CHECK_COLUMNS, CORE_TABLES, KEY_COLUMNS, LEDGER_COLUMNS, VERSION_COLUMNS, checkValues, keyValues, ledgerValues, mergeLatestMonitoring, placeholders,
  serverValues, toCheck, toKeyRecords, toLedgerRow, toLiveServers, toVersion, versionValues,
  type CheckRow, type KeyDbRow, type LedgerDbRow, type ServerRow, type VersionRow,
} from './rows';

/** Bumped whenever SCHEMA changes: a database at this version is not touched. */
const SCHEMA_VERSION = 1;

/** The same tables as the SQLite registry, and the same append-only rules, enforced by triggers. */
const SCHEMA = `
  ${CORE_TABLES}
  CREATE TABLE IF NOT EXISTS ledger (
    id INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model TEXT NOT NULL, version INTEGER, decision TEXT NOT NULL,
    by TEXT NOT NULL, identity TEXT, reason TEXT NOT NULL, at TEXT NOT NULL,
    workflow_id TEXT, run_id TEXT, details TEXT NOT NULL DEFAULT '{}',
    dedupe_key TEXT UNIQUE, signed_by TEXT, key_fingerprint TEXT
  );
  CREATE INDEX IF NOT EXISTS ledger_model ON ledger (model, id);
  CREATE TABLE IF NOT EXISTS monitor_checks (
    id INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model TEXT NOT NULL, version INTEGER NOT NULL, at TEXT NOT NULL,
    rows INTEGER NOT NULL, enough_data INTEGER NOT NULL, breached INTEGER NOT NULL,
    score DOUBLE PRECISION NOT NULL, performance_ok INTEGER, cursor_from BIGINT NOT NULL, cursor_to BIGINT NOT NULL,
    report_uri TEXT NOT NULL, summary TEXT NOT NULL,
    dedupe_key TEXT UNIQUE
  );
  CREATE INDEX IF NOT EXISTS monitor_checks_model_at ON monitor_checks (model, at);
  CREATE INDEX IF NOT EXISTS monitor_checks_model_id ON monitor_checks (model, id);
  CREATE TABLE IF NOT EXISTS actor_keys (
    seq INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL, op TEXT NOT NULL CHECK (op IN ('add', 'revoke')),
    public_key TEXT NOT NULL, fingerprint TEXT NOT NULL, at TEXT NOT NULL,
    endorsed_by TEXT, endorsement TEXT
  );
  CREATE INDEX IF NOT EXISTS actor_keys_name ON actor_keys (name, seq);
  CREATE TABLE IF NOT EXISTS model_servers (
    id TEXT PRIMARY KEY, url TEXT NOT NULL, started_at TEXT NOT NULL, seen_ms BIGINT NOT NULL, serving TEXT NOT NULL
  );
  CREATE OR REPLACE FUNCTION perennial_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END $$;
  CREATE OR REPLACE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger
    FOR EACH ROW EXECUTE FUNCTION perennial_append_only('the promotion ledger is append-only');
  CREATE OR REPLACE TRIGGER ledger_append_only_truncate BEFORE TRUNCATE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION perennial_append_only('the promotion ledger is append-only');
  CREATE OR REPLACE TRIGGER actor_keys_append_only BEFORE UPDATE OR DELETE ON actor_keys
    FOR EACH ROW EXECUTE FUNCTION perennial_append_only('key records are append-only');
  CREATE OR REPLACE TRIGGER actor_keys_append_only_truncate BEFORE TRUNCATE ON actor_keys
    FOR EACH STATEMENT EXECUTE FUNCTION perennial_append_only('key records are append-only');
`;

const p = (n: number, from = 1) => placeholders(n, 'pg', from);

/** Where alias moves are announced (LISTEN/NOTIFY): model servers load a promotion at once. */
const ALIAS_CHANNEL = 'perennial_aliases';
/** Heartbeats and liveness by the database's clock: the machines' own clocks may disagree. */
const NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

/** The registry in a PostgreSQL database shared by every machine of a cluster. */
export class PostgresRegistry implements Registry {
  private readonly pool: pg.Pool;
  readonly location: string;
  private readonly ready: () => Promise<void>;

  constructor(private readonly url: string) {
    const handle = openPool(url, { applicationName: 'perennial-registry' });
    this.pool = handle.pool;
    this.location = handle.location;
    this.ready = schemaOnce(this.pool, 'registry', SCHEMA_VERSION, SCHEMA);
  }

  private async rows<T>(sql: string, values: unknown[] = []): Promise<T[]> {
    await this.ready();
    return (await this.pool.query(sql, values)).rows as T[];
  }

  private async row<T>(sql: string, values: unknown[] = []): Promise<T | undefined> {
    return (await this.rows<T>(sql, values))[0];
  }

  async next(model: string, name: string): Promise<number> {
    const row = await this.row<{ value: number }>(
      `INSERT INTO sequences (model, name, value) VALUES ($1, $2, 1)
       ON CONFLICT (model, name) DO UPDATE SET value = sequences.value + 1
       RETURNING value`,
      [model, name],
    );
    return row!.value;
  }

  async register(v: NewVersion): Promise<{ version: ModelVersion; created: boolean }> {
    await this.ready();
    return inTransaction(this.pool, async (c) => {
      // One registration per model at a time: numbering reads the current maximum.
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`perennial.register:${v.model}`]);
      const existing = (await c.query('SELECT * FROM versions WHERE model = $1 AND workflow_id = $2', [v.model, v.lineage.workflowId])).rows[0] as VersionRow | undefined;
      if (existing) return { version: toVersion(existing), created: false };
      const { n } = (await c.query('SELECT coalesce(max(version), 0) + 1 AS n FROM versions WHERE model = $1', [v.model])).rows[0] as { n: number };
      await c.query(`INSERT INTO versions (${VERSION_COLUMNS.join(', ')}) VALUES (${p(VERSION_COLUMNS.length)})`, versionValues(v, n));
      return { version: { ...v, version: n }, created: true };
    });
  }

  async get(model: string, version: number): Promise<ModelVersion | undefined> {
    const row = await this.row<VersionRow>('SELECT * FROM versions WHERE model = $1 AND version = $2', [model, version]);
    return row && toVersion(row);
  }

  async versions(model: string): Promise<ModelVersion[]> {
    return (await this.rows<VersionRow>('SELECT * FROM versions WHERE model = $1 ORDER BY version', [model])).map(toVersion);
  }

  async models(): Promise<string[]> {
    return (await this.rows<{ model: string }>('SELECT DISTINCT model FROM versions ORDER BY model')).map((r) => r.model);
  }

  async knownModels(): Promise<string[]> {
    return (await this.rows<{ model: string }>('SELECT model FROM versions UNION SELECT model FROM sequences ORDER BY model')).map((r) => r.model);
  }

  async setAlias(model: string, alias: string, version: number): Promise<void> {
    if (!(await this.get(model, version))) throw new Error(`${model} has no version ${version}`);
    await this.rows(
      `WITH moved AS (
         INSERT INTO aliases (model, alias, version, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at RETURNING model)
       SELECT pg_notify('${ALIAS_CHANNEL}', model) FROM moved`,
      [model, alias, version, new Date().toISOString()],
    );
  }

  async clearAlias(model: string, alias: string): Promise<void> {
    await this.rows(`WITH gone AS (DELETE FROM aliases WHERE model = $1 AND alias = $2 RETURNING model) SELECT pg_notify('${ALIAS_CHANNEL}', model) FROM gone`, [model, alias]);
  }

  async alias(model: string, alias: string): Promise<{ version: number; updatedAt: string } | undefined> {
    const row = await this.row<{ version: number; updated_at: string }>('SELECT version, updated_at FROM aliases WHERE model = $1 AND alias = $2', [model, alias]);
    return row ? { version: row.version, updatedAt: row.updated_at } : undefined;
  }

  async aliasesNamed(alias: string): Promise<Map<string, { version: number; updatedAt: string }>> {
    const rows = await this.rows<{ model: string; version: number; updated_at: string }>('SELECT model, version, updated_at FROM aliases WHERE alias = $1', [alias]);
    return new Map(rows.map((r) => [r.model, { version: r.version, updatedAt: r.updated_at }]));
  }

  async watchAliases(onChange: (model: string | null) => void, onError: (err: unknown) => void = () => undefined): Promise<() => Promise<void>> {
    await this.ready();
    let stopped = false;
    let client: pg.Client | undefined;
    const listen = async (): Promise<void> => {
      while (!stopped) {
        const c = (client = new pg.Client({ connectionString: this.url, application_name: 'perennial-alias-watch', connectionTimeoutMillis: 10_000, keepAlive: true }));
        const lost = new Promise<void>((resolve) => {
          c.on('error', (err) => (onError(err), resolve()));
          c.once('end', () => resolve());
        });
        try {
          await c.connect();
          c.on('notification', (n) => !stopped && n.channel === ALIAS_CHANNEL && onChange(n.payload ?? null));
          await c.query(`LISTEN ${ALIAS_CHANNEL}`);
          // Whatever moved while nobody listened is read now.
          if (!stopped) onChange(null);
          await lost;
        } catch (err) {
          if (!stopped) onError(err);
        }
        await c.end().catch(() => undefined);
        if (!stopped) await sleep(1_000);
      }
    };
    const loop = listen();
    return async () => {
      stopped = true;
      await client?.end().catch(() => undefined);
      await loop;
    };
  }

  async reportServer(r: ServerReport): Promise<void> {
    const v = serverValues(r);
    await this.rows(
      `INSERT INTO model_servers (id, url, started_at, seen_ms, serving) VALUES ($1, $2, $3, ${NOW_MS}, $4)
       ON CONFLICT (id) DO UPDATE SET url = excluded.url, seen_ms = excluded.seen_ms, serving = excluded.serving`,
      [v.id, v.url, new Date().toISOString(), v.serving],
    );
  }

  async removeServer(id: string): Promise<void> {
    await this.rows('DELETE FROM model_servers WHERE id = $1', [id]);
  }

  async liveServers(withinMs: number): Promise<LiveServer[]> {
    const rows = await this.rows<ServerRow>(`SELECT *, ${NOW_MS} - seen_ms AS age_ms FROM model_servers WHERE seen_ms >= ${NOW_MS} - $1 ORDER BY started_at, id`, [Math.round(withinMs)]);
    return toLiveServers(rows);
  }

  async appendLedger(e: LedgerEntry & { dedupeKey?: string }): Promise<LedgerRow> {
    const inserted = await this.row<LedgerDbRow>(
      `INSERT INTO ledger (${LEDGER_COLUMNS.join(', ')}) VALUES (${p(LEDGER_COLUMNS.length)}) ON CONFLICT (dedupe_key) DO NOTHING RETURNING *`,
      ledgerValues(e),
    );
    return toLedgerRow(inserted ?? (await this.row<LedgerDbRow>('SELECT * FROM ledger WHERE dedupe_key = $1', [e.dedupeKey]))!);
  }

  async ledger(model: string): Promise<LedgerRow[]> {
    return (await this.rows<LedgerDbRow>('SELECT * FROM ledger WHERE model = $1 ORDER BY id', [model])).map(toLedgerRow);
  }

  async ledgerOf(model: string, version: number): Promise<LedgerRow[]> {
    const rows = await this.rows<LedgerDbRow>(
      "SELECT * FROM ledger WHERE model = $1 AND (version = $2 OR (decision = 'deployed' AND details::jsonb -> 'previous' = to_jsonb($2::integer))) ORDER BY id",
      [model, version],
    );
    return rows.map(toLedgerRow);
  }

  async recordCheck(c: MonitorCheckRecord): Promise<StoredCheck> {
    const inserted = await this.row<{ id: number }>(
      `INSERT INTO monitor_checks (${CHECK_COLUMNS.join(', ')}) VALUES (${p(CHECK_COLUMNS.length)}) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
      checkValues(c),
    );
    const id = inserted?.id ?? (await this.row<{ id: number }>('SELECT id FROM monitor_checks WHERE dedupe_key = $1', [c.dedupeKey]))!.id;
    return { ...c, id };
  }

  async checks(model: string): Promise<StoredCheck[]> {
    return (await this.rows<CheckRow>('SELECT * FROM monitor_checks WHERE model = $1 ORDER BY id', [model])).map(toCheck);
  }

  async check(model: string, id: number): Promise<StoredCheck | undefined> {
    if (!Number.isSafeInteger(id) || id < 1 || id > 2 ** 31 - 1) return undefined;
    const row = await this.row<CheckRow>('SELECT * FROM monitor_checks WHERE model = $1 AND id = $2', [model, id]);
    return row && toCheck(row);
  }

  async changeMark(model: string): Promise<string> {
    const row = await this.row<{ last: number | null; n: number; ledger: number | null; champion: number | null; updated_at: string | null }>(
      `SELECT (SELECT max(id) FROM monitor_checks WHERE model = $1) AS last,
              (SELECT count(*) FROM monitor_checks WHERE model = $1) AS n,
              (SELECT max(id) FROM ledger WHERE model = $1) AS ledger,
              a.version AS champion, a.updated_at
         FROM (SELECT 1) one LEFT JOIN aliases a ON a.model = $1 AND a.alias = 'champion'`,
      [model],
    );
    return `${row!.last}/${row!.n}/${row!.ledger}/${row!.champion ?? undefined}@${row!.updated_at ?? undefined}`;
  }

  async latestMonitoring(): Promise<LatestMonitoring[]> {
    const scored = await this.rows<{ model: string; score: number; breached: number; at: string }>(
      'SELECT model, score, breached, at FROM monitor_checks WHERE id IN (SELECT max(id) FROM monitor_checks WHERE enough_data = 1 GROUP BY model)',
    );
    const judged = await this.rows<{ model: string; auc: string | null }>(
      "SELECT model, summary::jsonb #>> '{performance,auc}' AS auc FROM monitor_checks WHERE id IN (SELECT max(id) FROM monitor_checks WHERE performance_ok IS NOT NULL GROUP BY model)",
    );
    return mergeLatestMonitoring(scored, judged);
  }

  async pruneChecks(model: string, before: string): Promise<string[]> {
    return (await this.rows<{ report_uri: string }>('DELETE FROM monitor_checks WHERE model = $1 AND at < $2 RETURNING report_uri', [model, before])).map((r) => r.report_uri);
  }

  async appendKeyRecord(r: Omit<KeyRecord, 'seq'>): Promise<KeyRecord> {
    const row = await this.row<{ seq: number }>(`INSERT INTO actor_keys (${KEY_COLUMNS.join(', ')}) VALUES (${p(KEY_COLUMNS.length)}) RETURNING seq`, keyValues(r));
    return { ...r, seq: row!.seq };
  }

  async keyRecords(names?: readonly string[], limit = 500): Promise<KeyRecord[]> {
    const rows = names
      ? await this.rows<KeyDbRow>('SELECT * FROM actor_keys WHERE name = ANY($1::text[]) ORDER BY seq', [[...names]])
      : await this.rows<KeyDbRow>('SELECT * FROM actor_keys ORDER BY seq');
    return toKeyRecords(rows, limit);
  }

  async close(): Promise<void> {
    
    await this.pool.end();
  }
}
