import type { DuckDBConnection } from '@duckdb/node-api';
import type { ModelSpec } from '../spec/modelSpec';
import { ident, sourceRelation, windowPredicate } from '../data/duckdb';

/**
 * A value is rare when it is among the least frequent values of its column that together
 * make up at most this share of the training window's rows (or the window never saw it).
 * For flights-3m's training window that is about half of the airports: enough rows in the
 * later months, and each one far from what the lookup statistics were fitted on.
 */
export const RARE_SHARE = 0.05;

/** What `shift` counted as rare, per key column: the most training rows any rare value had. */
export interface ShiftKeys {
  rareShare: number;
  columns: Record<string, { rareValues: number; maxTrainingCount: number }>;
}

/** The categorical columns a covariate shift should move: string lookup keys and category features. */
export function shiftKeyColumns(spec: ModelSpec): string[] {
  const keys = new Set<string>();
  for (const table of Object.values(spec.lookups)) for (const k of table.keys) keys.add(k);
  for (const f of spec.features) if (f.transform.from === 'category') keys.add(f.transform.column);
  return [...keys].filter((c) => c !== spec.target.column && spec.data.columns[c]?.type === 'string');
}

/** CTEs naming each key column's training counts (`seen_i`) and its rare values (`rare_i`). */
export function rareKeyCtes(spec: ModelSpec, columns: string[]): string[] {
  const training = windowPredicate(spec.data.timeColumn, spec.data.training);
  return columns.flatMap((c, i) => [
    `seen_${i} AS (SELECT ${ident(c)} AS v, count(*) AS c FROM ${sourceRelation(spec)} WHERE ${training} AND ${ident(c)} IS NOT NULL GROUP BY 1)`,
    `rare_${i} AS (SELECT v, c FROM (SELECT v, c, sum(c) OVER (ORDER BY c, v) / sum(c) OVER () AS share FROM seen_${i}) WHERE share <= ${RARE_SHARE})`,
  ]);
}

/** Rows whose every key column holds a rare or never-seen value: the loudest shift the data offers. */
export function rareKeysPredicate(columns: string[]): string {
  return columns.map((c, i) => `(${ident(c)} IN (SELECT v FROM rare_${i}) OR ${ident(c)} NOT IN (SELECT v FROM seen_${i}))`).join(' AND ');
}

export async function describeRareKeys(db: DuckDBConnection, spec: ModelSpec, columns: string[]): Promise<ShiftKeys> {
  const stats = columns.map((_, i) => `(SELECT count(*) FROM rare_${i})::DOUBLE AS n_${i}, (SELECT coalesce(max(c), 0) FROM rare_${i})::DOUBLE AS max_${i}`);
  const reader = await db.runAndReadAll(`WITH ${rareKeyCtes(spec, columns).join(',\n')} SELECT ${stats.join(', ')}`);
  const [row] = reader.getRowObjectsJS();
  const out: ShiftKeys = { rareShare: RARE_SHARE, columns: {} };
  columns.forEach((c, i) => (out.columns[c] = { rareValues: Number(row[`n_${i}`]), maxTrainingCount: Number(row[`max_${i}`]) }));
  return out;
}
