import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { ArtifactStore } from '../../src/artifacts/store';
import { openArtifactStore } from '../../src/artifacts/open';
import { filePath } from '../../src/artifacts/fileStore';
import { readJsonArtifact } from '../../src/artifacts/read';
import { ModelArtifact } from '../../src/ml/modelArtifact';
import { runMonitorCheck, type MonitorCheckSummary } from '../../src/monitoring/check';
import type { Registry } from '../../src/registry/registry';
import { openRegistry } from '../../src/registry/open';
import { PredictionLog } from '../../src/serving/predictionLog';
import type { LoadedSpec } from '../../src/spec/load';
import { seededRandom } from '../../src/util/random';
import { uuidv7 } from '../../src/util/uuidv7';
import { trainVersions, windowRows } from '../serving/fixtures';
import { smallFlightsSpec } from '../helpers/specs';
import { tempHome } from '../helpers/temporalServer';

/**
 * Monitor checks on real logged traffic: a real trained model scores real flights rows
 * exactly as the model server does (ModelArtifact.scoreRow), they go to the real SQLite
 * prediction log, and the check runs the real drift library against the real profile.
 * (The HTTP path and the workflow around it are tested in test/workflow/monitoring.test.ts.)
 */

let home: string;
let loaded: LoadedSpec;
let artifact: ModelArtifact;
let training: Record<string, unknown>[];
let predictions: PredictionLog;
let registry: Registry;
let store: ArtifactStore;
let checks = 0;

before(async () => {
  home = tempHome('perennial-monitor-');
  loaded = smallFlightsSpec((raw) => {
    raw.monitoring = { interval: '1h', minRows: 300, maxRows: 2000, retention: '7d', performance: { minLabeled: 200, min: { auc: 0.55 } } };
  });
  const [v1] = await trainVersions(home, loaded, [{ rounds: 20, maxDepth: 4 }]);
  artifact = ModelArtifact.fromJSON(await readJsonArtifact(v1.version.artifactUri));
  training = await windowRows(loaded, v1.snapshotUri, 'training');
  predictions = PredictionLog.forHome(home);
  registry = openRegistry({ home });
  store = openArtifactStore({ home });
});

after(async () => {
  predictions.close();
  await registry.close();
  rmSync(home, { recursive: true, force: true });
});

const late = (row: Record<string, unknown>) => ((row.delay as number) > 15 ? 1 : 0);

/** Scores rows as the model server does and logs them; returns their request ids. */
function serve(rows: Record<string, unknown>[], o: { version?: number; at?: string } = {}): string[] {
  const ids: string[] = [];
  predictions.append(
    rows.map((row) => {
      const features = new Float64Array(artifact.pipeline.features.length);
      const score = artifact.scoreRow(row, features);
      const requestId = uuidv7();
      ids.push(requestId);
      return { requestId, at: o.at ?? new Date().toISOString(), model: loaded.spec.name, modelVersion: o.version ?? 1, instance: row, features, score };
    }),
  );
  predictions.flush();
  return ids;
}

function sample(rows: Record<string, unknown>[], n: number, seed: number): Record<string, unknown>[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => rows[Math.floor(random() * rows.length)]);
}

let cursor = 0;
async function check(asOf = new Date().toISOString()): Promise<MonitorCheckSummary> {
  const r = await runMonitorCheck({ registry, store, predictions }, { spec: loaded.spec, version: 1, cursor, asOf, checkKey: `test/check/${++checks}` });
  cursor = r.cursor.to;
  return r;
}

test('no false alarms: 20 checks of traffic sampled at random from the training window', async () => {
  const alpha = loaded.spec.monitoring!.drift.alpha;
  let breaches = 0;
  const scores: number[] = [];
  for (let i = 0; i < 20; i++) {
    serve(sample(training, 1000, 100 + i));
    const r = await check();
    assert.equal(r.enoughData, true);
    assert.equal(r.rows, 1000);
    if (r.drift.breached) breaches++;
    scores.push(r.drift.score);
  }
  // Family-wise alpha per check is 0.01: more than 2 breaches in 20 has probability < 0.1%.
  assert.ok(breaches <= 2, `${breaches} of 20 same-distribution checks breached (alpha ${alpha})`);
  assert.ok(Math.max(...scores) < 0.1, `PSI stays small on same-distribution traffic: max ${Math.max(...scores).toFixed(4)}`);
  console.log(`false alarms: ${breaches}/20 checks; max drift score ${Math.max(...scores).toFixed(4)}`);
});

