import type { InferenceSession as Session } from 'onnxruntime-node';
import type { FeatureMatrix } from './gbdt';
import { rowMajor, type Scorer } from './scorer';

/** The graph's names, fixed by perennial's training contract (python/perennial_worker/to_onnx.py). */
export const ONNX_INPUT = 'features';
export const ONNX_OUTPUT = 'probability';
/** Rows per run when scoring a whole matrix: bounds the row-major copy of a large holdout. */
const CHUNK_ROWS = 65_536;

type Ort = typeof import('onnxruntime-node');
let ort: Ort | undefined;
// Loaded on first use: the native runtime is ~100 MB of address space a GBDT-only process never needs.
const runtime = (): Ort => (ort ??= require('onnxruntime-node') as Ort);

/**
 * A model as ONNX, run by onnxruntime-node in this process: no Python at serving time.
 * Features go in as float64, so tree splits with double thresholds compare exactly as the
 * framework compared them while training.
 */
export class OnnxScorer implements Scorer {
  readonly kind = 'onnx';

  private constructor(
    private readonly session: Session,
    readonly featureCount: number,
  ) {}

  static async fromBytes(bytes: Uint8Array, featureCount: number): Promise<OnnxScorer> {
    const { InferenceSession } = runtime();
    // One intra-op thread scored fastest here (requests already run side by side), and a
    // model server must not take every core for one batch.
    const session = await InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
    if (!session.inputNames.includes(ONNX_INPUT) || !session.outputNames.includes(ONNX_OUTPUT)) {
      await session.release();
      throw new Error(`the ONNX model must take "${ONNX_INPUT}" and give "${ONNX_OUTPUT}"; it takes ${session.inputNames.join(', ')} and gives ${session.outputNames.join(', ')}`);
    }
    return new OnnxScorer(session, featureCount);
  }

  async scoreRows(data: Float64Array, rows: number): Promise<Float64Array> {
    if (rows === 0) return new Float64Array(0);
    const { Tensor } = runtime();
    const input = new Tensor('float64', data.subarray(0, rows * this.featureCount), [rows, this.featureCount]);
    const out = await this.session.run({ [ONNX_INPUT]: input }, [ONNX_OUTPUT]);
    const scores = out[ONNX_OUTPUT];
    if (scores.type !== 'float64' || scores.size !== rows) {
      throw new Error(`the ONNX model gave ${scores.size} ${scores.type} scores for ${rows} rows (expected float64, one per row)`);
    }
    return Float64Array.from(scores.data as Float64Array);
  }

  async scoreMatrix(x: FeatureMatrix): Promise<Float64Array> {
    if (x.columns.length !== this.featureCount) throw new Error(`the ONNX model takes ${this.featureCount} features, got ${x.columns.length}`);
    const out = new Float64Array(x.nRows);
    for (let from = 0; from < x.nRows; from += CHUNK_ROWS) {
      const to = Math.min(x.nRows, from + CHUNK_ROWS);
      out.set(await this.scoreRows(rowMajor(x, from, to), to - from), from);
    }
    return out;
  }

  private released = false;

  async close(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }
}
