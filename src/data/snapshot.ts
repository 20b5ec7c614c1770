import { rmSync } from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ModelSpec } from '../spec/modelSpec';
import { ArtifactStore, type StoredArtifact } from '../artifacts/store';
import { describeRelation, checkSchema } from './schema';
import { ident, literal, sourceRelation, windowPredicate, withDuckDb } from './duckdb';
import { asSourceError } from './errors';

export interface DatasetSnapshot extends StoredArtifact {
  rows: { training: number; holdout: number };
}

/**
 * Copies the training and holdout windows of the source to one content-addressed
 * Parquet file. Rows are totally ordered and written by one thread, so the same input
 * gives the same bytes, hence the same hash, and an existing snapshot is reused.
 */
export async function snapshotTrainingData(spec: ModelSpec, store: ArtifactStore): Promise<DatasetSnapshot> {
  return withDuckDb(async (db) => {
    checkSchema(await readSource(() => describeRelation(db, sourceRelation(spec)), spec), spec);
    await db.run('SET threads = 1');
    const temp = store.tempPath('parquet');
    try {
      const rows = await readSource(() => copyWindows(db, spec, temp), spec);
      return { ...(await store.adoptFile('datasets', temp, 'parquet')), rows };
    } finally {
      rmSync(temp, { force: true });
    }
  });
}

/** Reading the source: an error that says the source is wrong becomes a DataSourceError (not retried). */
async function readSource<T>(read: () => Promise<T>, spec: ModelSpec): Promise<T> {
  try {
    return await read();
  } catch (err) {
    throw asSourceError(err, spec.data.source);
  }
}

async function copyWindows(db: DuckDBConnection, spec: ModelSpec, file: string): Promise<DatasetSnapshot['rows']> {
  const columns = Object.keys(spec.data.columns);
  const time = spec.data.timeColumn;
  const order = [time, ...columns.filter((c) => c !== time)].map((c) => `${ident(c)} NULLS FIRST`);
  const range = windowPredicate(time, { start: spec.data.training.start, end: spec.data.holdout.end });
  await db.run(
    `COPY (SELECT ${columns.map(ident).join(', ')} FROM ${sourceRelation(spec)} WHERE ${range} ORDER BY ${order.join(', ')})
     TO ${literal(file)} (FORMAT parquet, COMPRESSION zstd)`,
  );
  const counts = await db.runAndReadAll(
    `SELECT count(*) FILTER (WHERE ${windowPredicate(time, spec.data.training)})::DOUBLE AS training,
            count(*) FILTER (WHERE ${windowPredicate(time, spec.data.holdout)})::DOUBLE AS holdout
     FROM read_parquet(${literal(file)})`,
  );
  const [row] = counts.getRowObjectsJS();
  return { training: Number(row.training), holdout: Number(row.holdout) };
}