test('a loud covariate shift (flights from rarely seen airports) breaches at the first check', async () => {
  const counts = new Map<string, number>();
  for (const r of training) counts.set(r.origin as string, (counts.get(r.origin as string) ?? 0) + 1);
  const rare = new Set([...counts].filter(([, n]) => n <= 30).map(([o]) => o));
  const shifted = training.filter((r) => rare.has(r.origin as string));
  assert.ok(shifted.length >= 500, `${shifted.length} rows from rare airports`);
  serve(sample(shifted, 1000, 7));
  const r = await check();
  assert.equal(r.drift.breached, true);
  assert.ok(r.drift.breachedFeatures.includes('origin_flights'), r.drift.breachedFeatures.join(', '));
  assert.ok(r.drift.score >= 0.2);
  assert.match(r.drift.reasons.join('\n'), /origin_flights: KS p-value .* < per-test alpha .*; PSI .* ≥ threshold 0.2/);
});

test('fewer rows than minRows: "not enough data", nothing decided, the cursor still moves', async () => {
  serve(sample(training, 100, 3));
  const before = cursor;
  const r = await check();
  assert.equal(r.enoughData, false);
  assert.equal(r.drift.breached, false);
  assert.equal(r.rows, 100);
  assert.ok(r.cursor.to > before);
});

test('the cursor: rows of another version are skipped, never read twice, and the newest maxRows are tested', async () => {
  serve(sample(training, 400, 4), { version: 2 });
  const skipped = await check();
  assert.equal(skipped.available, 0);
  assert.equal(skipped.enoughData, false);
  serve(sample(training, 2500, 5));
  const r = await check();
  assert.equal(r.available, 2500);
  assert.equal(r.rows, 2000, 'maxRows bounds a backlog to its newest rows');
  const again = await check();
  assert.equal(again.available, 0, 'nothing is read twice');
});

test('performance on delayed labels: judged once enough arrive, below the floor when the model is wrong', async () => {
  const rows = sample(training, 600, 9);
  const ids = serve(rows);
  const unlabeled = await check();
  assert.equal(unlabeled.performance.metrics, null);
  assert.match(unlabeled.performance.reasons[0], /not judged: \d+ labeled rows < minLabeled 200/);

  predictions.applyLabels(loaded.spec.name, ids.map((requestId, i) => ({ requestId, label: late(rows[i]) as 0 | 1 })));
  const judged = await check();
  assert.equal(judged.performance.labeled, 600);
  assert.ok(judged.performance.metrics!.auc > 0.55, `live AUC ${judged.performance.metrics!.auc}`);
  assert.equal(judged.performance.belowFloor, false);
  const latest = Math.max(...rows.map((r) => r.date as number));
  assert.equal(judged.labeledUntil, new Date(latest).toISOString(), 'labeled traffic reached the latest event time of the labeled rows');

  // The world turned upside down: labels opposite to what the model learned.
  const flipped = sample(training, 600, 10);
  const flippedIds = serve(flipped);
  predictions.applyLabels(loaded.spec.name, flippedIds.map((requestId, i) => ({ requestId, label: (1 - late(flipped[i])) as 0 | 1 })));
  const bad = await check();
  assert.equal(bad.performance.belowFloor, true);
  assert.match(bad.performance.reasons.join('; '), /live auc 0\.\d+ < floor 0.55/);
});

test('every check is stored (registry and JSON report); retention prunes old rows and reports, never versions', async () => {
  const stored = await registry.checks(loaded.spec.name);
  assert.equal(stored.length, checks);
  const report = (await readJsonArtifact(stored[0].reportUri)) as { format: string; drift: { features: unknown[] } };
  assert.equal(report.format, 'perennial.monitor-check/1');
  assert.equal(report.drift.features.length, artifact.pipeline.features.length + 1, 'every feature and the predicted score');

  // Eight days later (retention 7d): every row and report so far is older than retention.
  const logged = predictions.read({ model: loaded.spec.name }).length;
  const later = new Date(Date.now() + 8 * 86_400_000).toISOString();
  const r = await check(later);
  assert.equal(r.pruned.predictions, logged);
  assert.equal(r.pruned.checks, checks - 1);
  assert.equal(existsSync(filePath(stored[0].reportUri)), false);
  assert.deepEqual((await registry.checks(loaded.spec.name)).map((c) => c.dedupeKey), [`test/check/${checks}`]);
  assert.ok(await registry.get(loaded.spec.name, 1), 'registry versions are never pruned');
});

test('features the spec excludes from drift tests are neither tested nor reported as breached', async () => {
  const spec = { ...loaded.spec, monitoring: { ...loaded.spec.monitoring!, drift: { ...loaded.spec.monitoring!.drift, exclude: ['hour', 'day_of_week'] } } };
  serve(sample(training, 500, 11));
  const r = await runMonitorCheck({ registry, store, predictions }, { spec, version: 1, cursor, asOf: new Date().toISOString(), checkKey: `test/check/${++checks}` });
  cursor = r.cursor.to;
  assert.deepEqual(r.drift.excluded, ['hour', 'day_of_week']);
  const report = (await readJsonArtifact(r.reportUri)) as { drift: { features: { name: string }[] } };
  const names = report.drift.features.map((f) => f.name);
  assert.ok(!names.includes('hour') && !names.includes('day_of_week'), names.join(', '));
  assert.ok(names.includes('minute_of_day') && names.includes('prediction'));
});
