import { ApplicationFailure, log, patched, proxyActivities, setCurrentDetails, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ExternalTrainerSpec, ModelSpec } from '../src/spec/modelSpec';
import { describeTrainer, PYTHON_TASK_QUEUE } from '../src/spec/specValues';
import type { ExternalTrainer } from '../src/training/pythonContract';
import type { Parity } from '../src/ml/modelArtifact';
import type { ModelVersion } from '../src/registry/registry';
import { trainingTaskQueue } from '../src/temporal/taskQueues';
import type { Evaluation, TrainedModel } from '../src/training/steps';
import { EXTERNAL_TRAINING_FAILURES, NON_RETRYABLE_FAILURES } from '../src/training/failureTypes';

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
  /** For an ONNX model: how far onnxruntime-node's holdout scores were from its trainer's own. */
  parity?: Parity;
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
  const onTrainingQueue = onTrainingQueueSince('training-steps-on-training-queue');
  const { ingest } = proxyActivities<Activities>({ ...quickStep, ...onTrainingQueue, summary: `snapshot ${spec.data.training.start} → ${spec.data.holdout.end}` });
  const { validateData } = proxyActivities<Activities>({ ...quickStep, ...onTrainingQueue, summary: 'validate data, fit features, profile' });
  const { train } = proxyActivities<Activities>({
    ...onTrainingQueue,
    startToCloseTimeout: '4 hours',
    heartbeatTimeout: '10 seconds',
    retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
    summary: `train ${describeTrainer(spec.trainer)}`,
  });
  const { evaluate } = proxyActivities<Activities>({ ...quickStep, ...onTrainingQueue, summary: 'evaluate on the holdout vs the base rate' });
  const { register } = proxyActivities<Activities>({
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '1s', maximumAttempts: 10 },
    summary: 'register the version with its lineage',
  });

  setCurrentDetails(`**${spec.name}**: snapshotting the training and holdout windows`);
  const snapshot = await ingest({ spec });

  setCurrentDetails(`**${spec.name}**: validating ${snapshot.rows.training} training and ${snapshot.rows.holdout} holdout rows`);
  const prepared = await validateData({ spec, snapshotUri: snapshot.uri });

  setCurrentDetails(`**${spec.name}**: training ${describeTrainer(spec.trainer)} on ${prepared.rows.training} rows`);
  const trained: TrainedModel & { parity?: Parity } =
    spec.trainer.type === 'gbdt'
      ? await train({ spec, snapshotUri: snapshot.uri, pipelineUri: prepared.pipelineUri, checkpointKey: workflowId, profileUri: prepared.profileUri })
      : await trainOnItsQueue(spec, spec.trainer, onTrainingQueue, { snapshotUri: snapshot.uri, pipelineUri: prepared.pipelineUri, profileUri: prepared.profileUri, checkpointKey: workflowId });

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
    ...(trained.parity ? { parity: trained.parity } : {}),
  };
}

/**
 * Data-heavy steps go to the training queue (`<queue>-training`), which `npm run worker`
 * polls beside the workflows' queue unless PERENNIAL_WORKER_ROLE splits them. Runs started
 * before the change `patch` names keep those steps on the workflow's own queue.
 */
export function onTrainingQueueSince(patch: string): Pick<ActivityOptions, 'taskQueue'> {
  return patched(patch) ? { taskQueue: trainingTaskQueue(workflowInfo().taskQueue) } : {};
}

/**
 * A trainer on another task queue (`lightgbm`, `python`: the Python worker): the feature
 * matrices go to it by URI, its ONNX comes back and is checked against its own holdout
 * scores in Node before anything is registered.
 */
async function trainOnItsQueue(
  spec: ModelSpec,
  trainer: ExternalTrainerSpec,
  onTrainingQueue: Pick<ActivityOptions, 'taskQueue'>,
  input: { snapshotUri: string; pipelineUri: string; profileUri: string; checkpointKey: string },
): Promise<TrainedModel & { parity?: Parity }> {
  if (trainer.taskQueue === workflowInfo().taskQueue || trainer.taskQueue === onTrainingQueue.taskQueue) {
    // perennial's own queues have the built-in trainer's `train`, which takes another request.
    throw ApplicationFailure.create({ type: 'SpecError', message: `trainer.taskQueue ${trainer.taskQueue} is one of perennial's own task queues; a ${trainer.type} trainer runs on a Python worker's (default ${PYTHON_TASK_QUEUE})`, nonRetryable: true });
  }
  const external: ActivityOptions = { ...quickStep, ...onTrainingQueue, retry: { ...quickStep.retry, nonRetryableErrorTypes: EXTERNAL_TRAINING_FAILURES } };
  const { prepareMatrices } = proxyActivities<Activities>({ ...external, summary: 'write the feature matrices for the trainer' });
  const { train } = proxyActivities<ExternalTrainer>({
    taskQueue: trainer.taskQueue,
    startToCloseTimeout: '4 hours',
    // The Python worker heartbeats every 2 s while the trainer's fit runs.
    heartbeatTimeout: '20 seconds',
    retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 5, nonRetryableErrorTypes: EXTERNAL_TRAINING_FAILURES },
    summary: `train ${describeTrainer(trainer)} on ${trainer.taskQueue}`,
  });
  const { packageModel } = proxyActivities<Activities>({ ...external, summary: 'check ONNX parity in Node, store the model' });
  const request = await prepareMatrices({ spec, snapshotUri: input.snapshotUri, pipelineUri: input.pipelineUri, checkpointKey: input.checkpointKey });
  setCurrentDetails(`**${spec.name}**: training ${describeTrainer(trainer)} on task queue \`${trainer.taskQueue}\` (${request.matrices.train.rows} rows)`);
  const trained = await train(request);
  setCurrentDetails(`**${spec.name}**: checking the ${trained.framework.name} model's ONNX against its own holdout scores`);
  return packageModel({ spec, snapshotUri: input.snapshotUri, pipelineUri: input.pipelineUri, trained, profileUri: input.profileUri });
}
