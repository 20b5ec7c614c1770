/**
 * The bare-SDK baseline for the training pipeline's per-step orchestration: a workflow that
 * runs `steps` activities one after another, each doing nothing, on the same server. With
 * `eager` false its steps go through matching, as perennial's steps on the training queue
 * must; with it true the server hands each step straight back with the workflow task that
 * scheduled it (activity eager execution, where the server allows it).
 */
import { proxyActivities } from '@temporalio/workflow';

type Step = { step(n: number): Promise<number> };

export async function bareSteps(steps: number, eager: boolean): Promise<number> {
  const { step } = proxyActivities<Step>({ startToCloseTimeout: '1 minute', allowEagerDispatch: eager });
  let done = 0;
  for (let n = 0; n < steps; n++) done += await step(n);
  return done;
}
