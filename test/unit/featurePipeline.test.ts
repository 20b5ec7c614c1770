import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { openArtifactStore } from '../../src/artifacts/open';
import { snapshotTrainingData } from '../../src/data/snapshot';
import { fitPipeline } from '../../src/data/fitPipeline';
import { readWindow } from '../../src/data/read';
import { filePath } from '../../src/artifacts/fileStore';
import { withDuckDb } from '../../src/data/duckdb';
import { compilePipeline, datePart, featureMatrix, featureRow, normalizeInput, parseIsoUtc, parseTimestamp, type FittedPipeline, type RawColumns } from '../../src/features/pipeline';
import { smallFlightsSpec } from '../helpers/specs';
import { tempHome } from '../helpers/temporalServer';

let pipeline: FittedPipeline;
let holdout: RawColumns;
let trainingRows: number;

before(async () => {
  const { spec } = smallFlightsSpec();
  const snapshot = await snapshotTrainingData(spec, openArtifactStore({ home: tempHome() }));
  trainingRows = snapshot.rows.training;
  await withDuckDb(async (db) => {
    pipeline = await fitPipeline(db, filePath(snapshot.uri), spec);
    holdout = await readWindow(db, filePath(snapshot.uri), spec, spec.data.holdout);
  });
});

test('calendar features are UTC by arithmetic; a zone in the input is honoured', () => {
  const t = parseTimestamp('2001-01-01T23:30:00');
  assert.equal(t, Date.UTC(2001, 0, 1, 23, 30));
  assert.equal(datePart(t, 'hour'), 23);
  assert.equal(datePart(t, 'minuteOfDay'), 23 * 60 + 30);
  assert.equal(datePart(t, 'dayOfWeek'), 1, '2001-01-01 was a Monday');
  assert.equal(datePart(parseTimestamp('2001-01-01T23:30:00-05:00'), 'hour'), 4);
  assert.equal(datePart(parseTimestamp('2001-01-01T23:30:00-05:00'), 'dayOfWeek'), 2);
  assert.equal(datePart(parseTimestamp('2001-01-31 08:00:00'), 'dayOfMonth'), 31);
  assert.ok(Number.isNaN(datePart(parseTimestamp('not a date'), 'hour')));
  assert.equal(normalizeInput({ type: 'timestamp', nullable: false }, new Date(t)), t);
});

test('lookup statistics come from the training window only', () => {
  const byOrigin = pipeline.lookups.byOrigin;
  const flights = byOrigin.stats.indexOf('flights');
  const total = Object.values(byOrigin.rows).reduce((s, r) => s + r[flights], 0);
  assert.equal(total, trainingRows, 'per-origin counts add up to the training rows, not more');
  assert.equal(pipeline.trainRows, trainingRows);
  assert.equal(byOrigin.defaults[flights], 0, 'an unseen airport has no flights');
  const rate = byOrigin.stats.indexOf('lateRate');
  assert.equal(byOrigin.defaults[rate], pipeline.trainBaseRate, 'an unseen airport gets the base rate');
});

/** Holdout rows as a client would send them: ISO dates, plain JSON values. */
function asJsonRows(raw: RawColumns, n: number): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const row: Record<string, unknown> = {};
    for (const [c, values] of Object.entries(raw.columns)) {
      row[c] = c === pipeline.timeColumn ? new Date(values[i] as number).toISOString().slice(0, 19) : values[i];
    }
    rows.push(JSON.parse(JSON.stringify(row)) as Record<string, unknown>);
  }
  return rows;
}

