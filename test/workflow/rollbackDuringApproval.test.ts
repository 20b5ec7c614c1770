import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startLifecycle } from '../../src/client/startLifecycle';
import { openRegistry } from '../../src/registry/open';
import { approveUpdate, retrainNowUpdate, rollbackUpdate } from '../../workflows';
import { timeSkippingWorker } from '../helpers/timeSkipping';
import { smallFlightsSpec } from '../helpers/specs';
import { refusedUpdate, waitForStatus } from '../helpers/lifecycle';
import { recordHistoryOnPurpose } from '../helpers/histories';
import { signers } from '../helpers/signing';
import { lifetimeOnServerClock } from '../helpers/signedActions';

// An incident does not wait for a 72-hour approval: a rollback asked while a candidate
// awaits withdraws it and rolls back at once. Time-skipping test server; training, the
// registry and the model server are real.
const stack = timeSkippingWorker('rollback-during-approval');

async function servedVersion(): Promise<number> {
  const res = await fetch(`${stack.config.server.url}/v1/models/flight-delays`);
  return ((await res.json()) as { champion: { version: number } | null }).champion?.version ?? 0;
}

test('a rollback while v3 awaits approval withdraws v3 and serves v1 again; v3 can no longer be approved', async () => {
  const loaded = smallFlightsSpec((raw) => {
    raw.approval = { approvers: ['ml-lead', 'ops-lead'], operators: ['ml-lead', 'ops-lead', 'bob'], timeout: '72h' };
    raw.evaluation = { gates: { min: { auc: 0.55 } } };
    raw.rollout = { deployTimeout: '20s' };
  });
  // Keys before the lifecycle starts: it loads them when it starts.
  const people = await signers(stack.config, ['ml-lead', 'ops-lead', 'bob']);
  const { handle } = await startLifecycle(stack.env.client, stack.config, loaded, 'alice');
  const signed = async <T extends Record<string, unknown>>(action: string, args: T & { by: string }) =>
    people.sign(handle.workflowId, action, args, await lifetimeOnServerClock(stack.env));
  for (const version of [1, 2]) {
    if (version > 1) await handle.executeUpdate(retrainNowUpdate, { args: [await signed('retrainNow', { by: 'bob', reason: `challenger v${version}` })] });
    await waitForStatus(handle, (s) => s.stage === 'AWAITING_APPROVAL' && s.candidate?.version === version, `candidate v${version}`);
    await handle.executeUpdate(approveUpdate, { args: [await signed('approve', { version, by: 'ml-lead', reason: 'better' })] });
    await waitForStatus(handle, (s) => s.stage === 'SERVING' && s.champion?.version === version, `v${version} served`);
  }
  await handle.executeUpdate(retrainNowUpdate, { args: [await signed('retrainNow', { by: 'bob', reason: 'challenger v3' })] });
  await waitForStatus(handle, (s) => s.stage === 'AWAITING_APPROVAL' && s.candidate?.version === 3, 'candidate v3');

  const ack = await handle.executeUpdate(rollbackUpdate, { args: [await signed('rollback', { toVersion: 1, by: 'ops-lead', reason: 'v2 times out in production' })] });
  assert.equal(ack.message, 'rolling back to v1; v3, awaiting approval, is withdrawn');
  const s = await waitForStatus(handle, (st) => st.stage === 'SERVING' && st.champion?.version === 1, 'v1 served again');
  assert.equal(s.candidate, null);
  assert.equal(await servedVersion(), 1);

  const registry = openRegistry(stack.config);
  try {
    const ledger = await registry.ledger('flight-delays');
    const after2 = ledger.slice(ledger.findIndex((e) => e.decision === 'deployed' && e.version === 2) + 1);
    assert.deepEqual(after2.map((e) => `${e.decision}${e.version ? ` v${e.version}` : ''}`), ['retrain-requested', 'trained v3', 'gate-passed v3', 'withdrawn v3', 'rollback-requested v1', 'deployed v1']);
    const withdrawn = after2.find((e) => e.decision === 'withdrawn')!;
    assert.equal(withdrawn.by, 'ops-lead');
    assert.match(withdrawn.reason, /^rollback to v1 asked while v3 awaited approval \(its gate compared it with v2\): v2 times out in production$/);
    // Both rows of the one rollback carry the signer its signature proved.
    for (const row of [withdrawn, after2.find((e) => e.decision === 'rollback-requested')!]) {
      assert.equal(row.signer?.name, 'ops-lead', row.decision);
      assert.equal(row.signer?.fingerprint, people.key('ops-lead').fingerprint, row.decision);
    }
    assert.equal((await registry.alias('flight-delays', 'champion'))?.version, 1);
  } finally {
    await registry.close();
  }
  await refusedUpdate(handle.executeUpdate(approveUpdate, { args: [await signed('approve', { version: 3, by: 'ml-lead', reason: 'too late' })] }), /no candidate is awaiting approval/);
  // Replay fixture: `PERENNIAL_RECORD_HISTORIES=1 npm test -- test/workflow/rollbackDuringApproval.test.ts`.
  await recordHistoryOnPurpose(stack.env.client, handle.workflowId, 'lifecycle-rollback-withdraws.binpb');
});
