import type { Scorer } from '../ml/scorer';
import type { FillFeatures, ScoredCallback } from './scoringThread';

/**
 * Scores a job through a model's Scorer (an ONNX model on onnxruntime-node), with the
 * same callback as the scoring thread's: the rows' features are computed here, on the
 * request thread, by the same code as training.
 */
export function scoreWithScorer(scorer: Scorer, rows: number, width: number, fill: FillFeatures, done: ScoredCallback): void {
  const data = new Float64Array(rows * width);
  try {
    for (let r = 0; r < rows; r++) fill(data, r * width, r);
  } catch (err) {
    done(err instanceof Error ? err : new Error(String(err)), null);
    return;
  }
  scorer.scoreRows(data, rows).then(
    (scores) => done(null, { rows, score: (r) => scores[r], features: (r) => data.subarray(r * width, (r + 1) * width) }),
    (err: unknown) => done(err instanceof Error ? err : new Error(String(err)), null),
  );
}