test('serving one JSON row computes exactly the training features, in any process time zone', () => {
  const n = 2000;
  const batch = featureMatrix(pipeline, holdout);
  const rows = asJsonRows(holdout, n);
  rows.push({ date: '2001-01-04T10:15:00', delay: 0, distance: 321, origin: 'ZZZ', destination: 'QQQ' });
  let unseen = 0;
  for (let i = 0; i < n; i++) {
    const served = featureRow(pipeline, rows[i]);
    batch.columns.forEach((column, j) => assert.ok(Object.is(served[j], column[i]), `row ${i} feature ${batch.names[j]}: ${served[j]} vs ${column[i]}`));
    if (!pipeline.lookups.byRoute.rows[`${rows[i].origin}\u001f${rows[i].destination}`]) unseen++;
  }
  assert.ok(unseen > 0, 'the holdout has routes never seen in training');
  const novel = featureRow(pipeline, rows[n]);
  assert.equal(novel[batch.names.indexOf('route_flights')], 0);

  // The same rows in another process whose local time zone is far from UTC.
  const script = `
    const { featureRow } = require('./src/features/pipeline');
    const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
    process.stdout.write(JSON.stringify(input.rows.map((r) => Array.from(featureRow(input.pipeline, r)))));`;
  for (const tz of ['Asia/Kolkata', 'America/Los_Angeles']) {
    const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: path.resolve(__dirname, '../..'),
      env: { ...process.env, TZ: tz },
      input: JSON.stringify({ pipeline, rows }),
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.equal(child.status, 0, child.stderr);
    const remote = JSON.parse(child.stdout) as number[][];
    for (let i = 0; i < n; i++) {
      batch.columns.forEach((column, j) => assert.equal(remote[i][j], column[i], `TZ=${tz} row ${i} feature ${batch.names[j]}`));
    }
  }
});

/** The general path parseTimestamp takes for a string the fast reader declines. */
function generalParse(value: string): number {
  let iso = value.trim().replace(' ', 'T');
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) iso += 'T00:00:00';
  if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(iso)) iso += 'Z';
  return Date.parse(iso);
}

test('the fast ISO reader gives Date.parse\'s number for every string it reads, and declines the rest', () => {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  let read = 0;
  // Every day of a leap and a common year, each shape, a spread of times.
  for (const year of [1000, 1600, 1999, 2000, 2001, 2024, 2100, 9999]) {
    for (let month = 1; month <= 12; month++) {
      for (let day = 1; day <= 31; day++) {
        const date = `${year}-${pad(month)}-${pad(day)}`;
        const h = (day * 7) % 24;
        const m = (day * 13) % 60;
        const sec = (month * 11) % 60;
        const shapes = [date, `${date}T${pad(h)}:${pad(m)}`, `${date} ${pad(h)}:${pad(m)}:${pad(sec)}`, `${date}T${pad(h)}:${pad(m)}:${pad(sec)}.${pad(day * 31, 3)}Z`, `${date}T${pad(h)}:${pad(m)}Z`];
        for (const text of shapes) {
          const fast = parseIsoUtc(text);
          const real = new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day;
          if (!real) {
            assert.equal(fast, undefined, `${text} is not a calendar date: declined`);
            continue;
          }
          assert.equal(fast, generalParse(text), text);
          assert.equal(parseTimestamp(text), fast);
          read++;
        }
      }
    }
  }
  assert.ok(read > 14000);
  // Shapes it leaves to the general parser: which still reads the valid ones the same way as before.
  for (const text of ['2001-01-04T08:30:00+02:00', '2001-01-04T08:30:00.5Z', '2001-01-04T08:30:00.123456', ' 2001-01-04', '2001-01-04Z', '2001-01-04t08:30', '0999-01-01', '2001-01-04T24:00', '2001-01-04T08:60', '2001-02-29', '2001-1-04', '2001-01-04T08:30:0']) {
    assert.equal(parseIsoUtc(text), undefined, text);
    assert.ok(Object.is(parseTimestamp(text), generalParse(text)), text);
  }
});

test('a lookup key named like an Object property is an unseen key, the same in training and serving', () => {
  const p: FittedPipeline = structuredClone(pipeline);
  const origins = p.lookups.byOrigin;
  const flights = origins.stats.indexOf('flights');
  const compiled = compilePipeline(p);
  const out = new Float64Array(compiled.names.length);
  const at = compiled.names.indexOf('origin_flights');
  for (const origin of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    compiled.computeRawRow({ date: '2001-01-04T10:15:00', distance: 321, origin, destination: 'ATL' }, out);
    assert.equal(out[at], origins.defaults[flights], `${origin}: the unseen-key default`);
    const training = new Float64Array(compiled.names.length);
    const columns: Record<string, unknown> = { date: Date.UTC(2001, 0, 4, 10, 15), distance: 321, origin, destination: 'ATL' };
    compiled.computeRow((c) => columns[c], training);
    assert.deepEqual(Array.from(training), Array.from(out));
  }
});
