import type { ModelSpec } from '../spec/modelSpec';
import { ArtifactStore, type StoredArtifact } from '../artifacts/store';
import { describeRelation, checkSchema } from './schema';
import { ident, literal, sourceRelation, windowPredicate, withDuckDb } from './duckdb';

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
    const source = sourceRelation(spec);
    checkSchema(await describeRelation(db, source), spec);
    await db.run('SET threads = 1');
    const columns = Object.keys(spec.data.columns);
    const time = spec.data.timeColumn;
    const range = windowPredicate(time, { start: spec.data.training.start, end: spec.data.holdout.end });
    const temp = store.tempPath('parquet');
    await db.run(
      `COPY (SELECT ${columns.map(ident).join(', ')} FROM ${source} WHERE ${range}
             ORDER BY ${[time, ...columns.filter((c) => c !== time)].map((c) => `${ident(c)} NULLS FIRST`).join(', ')})
       TO ${literal(temp)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    const counts = await db.runAndReadAll(
      `SELECT count(*) FILTER (WHERE ${windowPredicate(time, spec.data.training)})::DOUBLE AS training,
              count(*) FILTER (WHERE ${windowPredicate(time, spec.data.holdout)})::DOUBLE AS holdout
       FROM read_parquet(${literal(temp)})`,
    );
    const [row] = counts.getRowObjectsJS();
    const stored = await store.adoptFile('datasets', temp, 'parquet');
    return { ...stored, rows: { training: Number(row.training), holdout: Number(row.holdout) } };
  });
}
