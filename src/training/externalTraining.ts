/**
 * The steps around a trainer on another task queue (`trainer.type` lightgbm or python):
 * the feature matrices it trains on, and, once it hands back ONNX, the parity check and
 * the model artifact perennial serves.
 */
import { z } from 'zod';
import type { ArtifactStore } from '../artifacts/store';
import { readArtifactBytes, readJsonArtifact } from '../artifacts/read';
import { withPredictionProfile, type DataProfile } from '../data/profile';
import { featureMatrix, labels, type FittedPipeline } from '../features/pipeline';
import { ModelArtifact, type Parity } from '../ml/modelArtifact';
import { OnnxScorer } from '../ml/onnxScorer';
import type { ExternalTrainerSpec, ModelSpec } from '../spec/modelSpec';
import { trainerSeed } from '../spec/specValues';
import { storeMatrix } from './featureMatrices';
import { PARITY_TOLERANCE, type ExternalTrainRequest, type ExternalTrainResult, type MatrixRef } from './pythonContract';
import { loadWindow, type TrainedModel } from './steps';

/** A failure no retry fixes: the trainer's model and what Node computes from it disagree, or its code is missing. */
export class ModelPackagingError extends Error {
  constructor(
    readonly type: 'ParityError' | 'TrainerCodeMissing' | 'ModelNotServable',
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = type;
  }
}

export interface PreparedMatrices {
  train: MatrixRef;
  holdout: MatrixRef;
}

/** The training and holdout feature matrices of a snapshot, computed by the fitted pipeline (the same code as serving). */
export async function prepareMatrices(spec: ModelSpec, snapshotUri: string, pipelineUri: string, store: ArtifactStore): Promise<PreparedMatrices> {
  const pipeline = (await readJsonArtifact(pipelineUri)) as FittedPipeline;
  const matrix = async (which: 'training' | 'holdout') => {
    const raw = await loadWindow(spec, snapshotUri, which);
    return storeMatrix(store, featureMatrix(pipeline, raw), labels(pipeline, raw));
  };
  return { train: await matrix('training'), holdout: await matrix('holdout') };
}

/** The trainer part of the request; a `python` trainer's file is looked up in the store (it must be there). */
export async function requestTrainer(spec: ModelSpec, store: ArtifactStore): Promise<ExternalTrainRequest['trainer']> {
  const trainer = spec.trainer as ExternalTrainerSpec;
  return {
    type: trainer.type,
    params: trainer.params,
    seed: trainerSeed(trainer),
    ...(trainer.type === 'python' ? { entrypoint: await entrypointOf(trainer, store) } : {}),
  };
}

/** What the trainer's `train` activity receives for this spec and these matrices. */
export function externalTrainRequest(
  spec: ModelSpec,
  trainer: ExternalTrainRequest['trainer'],
  matrices: PreparedMatrices,
  store: ArtifactStore,
  checkpointKey: string,
): ExternalTrainRequest {
  return {
    model: spec.name,
    trainer,
    matrices: { train: matrices.train, holdout: matrices.holdout },
    artifactsUri: store.rootUri,
    checkpointUri: store.namedUri(`checkpoints/${encodeURIComponent(checkpointKey)}.${trainer.type}`),
  };
}

async function entrypointOf(trainer: Extract<ExternalTrainerSpec, { type: 'python' }>, store: ArtifactStore): Promise<NonNullable<ExternalTrainRequest['trainer']['entrypoint']>> {
  const split = trainer.entrypoint.lastIndexOf(':');
  const target = trainer.entrypoint.slice(0, split);
  const fn = trainer.entrypoint.slice(split + 1);
  if (!target.endsWith('.py')) return { module: target, function: fn };
  if (!trainer.code) {
    throw new ModelPackagingError('TrainerCodeMissing', `the trainer's file ${target} was not stored with the spec: load the spec from its file with perennial (npm run train, npx perennial start), which stores the file`);
  }
  const uri = await store.find('code', trainer.code.sha256, 'py');
  if (!uri) {
    throw new ModelPackagingError('TrainerCodeMissing', `the trainer's file ${target} (sha256 ${trainer.code.sha256}) is not in the artifact store ${store.rootUri}`);
  }
  return { code: { uri, sha256: trainer.code.sha256 }, file: trainer.code.file, function: fn };
}

export interface PackagedModel extends TrainedModel {
  parity: Parity;
}

/**
 * Scores the holdout with onnxruntime-node and compares with the trainer's own
 * probabilities: nothing is served that disagrees with what was evaluated. Then stores
 * the model artifact and the training profile with the model's prediction reference.
 */
