/**
 * The bare-SDK baseline for the training pipeline's per-step orchestration: a workflow that
 * runs `steps` activities one after another, each doing nothing, on the same server.
 */
import { proxyActivities } from '@temporalio/workflow';

const { step } = proxyActivities<{ step(n: number): Promise<number> }>({ startToCloseTimeout: '1 minute' });

export async function bareSteps(steps: number): Promise<number> {
  let done = 0;
  for (let n = 0; n < steps; n++) done += await step(n);
  return done;
}
