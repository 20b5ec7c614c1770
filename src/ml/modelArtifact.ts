import { z } from 'zod';
import { GbdtModel } from './gbdt';
import { compilePipeline, type FittedPipeline, type RawColumns, featureMatrix } from '../features/pipeline';

/**
 * What a trained model is on disk: the fitted feature pipeline and the trees, in one
 * JSON document. Serving loads it and computes features with the same code as training.
 */
export interface ModelArtifactJson {
  format: 'perennial.model/1';
  model: string;
  pipeline: FittedPipeline;
  trainer: { type: 'gbdt'; model: unknown };
}

const ArtifactShape = z.object({
  format: z.literal('perennial.model/1'),
  model: z.string(),
  pipeline: z.object({ format: z.literal('perennial.pipeline/1') }).loose(),
  trainer: z.object({ type: z.literal('gbdt'), model: z.unknown() }),
});

export class ModelArtifact {
  private readonly compiled;

  constructor(
    readonly model: string,
    readonly pipeline: FittedPipeline,
    readonly gbdt: GbdtModel,
  ) {
    this.compiled = compilePipeline(pipeline);
  }

  static fromJSON(json: unknown): ModelArtifact {
    const parsed = ArtifactShape.safeParse(json);
    if (!parsed.success) throw new Error(`not a perennial model artifact: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return new ModelArtifact(parsed.data.model, parsed.data.pipeline as unknown as FittedPipeline, GbdtModel.fromJSON(parsed.data.trainer.model));
  }

  toJSON(): ModelArtifactJson {
    return { format: 'perennial.model/1', model: this.model, pipeline: this.pipeline, trainer: { type: 'gbdt', model: this.gbdt.toJSON() } };
  }

  /** Scores raw rows read from a snapshot (many at once). */
  predictColumns(raw: RawColumns): Float64Array {
    return this.gbdt.predictProba(featureMatrix(this.pipeline, raw));
  }

  /** Scores one raw row as a client sends it (e.g. JSON with an ISO date). */
  predictRow(raw: Record<string, unknown>): number {
    return this.scoreRow(raw, new Float64Array(this.compiled.names.length));
  }

  /** Writes the features of one raw row as a client sends it into `out` from `offset`, in the model's order. */
  computeFeatures(raw: Record<string, unknown>, out: Float64Array, offset = 0): void {
    this.compiled.computeRawRow(raw, out, offset);
  }

  /** Like `predictRow`, leaving the computed features in `features` (the model server logs them). */
  scoreRow(raw: Record<string, unknown>, features: Float64Array): number {
    this.compiled.computeRawRow(raw, features);
    return this.gbdt.predictRow(features);
  }
}
