import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { ColumnSpec, ModelSpec, Window } from '../spec/modelSpec';
import { asUtc } from '../spec/specValues';

/** Runs `fn` with a fresh in-memory DuckDB whose session time zone is UTC. */
export async function withDuckDb<T>(fn: (db: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  try {
    await db.run("SET TimeZone = 'UTC'");
    return await fn(db);
  } finally {
    db.closeSync();
    instance.closeSync();
  }
}

export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

const projectRequire = createRequire(path.resolve(__dirname, '../../package.json'));

/** A spec's source as a file path or glob: `npm:<package>/<file>` resolves inside installed packages. */
export function resolveSource(source: string): string {
  if (!source.startsWith('npm:')) return source;
  const spec = source.slice(4);
  const parts = spec.split('/');
  const pkgName = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  const rest = spec.slice(pkgName.length + 1);
  // Not require.resolve(`${pkg}/package.json`): packages with an `exports` map may hide it.
  const dirs = (projectRequire.resolve.paths(pkgName) ?? []).map((d) => path.join(d, pkgName));
  const pkgDir = dirs.find((d) => existsSync(path.join(d, 'package.json')));
  if (!pkgDir) throw new Error(`data source ${source}: package ${pkgName} is not installed (run npm ci)`);
  return path.join(pkgDir, rest);
}

export function sourceRelation(spec: ModelSpec): string {
  const file = resolveSource(spec.data.source);
  const format = spec.data.format ?? (/\.csv(\.gz)?$/i.test(file) ? 'csv' : 'parquet');
  return format === 'csv' ? `read_csv(${literal(file)}, header = true)` : `read_parquet(${literal(file)})`;
}

export function windowPredicate(timeColumn: string, w: Window): string {
  return `${ident(timeColumn)} >= ${literal(asUtc(w.start))}::TIMESTAMPTZ AND ${ident(timeColumn)} < ${literal(asUtc(w.end))}::TIMESTAMPTZ`;
}

/** The SQL that reads a column in the canonical form the feature pipeline expects. */
export function normalizedColumnSql(name: string, column: ColumnSpec): string {
  switch (column.type) {
    case 'timestamp':
      return `epoch_ms(${ident(name)}::TIMESTAMPTZ)::DOUBLE AS ${ident(name)}`;
    case 'number':
      return `${ident(name)}::DOUBLE AS ${ident(name)}`;
    case 'string':
      return `${ident(name)}::VARCHAR AS ${ident(name)}`;
  }
}
