import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { startLifecycle } from '../../src/client/startLifecycle';
import { openRegistry } from '../../src/registry/open';
import { approveUpdate, rejectSignal, rejectUpdate, retrainNowUpdate, statusQuery, updateSpecUpdate, type lifecycle } from '../../workflows';
import { timeSkippingWorker } from '../helpers/timeSkipping';
import { smallFlightsSpec } from '../helpers/specs';
import { refusedUpdate, waitForStatus } from '../helpers/lifecycle';
import { recordHistoryOnPurpose } from '../helpers/histories';
import { signers, type Signers } from '../helpers/signing';
import { lifetimeOnServerClock, signedSpecUpdate } from '../helpers/signedActions';

// A lifecycle with no champion: its first candidate fails the gate (IDLE), then the next is
// rejected — by signal, as `temporal workflow signal` or the Web UI sends it. Time-skipping
// test server; training, the registry and the model server are real.
const stack = timeSkippingWorker('idle-lifecycle');
let handle: WorkflowHandle<typeof lifecycle>;
let people: Signers;

/** `args` signed by `args.by` for this lifecycle, valid for a day of its clock. */
async function signed<T extends Record<string, unknown>>(action: string, args: T & { by: string }): Promise<T> {
  return people.sign(handle.workflowId, action, args, await lifetimeOnServerClock(stack.env));
}

const spec = (minAuc: number) =>
  smallFlightsSpec((raw) => {
    raw.approval = { approvers: ['ml-lead', 'ops-lead'], operators: ['ml-lead', 'ops-lead', 'bob'], timeout: '72h' };
    raw.evaluation = { gates: { min: { auc: minAuc } } };
    raw.rollout = { deployTimeout: '20s' };
  });

async function ledger() {
  const registry = openRegistry(stack.config);
  try {
    return await registry.ledger('flight-delays');
  } finally {
    await registry.close();
  }
}

async function decisions(): Promise<string[]> {
  return (await ledger()).map((e) => `${e.decision}${e.version ? ` v${e.version}` : ''}${e.decision === 'rejected' ? ` by ${e.by}` : ''}`);
}

/** The ledger row of `decision` on `version`, signed by `name` with the key they have. */
async function assertSignedRow(decision: string, version: number, name: string): Promise<void> {
  const row = (await ledger()).find((e) => e.decision === decision && e.version === version);
  assert.equal(row?.signer?.name, name, `${decision} v${version} signed by ${name}`);
  assert.equal(row?.signer?.fingerprint, people.key(name).fingerprint);
}

