import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultPayloadConverter } from '@temporalio/common';
import { startTestStack, type TestStack } from '../helpers/temporalServer';
import { smallFlightsSpec } from '../helpers/specs';
import { startTraining } from '../../src/client/startTraining';
import { Registry } from '../../src/registry/registry';
import type { TrainProgressReport } from '../../src/training/steps';

const ROOT = path.resolve(__dirname, '../..');
let stack: TestStack;
const children: ChildProcess[] = [];

/** A worker in its own process, exactly as `npm run worker` runs it, so it can be killed. */
function spawnWorker(): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/worker.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...stack.env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

before(async () => {
  stack = await startTestStack();
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await stack.stop();
});

test('a worker killed mid-training: a new worker resumes from the last checkpoint and one version is registered', async () => {
  const loaded = smallFlightsSpec((raw) => {
    raw.data.training = { start: '2001-01-01', end: '2001-01-15' };
    raw.data.holdout = { start: '2001-01-15', end: '2001-01-17' };
    raw.trainer.params = { ...raw.trainer.params, rounds: 150, maxDepth: 6 };
    raw.trainer.checkpointEvery = 5;
  });
  const first = spawnWorker();
  const handle = await startTraining(stack.client, stack.config, loaded, 'crash-test');

  // Wait until the server holds a heartbeat that names a checkpoint.
  let reported: TrainProgressReport | undefined;
  const deadline = Date.now() + 180_000;
  while (!reported?.checkpoint) {
    assert.ok(Date.now() < deadline, 'no checkpoint heartbeat within 3 minutes');
    const { raw } = await handle.describe();
    const pending = raw.pendingActivities?.find((a) => a.activityType?.name === 'train');
    const payload = pending?.heartbeatDetails?.payloads?.[0];
    if (payload) reported = defaultPayloadConverter.fromPayload<TrainProgressReport>(payload);
    await sleep(250);
  }
  assert.equal(reported.rounds, 150);
  first.kill('SIGKILL');
  await new Promise((resolve) => first.once('exit', resolve));

  spawnWorker();
  const result = await handle.result();
  assert.ok(result.training.resumedFromRound >= reported.checkpoint.round, `resumed from round ${result.training.resumedFromRound}`);
  assert.ok(result.training.resumedFromRound > 0, 'the second attempt started past round 0');
  assert.equal(result.training.rounds, 150);

  const history = await handle.fetchHistory();
  const trainAttempts = (history.events ?? []).flatMap((e) => (e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt] : []));
  assert.ok(trainAttempts.some((a) => (a ?? 0) >= 2), 'the train activity ran a second attempt');

  const registry = Registry.forHome(stack.home);
  try {
    assert.equal(registry.versions('flight-delays').length, 1);
  } finally {
    registry.close();
  }
});
