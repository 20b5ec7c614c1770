import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { timeSkippingWorker } from '../helpers/timeSkipping';
import { stubActivities } from '../helpers/stubActivities';
import { signers, type Signers } from '../helpers/signing';
import { smallFlightsSpec } from '../helpers/specs';
import { refusedUpdate, waitForStatus } from '../helpers/lifecycle';
import { recordHistoryOnPurpose } from '../helpers/histories';
import { openRegistry } from '../../src/registry/open';
import { createKey } from '../../src/auth/keyStore';
import type { LifecycleStatus } from '../../src/lifecycle/contract';
import { lifecycleWorkflowId } from '../../src/lifecycle/names';
import type { ModelSpecInput } from '../../src/spec/modelSpec';
import type { LoadedSpec } from '../../src/spec/load';
import {
  approveSignal,
  approveUpdate,
  pauseSignal,
  refreshKeysSignal,
  rejectSignal,
  resumeSignal,
  retireSignal,
  retrainNowSignal,
  rollbackSignal,
  updateSpecUpdate,
  type lifecycle,
} from '../../workflows';

// Who may act, what bounds a lifecycle's state, and that handlers never run ahead of the
// state they touch — on the lifecycle's state machine with stub training and deploys.
const stack = timeSkippingWorker('trust', stubActivities);
let n = 0;
let made: Signers | undefined;
/** Keys of everyone in these tests, made before the first lifecycle starts (it loads keys then). */
const makePeople = async (): Promise<Signers> => (made ??= await signers(stack.config, ['ml-lead', 'ops-lead', 'alice', 'mallory']));
const people = (): Signers => made ?? assert.fail('the keys are made first (makePeople)');

function spec(name: string, edit: (raw: ModelSpecInput) => void = () => undefined): LoadedSpec {
  return smallFlightsSpec((raw) => {
    raw.name = name;
    raw.approval = { approvers: ['ml-lead', 'ops-lead'], operators: ['ml-lead', 'ops-lead', 'alice'], separationOfDuties: true, timeout: '72h' };
    raw.monitoring = { interval: '30d' };
    edit(raw);
  });
}

async function start(loaded: LoadedSpec, extra: { continueAsNewAfter?: number; carried?: unknown } = {}): Promise<WorkflowHandle<typeof lifecycle>> {
  await makePeople();
  return stack.env.client.workflow.start<typeof lifecycle>('lifecycle', {
    workflowId: lifecycleWorkflowId(loaded.spec.name),
    taskQueue: stack.config.taskQueue,
    args: [{ spec: loaded.spec, specHash: loaded.specHash, startedBy: 'alice', searchAttributes: false, ...extra }],
  });
}

const awaiting = (h: WorkflowHandle<typeof lifecycle>, v: number) => waitForStatus(h, (s) => s.stage === 'AWAITING_APPROVAL' && s.candidate?.version === v, `v${v} awaiting approval`, 60_000);

async function ledger(model: string) {
  const registry = openRegistry(stack.config);
  try {
    return await registry.ledger(model);
  } finally {
    await registry.close();
  }
}

const model = () => `trust-${++n}`;

async function keyRecords() {
  const registry = openRegistry(stack.config);
  try {
    return await registry.keyRecords();
  } finally {
    await registry.close();
  }
}

