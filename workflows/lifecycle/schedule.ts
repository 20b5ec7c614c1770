import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { ModelSpec } from '../../src/spec/modelSpec';

export type RetrainSchedule = NonNullable<ModelSpec['retrain']>['schedule'];

/** Keeps the Temporal schedule that asks for the spec's scheduled retrains (none: deleted). */
export async function syncSchedule(model: string, schedule: RetrainSchedule | null): Promise<void> {
  const { syncRetrainSchedule } = proxyActivities<Activities>({
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 10 },
    summary: schedule ? `keep the retrain schedule of ${model}` : `delete the retrain schedule of ${model}`,
  });
  await syncRetrainSchedule({ model, schedule });
}
