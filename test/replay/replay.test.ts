import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { DeterminismViolationError } from '@temporalio/workflow';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { workflowBundle } from '../helpers/temporalServer';
import { WORKFLOW_BUNDLE_OPTIONS } from '../../src/worker/workflowBundle';
import { readCarriedState } from '../../src/lifecycle/carriedState';
import { localActivityMarker } from '../../src/temporal/localActivityMarkers';

// Histories of real runs (recorded by test/workflow/lifecycle.test.ts, idle.test.ts,
// deployFailure.test.ts, rollbackDuringApproval.test.ts, trust.test.ts, monitoringVisible.test.ts and championJudging.test.ts and, for the continuous lifecycle's chain of runs,
// test/workflow/monitoring.test.ts, with PERENNIAL_RECORD_HISTORIES=1; lifecycle-monitor-visible.binpb
// by monitoringVisible.test.ts before its checks became local activities) replayed against the current workflow code: a change
// that would break running lifecycles fails here. Change workflow code under running
// lifecycles with `patched()` (see README).
const HISTORIES = path.join(__dirname, 'histories');

function fixtures(): { name: string; history: temporal.api.history.v1.History }[] {
  return readdirSync(HISTORIES)
    .filter((f) => f.endsWith('.binpb'))
    .map((f) => ({ name: f, history: temporal.api.history.v1.History.decode(readFileSync(path.join(HISTORIES, f))) }));
}

/**
 * The workflow id a fixture ran under, read from its ledger activities: signed actions name
 * their lifecycle, so a run replays only under its own id (a fixture without them: its name).
 */
function workflowIdOf(name: string, history: temporal.api.history.v1.History): string {
  for (const e of history.events ?? []) {
    const input = e.activityTaskScheduledEventAttributes?.input?.payloads?.[0]?.data;
    if (!input) continue;
    const id = (JSON.parse(Buffer.from(input).toString()) as { entry?: { workflowId?: string } }).entry?.workflowId;
    if (id) return id;
  }
  return name;
}

test('every recorded history replays on the current workflow code', async () => {
  const all = fixtures();
  assert.deepEqual(all.map((f) => f.name).sort(), ['lifecycle-deploy-failed.binpb', 'lifecycle-idle.binpb', 'lifecycle-monitor-local.binpb', 'lifecycle-monitor-visible.binpb', 'lifecycle-rollback-withdraws.binpb', 'lifecycle-signed-actions.binpb', 'lifecycle-unjudged-candidate.binpb', 'lifecycle.binpb', 'monitoring-run1.binpb', 'monitoring-run2.binpb', 'monitoring-run3.binpb', 'trainingPipeline.binpb']);
  const bundle = await workflowBundle();
  for (const { name, history } of all) {
    await assert.doesNotReject(Worker.runReplayHistory({ workflowBundle: bundle }, history, workflowIdOf(name, history)), name);
  }
});

