import type { DuckDBConnection } from '@duckdb/node-api';
import type { ModelSpec, Window } from '../spec/modelSpec';
import { DataValidationError } from './errors';
import { checkSchema, describeRelation, isFloatType } from './schema';
import { ident, literal, windowPredicate } from './duckdb';

/**
 * Checks a snapshot against the spec's rules: schema, types, nulls, finite numbers,
 * ranges, category domains, and enough rows in each window. Throws the first
 * violation as a DataValidationError naming the column and the rule.
 */
export async function validateSnapshot(db: DuckDBConnection, snapshotFile: string, spec: ModelSpec): Promise<void> {
  const relation = `read_parquet(${literal(snapshotFile)})`;
  const types = await describeRelation(db, relation);
  checkSchema(types, spec);

  const checks: string[] = [];
  const columns = Object.entries(spec.data.columns);
  for (const [name, c] of columns) {
    const col = ident(name);
    checks.push(`count(*) FILTER (WHERE ${col} IS NULL)::DOUBLE AS ${ident(`${name}:nulls`)}`);
    if (c.type === 'number') {
      if (isFloatType(types.get(name))) {
        checks.push(`count(*) FILTER (WHERE isnan(${col}) OR isinf(${col}))::DOUBLE AS ${ident(`${name}:nonfinite`)}`);
      }
      checks.push(`min(${col})::DOUBLE AS ${ident(`${name}:min`)}`, `max(${col})::DOUBLE AS ${ident(`${name}:max`)}`);
    }
    if (c.type === 'string' && c.categories) {
      const allowed = c.categories.map(literal).join(', ');
      checks.push(`count(*) FILTER (WHERE ${col} NOT IN (${allowed}))::DOUBLE AS ${ident(`${name}:outside`)}`);
      checks.push(`any_value(${col}) FILTER (WHERE ${col} NOT IN (${allowed})) AS ${ident(`${name}:example`)}`);
    }
  }
  const [stats] = (await db.runAndReadAll(`SELECT ${checks.join(', ')} FROM ${relation}`)).getRowObjectsJS();

  for (const [name, c] of columns) {
    const nulls = Number(stats[`${name}:nulls`]);
    if (!c.nullable && nulls > 0) throw new DataValidationError(name, 'notNull', `${nulls} null value(s); the spec does not allow nulls here`);
    if (c.type === 'number') {
      const nonFinite = Number(stats[`${name}:nonfinite`] ?? 0);
      if (nonFinite > 0) throw new DataValidationError(name, 'finite', `${nonFinite} NaN or infinite value(s)`);
      const min = Number(stats[`${name}:min`]);
      const max = Number(stats[`${name}:max`]);
      if (c.min !== undefined && min < c.min) throw new DataValidationError(name, 'range', `minimum ${min} is below the allowed ${c.min}`);
      if (c.max !== undefined && max > c.max) throw new DataValidationError(name, 'range', `maximum ${max} is above the allowed ${c.max}`);
    }
    if (c.type === 'string' && c.categories) {
      const outside = Number(stats[`${name}:outside`]);
      if (outside > 0) {
        throw new DataValidationError(name, 'categories', `${outside} value(s) outside the allowed categories, e.g. ${JSON.stringify(stats[`${name}:example`])}`);
      }
    }
  }

  await checkRows(db, relation, spec, 'training', spec.data.training, spec.data.minRows.training);
  await checkRows(db, relation, spec, 'holdout', spec.data.holdout, spec.data.minRows.holdout);
}

async function checkRows(db: DuckDBConnection, relation: string, spec: ModelSpec, label: string, w: Window, min: number): Promise<void> {
  const reader = await db.runAndReadAll(
    `SELECT count(*)::DOUBLE AS n FROM ${relation} WHERE ${windowPredicate(spec.data.timeColumn, w)}`,
  );
  const n = Number(reader.getRowObjectsJS()[0].n);
  if (n < min) {
    throw new DataValidationError(spec.data.timeColumn, 'minRows', `the ${label} window [${w.start}, ${w.end}) has ${n} row(s); the spec needs at least ${min}`);
  }
}
