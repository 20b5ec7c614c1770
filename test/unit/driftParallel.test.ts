import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { profileFeatures, type DataProfile } from '../../src/data/profile';
import type { FeatureMatrix } from '../../src/ml/gbdt';
import { driftReport, type CurrentWindow, type DriftPolicy } from '../../src/drift/report';
import { closeDriftWorkers, driftReportParallel, driftWorkerPools } from '../../src/drift/parallel';
import { seededRandom } from '../../src/util/random';

const ROOT = path.resolve(__dirname, '../..');

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

interface Shift {
  amountMean?: number;
  newCarrier?: boolean;
}

/**
 * amount ~ N(10, 2²); delay ~ lognormal, 5% missing; distance integer-valued (ties); score
 * uniform with a few ±0; carrier codes 0..3 (2% missing, optionally a code 9 unseen in training);
 * hub codes 0..1.
 */
function synth(n: number, seed: number, shift: Shift = {}): FeatureMatrix {
  const r = seededRandom(seed);
  const col = (f: () => number) => Float64Array.from({ length: n }, f);
  return {
    names: ['amount', 'delay', 'distance', 'score', 'carrier', 'hub'],
    kinds: ['numeric', 'numeric', 'numeric', 'numeric', 'categorical', 'categorical'],
    nRows: n,
    columns: [
      col(() => (shift.amountMean ?? 10) + 2 * gaussian(r)),
      col(() => (r() < 0.05 ? NaN : Math.exp(0.5 * gaussian(r)))),
      col(() => Math.round(800 + 300 * gaussian(r))),
      col(() => (r() < 0.01 ? (r() < 0.5 ? -0 : 0) : r())),
      col(() => (r() < 0.02 ? NaN : shift.newCarrier && r() < 0.2 ? 9 : Math.floor(r() * 4))),
      col(() => Math.floor(r() * 2)),
    ],
  };
}

const policy: DriftPolicy = { alpha: 0.01, psiThreshold: 0.2, correction: 'bonferroni', minRows: 500 };

let cached: DataProfile | undefined;
function profile(): DataProfile {
  cached ??= profileFeatures(synth(30_000, 1), new Float64Array(30_000), { seed: 7 });
  return cached;
}

after(() => closeDriftWorkers());

test('driftReportParallel equals driftReport exactly: numeric and categorical, NaNs, a drifted feature, a new category', async () => {
  const current = synth(20_000, 2, { amountMean: 11, newCarrier: true });
  const expected = driftReport(profile(), current, policy);
  assert.deepEqual(expected.breachedFeatures, ['amount', 'carrier'], 'the fixture drifts where intended');
  assert.ok(expected.features[1].missing > 0 && expected.features[4].missing > 0, 'the fixture has missing values');
  for (const threads of [2, 1]) {
    assert.deepStrictEqual(await driftReportParallel(profile(), current, policy, { threads }), expected, `threads ${threads}`);
  }
});

test('driftReportParallel: same report for columns on shared memory, in any order, with other policies', async () => {
  const x = synth(5_000, 3);
  const sharedColumns = x.columns.map((c) => {
    const s = new Float64Array(new SharedArrayBuffer(c.byteLength));
    s.set(c);
    return s;
  });
  const current: CurrentWindow = { names: [...x.names].reverse(), columns: sharedColumns.reverse() };
  for (const p of [policy, { ...policy, correction: 'none' as const, tests: { numeric: ['psi' as const], categorical: ['chi2' as const] } }]) {
    assert.deepStrictEqual(await driftReportParallel(profile(), current, p, { threads: 2 }), driftReport(profile(), current, p));
  }
});

test('driftReportParallel: not enough data, and a feature with too few values, as driftReport', async () => {
  const small = synth(499, 4, { amountMean: 20 });
  const expected = driftReport(profile(), small, policy);
  assert.equal(expected.enoughData, false);
  assert.deepStrictEqual(await driftReportParallel(profile(), small, policy, { threads: 2 }), expected);

  const x = synth(2_000, 5);
  x.columns[1].fill(NaN, 0, 1_600); // delay: 400 non-missing < minRows
  const partial = driftReport(profile(), x, policy);
  assert.match(partial.features[1].reasons[0], /not tested: \d+ non-missing current values < minRows 500/);
  assert.deepStrictEqual(await driftReportParallel(profile(), x, policy, { threads: 2 }), partial);
});

test('driftReportParallel: errors are those of driftReport', async () => {
  const bad: DataProfile = structuredClone(profile());
  const f = bad.features[2];
  if (f.kind !== 'numeric') throw new Error('fixture');
  f.binCounts = f.binCounts.slice(1);
  const x = synth(1_000, 6);
  assert.throws(() => driftReport(bad, x, policy), /profile of distance has \d+ bin counts/);
  await assert.rejects(driftReportParallel(bad, x, policy, { threads: 2 }), /profile of distance has \d+ bin counts/);
  await assert.rejects(driftReportParallel(profile(), { names: ['amount'], columns: [x.columns[0]] }, policy), /missing from the current window/);
  // The pool survives a failed task.
  assert.deepStrictEqual(await driftReportParallel(profile(), x, policy, { threads: 2 }), driftReport(profile(), x, policy));
});

test('the worker pool is started once and reused', async () => {
  const x = synth(2_000, 7);
  for (let i = 0; i < 3; i++) await driftReportParallel(profile(), x, policy, { threads: 2 });
  const pool = driftWorkerPools().find((p) => p.threads === 2);
  assert.deepEqual(pool, { threads: 2, started: 2 });
});

/** A script that computes both reports and prints whether they are equal, without closing the pool. */
function childScript(): string {
  const src = (m: string) => JSON.stringify(path.join(ROOT, m));
  return `
import { profileFeatures } from ${src('src/data/profile')};
import { driftReport } from ${src('src/drift/report')};
import { driftReportParallel } from ${src('src/drift/parallel')};
import { isDeepStrictEqual } from 'node:util';
const n = 3000;
const col = (f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => f(i));
const x = { names: ['a', 'c'], kinds: ['numeric', 'categorical'] as ('numeric' | 'categorical')[], nRows: n,
  columns: [col((i) => Math.sin(i) * 10), col((i) => i % 3)] };
const profile = profileFeatures(x, new Float64Array(n));
const current = { names: x.names, columns: [col((i) => Math.sin(i) * 10 + 1), col((i) => (i % 5 === 0 ? NaN : i % 4))] };
const policy = { alpha: 0.01, psiThreshold: 0.2, correction: 'bonferroni' as const, minRows: 100 };
driftReportParallel(profile, current, policy, { threads: 2 }).then((r) => {
  console.log(isDeepStrictEqual(r, driftReport(profile, current, policy)) ? 'equal' : 'different');
});
`;
}

test('under the tsx CLI and node --import tsx the workers load, and the process exits without close()', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'perennial-drift-parallel-'));
  try {
    const script = path.join(dir, 'report.ts');
    writeFileSync(script, childScript());
    const runs: [string, string[]][] = [
      ['tsx CLI', [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), script]],
      ['node --import tsx', ['--import', 'tsx', script]],
    ];
    for (const [label, args] of runs) {
      const run = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      assert.equal(run.error, undefined, `${label}: ${run.error?.message} (timed out: the process did not exit?)`);
      assert.equal(run.status, 0, `${label}: ${run.stderr}`);
      assert.equal(run.stdout.trim(), 'equal', `${label}: ${run.stdout} ${run.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
