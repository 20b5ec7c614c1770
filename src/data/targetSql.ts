import type { TargetSpec } from '../spec/modelSpec';
import { ident, literal } from './duckdb';

/** The target rule as a SQL expression giving 0/1 (NULL when the value is missing); mirrors `labelOf`. */
export function targetSql(target: TargetSpec): string {
  const c = ident(target.column);
  const w = target.positiveWhen;
  let predicate: string;
  if ('gt' in w) predicate = `${c} > ${w.gt}`;
  else if ('gte' in w) predicate = `${c} >= ${w.gte}`;
  else if ('lt' in w) predicate = `${c} < ${w.lt}`;
  else if ('lte' in w) predicate = `${c} <= ${w.lte}`;
  else if ('equals' in w) predicate = equals(c, w.equals);
  else predicate = `(${w.in.map((v) => equals(c, v)).join(' OR ')})`;
  return `(${predicate})::INTEGER`;
}

function equals(column: string, v: number | string | boolean): string {
  return typeof v === 'string' ? `${column}::VARCHAR = ${literal(v)}` : `${column} = ${v}`;
}
