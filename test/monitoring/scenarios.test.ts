import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { openArtifactStore } from '../../src/artifacts/open';
import { readJsonArtifact } from '../../src/artifacts/read';
import type { BinaryMetrics } from '../../src/ml/metrics';
import { ModelArtifact } from '../../src/ml/modelArtifact';
import { openRegistry } from '../../src/registry/open';
import { parseSpec, SHIPPED_SPECS_DIR } from '../../src/spec/load';
import { gbdtTrainer, type ModelSpec, type MonitoringSpec, type RetrainSpec } from '../../src/spec/modelSpec';
import { selectRows, type SelectionRequest } from '../../src/traffic/scenarios';
import { flightsSpecRaw } from '../helpers/specs';
import { tempHome } from '../helpers/temporalServer';
import { trainVersions } from '../serving/fixtures';
import { firstRetrain } from './firstRetrain';
import { checkWindows, type Champion, type ScenarioCheck } from './scenarioChecks';
import { scenarioTable, type ScenarioFigures } from './scenarioTable';

/**
 * What the monitor of the demo model sees in each traffic scenario, and whether the shipped
 * retrain policy acts on it as promised. The demo model is the shipped flight-delays spec as
 * it is (trained on 2001-01-01 → 01-22, holdout to 02-01, its own trainer parameters), judged
 * with the spec's own monitoring and retrain policy: a test of the policy, not only the code.
 *
 * Rows come from the traffic simulator's `selectRows` (DuckDB over the real source). They are
 * scored with ModelArtifact.scoreRow, the model server's own code path, and logged to a real
 * prediction log; HTTP adds nothing the monitor could see (test/traffic and
 * test/workflow/monitoring.test.ts cover it). Labels arrive before each check (a label delay
 * shorter than the interval). A check holds PER_CHECK rows, about what one check of the demo's
 * traffic holds; checks of 1,000 and of 2,000 rows gave the same findings. The table of
 * figures is printed at the end:
 *   npx tsx scripts/run-tests.ts test/monitoring/scenarios.test.ts
 */

const PER_CHECK = 1500;
const SAME_CHECKS = 20;
/** later-months: each month's rows in event-time order, cut into this many checks of about a week each. */
const CHECKS_PER_MONTH = 4;
const SHIFT_CHECKS = 4;
const MONTHS = [
  ['Feb', '2001-02-01', '2001-03-01'],
  ['Mar', '2001-03-01', '2001-04-01'],
  ['Apr', '2001-04-01', '2001-05-01'],
  ['May', '2001-05-01', '2001-06-01'],
  ['Jun', '2001-06-01', '2001-07-01'],
] as const;

let champion: Champion;
let holdout: BinaryMetrics;
let monitoring: MonitoringSpec;
let policy: RetrainSpec;
const figures: ScenarioFigures[] = [];

before(async () => {
  const home = tempHome('perennial-scenarios-');
  const loaded = parseSpec(flightsSpecRaw(), '<shipped flight-delays spec>', SHIPPED_SPECS_DIR);
  const spec = loaded.spec;
  assert.ok(spec.monitoring && spec.retrain, 'the shipped spec has a monitoring and a retrain policy');
  monitoring = spec.monitoring;
  policy = spec.retrain;
  const { rounds, maxDepth } = gbdtTrainer(spec).params;
  const [v1] = await trainVersions(home, loaded, [{ rounds, maxDepth }]);
  holdout = (v1.version.metrics as { holdout: BinaryMetrics }).holdout;
  champion = {
    home,
    spec,
    version: v1.version.version,
    artifact: ModelArtifact.fromJSON(await readJsonArtifact(v1.version.artifactUri)),
    registry: openRegistry({ home }),
    store: openArtifactStore({ home }),
  };
});

after(async () => {
  if (figures.length) console.log(`\nWhat the monitor saw (${PER_CHECK} rows per check):\n${scenarioTable(holdout, figures)}\n`);
  await champion?.registry.close();
  if (champion) rmSync(champion.home, { recursive: true, force: true });
});

/** Runs a scenario's checks, keeps its figures for the table, and returns them. */
async function scenario(name: string, request: Omit<SelectionRequest, 'spec' | 'rows' | 'seed'>, checks: number): Promise<ScenarioFigures> {
  const selection = await selectRows({ spec: champion.spec, rows: checks * PER_CHECK, seed: 1, ...request });
  const run = await checkWindows(champion, name, selection.rows, PER_CHECK);
  const s = { scenario: name, checks: run, retrain: firstRetrain(policy, run.map((c) => c.summary)) };
  figures.push(s);
  return s;
}

/** Every check had its full window and enough labels to judge performance. */
function assertJudged(checks: ScenarioCheck[]): void {
  for (const { summary } of checks) {
    assert.equal(summary.enoughData, true);
    assert.equal(summary.rows, PER_CHECK);
    assert.notEqual(summary.performance.metrics, null, summary.performance.reasons.join('; '));
  }
}

const live = (checks: ScenarioCheck[]) => checks.map((c) => c.summary.performance.metrics!.auc.toFixed(3)).join(', ');

/**
 * The most breaches of n same-distribution checks that are still plausible — more has a
 * probability under 0.1% — when each check breaches with probability at most alpha (the
 * family-wise bound the Bonferroni-corrected report keeps).
 */
function plausibleFalseAlarms(n: number, alpha: number): number {
  let pmf = (1 - alpha) ** n;
  let cumulative = pmf;
  let b = 0;
  while (1 - cumulative >= 1e-3) {
    pmf *= ((n - b) / (b + 1)) * (alpha / (1 - alpha));
    cumulative += pmf;
    b++;
  }
  return b;
}

