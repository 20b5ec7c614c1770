import type { DuckDBConnection } from '@duckdb/node-api';
import type { ModelSpec } from '../spec/modelSpec';
import type { FittedLookup, FittedPipeline } from '../features/pipeline';
import { LOOKUP_KEY_SEPARATOR } from '../features/pipeline';
import { ident, literal, normalizedColumnSql, windowPredicate } from './duckdb';
import { targetSql } from './targetSql';

/**
 * Learns the pipeline's tables from the training window only, in SQL: per-key
 * statistics for lookups and category vocabularies. Keys are read back in the same
 * canonical form serving sees, so a lookup at serving time finds the same row.
 */
export async function fitPipeline(db: DuckDBConnection, snapshotFile: string, spec: ModelSpec): Promise<FittedPipeline> {
  // One thread: a parallel avg() adds its doubles in an order that depends on scheduling, and
  // a lookup statistic differing in its last bit made two trainings on the same data differ.
  await db.run('SET threads = 1');
  const normalized = Object.entries(spec.data.columns).map(([n, c]) => normalizedColumnSql(n, c));
  await db.run(
    `CREATE OR REPLACE TEMP TABLE training AS
     SELECT ${normalized.join(', ')}, ${targetSql(spec.target)} AS __label
     FROM read_parquet(${literal(snapshotFile)})
     WHERE ${windowPredicate(spec.data.timeColumn, spec.data.training)}`,
  );
  const [totals] = (await db.runAndReadAll('SELECT count(*)::DOUBLE AS n, avg(__label)::DOUBLE AS rate FROM training')).getRowObjectsJS();
  const baseRate = Number(totals.rate);

  const lookups: Record<string, FittedLookup> = {};
  for (const [table, t] of Object.entries(spec.lookups)) {
    const statNames = Object.keys(t.stats);
    const aggregates = ['count(*)::DOUBLE AS __n', 'sum(__label)::DOUBLE AS __pos'];
    const meanColumns = [...new Set(Object.values(t.stats).flatMap((s) => (s.agg === 'mean' ? [s.column] : [])))];
    meanColumns.forEach((c, i) => aggregates.push(`avg(${ident(c)})::DOUBLE AS __mean${i}`));
    const keys = t.keys.map(ident).join(', ');
    const reader = await db.runAndReadAll(`SELECT ${keys}, ${aggregates.join(', ')} FROM training WHERE ${t.keys.map((k) => `${ident(k)} IS NOT NULL`).join(' AND ')} GROUP BY ${keys}`);
    const globalMeans = meanColumns.length
      ? (await db.runAndReadAll(`SELECT ${meanColumns.map((c, i) => `avg(${ident(c)})::DOUBLE AS __mean${i}`).join(', ')} FROM training`)).getRowObjectsJS()[0]
      : {};
    const statValue = (name: string, n: number, pos: number, means: Record<string, unknown>): number => {
      const s = t.stats[name];
      if (s.agg === 'count') return n;
      if (s.agg === 'targetRate') return (pos + s.smoothing * baseRate) / (n + s.smoothing);
      return Number(means[`__mean${meanColumns.indexOf(s.column)}`]);
    };
    const rows: Record<string, number[]> = {};
    for (const r of reader.getRowObjectsJS()) {
      const key = t.keys.map((k) => String(r[k])).join(LOOKUP_KEY_SEPARATOR);
      rows[key] = statNames.map((s) => statValue(s, Number(r.__n), Number(r.__pos), r));
    }
    lookups[table] = { keys: t.keys, stats: statNames, defaults: statNames.map((s) => statValue(s, 0, 0, globalMeans)), rows };
  }

  const vocabularies: Record<string, string[]> = {};
  for (const f of spec.features) {
    const t = f.transform;
    if (f.kind !== 'categorical' || (t.from !== 'category' && t.from !== 'column')) continue;
    const limit = t.from === 'category' ? t.maxCategories : 64;
    const reader = await db.runAndReadAll(
      `SELECT ${ident(t.column)} AS v FROM training WHERE v IS NOT NULL GROUP BY v ORDER BY count(*) DESC, v LIMIT ${limit}`,
    );
    vocabularies[f.name] = reader.getRowObjectsJS().map((r) => String(r.v));
  }

  return {
    format: 'perennial.pipeline/1',
    inputs: spec.data.columns,
    timeColumn: spec.data.timeColumn,
    target: spec.target,
    features: spec.features,
    lookups,
    vocabularies,
    trainRows: Number(totals.n),
    trainBaseRate: baseRate,
  };
}