describe('who may act', () => {
  test('mallory cannot make herself an approver, approve in another name, or replay, expire or transplant a signature; ml-lead can', async () => {
    const name = model();
    const loaded = spec(name);
    const h = await start(loaded);
    await awaiting(h, 1);
    const wf = h.workflowId;
    // The attack of the issue: a policy naming herself, signed with her own key.
    const evil = { ...loaded.spec, approval: { ...loaded.spec.approval, approvers: ['mallory'], separationOfDuties: false } };
    await refusedUpdate(h.executeUpdate(updateSpecUpdate, { args: [people().sign(wf, 'updateSpec', { spec: evil, by: 'mallory', reason: 'mine now' })] }), /mallory is not an allowed approver/);
    // Unsigned, as `by` alone used to be enough.
    await refusedUpdate(h.executeUpdate(approveUpdate, { args: [{ version: 1, by: 'ml-lead', reason: 'trust me' }] }), /^unsigned/);
    // Her key, ml-lead's name.
    const forged = { ...people().sign(wf, 'approve', { version: 1, by: 'mallory', reason: 'x' }), by: 'ml-lead' };
    await refusedUpdate(h.executeUpdate(approveUpdate, { args: [forged as never] }), /not a current key of ml-lead/);
    // ml-lead's real signature, for another lifecycle, another version, or long expired.
    await refusedUpdate(h.executeUpdate(approveUpdate, { args: [people().sign('lifecycle/other', 'approve', { version: 1, by: 'ml-lead', reason: 'x' })] }), /bad signature/);
    const v1 = people().sign(wf, 'approve', { version: 1, by: 'ml-lead', reason: 'beats the base rate' });
    await refusedUpdate(h.executeUpdate(approveUpdate, { args: [{ ...v1, version: 2 }] }), /v2 is unknown|bad signature/);
    await refusedUpdate(h.executeUpdate(approveUpdate, { args: [people().sign(wf, 'approve', { version: 1, by: 'ml-lead', reason: 'x' }, -1000)] }), /expired/);
    const status = await waitForStatus(h, (s) => s.stage === 'AWAITING_APPROVAL', 'still awaiting');
    assert.equal(status.champion, null, 'nothing was promoted');
    // The real thing: served, and the ledger names the verified key, not a claim.
    await h.executeUpdate(approveUpdate, { args: [v1] });
    await waitForStatus(h, (s) => s.champion?.version === 1, 'v1 served', 60_000);
    const approved = (await ledger(name)).find((r) => r.decision === 'approved')!;
    assert.deepEqual(approved.signer, { name: 'ml-lead', fingerprint: people().key('ml-lead').fingerprint });
    // The same signed approval again (by signal now): a replay, refused with the reason.
    await h.signal(approveSignal, v1);
    const s = await waitForStatus(h, (st) => st.refused.some((r) => /replayed/.test(r.reason)), 'the replay refused');
    assert.equal(s.refused.at(-1)?.by, 'ml-lead');
    // Operators pause and retrain; approvers roll back and retire — and not the other way round.
    await h.signal(pauseSignal, people().sign(wf, 'pause', { by: 'mallory', reason: 'x' }));
    await h.signal(pauseSignal, people().sign(wf, 'pause', { by: 'alice', reason: 'maintenance' }));
    const paused = await waitForStatus(h, (st) => st.paused !== null, 'paused by alice, an operator');
    assert.equal(paused.paused?.by, 'alice');
    assert.ok(paused.refused.some((r) => r.by === 'mallory' && /not an allowed operator/.test(r.reason)));
    await h.signal(retireSignal, people().sign(wf, 'retire', { by: 'alice', reason: 'operators do not retire' }));
    await waitForStatus(h, (st) => st.refused.some((r) => r.by === 'alice' && /not an allowed approver/.test(r.reason)), 'alice may not retire');
    assert.ok((await ledger(name)).some((r) => r.decision === 'paused' && r.signer?.name === 'alice'));
    // The replay fixture of a run under signed actions (only on purpose: PERENNIAL_RECORD_HISTORIES=1).
    await recordHistoryOnPurpose(stack.env.client, h.workflowId, 'lifecycle-signed-actions.binpb');
  });

  test('a key registered after the lifecycle started reaches it: a signal signed with it waits for the reload; an update is refused until refreshKeys', async () => {
    const name = model();
    const h = await start(spec(name, (raw) => (raw.approval!.approvers = ['ml-lead', 'ops-lead', 'late-approver'])));
    await awaiting(h, 1);
    // Made after the start: the lifecycle loaded keys before it existed.
    const late = await signers(stack.config, ['late-approver']);
    await refusedUpdate(h.executeUpdate(approveUpdate, { args: [late.sign(h.workflowId, 'approve', { version: 1, by: 'late-approver', reason: 'x' })] }), /not a current key of late-approver known to this lifecycle/);
    await h.signal(approveSignal, late.sign(h.workflowId, 'approve', { version: 1, by: 'late-approver', reason: 'approved with a new key' }));
    await waitForStatus(h, (s) => s.champion?.version === 1, 'v1 served on the late key, after the lifecycle reloaded keys', 60_000);
    const s = await waitForStatus(h, (st) => st.auth?.keys.some((k) => k.name === 'late-approver') ?? false, 'the late key listed');
    assert.equal(s.auth?.keys.find((k) => k.name === 'late-approver')?.trust, 'first-registered', 'status says the key is trusted on first use');
  });

  test('with signatures off (a sandbox), roles still hold but an unsigned approval by an approver is taken', async () => {
    const name = model();
    const h = await start(spec(name, (raw) => (raw.approval!.signatures = 'off')));
    await awaiting(h, 1);
    await refusedUpdate(h.executeUpdate(approveUpdate, { args: [{ version: 1, by: 'mallory', reason: 'x' }] }), /not an allowed approver/);
    await h.executeUpdate(approveUpdate, { args: [{ version: 1, by: 'ops-lead', reason: 'sandbox' }] });
    await waitForStatus(h, (s) => s.champion?.version === 1, 'served', 60_000);
    assert.equal((await ledger(name)).find((r) => r.decision === 'approved')?.signer, undefined, 'the ledger does not claim a verified signer');
  });

  test('a policy change needs a second approver\'s co-signature; another change one signature', async () => {
    const name = model();
    const loaded = spec(name);
    const h = await start(loaded);
    await awaiting(h, 1);
    const wf = h.workflowId;
    const looser = { ...loaded.spec, evaluation: { ...loaded.spec.evaluation, gates: { ...loaded.spec.evaluation.gates, min: {} } } };
    await refusedUpdate(h.executeUpdate(updateSpecUpdate, { args: [people().sign(wf, 'updateSpec', { spec: looser, by: 'ml-lead', reason: 'no floor' })] }), /co-signature/);
    const cosign = people().sign(wf, 'updateSpec', { spec: looser, by: 'ml-lead', reason: 'self' });
    await refusedUpdate(
      h.executeUpdate(updateSpecUpdate, { args: [{ ...people().sign(wf, 'updateSpec', { spec: looser, by: 'ml-lead', reason: 'no floor' }), cosign: { by: 'ml-lead', reason: 'self', signature: cosign.signature } }] }),
      /cannot co-sign their own/,
    );
    const co = people().sign(wf, 'updateSpec', { spec: looser, by: 'ops-lead', reason: 'agreed' });
    const ack = await h.executeUpdate(updateSpecUpdate, { args: [{ ...people().sign(wf, 'updateSpec', { spec: looser, by: 'ml-lead', reason: 'no floor' }), cosign: { by: 'ops-lead', reason: 'agreed', signature: co.signature } }] });
    assert.match(ack.message, /spec version 2/);
    const row = (await ledger(name)).find((r) => r.decision === 'spec-updated')!;
    assert.equal(row.signer?.name, 'ml-lead');
    assert.equal((row.details?.cosignedBy as { name: string }).name, 'ops-lead');
    const slower = { ...looser, rollout: { deployTimeout: '5m' } };
    await h.executeUpdate(updateSpecUpdate, { args: [people().sign(wf, 'updateSpec', { spec: slower, by: 'ops-lead', reason: 'slow server' })] });
    await waitForStatus(h, (s) => s.specVersion === 3, 'spec v3 with one signature');
  });
});

