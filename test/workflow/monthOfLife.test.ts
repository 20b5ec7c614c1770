import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createWorker, type PerennialWorker } from '../../src/worker/createWorker';
import type { Config } from '../../src/config';
import { activityDeps, createActivities } from '../../activities';
import { startLifecycle } from '../../src/client/startLifecycle';
import { openRegistry } from '../../src/registry/open';
import { readJsonArtifact } from '../../src/artifacts/read';
import { ModelArtifact } from '../../src/ml/modelArtifact';
import { PredictionLog } from '../../src/serving/predictionLog';
import type { MonitorCheckInput } from '../../src/monitoring/check';
import { seededRandom } from '../../src/util/random';
import { uuidv7 } from '../../src/util/uuidv7';
import { approveUpdate, statusQuery } from '../../workflows';
import { workflowBundle } from '../helpers/temporalServer';
import { startTimeSkippingStack, type TimeSkippingStack } from '../helpers/timeSkipping';
import { smallFlightsSpec } from '../helpers/specs';
import { waitForStatus } from '../helpers/lifecycle';
import { windowRows } from '../serving/fixtures';
import { signers } from '../helpers/signing';
import { lifetimeOnServerClock } from '../helpers/signedActions';

/**
 * A month of life on the time-skipping test server: 30 days of hourly checks with a
 * drift episode (days 10–14: flights only from rarely seen airports) in the middle.
 * Only the clock is skipped. Each hour's traffic is scored by the real champion exactly
 * as the model server scores it and logged to the real prediction log just before that
 * hour's check (the test wraps the real check activity to do so: the traffic arrives on
 * the workflow's clock); the real drift library judges it.
 */

const DAY = 86_400_000;
const ROWS_PER_HOUR = 300;
const HOUR = 3_600_000;
/** The drift episode, in hours of the month: days 10 to 14. */
const EPISODE = { from: 240, to: 336 };

let env: TestWorkflowEnvironment;
let worker: PerennialWorker;
let running: Promise<void>;
let stack: TimeSkippingStack;
let config: Config;
let startMs = 0;
const hoursServed = { same: 0, shifted: 0 };
const timing = { trafficMs: 0, checkMs: 0 };

const loaded = smallFlightsSpec((raw) => {
  raw.approval = { approvers: ['ml-lead'], timeout: '12h' };
  raw.evaluation = { gates: { min: { auc: 0.55 }, maxRegression: { auc: 0.01 } } };
  raw.rollout = { deployTimeout: '30s' };
  raw.monitoring = { interval: '1h', minRows: 200, maxRows: 5000, retention: '60d', drift: { alpha: 0.01, psiThreshold: 0.2 } };
  raw.retrain = { onDrift: { consecutiveBreaches: 3 }, onPerformance: false, cooldown: '24h', budget: { max: 2, per: '7d' } };
});

before(async () => {
  stack = await startTimeSkippingStack('month-of-life', 'perennial-month-');
  ({ env, config } = stack);
  const deps = activityDeps(config);
  const activities = createActivities(deps);
  const traffic = await trafficOfTheMonth(deps, config.home);
  worker = await createWorker({
    config,
    connection: env.nativeConnection,
    workflowBundle: await workflowBundle(),
    activities: {
      ...activities,
      checkChampion: async (input: MonitorCheckInput) => {
        const t0 = performance.now();
        await traffic(input.version, Date.parse(input.asOf));
        const t1 = performance.now();
        const r = await activities.checkChampion(input);
        timing.trafficMs += t1 - t0;
        timing.checkMs += performance.now() - t1;
        return r;
      },
    },
  });
  running = worker.run();
});

after(async () => {
  worker.shutdown();
  await running;
  await stack.stop();
});

/** The hour before each check: same-distribution rows, or rare-airport rows during the episode. */
async function trafficOfTheMonth(deps: ReturnType<typeof activityDeps>, home: string): Promise<(version: number, atMs: number) => Promise<void>> {
  let artifact: ModelArtifact | undefined;
  let rows: Record<string, unknown>[] = [];
  let rare: Record<string, unknown>[] = [];
  const random = seededRandom(2001);
  // As the model server logs them: its own writer of the log the worker's checks read.
  const log = PredictionLog.forHome(home);
  return async (version, atMs) => {
    if (!artifact) {
      const v = (await deps.registry.get(loaded.spec.name, version))!;
      artifact = ModelArtifact.fromJSON(await readJsonArtifact(v.artifactUri));
      rows = trainingRows;
      const counts = new Map<string, number>();
      for (const r of rows) counts.set(r.origin as string, (counts.get(r.origin as string) ?? 0) + 1);
      rare = rows.filter((r) => (counts.get(r.origin as string) ?? 0) <= 30);
    }
    const hour = Math.round((atMs - startMs) / HOUR);
    const shifted = hour >= EPISODE.from && hour < EPISODE.to;
    const source = shifted ? rare : rows;
    hoursServed[shifted ? 'shifted' : 'same']++;
    const records = Array.from({ length: ROWS_PER_HOUR }, () => {
      const instance = source[Math.floor(random() * source.length)];
      const features = new Float64Array(artifact!.pipeline.features.length);
      const score = artifact!.scoreRow(instance, features);
      return { requestId: uuidv7(atMs), at: new Date(atMs).toISOString(), model: loaded.spec.name, modelVersion: version, instance, features, score };
    });
    log.append(records);
    log.flush();
  };
}