test('same: traffic like the training window never retrains (false alarms within the policy alpha)', async () => {
  const { checks, retrain } = await scenario('same', { scenario: 'same' }, SAME_CHECKS);
  assertJudged(checks);
  const breaches = checks.filter((c) => c.summary.drift.breached).length;
  const bound = plausibleFalseAlarms(SAME_CHECKS, monitoring.drift.alpha);
  assert.ok(breaches <= bound, `${breaches} of ${SAME_CHECKS} same-distribution checks breached (alpha ${monitoring.drift.alpha}: at most ${bound} plausible)`);
  const maxScore = Math.max(...checks.map((c) => c.summary.drift.score));
  assert.ok(maxScore < monitoring.drift.psiThreshold / 2, `PSI stays far below the threshold: max ${maxScore.toFixed(4)}`);
  // Training rows are in-sample for the model: live AUC is above the holdout's, never below the floor.
  assert.ok(checks.every((c) => c.summary.performance.belowFloor === false), `live AUC ${live(checks)}`);
  assert.equal(retrain, null, `no retrain on same-distribution traffic, but: ${retrain?.trigger.reason}`);
});

/**
 * The honest finding for the later months, with week-long checks: nothing the monitor can see
 * changes enough to act on, and nothing needs acting on.
 * - Inputs: the airports, routes, distances and times of day of Feb–Jun look like January's.
 *   Only day_of_week is at times significant — a check of 7–7.75 days over-represents a
 *   weekday or two — with a PSI far under the threshold, so no check breaches.
 * - Labels: the late rate moves a lot from week to week (weather, season) — a shift in the
 *   prior, invisible to input drift by design — but the model ranks flights about as well as on
 *   its holdout (live AUC within the allowed drop), so the performance floor stays quiet too,
 *   and no month retrains. Log-loss does move with the late rate, which is why the floor is
 *   on AUC (see the printed table).
 * A breach here would be a false alarm: of serving (features computed unlike training's),
 * of the drift statistics, or of a profile that no longer describes the training window.
 */
for (const [month, from, to] of MONTHS) {
  test(`later-months ${month}: no drift alarm and no retrain, the model still ranks as on its holdout`, async () => {
    const { checks, retrain } = await scenario(`later ${month}`, { scenario: 'later-months', from, to }, CHECKS_PER_MONTH);
    assertJudged(checks);
    for (const { summary } of checks) {
      assert.equal(summary.drift.breached, false, `${month}: ${summary.drift.reasons.join(' | ')}`);
      assert.ok(summary.drift.score < monitoring.drift.psiThreshold, `${month}: score ${summary.drift.score.toFixed(4)}`);
      assert.equal(summary.performance.belowFloor, false, `${month}: ${summary.performance.reasons.join('; ')}`);
    }
    assert.equal(retrain, null, `${month}: ${retrain?.trigger.reason}`);
  });
}

test('shift: flights between airports the training window rarely saw breach at once; drift retrains after K checks', async () => {
  const k = policy.onDrift?.consecutiveBreaches;
  assert.ok(k !== undefined && k <= SHIFT_CHECKS, `the policy retrains on drift within ${SHIFT_CHECKS} checks (K = ${k})`);
  const { checks, retrain } = await scenario('shift', { scenario: 'shift' }, SHIFT_CHECKS);
  assertJudged(checks);
  for (const { summary } of checks) {
    assert.equal(summary.drift.breached, true, 'every check of shifted traffic breaches, the first included');
    assert.ok(summary.drift.score >= monitoring.drift.psiThreshold);
    for (const f of ['origin_flights', 'dest_flights', 'route_flights']) {
      assert.ok(summary.drift.breachedFeatures.includes(f), `${f} breached: ${summary.drift.breachedFeatures.join(', ')}`);
    }
  }
  // The model still ranks these flights about as well as its holdout, so performance does not
  // trip first: drift alone detects the shift, and the policy waits for K consecutive breaches.
  assert.ok(checks.every((c) => c.summary.performance.belowFloor === false), `live AUC ${live(checks)}`);
  assert.equal(retrain?.check, k, `retrain after check ${retrain?.check ?? 'none'}, expected after K = ${k}`);
  assert.equal(retrain?.trigger.kind, 'drift');
});

/**
 * Not a scenario of the simulator's defaults but a limit of drift tests worth knowing: a check
 * of traffic at its own pace holds rows of an hour or two, and calendar features (hour, minute
 * of day, day of week) cannot match a profile of three whole weeks — measured: two hours of
 * holdout-period traffic breach on them alone (PSI 7.8). So the shipped spec keeps them out of
 * drift tests (`monitoring.drift.exclude`); the rest of the features still watch those hours.
 * (Live AUC sinks on such a slice too — within two hours the time of day, much of what the
 * model knows, does not vary — so a performance window of a few hours is no better.)
 */
test('two hours of traffic: the calendar features the spec excludes raise no alarm; only the hour-driven score may', async () => {
  const { checks } = await scenario('2 h of Jan 23', { scenario: 'later-months', from: '2001-01-23T14:00:00Z', to: '2001-01-23T16:00:00Z' }, 1);
  const { drift } = checks[0].summary;
  assert.deepEqual(drift.excluded, ['hour', 'minute_of_day', 'day_of_week']);
  // The predicted score still follows the hour (much of what the model knows), so it may
  // breach on such a slice: checks of hourly real-time traffic should span whole days, or
  // switch `predictions` off. Nothing else breaches: the airports and routes are January's.
  assert.deepEqual(drift.breachedFeatures.filter((f) => f !== 'prediction'), [], drift.breachedFeatures.join(', '));
  assert.ok(lookupFeatures(champion.spec).length > 0);
});

function lookupFeatures(spec: ModelSpec): string[] {
  return spec.features.filter((f) => f.transform.from === 'lookup').map((f) => f.name);
}
