import type { FeatureMatrix, GbdtModel } from './gbdt';
import type { Scorer } from './scorer';

/** The built-in GBDT as a Scorer: synchronous underneath, so the model server may also score it on its own threads. */
export class GbdtScorer implements Scorer {
  readonly kind = 'gbdt';

  constructor(readonly model: GbdtModel) {}

  get featureCount(): number {
    return this.model.featureNames.length;
  }

  async scoreRows(data: Float64Array, rows: number): Promise<Float64Array> {
    const width = this.featureCount;
    const out = new Float64Array(rows);
    for (let r = 0; r < rows; r++) out[r] = this.model.predictRow(data.subarray(r * width, (r + 1) * width));
    return out;
  }

  async scoreMatrix(x: FeatureMatrix): Promise<Float64Array> {
    return this.model.predictProba(x);
  }

  async close(): Promise<void> {
    // Trees on the JS heap: the garbage collector frees them.
  }
}
