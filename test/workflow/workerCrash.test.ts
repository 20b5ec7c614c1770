import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync } from 'node:fs';
import { startTestStack, type TestStack } from '../helpers/temporalServer';
import { setGbdtParams, smallFlightsSpec } from '../helpers/specs';
import { startTraining } from '../../src/client/startTraining';
import { openRegistry } from '../../src/registry/open';

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

test('a worker killed right after a checkpoint file is written: a new worker resumes from it and one version is registered', async () => {
  // 300 rounds, killed at the first checkpoint (round 5): the training cannot finish before the
  // kill on any machine, and the evidence waited for is the checkpoint file itself, not a
  // throttled heartbeat that a fast run may never send.
  const loaded = smallFlightsSpec((raw) => {
    raw.data.training = { start: '2001-01-01', end: '2001-01-15' };
    raw.data.holdout = { start: '2001-01-15', end: '2001-01-17' };
    setGbdtParams(raw, { rounds: 300, maxDepth: 6 }, 5);
  });
  const first = spawnWorker();
  const handle = await startTraining(stack.client, stack.config, loaded, 'crash-test');
  const checkpoint = path.join(stack.home, 'artifacts', 'checkpoints', `${encodeURIComponent(handle.workflowId)}.json`);
  const deadline = Date.now() + 180_000;
  while (!existsSync(checkpoint)) {
    assert.ok(Date.now() < deadline, 'no checkpoint file within 3 minutes');
    await sleep(20);
  }
  first.kill('SIGKILL');
  await new Promise((resolve) => first.once('exit', resolve));
  const reported = { checkpoint: { round: 5 } };

  spawnWorker();
  const result = await handle.result();
  assert.ok(result.training.resumedFromRound >= reported.checkpoint.round, `resumed from round ${result.training.resumedFromRound}`);
  assert.ok(result.training.resumedFromRound > 0, 'the second attempt started past round 0');
  assert.equal(result.training.rounds, 300);

  const history = await handle.fetchHistory();
  const trainAttempts = (history.events ?? []).flatMap((e) => (e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt] : []));
  assert.ok(trainAttempts.some((a) => (a ?? 0) >= 2), 'the train activity ran a second attempt');

  const registry = openRegistry({ home: stack.home });
  try {
    assert.equal((await registry.versions('flight-delays')).length, 1);
  } finally {
    await registry.close();
  }
});
