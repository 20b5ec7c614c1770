import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { startLifecycle } from '../../src/client/startLifecycle';
import { openRegistry } from '../../src/registry/open';
import { runTraffic } from '../../src/traffic';
import { approveUpdate, pauseUpdate, resumeUpdate, retireUpdate, retrainNowUpdate, statusQuery, updateSpecUpdate } from '../../workflows';
import { startServingStack, type ServingStack } from '../helpers/temporalServer';
import { smallFlightsSpec } from '../helpers/specs';
import { waitForStatus } from '../helpers/lifecycle';
import { recordHistoryOnPurpose } from '../helpers/histories';
import { signers, type Signers } from '../helpers/signing';
import { signedSpecUpdate } from '../helpers/signedActions';
import { expectExit, runCli } from '../helpers/cli';
import { launchBrowser } from '../helpers/browser';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const OUTPUT = path.resolve(__dirname, '../../test-output');

/**
 * The continuous lifecycle on a real Temporal dev server, a real worker and a real model
 * server over HTTP: v1 serves → the traffic simulator sends shifted traffic with labels →
 * monitoring breaches → retrain over the newest labeled event time → v2 awaits approval
 * (surviving continue-as-new) → approved → served; cooldown, one retrain at a time,
 * pause/resume, the retrain Schedule and search attributes.
 */

let stack: ServingStack;
let people: Signers;
const MODEL = 'flight-delays';
const WF = `lifecycle/${MODEL}`;

const loaded = smallFlightsSpec((raw) => {
  // A second approver co-signs the retrain-policy change below (separation of duties); ops-lead
  // pauses and resumes, bob asks for retrains.
  raw.approval = { approvers: ['ml-lead', 'ops-lead'], operators: ['ml-lead', 'ops-lead', 'bob'], timeout: '1h' };
  raw.evaluation = { gates: { min: { auc: 0.5 }, maxRegression: { auc: 0.05 } } };
  raw.rollout = { deployTimeout: '30s' };
  raw.monitoring = { interval: '2s', minRows: 200, maxRows: 5000, retention: '30d', performance: { minLabeled: 100 } };
  raw.retrain = { onDrift: { consecutiveBreaches: 2 }, onPerformance: false, cooldown: '1h', budget: { max: 3, per: '1d' }, schedule: { every: '7d' } };
});

before(async () => {
  stack = await startServingStack();
  // Keys before the lifecycle starts: it loads them when it starts.
  people = await signers(stack.config, ['ml-lead', 'ops-lead', 'bob']);
});

after(async () => {
  await stack?.stop();
});

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
    return String((err.cause as Error | undefined)?.message);
  }
  assert.fail('the update was accepted');
}

