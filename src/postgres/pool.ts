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

/** Runs `schema` (idempotent DDL) under a lock shared by every perennial process on this database. */
export async function applySchema(pool: pg.Pool, lockName: string, schema: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lockName]);
    await client.query(schema);
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
