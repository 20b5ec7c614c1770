/**
 * The training contract between the TypeScript pipeline and a trainer on another task
 * queue, in any language (the repository's Python worker implements it: python/). The
 * feature pipeline stays here, so training and serving compute features once; the
 * trainer gets the feature matrices by URI and hands back the model as ONNX.
 */
import type { ExternalTrainerSpec } from '../spec/modelSpec';

export interface StoredRef {
  uri: string;
  sha256: string;
}

/** A feature matrix as Parquet: one float64 column per feature in the model's order (NaN for missing), then `label` (0/1). */
export interface MatrixRef extends StoredRef {
  rows: number;
}

/** What `train` on a trainer's queue receives. */
export interface ExternalTrainRequest {
  model: string;
  trainer: {
    type: ExternalTrainerSpec['type'];
    params: Record<string, unknown>;
    seed: number;
    /** A `python` trainer's function: from the stored copy of its file, or an importable module. */
    entrypoint?: { function: string } & ({ code: StoredRef; file: string } | { module: string });
  };
  matrices: { train: MatrixRef; holdout: MatrixRef };
  /** Where the trainer writes its outputs, content-addressed: `<artifactsUri>/<kind>/<sha256>.<ext>`. */
  artifactsUri: string;
  /** A named file the trainer may checkpoint to, so a retried attempt resumes (one per training run). */
  checkpointUri: string;
}

/** What it returns. */
export interface ExternalTrainResult {
  /** The model as ONNX: input `features` (rows × features, float64), output `probability` (rows, float64). */
  onnx: StoredRef & { bytes: number };
  /** The framework's own file (e.g. LightGBM's text model). */
  native: StoredRef & { bytes: number; format: string };
  /** The trainer's own holdout probabilities, float64 little-endian, one per holdout row. */
  holdoutScores: StoredRef & { bytes: number; rows: number };
  framework: { name: string; version: string };
  rounds?: number;
  resumedFromRound?: number;
  /** The trainer's fit alone, and the whole activity (reading the matrices, exporting, storing). */
  fitSeconds: number;
  seconds: number;
}

/** The activity a trainer's worker registers under the name `train`. */
export interface ExternalTrainer {
  train(request: ExternalTrainRequest): Promise<ExternalTrainResult>;
}

/** Scores from the trainer and from onnxruntime-node may differ by at most this on any holdout row. */
export const PARITY_TOLERANCE = 1e-5;
