import { z } from 'zod';
import { GbdtModel } from './gbdt';
import { GbdtScorer } from './gbdtScorer';
import { OnnxScorer } from './onnxScorer';
import type { Scorer } from './scorer';
import { compilePipeline, type FittedPipeline, type RawColumns, featureMatrix } from '../features/pipeline';
import { readArtifactBytes } from '../artifacts/read';

const StoredFile = z.strictObject({ uri: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().nonnegative() });

/** How the Node scores of an ONNX model compared with its trainer's own on the holdout, at registration. */
export const ParityShape = z.strictObject({
  rows: z.number().int().nonnegative(),
  maxAbsDiff: z.number().nonnegative(),
  /** The holdout row that differed most (-1 when there were no rows). */
  worstRow: z.number().int(),
  tolerance: z.number().positive(),
});
export type Parity = z.infer<typeof ParityShape>;

/** A model trained outside this process and served as ONNX: where its files are and who made them. */
export const OnnxTrainerShape = z.strictObject({
  type: z.literal('onnx'),
  onnx: StoredFile,
  /** The framework's own file (e.g. LightGBM's text model), for users and lineage; never served. */
  native: StoredFile.extend({ format: z.string().min(1).max(50) }),
  framework: z.strictObject({ name: z.string().min(1).max(50), version: z.string().min(1).max(50) }),
  /** The spec's trainer that produced it (`lightgbm` or `python`). */
  trainer: z.enum(['lightgbm', 'python']),
  parity: ParityShape,
});
export type OnnxTrainerJson = z.infer<typeof OnnxTrainerShape>;

/**
 * What a trained model is on disk: the fitted feature pipeline and the model, in one JSON
 * document. The built-in GBDT's trees are inside it; an ONNX model is a file of its own,
 * named here by URI and sha256. Serving loads it and computes features with the same
 * code as training.
 */
export interface ModelArtifactJson {
  format: 'perennial.model/1';
  model: string;
  pipeline: FittedPipeline;
  trainer: { type: 'gbdt'; model: unknown } | OnnxTrainerJson;
}

const ArtifactShape = z.object({
  format: z.literal('perennial.model/1'),
  model: z.string(),
  pipeline: z.object({ format: z.literal('perennial.pipeline/1') }).loose(),
  trainer: z.discriminatedUnion('type', [z.object({ type: z.literal('gbdt'), model: z.unknown() }), OnnxTrainerShape]),
});

function parseArtifact(json: unknown) {
  const parsed = ArtifactShape.safeParse(json);
  if (!parsed.success) throw new Error(`not a perennial model artifact: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return { ...parsed.data, pipeline: parsed.data.pipeline as unknown as FittedPipeline };
}

export class ModelArtifact {
  private readonly compiled;

  constructor(
    readonly model: string,
    readonly pipeline: FittedPipeline,
    readonly scorer: Scorer,
    /** For an ONNX model: its files, framework and parity. */
    readonly onnx?: OnnxTrainerJson,
  ) {
    this.compiled = compilePipeline(pipeline);
  }

  /** A built-in GBDT artifact, synchronously (an ONNX one needs `load`). */
  static fromJSON(json: unknown): ModelArtifact {
    const a = parseArtifact(json);
    if (a.trainer.type !== 'gbdt') throw new Error(`a ${a.trainer.type} model artifact is opened with ModelArtifact.load`);
    return new ModelArtifact(a.model, a.pipeline, new GbdtScorer(GbdtModel.fromJSON(a.trainer.model)));
  }

  /** Any artifact: an ONNX model's file is read through the artifact store and checked against its sha256. */
  static async load(json: unknown): Promise<ModelArtifact> {
    const a = parseArtifact(json);
    if (a.trainer.type === 'gbdt') return new ModelArtifact(a.model, a.pipeline, new GbdtScorer(GbdtModel.fromJSON(a.trainer.model)));
    const bytes = await readArtifactBytes(a.trainer.onnx.uri, a.trainer.onnx.sha256);
    const scorer = await OnnxScorer.fromBytes(bytes, a.pipeline.features.length);
    return new ModelArtifact(a.model, a.pipeline, scorer, a.trainer);
  }

  toJSON(): ModelArtifactJson {
    const trainer = this.onnx ?? { type: 'gbdt' as const, model: this.requireGbdt().toJSON() };
    return { format: 'perennial.model/1', model: this.model, pipeline: this.pipeline, trainer };
  }

  /** The built-in GBDT, when this is one (the model server scores it on its own threads too). */
  get gbdt(): GbdtModel | undefined {
    return this.scorer instanceof GbdtScorer ? this.scorer.model : undefined;
  }

  /** Scores raw rows read from a snapshot (many at once). */
  predictColumns(raw: RawColumns): Promise<Float64Array> {
    return this.scorer.scoreMatrix(featureMatrix(this.pipeline, raw));
  }

  /** Scores one raw row as a client sends it (e.g. JSON with an ISO date); the built-in GBDT only. */
  predictRow(raw: Record<string, unknown>): number {
    return this.scoreRow(raw, new Float64Array(this.compiled.names.length));
  }

  /** Writes the features of one raw row as a client sends it into `out` from `offset`, in the model's order. */
  computeFeatures(raw: Record<string, unknown>, out: Float64Array, offset = 0): void {
    this.compiled.computeRawRow(raw, out, offset);
  }

  /** Like `predictRow`, leaving the computed features in `features`; the built-in GBDT only (any kind: `scorer`). */
  scoreRow(raw: Record<string, unknown>, features: Float64Array): number {
    this.compiled.computeRawRow(raw, features);
    return this.requireGbdt().predictRow(features);
  }

  /** Frees the scorer's native resources (an ONNX session); the artifact scores no more. */
  close(): Promise<void> {
    return this.scorer.close();
  }

  private requireGbdt(): GbdtModel {
    const gbdt = this.gbdt;
    if (!gbdt) throw new Error(`${this.model}: an ${this.scorer.kind} model is scored asynchronously, through its scorer`);
    return gbdt;
  }
}
