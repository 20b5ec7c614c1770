import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import { createWorker } from '../../src/worker/createWorker';
import { startLifecycle } from '../../src/client/startLifecycle';
import type { MonitorCheckInput, MonitorCheckSummary } from '../../src/monitoring/check';
import { approveUpdate } from '../../workflows';
import { startTestStack, workflowBundle, type TestStack } from '../helpers/temporalServer';
import { stubActivities } from '../helpers/stubActivities';
import { smallFlightsSpec } from '../helpers/specs';
import { stubCheck } from '../helpers/stubChecks';
import { localActivityMarker } from '../../src/temporal/localActivityMarkers';
import { waitForStatus } from '../helpers/lifecycle';
import { signers } from '../helpers/signing';

/**
 * Monitor checks run as local activities, inside the workflow task their timer woke. What a
 * user relies on still holds: a check that fails for a moment is retried, one that cannot
 * succeed is noted and the next one runs, and a worker killed mid-check loses nothing: the
 * same check (same key) runs again on another worker. On a real dev server, stub training.
 */

const ROOT = path.resolve(__dirname, '../..');
let stack: TestStack;
const children: ChildProcess[] = [];

before(async () => {
  stack = await startTestStack();
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await stack?.stop();
});

const quietCheck = (input: MonitorCheckInput) => stubCheck(input, { rows: 500, score: 0.02, breached: false, enoughData: true });

/** A worker whose `checkChampion` answers from `answer`; `calls` are the keys of the checks it ran. */
async function checkingWorker(answer: (input: MonitorCheckInput, call: number) => MonitorCheckSummary): Promise<{ calls: string[]; stop: () => Promise<void> }> {
  const calls: string[] = [];
  const worker = await createWorker({
    config: stack.config,
    connection: stack.workerConnection,
    workflowBundle: await workflowBundle(),
    activities: {
      ...stubActivities(stack.config),
      checkChampion: async (input: MonitorCheckInput) => {
        calls.push(input.checkKey);
        return answer(input, calls.length - 1);
      },
    },
  });
  const running = worker.run();
  return {
    calls,
    stop: async () => {
      worker.shutdown();
      await running;
    },
  };
}

const monitored = (name: string) =>
  smallFlightsSpec((raw) => {
    raw.name = name;
    raw.approval = { approvers: ['ml-lead'], timeout: '1h' };
    raw.monitoring = { interval: '2s', minRows: 200 };
    raw.retrain = { onDrift: null, onPerformance: false };
  });

async function serve(name: string): Promise<WorkflowHandle> {
  const people = await signers(stack.config, ['ml-lead']);
  const { handle } = await startLifecycle(stack.client, stack.config, monitored(name), 'alice');
  await waitForStatus(handle, (s) => s.stage === 'AWAITING_APPROVAL', `${name} v1 awaiting approval`, 60_000);
  await handle.executeUpdate(approveUpdate, { args: [people.sign(handle.workflowId, 'approve', { version: 1, by: 'ml-lead', reason: 'serve it' })] });
  return handle;
}

/** The checks of a history as Temporal recorded them: local-activity markers, and activity tasks. */
async function recordedChecks(handle: WorkflowHandle): Promise<{ markers: { attempt: number; failed: boolean }[]; activityTasks: number }> {
  const events = (await handle.fetchHistory()).events ?? [];
  const markers = events.flatMap((e) => {
    const m = localActivityMarker(e);
    return m?.activityType === 'checkChampion' ? [{ attempt: m.attempt, failed: m.failed }] : [];
  });
  const activityTasks = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'checkChampion').length;
  return { markers, activityTasks };
}

test('a check that fails for a moment is retried within its task; one that cannot succeed is noted, and the next check runs', async () => {
  const script: ((input: MonitorCheckInput) => MonitorCheckSummary)[] = [
    () => {
      throw new Error('the prediction log is briefly unreachable');
    },
    quietCheck,
    () => {
      throw ApplicationFailure.nonRetryable('prediction log has no column origin', 'MonitorError');
    },
    quietCheck,
  ];
  const { calls, stop } = await checkingWorker((input, call) => script[Math.min(call, script.length - 1)](input));
  let handle: WorkflowHandle | undefined;
  try {
    handle = await serve('checks-fail');
    // Four checks begun: the first three are recorded whole.
    const s = await waitForStatus(handle, (st) => st.monitoring.checks >= 4, 'a failed check, then good ones', 90_000);
    const failed = s.history.find((h) => h.event === 'check-failed')!;
    assert.equal(failed.version, 1);
    assert.match(String(failed.reason), /prediction log has no column origin/, 'the note says why the check failed');
    assert.equal(s.stage, 'SERVING', 'a failed check changes nothing else');
    assert.equal(calls[0], calls[1], 'the transient failure was retried as the same check (same key)');
    assert.notEqual(calls[2], calls[3], 'after the failed check, the next one is a new check');

    const { markers, activityTasks } = await recordedChecks(handle);
    assert.equal(activityTasks, 0, 'no check went through an activity task');
    assert.deepEqual(markers.slice(0, 3), [
      { attempt: 2, failed: false },
      { attempt: 1, failed: true },
      { attempt: 1, failed: false },
    ]);
  } finally {
    // Its checks must not reach the next test's worker.
    await handle?.terminate('test over');
    await stop();
  }
});

test('a worker killed mid-check: the same check runs again on another worker, and checking goes on', async () => {
  const heldFile = path.join(stack.home, 'held-check');
  const holder = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/helpers/checkHoldingWorker.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...stack.env, PERENNIAL_TEST_HELD_CHECK: heldFile },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(holder);
  const handle = await serve('checks-killed');
  // Durable evidence the first check is running on the holder: it wrote its key.
  const deadline = Date.now() + 120_000;
  while (!existsSync(heldFile)) {
    assert.ok(Date.now() < deadline, 'the first check did not start within 2 minutes');
    await sleep(100);
  }
  const heldKey = readFileSync(heldFile, 'utf8');
  holder.kill('SIGKILL');
  await new Promise((r) => holder.once('exit', r));

  const { calls, stop } = await checkingWorker(quietCheck);
  try {
    const s = await waitForStatus(handle, (st) => st.monitoring.checks >= 2 && st.monitoring.lastCheck !== null, 'two checks after the kill', 90_000);
    assert.equal(calls[0], heldKey, 'the check the killed worker held ran again, under its own key');
    assert.equal(s.stage, 'SERVING');
    assert.ok(!s.history.some((h) => h.event === 'check-failed'), 'the lost check is not recorded as failed');
    const { markers, activityTasks } = await recordedChecks(handle);
    assert.equal(activityTasks, 0);
    assert.ok(markers.length >= 2 && markers.every((m) => !m.failed), 'each check recorded once, completed');
  } finally {
    await stop();
  }
});
