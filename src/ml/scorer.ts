import type { FeatureMatrix } from './gbdt';

/**
 * Whatever turns a model's features into the positive class's probability. One
 * implementation per model format, chosen by the artifact's `trainer.type`: the built-in
 * GBDT (`gbdt`) and ONNX (`onnx`, whatever framework trained it). Evaluation, the
 * champion-vs-candidate comparison, profiles and the model server all score through it.
 */
export interface Scorer {
  readonly kind: 'gbdt' | 'onnx';
  /** How many features a row has, in the model's order. */
  readonly featureCount: number;
  /** Scores `rows` rows laid out one after another in `data` (rows × featureCount). */
  scoreRows(data: Float64Array, rows: number): Promise<Float64Array>;
  /** Scores a column-major feature matrix. */
  scoreMatrix(x: FeatureMatrix): Promise<Float64Array>;
  /** Frees what it holds outside the JS heap (an onnxruntime session); it scores no more. */
  close(): Promise<void>;
}

/** Rows `from`..`to` of a column-major matrix, laid out row after row. */
export function rowMajor(x: FeatureMatrix, from = 0, to = x.nRows): Float64Array {
  const width = x.columns.length;
  const out = new Float64Array((to - from) * width);
  for (let j = 0; j < width; j++) {
    const column = x.columns[j];
    for (let i = from; i < to; i++) out[(i - from) * width + j] = column[i];
  }
  return out;
}
