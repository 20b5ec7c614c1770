import { log, proxyActivities, setCurrentDetails, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ModelSpec } from '../src/spec/modelSpec';
import type { ModelVersion } from '../src/registry/registry';
import type { Evaluation } from '../src/training/steps';
import { NON_RETRYABLE_FAILURES } from '../src/training/failureTypes';

export interface TrainingInput {
  spec: ModelSpec;
  specHash: string;
  /** Who asked for this training: recorded in the lineage. */
  requestedBy: string;
}

export interface TrainingResult {
  model: string;
  version: number;
  /** False when this run had already registered its version (a replay or retry). */
  created: boolean;
  evaluation: Evaluation;
  registered: ModelVersion;
  /** Rounds trained, and the checkpoint round a retried attempt resumed from (0: from scratch). */
  training: { rounds: number; resumedFromRound: number };
}

const quickStep: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  // The steps heartbeat every 5 s while they run: a killed worker's step is retried within half a minute.
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
};

/**
 * One training run, `train/<model>/<n>`: snapshot the data, validate it, train, judge
 * the model on a later holdout, register the version. Every step is an activity with
 * a retry policy of its own; data and models travel by reference.
 */
export async function trainingPipeline(input: TrainingInput): Promise<TrainingResult> {
  const { spec, specHash, requestedBy } = input;
  const { workflowId, runId } = workflowInfo();
  const { ingest } = proxyActivities<Activities>({ ...quickStep, summary: `snapshot ${spec.data.training.start} → ${spec.data.holdout.end}` });
  const { validateData } = proxyActivities<Activities>({ ...quickStep, summary: 'validate data, fit features, profile' });
  const { train } = proxyActivities<Activities>({
    startToCloseTimeout: '4 hours',
    heartbeatTimeout: '10 seconds',
    retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
    summary: `train ${spec.trainer.type}, ${spec.trainer.params.rounds} rounds`,
  });
  const { evaluate } = proxyActivities<Activities>({ ...quickStep, summary: 'evaluate on the holdout vs the base rate' });
  const { register } = proxyActivities<Activities>({
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '1s', maximumAttempts: 10 },
    summary: 'register the version with its lineage',
  });

  setCurrentDetails(`**${spec.name}**: snapshotting the training and holdout windows`);
  const snapshot = await ingest({ spec });

  setCurrentDetails(`**${spec.name}**: validating ${snapshot.rows.training} training and ${snapshot.rows.holdout} holdout rows`);
  const prepared = await validateData({ spec, snapshotUri: snapshot.uri });

  setCurrentDetails(`**${spec.name}**: training on ${prepared.rows.training} rows`);
  const trained = await train({ spec, snapshotUri: snapshot.uri, pipelineUri: prepared.pipelineUri, checkpointKey: workflowId, profileUri: prepared.profileUri });

  setCurrentDetails(`**${spec.name}**: evaluating on ${prepared.rows.holdout} holdout rows`);
  const evaluation = await evaluate({ spec, snapshotUri: snapshot.uri, artifactUri: trained.artifactUri });

  const { version, created } = await register({
    model: spec.name,
    spec,
    artifactUri: trained.artifactUri,
    artifactSha256: trained.artifactSha256,
    metrics: { holdout: evaluation.model, baseRate: evaluation.baseRate, holdoutRows: evaluation.holdoutRows },
    lineage: {
      datasetUri: snapshot.uri,
      datasetSha256: snapshot.sha256,
      specHash,
      profileUri: trained.profileUri ?? prepared.profileUri,
      pipelineUri: prepared.pipelineUri,
      workflowId,
      runId,
      trainedBy: requestedBy,
    },
  });
  const m = evaluation.model;
  setCurrentDetails(
    `**${spec.name} v${version.version}** registered\n\n` +
      `holdout AUC ${m.auc.toFixed(4)}, log-loss ${m.logLoss.toFixed(4)} (base rate ${evaluation.baseRate.logLoss.toFixed(4)}), ` +
      `accuracy ${m.accuracy.toFixed(4)}, Brier ${m.brier.toFixed(4)}`,
  );
  log.info('registered model version', { model: spec.name, version: version.version, created });
  return {
    model: spec.name,
    version: version.version,
    created,
    evaluation,
    registered: version,
    training: { rounds: trained.rounds, resumedFromRound: trained.resumedFromRound },
  };
}
