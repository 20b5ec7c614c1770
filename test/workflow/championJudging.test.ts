import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { timeSkippingWorker } from '../helpers/timeSkipping';
import { stubActivities } from '../helpers/stubActivities';
import { signers } from '../helpers/signing';
import { smallFlightsSpec } from '../helpers/specs';
import { waitForStatus } from '../helpers/lifecycle';
import { lifetimeOnServerClock } from '../helpers/signedActions';
import { recordHistoryOnPurpose } from '../helpers/histories';
import { startLifecycle } from '../../src/client/startLifecycle';
import { approveUpdate, retrainNowUpdate } from '../../workflows';

// The champion cannot be scored on a retrain's holdout (its artifact gone, say): the candidate
// goes unjudged and the champion keeps serving — the lifecycle itself does not fail. Stub
// training and deploys; the failing evaluation is the point.
const stack = timeSkippingWorker('judging', (config) => ({
  ...stubActivities(config),
  evaluateVersion: async () => {
    throw ApplicationFailure.nonRetryable('the registry has no artifact for v1', 'VersionNotFound');
  },
}));

test('a champion that cannot be scored on the candidate holdout: recorded, the champion stays, the lifecycle goes on', async () => {
  const loaded = smallFlightsSpec((raw) => {
    raw.name = 'judging';
    raw.approval = { approvers: ['ml-lead'], timeout: '72h' };
  });
  const people = await signers(stack.config, ['ml-lead']);
  const { handle } = await startLifecycle(stack.env.client, stack.config, loaded, 'alice');
  await waitForStatus(handle, (s) => s.stage === 'AWAITING_APPROVAL' && s.candidate?.version === 1, 'v1 awaiting approval', 60_000);
  await handle.executeUpdate(approveUpdate, { args: [people.sign(handle.workflowId, 'approve', { version: 1, by: 'ml-lead', reason: 'first' }, await lifetimeOnServerClock(stack.env))] });
  await waitForStatus(handle, (s) => s.champion?.version === 1, 'v1 served', 60_000);
  await handle.executeUpdate(retrainNowUpdate, { args: [people.sign(handle.workflowId, 'retrainNow', { by: 'ml-lead', reason: 'new data' }, await lifetimeOnServerClock(stack.env))] });
  const s = await waitForStatus(handle, (st) => st.history.some((h) => h.event === 'training-failed'), 'the unjudged candidate recorded', 60_000);
  const failed = s.history.find((h) => h.event === 'training-failed')!;
  assert.equal(failed.version, 2);
  assert.match(failed.reason ?? '', /champion v1 could not be scored on its holdout: the registry has no artifact for v1/);
  assert.equal(s.champion?.version, 1);
  assert.equal(s.candidate, null, 'nothing awaits approval');
  assert.equal(s.stage, 'SERVING');
  assert.equal((await handle.describe()).status.name, 'RUNNING');
  await recordHistoryOnPurpose(stack.env.client, handle.workflowId, 'lifecycle-unjudged-candidate.binpb');
});
