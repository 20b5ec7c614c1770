/**
 * Training on its own task queue, really run on a Temporal dev server: a worker with role
 * `orchestration` runs the workflow, the training steps wait on `<queue>-training` until a
 * worker with role `training` polls it, and the run then registers its version.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { temporal } from '@temporalio/proto';
import { startTestStack, workflowBundle, type TestStack } from '../helpers/temporalServer';
import { smallFlightsSpec } from '../helpers/specs';
import { registeredVersions } from '../helpers/registry';
import { createWorker, type PerennialWorker } from '../../src/worker/createWorker';
import { startTraining } from '../../src/client/startTraining';
import { trainingTaskQueue } from '../../src/temporal/taskQueues';
import { loadConfig } from '../../src/config';

let stack: TestStack;
const running: { worker: PerennialWorker; run: Promise<void> }[] = [];

before(async () => {
  stack = await startTestStack();
});

after(async () => {
  for (const r of running) r.worker.shutdown();
  await Promise.all(running.map((r) => r.run));
  await stack.stop();
});

async function startWorker(role: 'orchestration' | 'training'): Promise<PerennialWorker> {
  const worker = await createWorker({ config: stack.config, connection: stack.workerConnection, workflowBundle: await workflowBundle(), role });
  running.push({ worker, run: worker.run() });
  return worker;
}

/** Each scheduled activity of a run: its type and the task queue it was scheduled on. */
async function scheduledSteps(workflowId: string): Promise<{ type: string; queue: string }[]> {
  const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? [])
    .map((e: temporal.api.history.v1.IHistoryEvent) => e.activityTaskScheduledEventAttributes)
    .filter((a): a is temporal.api.history.v1.IActivityTaskScheduledEventAttributes => !!a)
    .map((a) => ({ type: a.activityType?.name ?? '', queue: a.taskQueue?.name ?? '' }));
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('the training steps run on <queue>-training, by a worker of their own; the workflow and registration on the main queue', async () => {
  const orchestration = await startWorker('orchestration');
  const training = trainingTaskQueue(stack.config.taskQueue);
  assert.deepEqual(orchestration.taskQueues, [stack.config.taskQueue]);

  const handle = await startTraining(stack.client, stack.config, smallFlightsSpec(), 'alice');
  // With no one polling the training queue, the snapshot is scheduled there and waits.
  const first = await waitFor('the snapshot step scheduled', async () => {
    const steps = await scheduledSteps(handle.workflowId);
    return steps.length > 0 ? steps : undefined;
  });
  assert.deepEqual(first, [{ type: 'ingest', queue: training }]);
  const { pendingActivities } = await handle.describe().then((d) => d.raw);
  assert.equal(pendingActivities?.length, 1);
  assert.equal((await registeredVersions(stack.home, 'flight-delays')).length, 0);

  const trainer = await startWorker('training');
  assert.deepEqual(trainer.taskQueues, [training]);
  const result = await handle.result();
  assert.equal(result.version, 1);
  assert.deepEqual(await scheduledSteps(handle.workflowId), [
    { type: 'ingest', queue: training },
    { type: 'validateData', queue: training },
    { type: 'train', queue: training },
    { type: 'evaluate', queue: training },
    { type: 'register', queue: stack.config.taskQueue },
  ]);
  assert.equal((await registeredVersions(stack.home, 'flight-delays')).length, 1);
});

test('PERENNIAL_WORKER_ROLE: all by default, orchestration or training, anything else refused by name', () => {
  const env = { PERENNIAL_HOME: stack.home };
  assert.equal(loadConfig(env).workerRole, 'all');
  assert.equal(loadConfig({ ...env, PERENNIAL_WORKER_ROLE: 'training' }).workerRole, 'training');
  assert.throws(() => loadConfig({ ...env, PERENNIAL_WORKER_ROLE: 'trainer' }), /PERENNIAL_WORKER_ROLE: .*"orchestration"/);
});
