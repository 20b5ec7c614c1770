import { getExternalWorkflowHandle, workflowInfo } from '@temporalio/workflow';
import { lifecycleWorkflowId, SCHEDULE_ACTOR } from '../src/lifecycle/names';
import { retrainNowSignal } from './lifecycle';

/**
 * Started by the Temporal Schedule `retrain/<model>`: asks the lifecycle for a retrain by
 * signal, so the lifecycle's own rules (one at a time, cooldown, budget) decide. A refused
 * request is listed in the lifecycle's `status.refused` with its reason. Unsigned: the
 * lifecycle takes it only while its spec has a retrain schedule (src/lifecycle/actionRules.ts).
 */
export async function scheduledRetrain(input: { model: string }): Promise<void> {
  const lifecycle = getExternalWorkflowHandle(lifecycleWorkflowId(input.model));
  await lifecycle.signal(retrainNowSignal, { by: SCHEDULE_ACTOR, reason: `scheduled retrain (${workflowInfo().workflowId})` });
}
