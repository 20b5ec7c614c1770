import { test } from 'node:test';
import assert from 'node:assert/strict';
import { profileFeatures, type DataProfile } from '../../src/data/profile';
import type { FeatureMatrix } from '../../src/ml/gbdt';
import { driftReport, type DriftPolicy } from '../../src/drift/report';
import { seededRandom } from '../../src/util/random';

const NAMES = ['amount', 'delay', 'carrier'];
const MIX = [0.5, 0.3, 0.15, 0.05];

interface Shift {
  amountMean?: number;
  mix?: number[];
}

function gaussian(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** amount ~ N(10, 2²); delay ~ lognormal, 5% missing; carrier ~ MIX over codes 0..3, 2% missing. */
function synth(n: number, seed: number, shift: Shift = {}): FeatureMatrix {
  const random = seededRandom(seed);
  const amount = new Float64Array(n);
  const delay = new Float64Array(n);
  const carrier = new Float64Array(n);
  const mix = shift.mix ?? MIX;
  for (let i = 0; i < n; i++) {
    amount[i] = (shift.amountMean ?? 10) + 2 * gaussian(random);
    delay[i] = random() < 0.05 ? NaN : Math.exp(0.5 * gaussian(random));
    if (random() < 0.02) carrier[i] = NaN;
    else {
      let u = random();
      let k = 0;
      while (k < mix.length - 1 && u >= mix[k]) u -= mix[k++];
      carrier[i] = k;
    }
  }
  return { names: [...NAMES], kinds: ['numeric', 'numeric', 'categorical'], columns: [amount, delay, carrier], nRows: n };
}

const policy: DriftPolicy = { alpha: 0.01, psiThreshold: 0.2, correction: 'bonferroni', minRows: 500 };

let cached: DataProfile | undefined;
function profile(): DataProfile {
  if (!cached) {
    const x = synth(20_000, 1);
    cached = profileFeatures(x, new Float64Array(x.nRows), { seed: 7 });
  }
  return cached;
}

test('same-distribution traffic: at most as many breaches as alpha allows', () => {
  // Under the null each report's family-wise false-alarm rate is ≤ alpha = 0.01 (Bonferroni over
  // the 3 p-value tests; the PSI ≥ 0.2 gate only lowers it). Over 20 reports the expected count is
  // ≤ 0.2 and P(≥ 2 alarms) ≤ C(20,2)·0.01² ≈ 0.02, so "≤ 1 of 20" is a sound bound — and it holds
  // for the p-value tests alone, i.e. it checks the correction, not only the PSI gate.
  let breaches = 0;
  let significant = 0;
  for (let r = 0; r < 20; r++) {
    const x = synth(2_000, 100 + r);
    const report = driftReport(profile(), x, policy);
    assert.equal(report.enoughData, true);
    assert.equal(report.rows, 2_000);
    assert.ok(Math.abs(report.threshold.perTestAlpha - 0.01 / 3) < 1e-15);
    if (report.breached) breaches++;
    if (report.features.some((f) => (f.ks?.pvalue ?? 1) < report.threshold.perTestAlpha || (f.chi2?.pvalue ?? 1) < report.threshold.perTestAlpha)) {
      significant++;
    }
    for (const f of report.features) {
      assert.ok(f.psi !== undefined && f.psi < 0.05, `${f.name}: PSI ${f.psi} on same-distribution traffic`);
      assert.ok(f.js !== undefined && f.js >= 0 && f.js < 0.01);
    }
    assert.ok(report.score < 0.05);
    const delay = report.features[1];
    assert.ok(delay.missing > 50 && delay.rows + delay.missing === 2_000, 'missing values are dropped');
  }
  assert.ok(breaches <= 1, `${breaches} of 20 same-distribution reports breached`);
  assert.ok(significant <= 1, `${significant} of 20 same-distribution reports had a significant p-value`);
});

test('a mean shift of one numeric feature is detected and names that feature only', () => {
  const report = driftReport(profile(), synth(2_000, 200, { amountMean: 12 }), policy); // +1 std
  assert.equal(report.breached, true);
  assert.deepEqual(report.breachedFeatures, ['amount']);
  const amount = report.features[0];
  assert.ok(amount.ks!.pvalue < report.threshold.perTestAlpha);
  assert.ok(amount.psi! >= 0.2);
  assert.ok(Math.abs(amount.wasserstein! - 2) < 0.3, `wasserstein ${amount.wasserstein}`);
  assert.ok(amount.reasons.some((s) => s.includes('KS p-value')));
  assert.ok(amount.reasons.some((s) => s.includes('PSI')));
  assert.equal(report.score, amount.psi);
  for (const f of report.features.slice(1)) assert.equal(f.breached, false);
});

test('a category mix change is detected by chi-square', () => {
  const report = driftReport(profile(), synth(2_000, 300, { mix: [0.2, 0.3, 0.2, 0.3] }), policy);
  assert.deepEqual(report.breachedFeatures, ['carrier']);
  const carrier = report.features[2];
  assert.equal(carrier.kind, 'categorical');
  assert.equal(carrier.chi2!.dof, 3);
  assert.ok(carrier.chi2!.pvalue < report.threshold.perTestAlpha);
  assert.ok(carrier.psi! >= 0.2);
  assert.ok(carrier.reasons.some((s) => s.startsWith('chi-square p-value')));
});

test('below minRows: not enough data, nothing decided', () => {
  const report = driftReport(profile(), synth(499, 400, { amountMean: 20 }), policy);
  assert.equal(report.enoughData, false);
  assert.equal(report.breached, false);
  assert.deepEqual(report.breachedFeatures, []);
  assert.equal(report.score, 0);
  for (const f of report.features) {
    assert.equal(f.ks, undefined);
    assert.equal(f.psi, undefined);
    assert.equal(f.chi2, undefined);
    assert.match(f.reasons[0], /499 current rows < minRows 500/);
  }
});

test('mismatched feature names are a clear error', () => {
  const x = synth(1_000, 500);
  x.names[1] = 'delay_minutes';
  assert.throws(
    () => driftReport(profile(), x, policy),
    /do not match the profile's \(missing from the current window: delay; not in the profile: delay_minutes\)/,
  );
  const y = synth(1_000, 500);
  assert.throws(() => driftReport(profile(), { names: y.names.slice(0, 2), columns: y.columns.slice(0, 2) }, policy), /missing from the current window: carrier/);
});

test('features may come in any order; the tests option and correction are honoured', () => {
  const x = synth(2_000, 600, { amountMean: 12 });
  const reordered = { names: [x.names[2], x.names[0], x.names[1]], columns: [x.columns[2], x.columns[0], x.columns[1]] };
  const report = driftReport(profile(), reordered, { ...policy, tests: { numeric: ['psi'], categorical: ['chi2'] } });
  assert.equal(report.threshold.perTestAlpha, 0.01); // one p-value test in the family
  assert.deepEqual(report.breachedFeatures, ['amount']);
  assert.deepEqual(report.features[0].reasons, [`PSI ${Number(report.features[0].psi!.toFixed(4))} ≥ threshold 0.2`]);
  const none = driftReport(profile(), x, { ...policy, correction: 'none' });
  assert.equal(none.threshold.perTestAlpha, 0.01);
});