let trainingRows: Record<string, unknown>[] = [];

test('a month of hourly checks with a drift episode takes exactly the decisions the policy promises', async () => {
  startMs = await env.currentTimeMs();
  // Keys before the lifecycle starts: it loads them when it starts.
  const people = await signers(config, ['ml-lead']);
  const { handle } = await startLifecycle(env.client, config, loaded, 'alice', { continueAsNewAfter: 200 });
  const first = await waitForStatus(handle, (s) => s.stage === 'AWAITING_APPROVAL' && s.candidate?.version === 1, 'candidate v1');
  const registry = openRegistry(config);
  trainingRows = await windowRows(loaded, (await registry.get(loaded.spec.name, 1))!.lineage.datasetUri, 'training');
  await handle.executeUpdate(approveUpdate, { args: [people.sign(handle.workflowId, 'approve', { version: 1, by: 'ml-lead', reason: 'first champion' }, await lifetimeOnServerClock(env))] });
  await waitForStatus(handle, (s) => s.stage === 'SERVING' && s.champion?.version === 1, 'v1 served');
  startMs = Date.parse((await handle.query(statusQuery)).champion!.since);
  assert.equal(first.monitoring.state, 'idle', 'no champion yet: nothing to watch');

  const wall = Date.now();
  // A day at a time, so the clock stops at the end of the month.
  for (let day = 1; day <= 30; day++) {
    await env.sleep(DAY);
    if (process.env.TEST_PROGRESS) console.log(`day ${day}: ${JSON.stringify((await handle.query(statusQuery)).monitoring)}`);
  }
  const s = await waitForStatus(handle, (st) => st.monitoring.checks >= 720, '720 checks');
  const wallSeconds = (Date.now() - wall) / 1000;

  // The month on the workflow's clock (the ledger's own times are the worker's wall clock).
  const dayOf = (at: string) => (Date.parse(at) - startMs) / DAY;
  const hourOf = (at: string) => Math.round((Date.parse(at) - startMs) / HOUR);
  const checks = (await registry.checks(loaded.spec.name)).filter((c) => dayOf(c.at) <= 30 + 1 / 48);
  const breachedHours = checks.filter((c) => c.breached).map((c) => hourOf(c.at));
  const events = s.history.filter((h) => dayOf(h.at) > 0 && dayOf(h.at) <= 30).map((h) => ({ event: h.event, version: h.version, by: h.by, day: dayOf(h.at) }));
  const ledger = (await registry.ledger(loaded.spec.name)).map((e) => e.decision);
  await registry.close();
  console.log(`month of life: ${checks.length} checks in 30 days, ${wallSeconds.toFixed(1)} s of wall time, ${s.run} runs in the chain; ` +
    `${breachedHours.length} breached checks; hours served same/shifted ${hoursServed.same}/${hoursServed.shifted}; ` +
    `inside the check activity: logging the hour's traffic ${(timing.trafficMs / 1000).toFixed(1)} s, the check itself ${(timing.checkMs / 1000).toFixed(1)} s`);
  assert.equal(checks.length, 720, 'one check an hour');

  // Drift is seen during the episode, and (almost) never outside it.
  const inEpisode = breachedHours.filter((h) => h >= EPISODE.from && h < EPISODE.to);
  assert.ok(inEpisode.length >= 90, `${inEpisode.length} of the 96 episode checks breached`);
  assert.ok(breachedHours.length - inEpisode.length <= 3, `false alarms outside the episode: ${breachedHours.length - inEpisode.length}`);

  // The decisions: a retrain after 3 consecutive breaches; the next one only after the 24 h
  // cooldown; then the budget (2 per 7 days) holds any third back; nobody approves, so both
  // candidates expire after 12 h and v1 serves the whole month.
  const retrains = events.filter((e) => e.event === 'retrain-requested');
  assert.equal(retrains.length, 2, JSON.stringify(events));
  assert.ok(retrains.every((e) => e.by === 'perennial-monitor'));
  assert.ok(Math.abs(retrains[0].day * 24 - (EPISODE.from + 2)) < 0.1, `first retrain at the third breached check, hour ${retrains[0].day * 24}`);
  assert.ok(Math.abs(retrains[1].day - retrains[0].day - 1) < 0.05, `second retrain ${((retrains[1].day - retrains[0].day) * 24).toFixed(1)} h after the first`);
  assert.deepEqual(events.filter((e) => e.event === 'expired').map((e) => e.version), [2, 3]);
  assert.equal(ledger.filter((d) => d === 'retrain-requested').length, 2, 'the ledger agrees');
  assert.equal(s.champion?.version, 1);
  assert.equal(s.stage, 'SERVING');
  assert.equal(s.monitoring.consecutiveBreaches, 0, 'the episode is over');
  assert.ok(s.run >= 3, `continued as new along the way (run ${s.run})`);
  assert.ok(s.history.some((h) => h.event === 'deployed' && h.version === 1), 'the promotion history survived continue-as-new');
});