describe('bounded state', () => {
  test('three refused signals with a 1.9 MB `by` leave status small; the next approval is served across continue-as-new', async () => {
    const name = model();
    const h = await start(spec(name), { continueAsNewAfter: 3 });
    await awaiting(h, 1);
    const huge = `\u001b[2J${'m'.repeat(1_900_000)}`;
    for (let i = 0; i < 3; i++) await h.signal(approveSignal, { version: 1, by: huge, reason: 'spam' });
    const s = await waitForStatus(h, (st) => st.refused.length >= 3, 'three refusals');
    assert.ok(s.refused.every((r) => (r.by ?? '').length <= 64 && !(r.by ?? '').includes('\u001b')), JSON.stringify(s.refused.map((r) => r.by)));
    assert.ok(JSON.stringify(s).length < 256 * 1024, `status is ${JSON.stringify(s).length} bytes`);
    await h.executeUpdate(approveUpdate, { args: [people().sign(h.workflowId, 'approve', { version: 1, by: 'ops-lead', reason: 'fine' })] });
    const served = await waitForStatus(h, (st) => st.champion?.version === 1 && st.run > 1, 'v1 served, in a continued run', 60_000);
    assert.equal(served.refused.length >= 3, true, 'refusals are carried, bounded');
  });
});

describe('handlers never run ahead of the state', () => {
  const actions: [string, (wf: string) => [unknown, unknown]][] = [
    ['pause', (wf) => [pauseSignal, people().sign(wf, 'pause', { by: 'alice', reason: 'starting in maintenance' })]],
    ['resume', (wf) => [resumeSignal, people().sign(wf, 'resume', { by: 'alice', reason: 'x' })]],
    ['retrainNow', (wf) => [retrainNowSignal, people().sign(wf, 'retrainNow', { by: 'alice', reason: 'x' })]],
    ['approve', (wf) => [approveSignal, people().sign(wf, 'approve', { version: 1, by: 'ml-lead', reason: 'x' })]],
    ['reject', (wf) => [rejectSignal, people().sign(wf, 'reject', { version: 1, by: 'ml-lead', reason: 'x' })]],
    ['rollback', (wf) => [rollbackSignal, people().sign(wf, 'rollback', { toVersion: 1, by: 'ml-lead', reason: 'x' })]],
    ['retire', (wf) => [retireSignal, people().sign(wf, 'retire', { by: 'ml-lead', reason: 'x' })]],
    ['refreshKeys', () => [refreshKeysSignal, undefined]],
  ];
  for (const [action, make] of actions) {
    test(`${action} sent with the start (signalWithStart) is decided, and the lifecycle goes on`, async () => {
      const loaded = spec(model());
      const wf = lifecycleWorkflowId(loaded.spec.name);
      await makePeople();
      const [signal, payload] = make(wf);
      const h = await stack.env.client.workflow.signalWithStart<typeof lifecycle, [unknown]>('lifecycle', {
        workflowId: wf,
        taskQueue: stack.config.taskQueue,
        args: [{ spec: loaded.spec, specHash: loaded.specHash, startedBy: 'alice', searchAttributes: false }],
        signal: signal as never,
        signalArgs: (payload === undefined ? [] : [payload]) as never,
      });
      const s = await waitForStatus(h, (st) => st.stage !== 'TRAINING' || st.paused !== null || st.refused.length > 0, `${action} decided`, 60_000);
      decided(action, s);
      await awaiting(h as never, 1).catch(async () => waitForStatus(h, (st) => st.stage === 'RETIRED', 'retired'));
    });
  }
});

