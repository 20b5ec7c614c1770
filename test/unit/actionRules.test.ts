import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDecision, checkPause, checkResume, checkRetrain, checkRollback, type LifecycleView } from '../../src/lifecycle/actionRules';
import { smallFlightsSpec } from '../helpers/specs';

const spec = smallFlightsSpec((raw) => {
  raw.approval = { approvers: ['ml-lead', 'ops-lead'], separationOfDuties: true };
  raw.monitoring = { interval: '1h' };
  raw.retrain = { cooldown: '6h', budget: { max: 2, per: '7d' } };
}).spec;
const now = Date.parse('2026-11-27T12:00:00Z');

function view(over: Partial<LifecycleView> = {}): LifecycleView {
  return {
    model: spec.name, stage: 'SERVING', spec, champion: { version: 1 }, candidate: null, approvedVersions: [1], paused: null, retrainStarts: [],
    pending: { decision: null, rollbackTo: null, retire: false, retrain: false }, nowMs: now, rollbackWithdrawsCandidate: true, auth: null, ...over,
  };
}
const reason = (c: { ok: boolean; reason?: string }) => (c.ok ? 'accepted' : c.reason);

test('approve: the pending version, an allowed approver, not the trainer, once', () => {
  const awaiting = view({ stage: 'AWAITING_APPROVAL', candidate: { version: 2, trainedBy: 'ml-lead' } });
  assert.equal(reason(checkDecision(awaiting, 'approve', { version: 2, by: 'ops-lead', reason: 'ok' })), 'accepted');
  assert.match(reason(checkDecision(awaiting, 'approve', { version: 1, by: 'ops-lead', reason: 'ok' }))!, /v1 is stale: the pending candidate is v2/);
  assert.match(reason(checkDecision(awaiting, 'approve', { version: 2, by: 'mallory', reason: 'ok' }))!, /not an allowed approver/);
  assert.match(reason(checkDecision(awaiting, 'approve', { version: 2, by: 'ml-lead', reason: 'ok' }))!, /separation of duties/);
  assert.equal(reason(checkDecision(awaiting, 'reject', { version: 2, by: 'ml-lead', reason: 'no' })), 'accepted', 'the trainer may reject');
  const decided = view({ ...awaiting, pending: { decision: { kind: 'approve', by: 'ops-lead' }, rollbackTo: null, retire: false, retrain: false } });
  assert.match(reason(checkDecision(decided, 'approve', { version: 2, by: 'ops-lead', reason: 'again' }))!, /already approved by ops-lead/);
  assert.match(reason(checkDecision(view(), 'approve', { version: 2, by: 'ops-lead', reason: 'ok' }))!, /no candidate is awaiting approval \(stage SERVING\)/);
  assert.match(reason(checkDecision(awaiting, 'approve', { version: '2', by: 'ops-lead' }))!, /malformed payload: version: .*; reason: /);
});

test('retrainNow: one at a time, not during an approval, not within the cooldown or past the budget', () => {
  const ask = { by: 'bob', reason: 'new data' };
  assert.equal(reason(checkRetrain(view(), ask)), 'accepted');
  assert.equal(reason(checkRetrain(view({ stage: 'PAUSED' }), ask)), 'accepted');
  assert.match(reason(checkRetrain(view({ stage: 'TRAINING' }), ask))!, /a training is already in progress/);
  assert.match(reason(checkRetrain(view({ pending: { decision: null, rollbackTo: null, retire: false, retrain: true } }), ask))!, /already in progress/);
  assert.match(reason(checkRetrain(view({ stage: 'AWAITING_APPROVAL', candidate: { version: 2, trainedBy: 'x' } }), ask))!, /v2 awaits a decision/);
  assert.match(reason(checkRetrain(view({ retrainStarts: [new Date(now - 3_600_000).toISOString()] }), ask))!, /cooling down until 2026-11-27T17:00:00.000Z/);
  const twoThisWeek = [new Date(now - 3 * 86_400_000).toISOString(), new Date(now - 86_400_000).toISOString()];
  assert.match(reason(checkRetrain(view({ retrainStarts: twoThisWeek }), ask))!, /budget spent: 2 retrains in the last 7d/);
});

test('pause and resume; rollback also while paused', () => {
  const ask = { by: 'ops-lead', reason: 'migration' };
  assert.equal(reason(checkPause(view(), ask)), 'accepted');
  const paused = view({ stage: 'PAUSED', paused: { by: 'ops-lead', at: '2026-11-27T11:00:00Z' } });
  assert.match(reason(checkPause(paused, ask))!, /already paused \(by ops-lead/);
  assert.equal(reason(checkResume(paused, ask)), 'accepted');
  assert.match(reason(checkResume(view(), ask))!, /not paused/);
  const noMonitoring = view({ spec: { ...spec, monitoring: undefined } });
  assert.match(reason(checkPause(noMonitoring, ask))!, /no monitoring section: nothing to pause/);
  const served = view({ stage: 'PAUSED', champion: { version: 2 }, approvedVersions: [1, 2], paused: { by: 'x', at: 'y' } });
  assert.equal(reason(checkRollback(served, { toVersion: 1, by: 'ml-lead', reason: 'v2 misbehaves' })), 'accepted');
  assert.match(reason(checkRollback(served, { toVersion: 3, by: 'ml-lead', reason: 'x' }))!, /v3 was never approved and served here/);
});

test('rollback while a candidate awaits approval: accepted (it withdraws the candidate), unless a decision on it is under way or the lifecycle predates the rule', () => {
  const ask = { toVersion: 1, by: 'ops-lead', reason: 'v2 misbehaves in production' };
  const awaiting = view({ stage: 'AWAITING_APPROVAL', champion: { version: 2 }, approvedVersions: [1, 2], candidate: { version: 3, trainedBy: 'bob' } });
  assert.equal(reason(checkRollback(awaiting, ask)), 'accepted');
  const approving = view({ ...awaiting, pending: { decision: { kind: 'approve', by: 'ml-lead' }, rollbackTo: null, retire: false, retrain: false } });
  assert.match(reason(checkRollback(approving, ask))!, /v3 was just approved by ml-lead; roll back once that is carried out/);
  assert.match(reason(checkRollback({ ...awaiting, rollbackWithdrawsCandidate: false }, ask))!, /cannot roll back while AWAITING_APPROVAL/);
  // Once the rollback is accepted, the candidate it withdraws cannot be approved in the meantime.
  const rollingBack = view({ ...awaiting, pending: { decision: null, rollbackTo: 1, retire: false, retrain: false } });
  assert.match(reason(checkDecision(rollingBack, 'approve', { version: 3, by: 'ml-lead', reason: 'ok' }))!, /a rollback to v1 is under way: v3 is withdrawn/);
  assert.equal(reason(checkDecision({ ...rollingBack, rollbackWithdrawsCandidate: false }, 'approve', { version: 3, by: 'ml-lead', reason: 'ok' })), 'accepted', 'older runs decide as they did');
  assert.match(reason(checkRollback(view({ stage: 'DEPLOYING' }), ask))!, /cannot roll back while DEPLOYING/);
  assert.match(reason(checkRollback(view({ stage: 'TRAINING', champion: { version: 2 }, approvedVersions: [1, 2] }), ask))!, /cannot roll back while TRAINING/);
});
