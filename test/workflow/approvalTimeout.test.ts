import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startLifecycle } from '../../src/client/startLifecycle';
import { openRegistry } from '../../src/registry/open';
import { approveUpdate, retrainNowUpdate, statusQuery } from '../../workflows';
import { timeSkippingWorker } from '../helpers/timeSkipping';
import { smallFlightsSpec } from '../helpers/specs';
import { refusedUpdate, waitForStatus } from '../helpers/lifecycle';
import { signers } from '../helpers/signing';
import { lifetimeOnServerClock } from '../helpers/signedActions';

// Time-skipping test server: the 72-hour approval timeout passes in moments. Only the
// clock is skipped; training, the registry and the model server are real.
const stack = timeSkippingWorker('approval-timeout');

test('nobody decides within 72 h: the candidate is rejected as expired and the champion stays', async () => {
  const loaded = smallFlightsSpec((raw) => {
    raw.approval = { approvers: ['ml-lead'], operators: ['ml-lead', 'bob'], timeout: '72h' };
    raw.evaluation = { gates: { min: { auc: 0.55 } } };
    raw.rollout = { deployTimeout: '30s' };
  });
  // Keys before the lifecycle starts: it loads them when it starts.
  const people = await signers(stack.config, ['ml-lead', 'bob']);
  const { handle } = await startLifecycle(stack.env.client, stack.config, loaded, 'alice');
  // Valid for a day of the lifecycle's clock, which the test moves days ahead of the wall clock.
  const signed = async <T extends Record<string, unknown>>(action: string, args: T & { by: string }) =>
    people.sign(handle.workflowId, action, args, await lifetimeOnServerClock(stack.env));
  await waitForStatus(handle, (s) => s.stage === 'AWAITING_APPROVAL' && s.candidate?.version === 1, 'candidate v1');
  await handle.executeUpdate(approveUpdate, { args: [await signed('approve', { version: 1, by: 'ml-lead', reason: 'first champion' })] });
  await waitForStatus(handle, (s) => s.stage === 'SERVING' && s.champion?.version === 1, 'v1 served');

  await handle.executeUpdate(retrainNowUpdate, { args: [await signed('retrainNow', { by: 'bob', reason: 'a challenger nobody will look at' })] });
  const pending = await waitForStatus(handle, (s) => s.stage === 'AWAITING_APPROVAL' && s.candidate?.version === 2, 'candidate v2');
  const deadline = Date.parse(pending.candidate!.approvalDeadline!);

  await stack.env.sleep('71h');
  assert.equal((await handle.query(statusQuery)).stage, 'AWAITING_APPROVAL', 'still waiting before the deadline');
  await stack.env.sleep('2h');
  const s = await waitForStatus(handle, (st) => st.stage === 'SERVING' && st.candidate === null, 'the candidate to expire');
  assert.equal(s.champion?.version, 1, 'the champion is unchanged');
  const expired = s.history.find((h) => h.event === 'expired');
  assert.equal(expired?.version, 2);
  assert.ok((await stack.env.currentTimeMs()) >= deadline);

  const registry = openRegistry(stack.config);
  try {
    const rows = (await registry.ledger('flight-delays')).filter((e) => e.version === 2);
    assert.deepEqual(rows.map((e) => e.decision), ['trained', 'gate-passed', 'expired']);
    assert.equal((await registry.alias('flight-delays', 'champion'))?.version, 1);
  } finally {
    await registry.close();
  }
  await refusedUpdate(handle.executeUpdate(approveUpdate, { args: [await signed('approve', { version: 2, by: 'ml-lead', reason: 'too late' })] }), /no candidate is awaiting approval/);
});
