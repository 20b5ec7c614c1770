import type { DuckDBConnection } from '@duckdb/node-api';
import type { ModelSpec, Window } from '../spec/modelSpec';
import type { RawColumns } from '../features/pipeline';
import { ident, literal, normalizedColumnSql, windowPredicate } from './duckdb';

/** The rows of one time window of a snapshot, by column, in the pipeline's canonical form. */
export async function readWindow(db: DuckDBConnection, snapshotFile: string, spec: ModelSpec, w: Window): Promise<RawColumns> {
  const select = Object.entries(spec.data.columns).map(([name, c]) => normalizedColumnSql(name, c));
  // A total order, the snapshot's own: ordered by time alone, rows of the same time came back
  // in whatever order the parallel sort left them, and the model trained on them differed.
  const time = spec.data.timeColumn;
  const order = [time, ...Object.keys(spec.data.columns).filter((c) => c !== time)].map((c) => `${ident(c)} NULLS FIRST`);
  const reader = await db.runAndReadAll(
    `SELECT ${select.join(', ')} FROM read_parquet(${literal(snapshotFile)})
     WHERE ${windowPredicate(spec.data.timeColumn, w)} ORDER BY ${order.join(', ')}`,
  );
  const columns = reader.getColumnsObjectJS() as Record<string, unknown[]>;
  return { nRows: reader.currentRowCount, columns };
}
