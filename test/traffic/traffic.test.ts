/**
 * The traffic simulator as a user meets it: real rows of the flights source, a real model
 * version trained on a few days of it, the real model server over HTTP on 127.0.0.1 (in
 * this process, so its prediction log can be read back), and the CLI as a child process.
 * Tests run in order and share the server; each reads only the log rows it caused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { openRegistry } from '../../src/registry/open';
import { buildModelServer, type ModelServer } from '../../src/serving/app';
import { waitUntilServing } from '../../src/serving/client';
import type { PredictionRow } from '../../src/serving/predictionLog';
import { labelOf } from '../../src/features/target';
import { freePort } from '../../src/util/net';
import { runTraffic, TrafficError, type TrafficOptions, type TrafficSummary } from '../../src/traffic';
import { selectRows } from '../../src/traffic/scenarios';
import type { LoadedSpec } from '../../src/spec/load';
import { setGbdtParams, smallFlightsSpec } from '../helpers/specs';
import { trainVersions, windowRows, type TrainedVersion } from '../serving/fixtures';
import { expectExit, runCli, type CliRun } from '../helpers/cli';

const MODEL = 'traffic-flights';
/** Registered, never promoted: the server knows it and answers 503. */
const IDLE_MODEL = 'traffic-idle';

let home: string;
let loaded: LoadedSpec;
let trained: TrainedVersion;
let server: ModelServer;
let url: string;
/** Training-window rows by identity (date, origin, destination, distance) → their labels. */
const trainingLabels = new Map<string, Set<0 | 1>>();
const trainingCount: Record<'origin' | 'destination', Map<string, number>> = { origin: new Map(), destination: new Map() };
let cursor = 0;

const key = (r: { date: unknown; origin: unknown; destination: unknown; distance: unknown }) =>
  `${typeof r.date === 'string' ? Date.parse(r.date) : r.date}|${r.origin}|${r.destination}|${r.distance}`;

interface Instance {
  date: string;
  distance: number;
  origin: string;
  destination: string;
}

/** The prediction-log rows of MODEL written since the last call. */
async function newRows(): Promise<(PredictionRow & { instance: Instance })[]> {
  const rows = await server.predictionLog.read({ model: MODEL, afterId: cursor });
  if (rows.length) cursor = rows.at(-1)!.id;
  return rows as (PredictionRow & { instance: Instance })[];
}

const traffic = (o: Partial<TrafficOptions>) =>
  runTraffic({ spec: loaded.spec, serverUrl: url, scenario: 'same', rows: 10, rate: 500, labelDelayMs: null, ...o });

before(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), 'perennial-traffic-'));
  loaded = smallFlightsSpec((raw) => {
    raw.name = MODEL;
    setGbdtParams(raw, { rounds: 8, maxDepth: 3 });
  });
  [trained] = await trainVersions(home, loaded, [{ rounds: 8, maxDepth: 3 }]);
  const registry = openRegistry({ home });
  try {
    await registry.setAlias(MODEL, 'champion', trained.version.version);
    await registry.register({ ...trained.version, model: IDLE_MODEL });
  } finally {
    await registry.close();
  }
  mkdirSync(path.join(home, 'specs'), { recursive: true });
  writeFileSync(path.join(home, 'specs', `${MODEL}.yaml`), YAML.stringify(loaded.spec));

  server = await buildModelServer({ home, pollMs: 50, flushMs: 20 });
  await server.app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;
  assert.equal((await waitUntilServing(url, MODEL, trained.version.version, { timeoutMs: 10_000 })).serving, true);

  for (const row of await windowRows(loaded, trained.snapshotUri, 'training')) {
    const k = key(row as never);
    if (!trainingLabels.has(k)) trainingLabels.set(k, new Set());
    trainingLabels.get(k)!.add(labelOf(loaded.spec.target, row.delay)!);
    for (const c of ['origin', 'destination'] as const) trainingCount[c].set(String(row[c]), (trainingCount[c].get(String(row[c])) ?? 0) + 1);
  }
});

