import { ApplicationFailure } from '@temporalio/activity';
import type { ModelSpec } from '../src/spec/modelSpec';
import {
  ModelPackagingError, externalTrainRequest, packageOnnxModel, prepareMatrices as writeMatrices, requestTrainer, type PackagedModel,
} from '../src/training/externalTraining';
import type { ExternalTrainRequest, ExternalTrainResult } from '../src/training/pythonContract';
import type { ActivityDeps } from './deps';
import { asActivity } from './failures';
import { heartbeating } from './heartbeat';

/** Parity and missing code are permanent: the same model and store fail the same way again. */
async function packaging<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await asActivity(step);
  } catch (err) {
    if (err instanceof ModelPackagingError) throw ApplicationFailure.create({ type: err.type, message: err.message, nonRetryable: true, details: [err.details] });
    throw err;
  }
}

/** Writes the feature matrices a trainer on another queue trains on, and builds its request. */
export const prepareMatricesActivity = (d: ActivityDeps) =>
  async function prepareMatrices(input: { spec: ModelSpec; snapshotUri: string; pipelineUri: string; checkpointKey: string }): Promise<ExternalTrainRequest> {
    return heartbeating(() =>
      packaging(async () => {
        // The trainer's code is looked up first: a missing file fails before the matrices are written.
        const trainer = await requestTrainer(input.spec, d.store);
        const matrices = await writeMatrices(input.spec, input.snapshotUri, input.pipelineUri, d.store);
        return externalTrainRequest(input.spec, trainer, matrices, d.store, input.checkpointKey);
      }),
    );
  };

/** Checks the trainer's ONNX against its own holdout scores in Node, then stores the model artifact. */
export const packageModelActivity = (d: ActivityDeps) =>
  async function packageModel(input: { spec: ModelSpec; snapshotUri: string; pipelineUri: string; trained: ExternalTrainResult; profileUri?: string }): Promise<PackagedModel> {
    return heartbeating(() => packaging(() => packageOnnxModel(input.spec, input.snapshotUri, input.pipelineUri, input.trained, d.store, input.profileUri)));
  };