test('the fixtures go through the patched branches: the spec hashed by an activity, the champion restored after a failed deploy, a rollback withdrawing a candidate, signed actions, the last scored check kept, checks as local activities', () => {
  const activities = (name: string) =>
    fixtures()
      .find((f) => f.name === name)!
      .history.events!.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
      .filter((n): n is string => !!n);
  // patched('spec-hash-by-activity') on updateSpec; patched('restore-champion-after-failed-deploy') after a failed deploy.
  assert.ok(activities('lifecycle-idle.binpb').includes('hashSpec'));
  assert.ok(activities('lifecycle-deploy-failed.binpb').includes('restoreChampion'));
  assert.ok(!activities('lifecycle.binpb').includes('hashSpec'), 'the older fixture predates the patch: both branches replay');
  // patched('rollback-withdraws-candidate'), decided at the start of a run: only the newest fixture has its marker.
  const marked = (name: string) => readFileSync(path.join(HISTORIES, name)).includes('rollback-withdraws-candidate');
  assert.ok(marked('lifecycle-rollback-withdraws.binpb'));
  assert.ok(!marked('lifecycle.binpb'));
  // patched('signed-actions'), decided at the start of a run: keys loaded first, signatures checked.
  assert.ok(readFileSync(path.join(HISTORIES, 'lifecycle-signed-actions.binpb')).includes('signed-actions'));
  assert.ok(activities('lifecycle-signed-actions.binpb').includes('loadKeyRecords'));
  for (const older of ['lifecycle.binpb', 'lifecycle-idle.binpb', 'lifecycle-rollback-withdraws.binpb', 'lifecycle-deploy-failed.binpb']) {
    assert.ok(!activities(older).includes('loadKeyRecords'), `${older} predates signed actions: its run accepts any by, on replay too`);
  }
  // patched('monitor-keeps-last-scored'): monitor checks (breach, too little data) and a deploy under it; the monitoring runs before it without.
  assert.ok(readFileSync(path.join(HISTORIES, 'lifecycle-monitor-visible.binpb')).includes('monitor-keeps-last-scored'));
  assert.ok(activities('lifecycle-monitor-visible.binpb').filter((a) => a === 'checkChampion').length >= 4);
  assert.ok(!readFileSync(path.join(HISTORIES, 'monitoring-run1.binpb')).includes('monitor-keeps-last-scored'));
  // patched('monitor-check-local'): checks as local activities (markers), the older monitoring fixtures' as activity tasks.
  const localChecks = (name: string) =>
    fixtures()
      .find((f) => f.name === name)!
      .history.events!.filter((e) => localActivityMarker(e)?.activityType === 'checkChampion').length;
  assert.ok(readFileSync(path.join(HISTORIES, 'lifecycle-monitor-local.binpb')).includes('monitor-check-local'));
  assert.ok(localChecks('lifecycle-monitor-local.binpb') >= 4);
  assert.ok(!activities('lifecycle-monitor-local.binpb').includes('checkChampion'));
  assert.equal(localChecks('lifecycle-monitor-visible.binpb'), 0);
  // patched('unjudged-candidate-rests'): the champion's evaluation failed, the candidate recorded unjudged.
  assert.ok(readFileSync(path.join(HISTORIES, 'lifecycle-unjudged-candidate.binpb')).includes('unjudged-candidate-rests'));
});

test('a deliberately incompatible change fails replay', async () => {
  const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  const incompatible = await bundleWorkflowCode({ workflowsPath: require.resolve('./incompatible/workflows'), logger: quiet });
  const history = fixtures().find((f) => f.name === 'trainingPipeline.binpb')!.history;
  await assert.rejects(Worker.runReplayHistory({ workflowBundle: incompatible }, history), DeterminismViolationError);
});

test('the lifecycle changed without patched() fails replay of a run recorded before the change', async () => {
  const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  // The real workflows, bundled with `patched()` always true: every patched change shipped bare.
  const unpatched = await bundleWorkflowCode({
    ...WORKFLOW_BUNDLE_OPTIONS,
    logger: quiet,
    webpackConfigHook: (config) => ({ ...config, resolve: { ...config.resolve, alias: { ...config.resolve?.alias, '@temporalio/workflow$': require.resolve('./incompatible/unpatched') } } }),
  });
  const recordedBefore = fixtures().find((f) => f.name === 'lifecycle.binpb')!.history;
  await assert.rejects(Worker.runReplayHistory({ workflowBundle: unpatched }, recordedBefore), DeterminismViolationError);
  // The same bundle replays a run recorded with every patch that run goes through: the failure is the missing patch, not the bundling.
  const recordedAfter = fixtures().find((f) => f.name === 'lifecycle-signed-actions.binpb')!.history;
  await assert.doesNotReject(Worker.runReplayHistory({ workflowBundle: unpatched }, recordedAfter, workflowIdOf('lifecycle-signed-actions.binpb', recordedAfter)));
});

test('a continued run starts from a carried state this code reads (versioned, zod-validated)', async () => {
  const { payloads } = await import('@temporalio/common').then(({ defaultPayloadConverter }) => ({ payloads: defaultPayloadConverter }));
  const run2 = fixtures().find((f) => f.name === 'monitoring-run2.binpb')!.history;
  const started = run2.events![0].workflowExecutionStartedEventAttributes!;
  const input = payloads.fromPayload(started.input!.payloads![0]) as { carried?: unknown };
  const carried = readCarriedState(input.carried);
  assert.equal(carried.format, 1);
  assert.equal(carried.run, 1);
  assert.ok(carried.champion, 'the champion travelled with it');
  assert.throws(() => readCarriedState({ ...carried, format: 2 }), /cannot continue from carried state format 2 \(this code reads format 1\)/);
});
