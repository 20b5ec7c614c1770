import { Context } from '@temporalio/activity';
import type { ModelSpec } from '../src/spec/modelSpec';
import { trainModel, type TrainProgressReport, type TrainedModel } from '../src/training/steps';
import type { ActivityDeps } from './deps';
import { asActivity } from './failures';

/**
 * Heartbeats carry progress and the latest checkpoint; a retried attempt (say, after
 * the worker died) reads them back and resumes from that checkpoint.
 */
export const trainActivity = (d: ActivityDeps) =>
  async function train(input: { spec: ModelSpec; snapshotUri: string; pipelineUri: string; checkpointKey: string; profileUri?: string }): Promise<TrainedModel> {
    const ctx = Context.current();
    const last = ctx.info.heartbeatDetails as TrainProgressReport | undefined;
    if (last?.checkpoint) ctx.log.info('resuming training from checkpoint', { round: last.checkpoint.round });
    return asActivity(() =>
      trainModel(input.spec, input.snapshotUri, input.pipelineUri, d.store, {
        checkpointKey: input.checkpointKey,
        profileUri: input.profileUri,
        resumeFrom: last?.checkpoint,
        onProgress: (p) => ctx.heartbeat(p),
      }),
    );
  };
