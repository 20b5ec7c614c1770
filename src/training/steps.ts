import { gbdtTrainer, type ModelSpec } from '../spec/modelSpec';
import { trainerSeed } from '../spec/specValues';
import type { ArtifactStore } from '../artifacts/store';
import { localArtifactPath, readJsonArtifact } from '../artifacts/read';
import { snapshotTrainingData, type DatasetSnapshot } from '../data/snapshot';
import { validateSnapshot } from '../data/validate';
import { fitPipeline } from '../data/fitPipeline';
import { readWindow } from '../data/read';
import { profileFeatures, withPredictionProfile, type DataProfile } from '../data/profile';
import { DataValidationError } from '../data/errors';
import { withDuckDb } from '../data/duckdb';
import { featureMatrix, labels, type FittedPipeline, type RawColumns } from '../features/pipeline';
import { GbdtModel, trainGbdt, type FeatureMatrix } from '../ml/gbdt';
import { ModelArtifact } from '../ml/modelArtifact';
import { GbdtScorer } from '../ml/gbdtScorer';
import { baseRateMetrics, binaryMetrics, type BinaryMetrics } from '../ml/metrics';

/**
 * The training pipeline's steps as plain functions: each reads and writes artifacts by
 * reference and returns a small summary. Activities wrap them; tests call them directly.
 */

export type { DatasetSnapshot };

export function ingest(spec: ModelSpec, store: ArtifactStore): Promise<DatasetSnapshot> {
  return snapshotTrainingData(spec, store);
}

export interface PreparedData {
  pipelineUri: string;
  profileUri: string;
  rows: { training: number; holdout: number };
  labelRate: number;
}

/** Validates the snapshot, learns the feature pipeline from the training window and profiles the features. */
export async function validateData(spec: ModelSpec, snapshotUri: string, store: ArtifactStore): Promise<PreparedData> {
  const file = await localArtifactPath(snapshotUri);
  return withDuckDb(async (db) => {
    await validateSnapshot(db, file, spec);
    const pipeline = await fitPipeline(db, file, spec);
    const training = await readWindow(db, file, spec, spec.data.training);
    const holdout = await readWindow(db, file, spec, spec.data.holdout);
    const x = featureMatrix(pipeline, training);
    const y = labels(pipeline, training);
    checkFeatures(x);
    checkLabels(spec, y, 'training');
    checkLabels(spec, labels(pipeline, holdout), 'holdout');
    const profile = profileFeatures(x, y, { seed: trainerSeed(spec.trainer) });
    return {
      pipelineUri: (await store.putJson('pipelines', pipeline)).uri,
      profileUri: (await store.putJson('profiles', profile)).uri,
      rows: { training: training.nRows, holdout: holdout.nRows },
      labelRate: profile.labelRate,
    };
  });
}

function checkFeatures(x: FeatureMatrix): void {
  x.columns.forEach((column, j) => {
    for (const v of column) {
      if (v === Infinity || v === -Infinity) throw new DataValidationError(x.names[j], 'finite', 'the feature computes an infinite value');
    }
  });
}

function checkLabels(spec: ModelSpec, y: Float64Array, window: string): void {
  let positives = 0;
  for (const v of y) {
    if (Number.isNaN(v)) throw new DataValidationError(spec.target.column, 'notNull', `a ${window} row has no target value`);
    positives += v;
  }
  if (positives === 0 || positives === y.length) {
    throw new DataValidationError(spec.target.column, 'bothClasses', `the ${window} window has only ${positives === 0 ? 'negative' : 'positive'} examples`);
  }
}

export async function loadWindow(spec: ModelSpec, snapshotUri: string, which: 'training' | 'holdout'): Promise<RawColumns> {
  const file = await localArtifactPath(snapshotUri);
  return withDuckDb((db) => readWindow(db, file, spec, spec.data[which]));
}

export interface Checkpoint {
  uri: string;
  round: number;
}

export interface TrainProgressReport {
  round: number;
  rounds: number;
  trainLogLoss: number;
  checkpoint?: Checkpoint;
}

