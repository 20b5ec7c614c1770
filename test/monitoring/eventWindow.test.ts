import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { ArtifactStore } from '../../src/artifacts/store';
import { openArtifactStore } from '../../src/artifacts/open';
import { readJsonArtifact } from '../../src/artifacts/read';
import { ModelArtifact } from '../../src/ml/modelArtifact';
import { runMonitorCheck } from '../../src/monitoring/check';
import type { Registry } from '../../src/registry/registry';
import { openRegistry } from '../../src/registry/open';
import { PredictionLog } from '../../src/serving/predictionLog';
import { ModelSpec } from '../../src/spec/modelSpec';
import type { LoadedSpec } from '../../src/spec/load';
import { uuidv7 } from '../../src/util/uuidv7';
import { trainVersions, windowRows } from '../serving/fixtures';
import { smallFlightsSpec } from '../helpers/specs';
import { tempHome } from '../helpers/temporalServer';

/**
 * `monitoring.performance.eventWindow`: performance judged on the labeled rows of the latest
 * event-time window, not on the newest rows logged. The scene: the latest day of flights
 * go wrong (their labels are the opposite of what the model learned), and a backfill of
 * earlier, well-predicted flights is logged after them. The newest 600 logged rows are the
 * backfill: the drop is hidden. The event window finds it. Real model, real prediction log.
 */

const DAY = 86_400_000;
let home: string;
let loaded: LoadedSpec;
let predictions: PredictionLog;
let registry: Registry;
let store: ArtifactStore;

before(async () => {
  home = tempHome('perennial-event-window-');
  loaded = smallFlightsSpec((raw) => {
    raw.monitoring = { interval: '1h', minRows: 100, performance: { minLabeled: 100, window: 600, min: { auc: 0.55 } } };
  });
  const [v1] = await trainVersions(home, loaded, [{ rounds: 20, maxDepth: 4 }]);
  const artifact = ModelArtifact.fromJSON(await readJsonArtifact(v1.version.artifactUri));
  const rows = (await windowRows(loaded, v1.snapshotUri, 'training')).sort((a, b) => (a.date as number) - (b.date as number));
  const latest = rows.at(-1)!.date as number;
  const recent = rows.filter((r) => (r.date as number) > latest - DAY).slice(-400);
  const backfill = rows.filter((r) => (r.date as number) <= latest - 1.5 * DAY).slice(0, 800);
  predictions = PredictionLog.forHome(home);
  registry = openRegistry({ home });
  store = openArtifactStore({ home });
  const late = (r: Record<string, unknown>) => ((r.delay as number) > 15 ? 1 : 0);
  // Recent flights first, labeled wrong; then the backfill, labeled right.
  for (const [batch, wrong] of [[recent, true], [backfill, false]] as const) {
    const records = batch.map((row) => {
      const features = new Float64Array(artifact.pipeline.features.length);
      return { requestId: uuidv7(), at: new Date().toISOString(), model: loaded.spec.name, modelVersion: 1, instance: row, features, score: artifact.scoreRow(row, features) };
    });
    predictions.append(records);
    predictions.flush();
    predictions.applyLabels(loaded.spec.name, records.map((r, i) => ({ requestId: r.requestId, label: (wrong ? 1 - late(batch[i]) : late(batch[i])) as 0 | 1 })));
  }
  assert.ok(recent.length >= 150 && backfill.length >= 600, `${recent.length} recent, ${backfill.length} backfill rows`);
});

after(async () => {
  predictions?.close();
  await registry?.close();
  rmSync(home, { recursive: true, force: true });
});

function check(performance: Record<string, unknown>, key: string) {
  const spec = ModelSpec.parse({ ...loaded.spec, monitoring: { ...loaded.spec.monitoring, performance: { ...loaded.spec.monitoring!.performance, ...performance } } });
  return runMonitorCheck({ registry, store, predictions }, { spec, version: 1, cursor: 0, asOf: new Date().toISOString(), checkKey: key });
}

test('the newest logged rows hide a drop in the latest event-time window; eventWindow finds it', async () => {
  const byRows = await check({}, 'rows');
  assert.equal(byRows.performance.labeled, 600);
  assert.equal(byRows.performance.belowFloor, false, `pooled by logging order the backfill looks fine: AUC ${byRows.performance.metrics?.auc}`);

  const byEventTime = await check({ eventWindow: '1d' }, 'event');
  assert.ok(byEventTime.performance.labeled >= 150 && byEventTime.performance.labeled <= 400, `${byEventTime.performance.labeled} rows in the window`);
  assert.equal(byEventTime.performance.belowFloor, true, `the latest day: AUC ${byEventTime.performance.metrics?.auc}`);
  assert.match(byEventTime.performance.reasons.join('; '), /\d+ labeled rows with event time from .* \(eventWindow 1d\)/);
  assert.throws(() => ModelSpec.parse({ ...loaded.spec, monitoring: { ...loaded.spec.monitoring, performance: { eventWindow: 'a week' } } }), /eventWindow/);
});