test('pause as the first thing a continued run receives (signalWithStart with a carried state) is taken before the run loads anything', async () => {
  const loaded = spec(model());
  const wf = lifecycleWorkflowId(loaded.spec.name);
  await makePeople();
  // What a run of this code hands on at continue-as-new: a champion serving, keys carried.
  const carried = {
    format: 1, specVersion: 1, stage: 'SERVING', champion: { version: 1, metrics: { auc: 0.7, logLoss: 0.4, accuracy: 0.83, brier: 0.13 }, since: new Date().toISOString() },
    candidate: null, approvedVersions: [1], versionMetrics: { 1: { auc: 0.7, logLoss: 0.4, accuracy: 0.83, brier: 0.13 } }, history: [], refused: [], trainingFor: 'alice', paused: null,
    monitor: { cursor: 0, nextCheckAt: null, checks: 0, consecutiveBreaches: 0, lastCheck: null, labeledUntil: null }, retrainStarts: [], run: 1,
    keyRecords: await keyRecords(), usedNonces: [],
  };
  const h = await stack.env.client.workflow.signalWithStart<typeof lifecycle, [unknown]>('lifecycle', {
    workflowId: wf,
    taskQueue: stack.config.taskQueue,
    args: [{ spec: loaded.spec, specHash: loaded.specHash, startedBy: 'alice', searchAttributes: false, carried }],
    signal: pauseSignal,
    signalArgs: [people().sign(wf, 'pause', { by: 'ops-lead', reason: 'paused at the hand-over' })],
  });
  const s = await waitForStatus(h, (st) => st.paused !== null, 'paused in the continued run');
  assert.equal(s.stage, 'PAUSED');
  assert.equal(s.run, 2);
  assert.equal(s.paused?.by, 'ops-lead');
});

function decided(action: string, s: LifecycleStatus): void {
  if (action === 'pause') assert.equal(s.paused?.by, 'alice');
  else if (action === 'refreshKeys') assert.equal(s.refused.length, 0);
  else if (action === 'retire') assert.ok(s.refused.some((r) => /cannot retire while TRAINING/.test(r.reason)) || s.stage === 'RETIRED', JSON.stringify(s.refused));
  else assert.ok(s.refused.some((r) => r.action === action), `${action}: ${JSON.stringify(s.refused)}`);
}

test('a key record an attacker writes into the registry for an approver is ignored by the lifecycle', async () => {
  const name = model();
  const h = await start(spec(name));
  await awaiting(h, 1);
  // A key for ml-lead made on another machine without ml-lead's current key: refused by the CLI;
  // written into the registry anyway, it is not endorsed, so the lifecycle ignores it.
  const registry = openRegistry(stack.config);
  const other = `${stack.config.keysDir}-mallory`;
  await assert.rejects(() => createKey(other, registry, 'ml-lead'), /already has a key/);
  await registry.close();
  await h.signal(refreshKeysSignal);
  const s = await waitForStatus(h, (st) => st.auth?.keys.filter((k) => k.name === 'ml-lead').length === 1, 'one key of ml-lead');
  assert.equal(s.auth?.signatures, 'required');
});
