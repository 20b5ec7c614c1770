import type { DuckDBConnection } from '@duckdb/node-api';
import type { ColumnSpec, ModelSpec } from '../spec/modelSpec';
import { DataValidationError } from './errors';

const TYPE_FAMILIES: Record<ColumnSpec['type'], RegExp> = {
  timestamp: /^(TIMESTAMP|DATE)/,
  number: /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL|REAL)/,
  string: /^(VARCHAR|ENUM)/,
};

export async function describeRelation(db: DuckDBConnection, relation: string): Promise<Map<string, string>> {
  const reader = await db.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`);
  return new Map(reader.getRowObjectsJS().map((r) => [String(r.column_name), String(r.column_type)]));
}

/** Every declared column is present with a type of its declared family; throws on the first that is not. */
export function checkSchema(actual: Map<string, string>, spec: ModelSpec): void {
  for (const [name, column] of Object.entries(spec.data.columns)) {
    const type = actual.get(name);
    if (type === undefined) {
      throw new DataValidationError(name, 'present', `declared in the spec but missing from the source (it has: ${[...actual.keys()].join(', ')})`);
    }
    if (!TYPE_FAMILIES[column.type].test(type)) {
      throw new DataValidationError(name, 'type', `declared ${column.type}, but the source has ${type}`);
    }
  }
}

export function isFloatType(type: string | undefined): boolean {
  return type !== undefined && /^(FLOAT|DOUBLE|REAL)/.test(type);
}