export interface TrainOptions {
  /** Names the checkpoint file: one per training run. */
  checkpointKey: string;
  /** The training profile from validateData: the trained model adds its scores to it. */
  profileUri?: string;
  resumeFrom?: Checkpoint;
  onProgress?: (p: TrainProgressReport) => void | Promise<void>;
}

export interface TrainedModel {
  artifactUri: string;
  artifactSha256: string;
  rounds: number;
  resumedFromRound: number;
  /** The training profile with the reference for prediction drift (when a profile was given). */
  profileUri?: string;
}

/** Fits the built-in GBDT on the training window, checkpointing every few rounds so a retry resumes. */
export async function trainModel(spec: ModelSpec, snapshotUri: string, pipelineUri: string, store: ArtifactStore, o: TrainOptions): Promise<TrainedModel> {
  const trainer = gbdtTrainer(spec);
  const pipeline = (await readJsonArtifact(pipelineUri)) as FittedPipeline;
  const raw = await loadWindow(spec, snapshotUri, 'training');
  const x = featureMatrix(pipeline, raw);
  const y = labels(pipeline, raw);
  // The checkpoint file on disk, not only the one a (throttled) heartbeat reported: a worker
  // killed right after writing it must not send the retry back to round 0. The file is named
  // by this training run, so any there is this run's own.
  const checkpointPath = `checkpoints/${encodeURIComponent(o.checkpointKey)}.json`;
  const checkpointFile = await store.namedJson(checkpointPath);
  const resumeFrom = checkpointFile ? GbdtModel.fromJSON(checkpointFile.value) : o.resumeFrom ? GbdtModel.fromJSON(await readJsonArtifact(o.resumeFrom.uri)) : undefined;
  const every = trainer.checkpointEvery;
  let lastCheckpoint: Checkpoint | undefined = checkpointFile && resumeFrom ? { uri: checkpointFile.uri, round: resumeFrom.rounds } : o.resumeFrom;
  const gbdt = await trainGbdt(x, y, {
    params: trainer.params,
    resumeFrom,
    onRound: async (p, model) => {
      if (p.round % every === 0 && p.round < p.rounds) {
        const uri = await store.putNamedJson(checkpointPath, model().toJSON());
        lastCheckpoint = { uri, round: p.round };
      }
      await o.onProgress?.({ ...p, checkpoint: lastCheckpoint });
    },
  });
  // Done: a later attempt of this run (its completion lost with its worker) starts afresh.
  await store.removeNamed(checkpointPath);
  const artifact = new ModelArtifact(spec.name, pipeline, new GbdtScorer(gbdt));
  const stored = await store.putJson('models', artifact.toJSON());
  const profileUri = o.profileUri
    ? (await store.putJson('profiles', await withPredictionProfile((await readJsonArtifact(o.profileUri)) as DataProfile, x, (s) => gbdt.predictProba(s), { seed: trainer.params.seed }))).uri
    : undefined;
  return { artifactUri: stored.uri, artifactSha256: stored.sha256, rounds: gbdt.rounds, resumedFromRound: resumeFrom?.rounds ?? 0, profileUri };
}

export interface Evaluation {
  /** The model's metrics on the holdout, which lies after the training window in time. */
  model: BinaryMetrics;
  /** The constant predictor of the training base rate on the same holdout: the bar to beat. */
  baseRate: BinaryMetrics;
  holdoutRows: number;
}

export async function evaluateModel(spec: ModelSpec, snapshotUri: string, artifactUri: string): Promise<Evaluation> {
  const artifact = await ModelArtifact.load(await readJsonArtifact(artifactUri));
  try {
    const raw = await loadWindow(spec, snapshotUri, 'holdout');
    const y = labels(artifact.pipeline, raw);
    const scores = await artifact.predictColumns(raw);
    return {
      model: binaryMetrics(y, scores),
      baseRate: baseRateMetrics(y, artifact.pipeline.trainBaseRate),
      holdoutRows: raw.nRows,
    };
  } finally {
    await artifact.close();
  }
}