describe('monitoring and retrain on drift', () => {
  test('drift → retrain → approval across continue-as-new → v2 served; cooldown, pause, schedule', async () => {
    const { handle } = await startLifecycle(stack.client, stack.config, loaded, 'alice', { continueAsNewAfter: 12 });
    const schedule = await eventually(() => stack.client.schedule.getHandle(`retrain/${MODEL}`).describe());
    assert.equal(schedule.action.type, 'startWorkflow');
    assert.equal(schedule.action.type === 'startWorkflow' && schedule.action.workflowType, 'scheduledRetrain');

    await waitForStatus(handle, (s) => s.stage === 'AWAITING_APPROVAL' && s.candidate?.version === 1, 'candidate v1');
    await handle.executeUpdate(approveUpdate, { args: [people.sign(WF, 'approve', { version: 1, by: 'ml-lead', reason: 'first champion' })] });
    await waitForStatus(handle, (s) => s.stage === 'SERVING' && s.champion?.version === 1 && s.monitoring.checks >= 1, 'v1 served and watched');

    // Same-distribution traffic: checks stay quiet.
    const same = await runTraffic({ spec: loaded.spec, serverUrl: stack.config.server.url, scenario: 'same', rows: 400, rate: 2000, batch: 50, labelDelayMs: 0, seed: 1 });
    assert.equal(same.rowsSent, 400);
    const quiet = await waitForStatus(handle, (s) => (s.monitoring.lastCheck?.rows ?? 0) >= 200, 'a check of the same-distribution traffic');
    assert.equal(quiet.monitoring.lastCheck!.breached, false, JSON.stringify(quiet.monitoring.lastCheck));

    // Pause: no checks while paused; resume restarts them.
    await handle.executeUpdate(pauseUpdate, { args: [people.sign(WF, 'pause', { by: 'ops-lead', reason: 'planned airport migration' })] });
    const paused = await waitForStatus(handle, (s) => s.stage === 'PAUSED', 'paused');
    assert.equal(paused.monitoring.state, 'paused');
    assert.match(await refusal(handle.executeUpdate(pauseUpdate, { args: [people.sign(WF, 'pause', { by: 'ops-lead', reason: 'again' })] })), /already paused/);
    await sleep(5000);
    assert.equal((await handle.query(statusQuery)).monitoring.checks, paused.monitoring.checks, 'no check ran while paused');
    await handle.executeUpdate(resumeUpdate, { args: [people.sign(WF, 'resume', { by: 'ops-lead', reason: 'migration done' })] });
    await waitForStatus(handle, (s) => s.stage === 'SERVING' && s.monitoring.checks > paused.monitoring.checks, 'checks again after resume');

    // Loud covariate shift with labels: two consecutive breaches → a retrain by the monitor.
    const shift = await runTraffic({ spec: loaded.spec, serverUrl: stack.config.server.url, scenario: 'shift', rows: 1500, rate: 300, batch: 25, labelDelayMs: 0 });
    assert.equal(shift.rowsSent, 1500);
    // The retrain's own record, not the TRAINING stage: a quick retrain passes through it between two polls.
    const training = await waitForStatus(handle, (s) => s.history.some((h) => h.event === 'retrain-requested' && h.by === 'perennial-monitor'), 'a retrain triggered by drift', 120_000);
    assert.ok(training.history.some((h) => h.event === 'drift-breached'));
    assert.match(await refusal(handle.executeUpdate(retrainNowUpdate, { args: [people.sign(WF, 'retrainNow', { by: 'bob', reason: 'me too' })] })), /a training is already in progress|v2 awaits a decision/);

    const pending = await waitForStatus(handle, (s) => s.stage === 'AWAITING_APPROVAL' && s.candidate?.version === 2, 'candidate v2', 240_000);
    assert.equal(pending.candidate!.trainedBy, 'perennial-monitor');
    const registry = openRegistry({ home: stack.home });
    try {
      const requested = (await registry.ledger(MODEL)).find((e) => e.decision === 'retrain-requested')!;
      assert.equal(requested.by, 'perennial-monitor');
      assert.equal(requested.signer, undefined, "perennial's own decision: no signature");
      assert.match(requested.reason, /drift breached 2 consecutive checks/);
      // The retrain's windows end at the latest labeled event time, not at the wall clock.
      const trained = (await registry.ledger(MODEL)).find((e) => e.decision === 'trained' && e.version === 2)!;
      const windows = trained.details?.windows as { training: { start: string; end: string }; holdout: { start: string; end: string } };
      // (where labeled traffic had reached when the retrain started: the simulator went on after it)
      const reached = training.monitoring.labeledUntil!;
      assert.equal(Date.parse(windows.holdout.end) - 1, Date.parse(reached), `${windows.holdout.end} vs ${reached}`);
      assert.ok(Date.parse(reached) <= Date.parse(shift.latestLabeledEventTime!));
      assert.ok(windows.holdout.end.startsWith('2001-'), 'event time of the data, not 2026');
    } finally {
      await registry.close();
    }

    // Past checks, as `npx perennial checks` lists them: every stored check, the breaches among them.
    const listed = await runCli(['checks', MODEL, '--json'], { ...stack.env, PERENNIAL_KEYS_DIR: stack.config.keysDir });
    expectExit(listed, 0);
    const checks = listed.json.checks as { version: number; breached: boolean; enoughData: boolean }[];
    assert.ok(checks.length >= training.monitoring.checks, `${checks.length} stored checks, ${training.monitoring.checks} in status`);
    assert.ok(checks.filter((c) => c.breached && c.version === 1).length >= 2, 'the two breaches that asked for the retrain');
    const table = await runCli(['checks', MODEL], { ...stack.env, PERENNIAL_KEYS_DIR: stack.config.keysDir });
    expectExit(table, 0);
    assert.match(table.stdout, /BREACHED/);

    // Continue-as-new (after 12 cycles here) while v2 awaits approval: the candidate and its
    // absolute deadline, the history of promotions and the counters survive.
    const continued = await waitForStatus(handle, (s) => s.run > pending.run, 'a continue-as-new while v2 awaits', 60_000);
    assert.equal(continued.stage, 'AWAITING_APPROVAL');
    assert.equal(continued.candidate?.version, 2);
    assert.equal(continued.candidate?.approvalDeadline, pending.candidate!.approvalDeadline);
    assert.ok(continued.history.some((h) => h.event === 'deployed' && h.version === 1));
    assert.ok(continued.monitoring.checks >= pending.monitoring.checks);
    assert.deepEqual(continued.retrain.recent, pending.retrain.recent);

    await handle.executeUpdate(approveUpdate, { args: [people.sign(WF, 'approve', { version: 2, by: 'ml-lead', reason: 'fits the new airports' })] });
    const served = await waitForStatus(handle, (s) => s.stage === 'SERVING' && s.champion?.version === 2, 'v2 served');
    const answer = (await (await fetch(`${stack.config.server.url}/v1/models/${MODEL}`)).json()) as { champion?: { version?: number }; version?: number };
    assert.equal(answer.champion?.version ?? answer.version, 2, JSON.stringify(answer));

    // The report page, in a real browser: the breaches on the drift chart, the approver on the timeline,
    // and on a breached check's page the shifted feature's two distributions apart.
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 1600 } });
      await page.goto(`${stack.config.server.url}/ui/models/${MODEL}`);
      mkdirSync(OUTPUT, { recursive: true });
      await page.screenshot({ path: path.join(OUTPUT, 'report-model.png'), fullPage: true });
      const alarms = await page.locator('figure.drift circle.alarm').evaluateAll((els) => els.map((e) => ({ version: e.getAttribute('data-version'), value: Number(e.getAttribute('data-value')) })));
      assert.ok(alarms.length >= 2, `the breaches are marked on the drift chart: ${JSON.stringify(alarms)}`);
      assert.ok(alarms.every((a) => a.version === '1' && a.value >= 0.2), 'each breach is v1, above the PSI threshold');
      assert.equal(await page.locator('tr.decision[data-decision="approved"][data-version="2"][data-by="ml-lead"]').count(), 1, 'the timeline names v2\'s approver');
      assert.equal(await page.locator('tr.decision[data-decision="retired"]').count(), 0);
      assert.ok((await page.locator('section.latest div.feature.breached rect.current').count()) > 0, "the latest breach's distributions on the model page");
      await page.locator('section.checks tr.breached a').first().click();
      await page.waitForSelector('div.feature.breached');
      await page.screenshot({ path: path.join(OUTPUT, 'report-check.png'), fullPage: true });
      // Every breached feature is drawn; which ones breach besides the shifted airports depends on
      // which rows the check's window caught (a calendar part may breach mildly): the most shifted is judged.
      const breached = await page.locator('div.feature.breached').evaluateAll((els) =>
        els.map((el) => ({
          name: el.getAttribute('data-feature'),
          training: [...el.querySelectorAll('rect.training')].map((r) => Number(r.getAttribute('data-share'))),
          current: [...el.querySelectorAll('rect.current')].map((r) => Number(r.getAttribute('data-share'))),
        })),
      );
      for (const f of breached) assert.ok(f.training.length >= 2 && f.training.length === f.current.length, JSON.stringify(f));
      const apart = breached.map((f) => ({ name: f.name, tv: f.training.reduce((sum, t, i) => sum + Math.abs(t - f.current[i]), 0) / 2 }));
      const most = apart.reduce((a, b) => (b.tv > a.tv ? b : a));
      assert.ok(most.tv >= 0.25, `the most shifted breached feature's training and current distributions differ visibly: ${JSON.stringify(apart)}`);
    } finally {
      await browser.close();
    }

    // The cooldown blocks an immediate second retrain, by update and by the Schedule's signal.
    assert.match(await refusal(handle.executeUpdate(retrainNowUpdate, { args: [people.sign(WF, 'retrainNow', { by: 'bob', reason: 'again' })] })), /cooling down until/);
    await stack.client.schedule.getHandle(`retrain/${MODEL}`).trigger();
    const refused = await waitForStatus(handle, (s) => s.refused.some((r) => r.by === 'perennial-schedule'), 'the scheduled retrain refused');
    assert.match(refused.refused.find((r) => r.by === 'perennial-schedule')!.reason, /cooling down until/);
    assert.equal(refused.stage, 'SERVING');

    // The Web UI's list: the chain of runs, and the drift score as a search attribute.
    const runs = await listAll(`WorkflowId = 'lifecycle/${MODEL}'`, (n) => n >= 2);
    assert.ok(runs.some((r) => r.status.name === 'CONTINUED_AS_NEW'), runs.map((r) => r.status.name).join(', '));
    const drifted = await listAll(`WorkflowId = 'lifecycle/${MODEL}' AND PerennialDriftScore >= 0`, (n) => n >= 1);
    assert.ok(drifted.length >= 1);

    // A new spec with another schedule (and no cooldown to speak of) moves the Schedule with it.
    const nextSpec = { ...loaded.spec, retrain: { ...loaded.spec.retrain!, cooldown: '1s', schedule: { every: '1d' } } };
    // A retrain-policy change, with separation of duties: signed by one approver, co-signed by another.
    await handle.executeUpdate(updateSpecUpdate, { args: [signedSpecUpdate(people, WF, { spec: nextSpec, by: 'ml-lead', reason: 'retrain daily' }, { by: 'ops-lead', reason: 'agreed' })] });
    const moved = await stack.client.schedule.getHandle(`retrain/${MODEL}`).describe();
    assert.equal(Number(moved.spec.intervals?.[0]?.every ?? 0), 86_400_000, JSON.stringify(moved.spec));

    // Out of the cooldown, the Schedule's action retrains: its small workflow signals the lifecycle.
    await sleep(1500);
    await stack.client.schedule.getHandle(`retrain/${MODEL}`).trigger();
    const scheduled = await waitForStatus(handle, (s) => s.history.some((h) => h.event === 'retrain-requested' && h.by === 'perennial-schedule'), 'a scheduled retrain');
    assert.equal(scheduled.retrain.recent.length, 2, 'the drift retrain and this one');
    await waitForStatus(handle, (s) => s.stage === 'AWAITING_APPROVAL' || s.stage === 'SERVING', 'the scheduled training to end', 240_000);

    await handle.executeUpdate(retireUpdate, { args: [people.sign(WF, 'retire', { by: 'ml-lead', reason: 'end of test' })] });
    await handle.result();
    await assert.rejects(stack.client.schedule.getHandle(`retrain/${MODEL}`).describe(), /not found/i, 'retire deletes the retrain schedule');
    assert.ok(served.history.length > 0);
    await recordHistoriesOnPurpose(handle.workflowId);
  });
});

async function eventually<T>(f: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await f();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
}

async function listAll(query: string, enough: (n: number) => boolean) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const runs = [];
    for await (const r of stack.client.workflow.list({ query })) runs.push(r);
    if (enough(runs.length) || Date.now() > deadline) return runs;
    await sleep(500);
  }
}

/**
 * Replay fixtures of the continuous lifecycle (every run of the chain), re-recorded only on
 * purpose: `PERENNIAL_RECORD_HISTORIES=1 npm test -- test/workflow/monitoring.test.ts`.
 */
async function recordHistoriesOnPurpose(workflowId: string): Promise<void> {
  if (process.env.PERENNIAL_RECORD_HISTORIES !== '1') return;
  const runs = [];
  for await (const r of stack.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(r);
  runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  for (const [i, r] of runs.entries()) await recordHistoryOnPurpose(stack.client, workflowId, `monitoring-run${i + 1}.binpb`, r.runId);
}
