import pg from 'pg';

/**
 * A connection pool to the PostgreSQL at `url` and a `ready` promise that applies a schema
 * once per pool. Schema changes run under a transaction-scoped advisory lock: several
 * workers and servers starting at once would otherwise race on CREATE … IF NOT EXISTS.
 */
export interface PostgresHandle {
  pool: pg.Pool;
  /** The URL without its password, for messages. */
  location: string;
}

/** BIGINT (row ids, counts) as numbers: perennial's ids stay far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export function openPool(url: string, o: { max?: number; applicationName?: string } = {}): PostgresHandle {
  const pool = new pg.Pool({
    connectionString: url,
    types,
    max: o.max ?? 8,
    // A connection a network drops without a word must not hold a query (a commit, a poll) for the kernel's 15 minutes.
    keepAlive: true,
    query_timeout: 120_000,
    statement_timeout: 110_000,
    idle_in_transaction_session_timeout: 60_000,
    // An idle pool does not keep a finished CLI or a stopped worker's process alive.
    allowExitOnIdle: true,
    application_name: o.applicationName ?? 'perennial',
    connectionTimeoutMillis: 10_000,
    // A restarted server leaves dead idle connections behind: the pool drops them on error.
    idleTimeoutMillis: 30_000,
  });
  // An idle client's connection broke (the server restarted): the pool replaces it; nothing to do here.
  pool.on('error', () => undefined);
  return { pool, location: redact(url) };
}

export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

/**
 * `applySchema` once it has worked: a database that was unreachable when the process
 * started is tried again on the next call, not held against it for good.
 */
export function schemaOnce(pool: pg.Pool, name: string, version: number, schema: string): () => Promise<void> {
  let applied: Promise<void> | undefined;
  return () =>
    (applied ??= applySchema(pool, name, version, schema).catch((err: unknown) => {
      applied = undefined;
      throw err;
    }));
}

/**
 * Runs `schema` (idempotent DDL) unless this version of it is recorded as applied, under a
 * lock shared by every perennial process on this database. Once applied, a role that may only
 * read and insert (not own the tables) can use the database: nothing is created again.
 */
export async function applySchema(pool: pg.Pool, name: string, version: number, schema: string): Promise<void> {
  const applied = await pool.query('SELECT version FROM perennial_schema WHERE name = $1', [name]).then(
    (r) => (r.rows[0] as { version: number } | undefined)?.version ?? 0,
    (err: { code?: string }) => {
      if (err.code === '42P01') return 0; // no perennial_schema table yet
      throw err;
    },
  );
  if (applied >= version) return;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`perennial.schema.${name}`]);
    await client.query('CREATE TABLE IF NOT EXISTS perennial_schema (name TEXT PRIMARY KEY, version INTEGER NOT NULL)');
    await client.query(schema);
    await client.query('INSERT INTO perennial_schema (name, version) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET version = excluded.version', [name, version]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Runs `work` in one transaction on one connection. */
export async function inTransaction<T>(pool: pg.Pool, work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const out = await work(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