export async function packageOnnxModel(
  spec: ModelSpec,
  snapshotUri: string,
  pipelineUri: string,
  trained: ExternalTrainResult,
  store: ArtifactStore,
  profileUri?: string,
): Promise<PackagedModel> {
  const trainer = spec.trainer as ExternalTrainerSpec;
  checkResult(trained, store);
  const pipeline = (await readJsonArtifact(pipelineUri)) as FittedPipeline;
  const onnx = await readArtifactBytes(trained.onnx.uri, trained.onnx.sha256);
  const scorer = await notServable(() => OnnxScorer.fromBytes(onnx, pipeline.features.length), 'onnxruntime-node cannot load the ONNX model');
  try {
    const holdout = featureMatrix(pipeline, await loadWindow(spec, snapshotUri, 'holdout'));
    const expected = float64s(await readArtifactBytes(trained.holdoutScores.uri, trained.holdoutScores.sha256));
    const parity = compare(await notServable(() => scorer.scoreMatrix(holdout), 'onnxruntime-node cannot score the holdout with the ONNX model'), expected);
    if (parity.maxAbsDiff > PARITY_TOLERANCE || expected.length !== holdout.nRows) {
      throw new ModelPackagingError(
        'ParityError',
        expected.length !== holdout.nRows
          ? `the trainer scored ${expected.length} holdout rows, the holdout has ${holdout.nRows}`
          : `onnxruntime-node's scores differ from ${trained.framework.name}'s own by up to ${parity.maxAbsDiff.toExponential(3)} (holdout row ${parity.worstRow}; at most ${PARITY_TOLERANCE} allowed): the ONNX model is not served`,
        { ...parity },
      );
    }
    const artifact = new ModelArtifact(spec.name, pipeline, scorer, {
      type: 'onnx',
      onnx: trained.onnx,
      native: trained.native,
      framework: trained.framework,
      trainer: trainer.type,
      parity,
    });
    const stored = await store.putJson('models', artifact.toJSON());
    let withPrediction: string | undefined;
    if (profileUri) {
      const raw = await loadWindow(spec, snapshotUri, 'training');
      const x = featureMatrix(pipeline, raw);
      const profile = (await readJsonArtifact(profileUri)) as DataProfile;
      withPrediction = (await store.putJson('profiles', await withPredictionProfile(profile, x, (s) => scorer.scoreMatrix(s), { seed: trainerSeed(trainer) }))).uri;
    }
    return {
      artifactUri: stored.uri,
      artifactSha256: stored.sha256,
      rounds: trained.rounds ?? 0,
      resumedFromRound: trained.resumedFromRound ?? 0,
      profileUri: withPrediction,
      parity,
    };
  } finally {
    await scorer.close();
  }
}

const Stored = z.strictObject({ uri: z.string().min(1).max(4096), sha256: z.string().regex(/^[0-9a-f]{64}$/) });
const Label = z.string().min(1).max(100);
/** What a trainer returns, checked as any input from outside is: its shape, and that its files are in this store. */
const ResultShape = z.strictObject({
  onnx: Stored.extend({ bytes: z.number().int().nonnegative() }),
  native: Stored.extend({ bytes: z.number().int().nonnegative(), format: Label }),
  holdoutScores: Stored.extend({ bytes: z.number().int().nonnegative(), rows: z.number().int().nonnegative() }),
  framework: z.strictObject({ name: Label, version: Label }),
  rounds: z.number().int().nonnegative().optional(),
  resumedFromRound: z.number().int().nonnegative().optional(),
  fitSeconds: z.number().nonnegative(),
  seconds: z.number().nonnegative(),
});

function checkResult(trained: ExternalTrainResult, store: ArtifactStore): void {
  const parsed = ResultShape.safeParse(trained);
  if (!parsed.success) {
    throw new ModelPackagingError('ModelNotServable', `the trainer's result is malformed: ${parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  for (const file of [trained.onnx, trained.native, trained.holdoutScores]) {
    if (!store.holds(file.uri)) throw new ModelPackagingError('ModelNotServable', `the trainer's file ${file.uri} is not in the artifact store ${store.rootUri}`);
  }
}

/** onnxruntime's refusals of a model are the model's: retrying cannot help. */
async function notServable<T>(step: () => Promise<T>, what: string): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw new ModelPackagingError('ModelNotServable', `${what}: ${(err as Error).message.slice(0, 2000)}`);
  }
}

function float64s(bytes: Buffer): Float64Array {
  if (bytes.length % 8 !== 0) throw new ModelPackagingError('ParityError', `the trainer's holdout scores are ${bytes.length} bytes, not a whole number of float64s`);
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return new Float64Array(copy.buffer);
}

function compare(got: Float64Array, expected: Float64Array): Parity {
  let maxAbsDiff = 0;
  let worstRow = -1;
  const n = Math.min(got.length, expected.length);
  for (let i = 0; i < n; i++) {
    const d = Math.abs(got[i] - expected[i]);
    // NaN on either side is the worst disagreement there is.
    if (!(d <= maxAbsDiff)) {
      maxAbsDiff = Number.isNaN(d) ? Infinity : d;
      worstRow = i;
      if (maxAbsDiff === Infinity) break;
    }
  }
  return { rows: n, maxAbsDiff, worstRow, tolerance: PARITY_TOLERANCE };
}