after(async () => {
  await server?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

const times = (rows: { instance: Instance }[]) => rows.map((r) => Date.parse(r.instance.date));

describe('traffic simulator (library)', () => {
  test('same: N rows sampled from the training window, not in time order, labeled with their targets after the delay', async () => {
    const summary = await traffic({ scenario: 'same', rows: 60, rate: 400, batch: 3, labelDelayMs: 300, seed: 7 });
    assert.equal(summary.rowsSent, 60);
    assert.equal(summary.predictions, 60);
    assert.deepEqual(summary.modelVersions, { [String(trained.version.version)]: 60 });
    assert.equal(summary.stoppedBy, 'done');
    assert.deepEqual(summary.httpErrors, { predict: {}, labels: {} });
    assert.equal(summary.labels?.posted, 60);
    assert.equal(summary.labels?.accepted, 60);
    assert.equal(summary.labels?.notLabeled, 0);
    assert.equal(summary.seed, 7);

    const rows = await newRows();
    assert.equal(rows.length, 60);
    const t = times(rows);
    const { start, end } = { start: Date.parse('2001-01-01T00:00:00Z'), end: Date.parse('2001-01-04T00:00:00Z') };
    assert.ok(t.every((x) => x >= start && x < end), 'every row is from the training window');
    assert.ok(t.some((x, i) => i > 0 && x < t[i - 1]), 'not in time order');
    for (const r of rows) {
      assert.deepEqual(Object.keys(r.instance).sort(), ['date', 'destination', 'distance', 'origin'], 'the input columns, no target');
      const labels = trainingLabels.get(key(r.instance));
      assert.ok(labels, `${JSON.stringify(r.instance)} is a training-window row`);
      assert.ok(r.label !== null && labels.has(r.label), `label ${r.label} is the row's target`);
      assert.ok(Date.parse(r.labeledAt!) - Date.parse(r.at) >= 250, `labeled ${Date.parse(r.labeledAt!) - Date.parse(r.at)} ms after the prediction`);
    }
    const positives = rows.filter((r) => r.label === 1).length;
    assert.equal(summary.positiveRate, Math.round((positives / 60) * 1e4) / 1e4);
    assert.equal(summary.latestLabeledEventTime, new Date(Math.max(...t)).toISOString());
  });

  test('same: the seed decides the sample', async () => {
    const pick = (seed: number) => selectRows({ spec: loaded.spec, scenario: 'same', rows: 20, seed }).then((s) => s.rows.map((r) => r.instance));
    const [a, b, c] = await Promise.all([pick(1), pick(1), pick(2)]);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  test('later-months: rows of the period in event-time order, spread over all of it, labeled right after each batch', async () => {
    const from = '2001-03-01';
    const to = '2001-04-01';
    const summary = await traffic({ scenario: 'later-months', rows: 40, rate: 500, batch: 4, labelDelayMs: 0, from, to });
    assert.equal(summary.rowsSent, 40);
    assert.equal(summary.labels?.accepted, 40);
    assert.deepEqual(summary.window, { from: '2001-03-01T00:00:00.000Z', to: '2001-04-01T00:00:00.000Z' });
    const rows = await newRows();
    const t = times(rows);
    assert.equal(rows.length, 40);
    assert.ok(t.every((x, i) => i === 0 || x >= t[i - 1]), 'in event-time order');
    assert.ok(t[0] >= Date.parse('2001-03-01T00:00:00Z') && t.at(-1)! < Date.parse('2001-04-01T00:00:00Z'), 'within the period');
    assert.ok(t[0] < Date.parse('2001-03-02T00:00:00Z') && t.at(-1)! >= Date.parse('2001-03-30T00:00:00Z'), 'covering all of it');
    assert.equal(summary.period.first, rows[0].instance.date);
    assert.equal(summary.period.last, rows.at(-1)!.instance.date);
    assert.equal(summary.latestLabeledEventTime, rows.at(-1)!.instance.date);
    assert.ok(rows.every((r) => r.label !== null));
  });

  test('later-months by default starts where the holdout ends', async () => {
    const s = await selectRows({ spec: loaded.spec, scenario: 'later-months', rows: 5, seed: 1 });
    assert.equal(s.window.from, '2001-01-05T00:00:00.000Z');
    assert.match(String(s.rows[0].instance.date), /^2001-01-05T/);
    assert.ok(String(s.rows.at(-1)!.instance.date) >= '2001-06-30', 'reaches the end of the source');
  });

  test('shift: every origin and destination is one the training window rarely or never saw', async () => {
    const summary = await traffic({ scenario: 'shift', rows: 30, rate: 500, batch: 5, labelDelayMs: null, from: '2001-02-01', to: '2001-04-01' });
    assert.equal(summary.rowsSent, 30);
    assert.equal(summary.labels, null);
    const shift = summary.shift!;
    assert.deepEqual(Object.keys(shift.columns).sort(), ['destination', 'origin']);
    const rows = await newRows();
    assert.equal(rows.length, 30);
    assert.ok(rows.every((r) => r.label === null), 'no labels were asked for');
    const trainingRows = [...trainingCount.origin.values()].reduce((a, b) => a + b, 0);
    for (const c of ['origin', 'destination'] as const) {
      const threshold = shift.columns[c].maxTrainingCount;
      assert.ok(threshold < trainingRows * 0.05, `${c}: rare means at most ${threshold} of ${trainingRows} training rows`);
      for (const r of rows) {
        const n = trainingCount[c].get(r.instance[c]) ?? 0;
        assert.ok(n <= threshold, `${c} ${r.instance[c]}: ${n} training rows, above the threshold ${threshold}`);
      }
      // Together these values are a sliver of training, and all of the shifted traffic.
      const values = new Set(rows.map((r) => r.instance[c]));
      const share = [...values].reduce((a, v) => a + (trainingCount[c].get(v) ?? 0), 0) / trainingRows;
      assert.ok(share <= 0.05, `${c}: the shifted values are ${(share * 100).toFixed(1)}% of training rows`);
    }
    const t = times(rows);
    assert.ok(t.every((x, i) => i === 0 || x >= t[i - 1]), 'in event-time order');
  });

  test('shift: asking for more rows than match is refused before anything is sent', async () => {
    await assert.rejects(traffic({ scenario: 'shift', rows: 100_000, from: '2001-02-01', to: '2001-02-08' }), (err: unknown) => {
      assert.ok(err instanceof TrafficError && err.kind === 'bad_input', String(err));
      assert.match(err.message, /asked for 100000 rows, but .* only \d+ complete rows .* rarely or never saw/);
      return true;
    });
    assert.equal((await newRows()).length, 0);
  });

  test('rate: N rows at R rows/s take at least (N-1)/R', async () => {
    const summary = await traffic({ scenario: 'same', rows: 25, rate: 50, batch: 1, seed: 3 });
    assert.equal(summary.rowsSent, 25);
    assert.ok(summary.elapsedMs >= (24 / 50) * 1000, `elapsed ${summary.elapsedMs} ms`);
    assert.ok(summary.rate.achieved <= 50 && summary.rate.achieved > 10, `achieved ${summary.rate.achieved} rows/s`);
    assert.equal((await newRows()).length, 25);
  });

  test('maxMs ends the run: labels due by then are posted, the rest reported as not labeled', async () => {
    const summary = await traffic({ scenario: 'same', rows: 1000, rate: 100, labelDelayMs: 200, maxMs: 600, seed: 4 });
    assert.equal(summary.stoppedBy, 'max-time');
    assert.ok(summary.rowsSent > 10 && summary.rowsSent < 100, `${summary.rowsSent} rows sent`);
    const l = summary.labels!;
    assert.ok(l.accepted > 0 && l.notLabeled > 0, JSON.stringify(l));
    assert.equal(l.posted + l.notLabeled, summary.predictions);
    assert.ok(summary.elapsedMs < 5_000, `${summary.elapsedMs} ms`);
    const rows = await newRows();
    assert.equal(rows.filter((r) => r.label !== null).length, l.accepted);
  });

  test('an AbortSignal stops it the same way', async () => {
    const stop = new AbortController();
    const summary = await traffic({ scenario: 'same', rows: 1000, rate: 200, labelDelayMs: 0, seed: 5, signal: stop.signal, onProgress: (p) => p.rowsSent >= 20 && stop.abort() });
    assert.equal(summary.stoppedBy, 'aborted');
    assert.ok(summary.rowsSent >= 20 && summary.rowsSent < 100, `${summary.rowsSent} rows sent`);
    assert.equal(summary.labels!.posted + summary.labels!.notLabeled, summary.predictions);
    assert.equal((await newRows()).length, summary.predictions);
  });

  test('bad options and a model without a champion fail before anything is sent', async () => {
    const bad: [Partial<TrafficOptions>, RegExp][] = [
      [{ rate: 0 }, /^rate: must be above 0/],
      [{ rate: -3 }, /^rate: /],
      [{ rows: 0 }, /^rows: must be at least 1/],
      [{ rows: 2.5 }, /^rows: must be a whole number/],
      [{ scenario: 'sideways' as never }, /^scenario: must be one of same, later-months, shift/],
      [{ scenario: 'later-months', from: '2001-03-01', to: '2001-03-01' }, /^from: the period must start before it ends/],
      [{ scenario: 'later-months', from: '2001-02-30' }, /^from: must be an ISO date/],
      [{ scenario: 'same', from: '2001-03-01' }, /^from: only later-months and shift take a period/],
      [{ batch: 0 }, /^batch: must be at least 1/],
      [{ scenario: 'later-months', from: '2001-03-01T00:00:00Z', to: '2001-03-01T00:05:00Z', rows: 500 }, /asked for 500 rows, but .* only \d+ complete rows in the period/],
    ];
    for (const [o, message] of bad) {
      await assert.rejects(traffic(o), (err: unknown) => {
        assert.ok(err instanceof TrafficError && err.kind === 'bad_input', `${JSON.stringify(o)}: ${String(err)}`);
        assert.match(err.message, message);
        return true;
      });
    }
    await assert.rejects(runTraffic({ spec: { ...loaded.spec, name: IDLE_MODEL }, serverUrl: url, scenario: 'same', rows: 5, rate: 100, labelDelayMs: 0 }), (err: unknown) => {
      assert.ok(err instanceof TrafficError && err.kind === 'no_champion', String(err));
      assert.match(err.message, /serves no version of traffic-idle yet/);
      return true;
    });
    assert.equal((await newRows()).length, 0, 'nothing reached the prediction log');
    assert.equal((await server.predictionLog.read({ model: IDLE_MODEL })).length, 0);
  });
});

/** `node scripts/perennial.js traffic … --json` as a child process, pointed at the test's home and server. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runCli(['traffic', ...args, '--json'], { PERENNIAL_HOME: home, PERENNIAL_SERVER_URL: url, LOG_LEVEL: 'warn', TEMPORAL_CONFIG_FILE: path.join(home, 'no-such.toml'), ...env });
}

describe('perennial traffic (CLI)', () => {
  test('sends, labels and prints one JSON summary', async () => {
    const r = await cli([MODEL, '--scenario', 'later-months', '--rows', '12', '--rate', '200', '--batch', '4', '--label-delay', '0', '--from', '2001-05-01', '--to', '2001-05-08', '--seed', '9']);
    expectExit(r, 0);
    const s = r.json as TrafficSummary & { ok: boolean };
    assert.equal(s.ok, true);
    assert.equal(s.rowsSent, 12);
    assert.equal(s.predictions, 12);
    assert.equal(s.labels?.accepted, 12);
    assert.equal(s.scenario, 'later-months');
    const rows = await newRows();
    assert.equal(rows.length, 12);
    assert.ok(rows.every((row) => row.label !== null && row.instance.date >= '2001-05-01' && row.instance.date < '2001-05-08'));
  });

  test('bad flags → 2, unknown model → 3, unreachable server → 4, nothing sent', async () => {
    const [badRate, noDelay, unknown, unreachable] = await Promise.all([
      cli([MODEL, '--scenario', 'same', '--rows', '5', '--rate', '0', '--label-delay', '1']),
      cli([MODEL, '--scenario', 'same', '--rows', '5', '--rate', '10']),
      cli(['no-such-model', '--scenario', 'same', '--rows', '5', '--rate', '10', '--no-labels']),
      cli([MODEL, '--scenario', 'same', '--rows', '5', '--rate', '10', '--label-delay', '-1'], { PERENNIAL_SERVER_URL: `http://127.0.0.1:${await freePort()}` }),
    ]);
    expectExit(badRate, 2);
    assert.equal(badRate.json.code, 'bad_input');
    assert.match(badRate.json.error, /--rate "0": must be above 0/);
    expectExit(noDelay, 2);
    assert.equal(noDelay.json.code, 'usage');
    assert.match(noDelay.json.error, /--label-delay .* or --no-labels/);
    expectExit(unknown, 3);
    assert.match(unknown.json.error, /no-such-model/);
    expectExit(unreachable, 4);
    assert.equal(unreachable.json.code, 'unreachable');
    assert.match(unreachable.json.error, /cannot reach the model server at http:\/\/127\.0\.0\.1:\d+/);
    assert.equal((await newRows()).length, 0, 'nothing was sent');
  });
});
