import type { DuckDBConnection } from '@duckdb/node-api';
import type { ArtifactStore } from '../artifacts/store';
import { ident, literal, withDuckDb } from '../data/duckdb';
import type { FeatureMatrix } from '../ml/gbdt';
import type { MatrixRef } from './pythonContract';

/** The label column's name in a matrix file (a feature may not take it). */
export const LABEL_COLUMN = 'label';

/**
 * Writes a feature matrix and its labels as Parquet into the artifact store
 * (content-addressed under `matrices/`): one DOUBLE column per feature in the model's
 * order, NaN where a value is missing, and `label` last.
 */
export async function storeMatrix(store: ArtifactStore, x: FeatureMatrix, y: Float64Array): Promise<MatrixRef> {
  if (x.names.includes(LABEL_COLUMN)) throw new Error(`a feature is named "${LABEL_COLUMN}", the matrix file's label column`);
  const file = store.tempPath('parquet');
  await withDuckDb(async (db) => {
    await db.run(`CREATE TABLE m (${[...x.names, LABEL_COLUMN].map((n) => `${ident(n)} DOUBLE`).join(', ')})`);
    await append(db, x, y);
    await db.run(`COPY m TO ${literal(file)} (FORMAT parquet, COMPRESSION zstd)`);
  });
  const stored = await store.adoptFile('matrices', file, 'parquet');
  return { uri: stored.uri, sha256: stored.sha256, rows: x.nRows };
}

async function append(db: DuckDBConnection, x: FeatureMatrix, y: Float64Array): Promise<void> {
  const appender = await db.createAppender('m');
  try {
    const { columns, nRows } = x;
    for (let i = 0; i < nRows; i++) {
      for (const column of columns) appender.appendDouble(column[i]);
      appender.appendDouble(y[i]);
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}
