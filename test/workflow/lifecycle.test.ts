import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startServingStack, type ServingStack } from '../helpers/temporalServer';
import { smallFlightsSpec } from '../helpers/specs';
import { refusedUpdate, waitForStatus } from '../helpers/lifecycle';
import { recordHistoryOnPurpose } from '../helpers/histories';
import { signers, type Signers } from '../helpers/signing';
import { signedSpecUpdate } from '../helpers/signedActions';
import { startLifecycle } from '../../src/client/startLifecycle';
import { openRegistry } from '../../src/registry/open';
import { resolveTemporalBinary } from '../../src/temporal/binaries';
import { expectExit, runCli } from '../helpers/cli';
import { approveUpdate, rejectUpdate, retrainNowUpdate, rollbackUpdate, retireUpdate, updateSpecUpdate, statusQuery, type lifecycle } from '../../workflows';
import type { WorkflowHandle } from '@temporalio/client';
import { parseSpec, type LoadedSpec } from '../../src/spec/load';

let stack: ServingStack;
let people: Signers;

const STARTER = 'alice';
/** Retrains; not an approver. */
const OPERATOR = 'bob';

function lifecycleSpec(): LoadedSpec {
  return smallFlightsSpec((raw) => {
    raw.approval = { approvers: ['ml-lead', 'ops-lead', STARTER], operators: ['ml-lead', 'ops-lead', OPERATOR], separationOfDuties: true, timeout: '72h' };
    raw.evaluation = { gates: { min: { auc: 0.55 }, beatBaseRate: ['logLoss'], maxRegression: { auc: 0.005 } } };
    raw.rollout = { deployTimeout: '30s' };
  });
}

before(async () => {
  stack = await startServingStack();
  // Keys before the lifecycle starts: it loads them when it starts.
  people = await signers(stack.config, ['ml-lead', 'ops-lead', STARTER, OPERATOR, 'mallory']);
});

after(async () => {
  await stack?.stop();
});

const WF = 'lifecycle/flight-delays';

/** The ledger row of a signed action names the signer and the key it signed with. */
function assertSignedBy(row: { signer?: { name: string; fingerprint: string } } | undefined, name: string): void {
  assert.equal(row?.signer?.name, name);
  assert.equal(row?.signer?.fingerprint, people.key(name).fingerprint);
}

async function ledger(model = 'flight-delays') {
  const registry = openRegistry({ home: stack.home });
  try {
    return await registry.ledger(model);
  } finally {
    await registry.close();
  }
}

async function served(model = 'flight-delays'): Promise<number | null> {
  const res = await fetch(`${stack.config.server.url}/v1/models/${model}`);
  const body = (await res.json()) as { champion: { version: number } | null };
  return body.champion?.version ?? null;
}

const INSTANCE = { date: '2001-01-04T08:30:00', distance: 500, origin: 'ORD', destination: 'ATL' };