async function predictStatus(): Promise<{ status: number; body: { error?: string } }> {
  const res = await fetch(`${stack.config.server.url}/v1/models/flight-delays:predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances: [{ date: '2001-01-04T08:30:00', distance: 500, origin: 'ORD', destination: 'ATL' }] }),
  });
  return { status: res.status, body: (await res.json()) as { error?: string } };
}

test('the first candidate fails its gate: the lifecycle rests IDLE, with no champion and the reasons recorded', async () => {
  // Keys before the lifecycle starts: it loads them when it starts.
  people = await signers(stack.config, ['ml-lead', 'ops-lead', 'bob', ...Array.from({ length: 24 }, (_, i) => `nobody-${i}`)]);
  ({ handle } = await startLifecycle(stack.env.client, stack.config, spec(0.99), 'alice'));
  const s = await waitForStatus(handle, (st) => st.history.some((h) => h.event === 'gate-failed' && h.version === 1), 'the gate to fail v1');
  assert.equal(s.stage, 'IDLE');
  assert.equal(s.champion, null);
  assert.equal(s.candidate, null);
  assert.match(s.history.find((h) => h.event === 'gate-failed')!.reason ?? '', /auc 0\.\d{4} < minimum 0\.99/);
  assert.deepEqual(await decisions(), ['trained v1', 'gate-failed v1']);
  // Nothing is served: the model is known (it has a version) but has no champion.
  const predicted = await predictStatus();
  assert.equal(predicted.status, 503);
  assert.match(predicted.body.error ?? '', /has no champion loaded yet/);
  await refusedUpdate(handle.executeUpdate(approveUpdate, { args: [await signed('approve', { version: 1, by: 'ml-lead', reason: 'anyway' })] }), /no candidate is awaiting approval \(stage IDLE\)/);
});

test('from IDLE a retrain is allowed; its candidate rejected by signal leaves the lifecycle IDLE, the rejection in the ledger', async () => {
  // A spec that does not validate is refused with its problems and changes nothing.
  const invalid = { ...spec(0.55).spec, evaluation: { gates: { min: { auc: 'high' } } } };
  const lifetime = await lifetimeOnServerClock(stack.env);
  await refusedUpdate(handle.executeUpdate(updateSpecUpdate, { args: [signedSpecUpdate(people, handle.workflowId, { spec: invalid, by: 'ml-lead', reason: 'typo' }, { by: 'ops-lead', reason: 'typo' }, lifetime)] }), /^invalid spec: evaluation\.gates\.min\.auc: /);
  assert.equal((await handle.query(statusQuery)).specVersion, 1);
  // A change to the gates, with separation of duties: signed by one approver, co-signed by another.
  await handle.executeUpdate(updateSpecUpdate, { args: [signedSpecUpdate(people, handle.workflowId, { spec: spec(0.55).spec, by: 'ml-lead', reason: 'a reachable bar' }, { by: 'ops-lead', reason: 'agreed' }, lifetime)] });
  assert.equal((await handle.query(statusQuery)).specVersion, 2);
  await handle.executeUpdate(retrainNowUpdate, { args: [await signed('retrainNow', { by: 'bob', reason: 'try again' })] });
  await waitForStatus(handle, (s) => s.stage === 'AWAITING_APPROVAL' && s.candidate?.version === 2, 'candidate v2');

  // A malformed signal changes nothing and is listed as refused; a valid one rejects.
  await handle.signal(rejectSignal, await signed('reject', { version: 2, by: 'ml-lead' }));
  const refused = await waitForStatus(handle, (s) => s.refused.length > 0, 'the malformed signal to be refused');
  assert.equal(refused.stage, 'AWAITING_APPROVAL');
  assert.match(refused.refused.at(-1)!.reason, /reason/);
  // Refused signals are kept in workflow state, bounded: the newest 20 (everything is in the worker's log).
  for (let i = 0; i < 24; i++) await handle.signal(rejectSignal, await signed('reject', { version: 2, by: `nobody-${i}`, reason: 'not an approver' }));
  const bounded = await waitForStatus(handle, (s) => s.refused.some((r) => r.by === 'nobody-23'), 'the last refused signal');
  assert.equal(bounded.refused.length, 20);
  assert.equal(bounded.refused[0].by, 'nobody-4', 'the oldest refusals were dropped first');
  assert.match(bounded.refused.at(-1)!.reason, /nobody-23 is not an allowed approver/);
  await handle.signal(rejectSignal, await signed('reject', { version: 2, by: 'ops-lead', reason: 'late-rate features look stale' }));
  const s = await waitForStatus(handle, (st) => st.history.some((h) => h.event === 'rejected' && h.version === 2), 'v2 to be rejected');
  assert.equal(s.stage, 'IDLE');
  assert.equal(s.champion, null);
  assert.equal(s.candidate, null);
  assert.deepEqual(await decisions(), ['trained v1', 'gate-failed v1', 'spec-updated', 'retrain-requested', 'trained v2', 'gate-passed v2', 'rejected v2 by ops-lead']);
  await assertSignedRow('rejected', 2, 'ops-lead');
  assert.equal((await predictStatus()).status, 503, 'a rejected candidate is never served');
});

test('a candidate rejected by update: the reason comes back at once; the next one can still be approved', async () => {
  await handle.executeUpdate(retrainNowUpdate, { args: [await signed('retrainNow', { by: 'bob', reason: 'third try' })] });
  await waitForStatus(handle, (s) => s.stage === 'AWAITING_APPROVAL' && s.candidate?.version === 3, 'candidate v3');
  const ack = await handle.executeUpdate(rejectUpdate, { args: [await signed('reject', { version: 3, by: 'ml-lead', reason: 'not this week' })] });
  assert.equal(ack.message, 'v3 rejected by ml-lead');
  const s = await waitForStatus(handle, (st) => st.history.some((h) => h.event === 'rejected' && h.version === 3), 'v3 to be rejected');
  assert.equal(s.stage, 'IDLE');
  assert.equal((await handle.query(statusQuery)).champion, null);

  await handle.executeUpdate(retrainNowUpdate, { args: [await signed('retrainNow', { by: 'bob', reason: 'fourth try' })] });
  await waitForStatus(handle, (st) => st.stage === 'AWAITING_APPROVAL' && st.candidate?.version === 4, 'candidate v4');
  await handle.executeUpdate(approveUpdate, { args: [await signed('approve', { version: 4, by: 'ml-lead', reason: 'good enough' })] });
  await waitForStatus(handle, (st) => st.stage === 'SERVING' && st.champion?.version === 4, 'v4 served');
  const predicted = await predictStatus();
  assert.equal(predicted.status, 200);
  assert.deepEqual((await decisions()).filter((d) => d.startsWith('rejected') || d.startsWith('approved') || d.startsWith('deployed')), [
    'rejected v2 by ops-lead',
    'rejected v3 by ml-lead',
    'approved v4',
    'deployed v4',
  ]);
  await assertSignedRow('rejected', 3, 'ml-lead');
  await assertSignedRow('approved', 4, 'ml-lead');
  // Replay fixture: `PERENNIAL_RECORD_HISTORIES=1 npm test -- test/workflow/idle.test.ts`.
  await recordHistoryOnPurpose(stack.env.client, handle.workflowId, 'lifecycle-idle.binpb');
});