async function predict(): Promise<{ model_version: number; predictions: { request_id: string; score: number }[] }> {
  const res = await fetch(`${stack.config.server.url}/v1/models/flight-delays:predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances: [INSTANCE] }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as { model_version: number; predictions: { request_id: string; score: number }[] };
}

async function predictVersion(): Promise<number> {
  return (await predict()).model_version;
}

/** `temporal workflow signal`, exactly as a user would type it. */
async function cliSignal(name: string, input: unknown): Promise<void> {
  const cli = await resolveTemporalBinary('temporal', { install: false });
  assert.ok(cli, 'the temporal CLI is provisioned');
  const child = spawn(cli.path, ['workflow', 'signal', '--address', stack.config.temporalAddress, '--namespace', stack.config.namespace,
    '--workflow-id', 'lifecycle/flight-delays', '--name', name, '--input', JSON.stringify(input), '--identity', 'cli-user@ops-laptop'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, err);
}

describe('the lifecycle on a real Temporal server and a real model server', () => {
  let handle: WorkflowHandle<typeof lifecycle>;

  test('start twice → one lifecycle; the first candidate is trained, gated and awaits approval', async () => {
    const first = await startLifecycle(stack.client, stack.config, lifecycleSpec(), STARTER);
    const second = await startLifecycle(stack.client, stack.config, lifecycleSpec(), STARTER);
    assert.equal(first.started, true);
    assert.equal(second.started, false);
    assert.equal(second.handle.firstExecutionRunId, first.handle.firstExecutionRunId);
    handle = first.handle;
    const s = await waitForStatus(handle, (st) => st.stage === 'AWAITING_APPROVAL', 'the first candidate');
    assert.equal(s.champion, null);
    assert.equal(s.candidate?.version, 1);
    assert.equal(s.candidate?.gate.passed, true);
    assert.equal(s.candidate?.trainedBy, STARTER);
    assert.ok(Date.parse(s.candidate!.approvalDeadline!) > Date.now() + 71 * 3600_000);
    assert.match(s.waitingFor, /a decision on v1 by one of ml-lead, ops-lead, alice/);
    assert.equal(await served(), null, 'nothing served before approval');
  });

  test('invalid approvals are refused with their reason and change nothing', async () => {
    await refusedUpdate(handle.executeUpdate(approveUpdate, { args: [people.sign(WF, 'approve', { version: 2, by: 'ml-lead', reason: 'ok' })] }), /v2 is unknown: the pending candidate is v1/);
    await refusedUpdate(handle.executeUpdate(approveUpdate, { args: [people.sign(WF, 'approve', { version: 1, by: 'mallory', reason: 'ok' })] }), /mallory is not an allowed approver/);
    await refusedUpdate(handle.executeUpdate(approveUpdate, { args: [people.sign(WF, 'approve', { version: 1, by: STARTER, reason: 'mine' })] }), /separation of duties/);
    await refusedUpdate(handle.executeUpdate(approveUpdate, { args: [people.sign(WF, 'approve', { version: '1', by: 'ml-lead' }) as never] }), /malformed payload: version: .*; reason: /);
    await refusedUpdate(handle.executeUpdate(rejectUpdate, { args: [people.sign(WF, 'reject', { version: 1, by: 'ml-lead', reason: '' })] }), /reason: a reason is required/);
    await refusedUpdate(handle.executeUpdate(approveUpdate, { args: [{ version: 1, by: 'ml-lead', reason: 'unsigned' }] }), /^unsigned: /);
    await cliSignal('approve', people.sign(WF, 'approve', { version: 1, by: 'mallory', reason: 'via signal' }));
    const s = await waitForStatus(handle, (st) => st.refused.length > 0, 'the refused signal to be recorded');
    assert.equal(s.stage, 'AWAITING_APPROVAL');
    assert.deepEqual(
      s.refused.map((r) => [r.action, r.via, r.by]),
      [['approve', 'signal', 'mallory']],
    );
    assert.match(s.refused[0].reason, /mallory is not an allowed approver/);
    assert.deepEqual((await ledger()).map((e) => e.decision), ['trained', 'gate-passed'], 'refusals leave no decision in the ledger');
  });

  test('approval by update promotes v1: the model server answers with it', async () => {
    const ack = await handle.executeUpdate(approveUpdate, { args: [people.sign(WF, 'approve', { version: 1, by: 'ml-lead', reason: 'beats the base rate' })] });
    assert.equal(ack.accepted, true);
    const s = await waitForStatus(handle, (st) => st.stage === 'SERVING', 'v1 to be served');
    assert.equal(s.champion?.version, 1);
    assert.equal(await served(), 1);
    assert.equal(await predictVersion(), 1);
    await refusedUpdate(handle.executeUpdate(approveUpdate, { args: [people.sign(WF, 'approve', { version: 1, by: 'ops-lead', reason: 'again' })] }), /no candidate is awaiting approval \(stage SERVING\)/);
    const approved = (await ledger()).find((e) => e.decision === 'approved')!;
    assert.equal(approved.by, 'ml-lead');
    assertSignedBy(approved, 'ml-lead');
    assert.equal(approved.identity, 'test', 'the Temporal client identity is recorded beside `by`');
  });

  test('a second candidate is approved by signal through the temporal CLI, then rolled back', async () => {
    await handle.executeUpdate(retrainNowUpdate, { args: [people.sign(WF, 'retrainNow', { by: OPERATOR, reason: 'new data' })] });
    await refusedUpdate(handle.executeUpdate(retrainNowUpdate, { args: [people.sign(WF, 'retrainNow', { by: OPERATOR, reason: 'again' })] }), /already in progress/);
    let s = await waitForStatus(handle, (st) => st.stage === 'AWAITING_APPROVAL' && st.candidate?.version === 2, 'candidate v2');
    assert.ok(s.candidate?.championOnSameHoldout, 'the champion was scored on the candidate holdout');
    await cliSignal('approve', people.sign(WF, 'approve', { version: 2, by: 'ops-lead', reason: 'signal from the CLI' }));
    s = await waitForStatus(handle, (st) => st.stage === 'SERVING' && st.champion?.version === 2, 'v2 to be served');
    assert.equal(await served(), 2);
    const byV2 = await predict();
    assert.equal(byV2.model_version, 2);
    const approvedBySignal = (await ledger()).filter((e) => e.decision === 'approved' && e.version === 2);
    assert.equal(approvedBySignal.length, 1);
    assert.equal(approvedBySignal[0].identity, 'cli-user@ops-laptop');
    assertSignedBy(approvedBySignal[0], 'ops-lead');

    await refusedUpdate(handle.executeUpdate(rollbackUpdate, { args: [people.sign(WF, 'rollback', { toVersion: 7, by: 'ops-lead', reason: 'x' })] }), /v7 was never approved/);
    await handle.executeUpdate(rollbackUpdate, { args: [people.sign(WF, 'rollback', { toVersion: 1, by: 'ops-lead', reason: 'v2 misbehaves' })] });
    s = await waitForStatus(handle, (st) => st.stage === 'SERVING' && st.champion?.version === 1, 'rollback to v1');
    assert.equal(await served(), 1);
    assert.equal(await predictVersion(), 1);
    assertSignedBy((await ledger()).find((e) => e.decision === 'rollback-requested'), 'ops-lead');

    // Lineage of a prediction made by the version just rolled back: the CLI and the model server say the same.
    const requestId = byV2.predictions[0].request_id;
    const env = { ...stack.env, PERENNIAL_KEYS_DIR: stack.config.keysDir };
    const explained = await runCli(['explain', 'flight-delays', requestId, '--json'], env);
    expectExit(explained, 0);
    assert.equal(explained.json.request_id, requestId);
    assert.equal(explained.json.model_version, 2);
    assert.equal(explained.json.score, byV2.predictions[0].score);
    assert.deepEqual(explained.json.inputs, INSTANCE);
    assert.equal(typeof explained.json.features.distance, 'number', 'features by name');
    const v2 = explained.json.version;
    assert.equal(v2.version, 2);
    assert.equal(v2.champion, false, 'v2 is no longer the champion');
    assert.deepEqual(v2.approved_by, ['ops-lead']);
    assert.equal(v2.trained_by, OPERATOR);
    assert.equal(v2.trainer.type, 'gbdt');
    assert.match(v2.data.sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(v2.decisions.map((d: { decision: string }) => d.decision), ['trained', 'gate-passed', 'approved', 'deployed', 'replaced']);
    assert.match(v2.decisions.at(-1).reason, /v1 deployed in its place: rollback by ops-lead: v2 misbehaves/);
    const text = await runCli(['explain', 'flight-delays', requestId], env);
    expectExit(text, 0);
    assert.match(text.stdout, /flight-delays v2/);
    assert.match(text.stdout, /approved by ops-lead/);

    const overHttp = await fetch(`${stack.config.server.url}/v1/models/flight-delays/predictions/${requestId}`);
    assert.equal(overHttp.status, 200);
    const { ok: _ok, ...explanation } = explained.json;
    assert.deepEqual(await overHttp.json(), explanation);
    const versionOverHttp = (await (await fetch(`${stack.config.server.url}/v1/models/flight-delays/versions/2`)).json()) as { version: number; approved_by: string[] };
    assert.deepEqual(versionOverHttp, v2);
    assert.equal((await fetch(`${stack.config.server.url}/v1/models/flight-delays/versions/99`)).status, 404);
    assert.equal((await fetch(`${stack.config.server.url}/v1/models/flight-delays/predictions/not-an-id`)).status, 400);
    assert.equal((await fetch(`${stack.config.server.url}/v1/models/flight-delays/predictions/0193f1a2-0000-7000-8000-000000000000`)).status, 404);
    assert.equal((await fetch(`${stack.config.server.url}/v1/models/other-model/predictions/${requestId}`)).status, 404, "another model's name does not reach this prediction");
    assert.equal((await fetch(`${stack.config.server.url}/v1/models/flight-delays/versions/2`, { method: 'POST' })).status, 405);
    const otherModel = await runCli(['explain', 'other-model', requestId, '--json'], env);
    expectExit(otherModel, 3);
    const malformed = await runCli(['explain', 'flight-delays', 'x; rm -rf /', '--json'], env);
    expectExit(malformed, 2);
    assert.match(malformed.json.error, /malformed request id/);

    const versions = await runCli(['versions', 'flight-delays', '--json'], env);
    expectExit(versions, 0);
    const listed = versions.json.versions as { version: number; champion: boolean; approved_by: string[] }[];
    assert.deepEqual(listed.map((v) => [v.version, v.champion, v.approved_by]), [[1, true, ['ml-lead']], [2, false, ['ops-lead']]]);
  });

  test('an update and a CLI signal approving the same candidate at once promote it exactly once', async () => {
    await handle.executeUpdate(retrainNowUpdate, { args: [people.sign(WF, 'retrainNow', { by: OPERATOR, reason: 'race' })] });
    await waitForStatus(handle, (st) => st.stage === 'AWAITING_APPROVAL' && st.candidate?.version === 3, 'candidate v3');
    const results = await Promise.allSettled([
      // Two approvers, each with a payload of their own (one signature is accepted once).
      handle.executeUpdate(approveUpdate, { args: [people.sign(WF, 'approve', { version: 3, by: 'ml-lead', reason: 'race by update' })] }),
      cliSignal('approve', people.sign(WF, 'approve', { version: 3, by: 'ops-lead', reason: 'race by signal' })),
    ]);
    assert.equal(results[1].status, 'fulfilled', 'the signal was delivered');
    await waitForStatus(handle, (st) => st.stage === 'SERVING' && st.champion?.version === 3, 'v3 to be served');
    const rows = (await ledger()).filter((e) => e.version === 3);
    assert.equal(rows.filter((e) => e.decision === 'approved').length, 1);
    assert.equal(rows.filter((e) => e.decision === 'deployed').length, 1);
    // The loser is refused either as "already approved" or, if it arrives later, as "no
    // candidate is awaiting approval"; a delivered signal may be processed a moment later.
    const signalRefused = (st: { refused: { action: string; via: string; by?: string; reason: string }[] }) =>
      st.refused.filter((r) => r.action === 'approve' && r.via === 'signal' && r.by === 'ops-lead' && /already approved|no candidate is awaiting approval/.test(r.reason)).length;
    const updateLost = results[0].status === 'rejected' ? 1 : 0;
    const s = updateLost ? await handle.query(statusQuery) : await waitForStatus(handle, (st) => signalRefused(st) > 0, 'the losing signal to be refused', 30_000);
    const losers = updateLost + signalRefused(s);
    assert.equal(losers, 1, 'exactly one of the two was refused');
  });

  test('a candidate that fails the gate leaves the champion; the reasons are recorded', async () => {
    const strict = lifecycleSpec().spec;
    strict.evaluation.gates.min = { auc: 0.99 };
    // A change to the gates, with separation of duties: signed by one approver, co-signed by another.
    await handle.executeUpdate(updateSpecUpdate, { args: [signedSpecUpdate(people, WF, { spec: strict, by: 'ml-lead', reason: 'raise the bar' }, { by: 'ops-lead', reason: 'agreed' })] });
    await refusedUpdate(handle.executeUpdate(updateSpecUpdate, { args: [signedSpecUpdate(people, WF, { spec: { ...strict, name: 'other-model' }, by: 'ml-lead', reason: 'x' }, { by: 'ops-lead', reason: 'x' })] }), /the spec is for other-model/);
    await handle.executeUpdate(retrainNowUpdate, { args: [people.sign(WF, 'retrainNow', { by: OPERATOR, reason: 'try the bar' })] });
    // The history notes a decision once the ledger has it, in the same step as the stage
    // it leads to: a status showing the failure already shows the champion serving again.
    const s = await waitForStatus(handle, (st) => st.history.some((h) => h.event === 'gate-failed' && h.version === 4), 'the gate to fail v4');
    assert.equal(s.stage, 'SERVING');
    assert.equal(s.champion?.version, 3);
    assert.equal(s.candidate, null);
    const failed = (await ledger()).find((e) => e.decision === 'gate-failed')!;
    assert.match(failed.reason, /auc 0\.\d{4} < minimum 0\.99/);
    assert.equal(await served(), 3);
    assert.equal(s.specVersion, 2);
    assert.equal(s.specHash, parseSpec(strict).specHash, 'the updated spec is hashed as lineage hashes it');
    const updated = (await ledger()).find((e) => e.decision === 'spec-updated')!;
    assertSignedBy(updated, 'ml-lead');
    assert.deepEqual(updated.details?.cosignedBy, { name: 'ops-lead', fingerprint: people.key('ops-lead').fingerprint, reason: 'agreed' });
    const registry = openRegistry({ home: stack.home });
    try {
      assert.equal((await registry.get('flight-delays', 4))?.lineage.specHash, s.specHash, 'v4 was trained under the updated spec');
    } finally {
      await registry.close();
    }
  });

  test('retire: stops serving and ends the lifecycle cleanly; the ledger holds every decision', async () => {
    await handle.executeUpdate(retireUpdate, { args: [people.sign(WF, 'retire', { by: 'ops-lead', reason: 'end of the demo' })] });
    const final = await handle.result();
    assert.equal(final.stage, 'RETIRED');
    assert.equal((await handle.describe()).status.name, 'COMPLETED');
    const deadline = Date.now() + 10_000;
    while ((await served()) !== null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await served(), null);
    assert.deepEqual((await ledger()).map((e) => `${e.decision}${e.version ? ` v${e.version}` : ''}`), [
      'trained v1', 'gate-passed v1', 'approved v1', 'deployed v1',
      'retrain-requested', 'trained v2', 'gate-passed v2', 'approved v2', 'deployed v2',
      'rollback-requested v1', 'deployed v1',
      'retrain-requested', 'trained v3', 'gate-passed v3', 'approved v3', 'deployed v3',
      'spec-updated', 'retrain-requested', 'trained v4', 'gate-failed v4',
      'retired v3',
    ]);
    // Every person's decision carries the signer its signature proved; perennial's own none.
    const human = new Set(['approved', 'retrain-requested', 'rollback-requested', 'spec-updated', 'retired']);
    for (const row of await ledger()) {
      if (human.has(row.decision)) assertSignedBy(row, row.by);
      else assert.equal(row.signer, undefined, `${row.decision} is perennial's own`);
    }
    await recordHistoriesOnPurpose(handle);
  });
});

/** Replay fixtures: `PERENNIAL_RECORD_HISTORIES=1 npm test -- test/workflow/lifecycle.test.ts`. */
async function recordHistoriesOnPurpose(handle: WorkflowHandle<typeof lifecycle>): Promise<void> {
  await recordHistoryOnPurpose(stack.client, handle.workflowId, 'lifecycle.binpb');
  await recordHistoryOnPurpose(stack.client, 'train/flight-delays/1', 'trainingPipeline.binpb');
}
