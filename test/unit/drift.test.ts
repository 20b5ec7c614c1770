import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { seededRandom } from '../../src/util/random';
import {
  asSortedSample,
  binCounts,
  binCountsSorted,
  binProportions,
  chiSquareFromTable,
  chiSquareHomogeneity,
  chiSquareSf,
  jensenShannonDivergence,
  ks2samp,
  ks2sampSorted,
  KS_MAX_EXACT_N,
  ksPValueAsymp,
  ksPValueExact,
  ksStatisticSorted,
  kolmogorovSf,
  kolmogorovSmirnovCdfDurbin,
  kolmogorovSmirnovCdfPelzGood,
  kolmogorovSmirnovCdfPomeranz,
  kolmogorovSmirnovSf,
  logGamma,
  psi,
  psiFromCounts,
  quantileEdges,
  regularizedGammaP,
  regularizedGammaQ,
  roundHalfEven,
  smirnovSf,
  sortSample,
  wasserstein,
  wassersteinSorted,
} from '../../src/drift';

// The reference vectors live in shared/ beside the repository (never an absolute path: CI clones
// the repository elsewhere with a copy of shared/ next to it).
const VECTORS_PATH = path.resolve(__dirname, '../../../shared/reference/drift-vectors.json');

interface NumericVector {
  name: string;
  reference: number[];
  current: number[];
  expected: {
    ks_statistic: number;
    ks_pvalue_exact: number | null;
    ks_pvalue_asymp: number;
    psi: { interior_edges: number[]; epsilon: number; reference_counts: number[]; current_counts: number[]; value: number };
    js_divergence_base2: { value: number; note?: string };
    wasserstein1: number;
  };
}

interface CategoricalVector {
  name: string;
  reference_counts: Record<string, number>;
  current_counts: Record<string, number>;
  expected: { chi2_statistic: number; dof: number; pvalue: number };
}

interface Vectors {
  conventions: Record<string, string>;
  generated_with: string;
  numeric: NumericVector[];
  categorical: CategoricalVector[];
}

const vectors: Vectors = JSON.parse(readFileSync(VECTORS_PATH, 'utf8'));

/** Relative error; 0 when equal (also for two zeros). */
const relErr = (actual: number, expected: number): number =>
  actual === expected ? 0 : Math.abs(actual - expected) / Math.abs(expected);

const REL_TOL = 1e-9;
/**
 * Asymptotic KS p-values: 1e-3 relative, as the issue allows. The absolute floor (1e-300) only
 * lets an expected value of exactly 0 (underflow) be matched by one that underflowed a little later.
 */
const ASYMP_REL_TOL = 1e-3;
const ASYMP_ABS_FLOOR = 1e-300;
/**
 * The samples in the file are rounded to 6 decimals while its edges were computed from the
 * unrounded samples: recomputed edges can differ by up to half a unit of the 6th decimal
 * (a linear interpolation of two values each off by ≤ 5e-7). Integer data must match exactly.
 */
const EDGE_ABS_TOL = 5e-7 + 1e-12;

/** Largest error per checked quantity, printed at the end. */
const maxErr = new Map<string, number>();
let fieldsChecked = 0;

function checkClose(what: string, actual: number, expected: number, tol = REL_TOL, absFloor = 0): void {
  const err = relErr(actual, expected);
  maxErr.set(what, Math.max(maxErr.get(what) ?? 0, err));
  fieldsChecked++;
  assert.ok(
    err <= tol || Math.abs(actual - expected) <= absFloor,
    `${what}: got ${actual}, expected ${expected} (relative error ${err.toExponential(3)} > ${tol})`,
  );
}

function checkEqualArray(what: string, actual: ArrayLike<number>, expected: readonly number[]): void {
  fieldsChecked++;
  assert.deepEqual(Array.from(actual), expected, what);
}

const KNOWN_NUMERIC_FIELDS = ['ks_statistic', 'ks_pvalue_exact', 'ks_pvalue_asymp', 'psi', 'js_divergence_base2', 'wasserstein1'];
const KNOWN_PSI_FIELDS = ['interior_edges', 'epsilon', 'reference_counts', 'current_counts', 'value'];
const KNOWN_JS_FIELDS = ['value', 'note'];
const KNOWN_CATEGORICAL_FIELDS = ['chi2_statistic', 'dof', 'pvalue'];

function assertKnownFields(where: string, obj: object, known: string[]): void {
  for (const key of Object.keys(obj)) assert.ok(known.includes(key), `${where}: field "${key}" is not checked by this test`);
}

// ---------------------------------------------------------------------------------------
// scipy reference vectors
// ---------------------------------------------------------------------------------------

test('reference file: the conventions this library implements', () => {
  assert.match(vectors.generated_with, /scipy 1\.17/);
  assert.deepEqual(Object.keys(vectors.conventions).sort(), ['chi2', 'js', 'ks', 'psi', 'wasserstein1']);
  assert.match(vectors.conventions.ks, /ks_2samp/);
  assert.match(vectors.conventions.ks, /max\(n, m\) <= 10000/);
  assert.match(vectors.conventions.psi, /left-closed/);
  assert.match(vectors.conventions.chi2, /correction=False/);
  assert.ok(vectors.numeric.length > 0 && vectors.categorical.length > 0);
});

for (const v of vectors.numeric) {
  test(`reference numeric vector ${v.name} (n=${v.reference.length}, m=${v.current.length})`, () => {
    const e = v.expected;
    assertKnownFields(v.name, e, KNOWN_NUMERIC_FIELDS);
    assertKnownFields(`${v.name}.psi`, e.psi, KNOWN_PSI_FIELDS);
    assertKnownFields(`${v.name}.js_divergence_base2`, e.js_divergence_base2, KNOWN_JS_FIELDS);
    const n1 = v.reference.length;
    const n2 = v.current.length;
    const ref = sortSample(v.reference);
    const cur = sortSample(v.current);

    // KS
    const d = ksStatisticSorted(ref, cur);
    checkClose('ks_statistic', d, e.ks_statistic);
    checkClose('ks_statistic', ks2samp(v.current, v.reference).statistic, e.ks_statistic); // symmetric
    const auto = ks2sampSorted(ref, cur);
    checkClose('ks_statistic', auto.statistic, e.ks_statistic);
    if (e.ks_pvalue_exact === null) {
      fieldsChecked++;
      assert.ok(Math.max(n1, n2) > KS_MAX_EXACT_N, 'scipy gave no exact p-value although max(n, m) <= 10000');
      assert.equal(auto.method, 'asymp');
    } else {
      const exact = ksPValueExact(d, n1, n2);
      assert.notEqual(exact, null);
      checkClose('ks_pvalue_exact', exact!, e.ks_pvalue_exact);
      assert.equal(auto.method, 'exact');
      checkClose('ks_pvalue_exact', auto.pvalue, e.ks_pvalue_exact);
      checkClose('ks_pvalue_exact', ks2samp(v.reference, v.current).pvalue, e.ks_pvalue_exact);
    }
    checkClose('ks_pvalue_asymp', ksPValueAsymp(d, n1, n2), e.ks_pvalue_asymp, ASYMP_REL_TOL, ASYMP_ABS_FLOOR);
    checkClose('ks_pvalue_asymp', ks2samp(v.reference, v.current, 'asymp').pvalue, e.ks_pvalue_asymp, ASYMP_REL_TOL, ASYMP_ABS_FLOOR);

    // PSI: the edges, the counts (unsorted and sorted paths), the value
    const edges = e.psi.interior_edges;
    const ours = quantileEdges(ref);
    fieldsChecked++;
    assert.equal(ours.length, edges.length, 'number of interior edges (after removing duplicates)');
    const integerData = v.reference.every(Number.isInteger);
    for (let i = 0; i < edges.length; i++) {
      const err = Math.abs(ours[i] - edges[i]);
      maxErr.set('psi.interior_edges (abs)', Math.max(maxErr.get('psi.interior_edges (abs)') ?? 0, err));
      assert.ok(integerData ? err === 0 : err <= EDGE_ABS_TOL, `edge ${i}: ${ours[i]} vs ${edges[i]}`);
    }
    const refCounts = binCountsSorted(ref, edges);
    const curCounts = binCounts(v.current, edges);
    checkEqualArray('psi.reference_counts', refCounts, e.psi.reference_counts);
    checkEqualArray('psi.current_counts', curCounts, e.psi.current_counts);
    checkEqualArray('psi.reference_counts (unsorted path)', binCounts(v.reference, edges), e.psi.reference_counts);
    checkEqualArray('psi.current_counts (sorted path)', binCountsSorted(cur, edges), e.psi.current_counts);
    checkClose('psi.value', psiFromCounts(refCounts, curCounts, e.psi.epsilon), e.psi.value);
    const viaPsi = psi(v.reference, v.current, edges, e.psi.epsilon);
    checkClose('psi.value', viaPsi.value, e.psi.value);

    // Jensen–Shannon over the (unfloored) PSI bin proportions; counts give the same value
    checkClose('js_divergence_base2', jensenShannonDivergence(binProportions(refCounts), binProportions(curCounts)), e.js_divergence_base2.value);
    checkClose('js_divergence_base2', jensenShannonDivergence(refCounts, curCounts), e.js_divergence_base2.value);

    // Wasserstein-1
    checkClose('wasserstein1', wassersteinSorted(ref, cur), e.wasserstein1);
    checkClose('wasserstein1', wasserstein(v.current, v.reference), e.wasserstein1);
  });
}

for (const v of vectors.categorical) {
  test(`reference categorical vector ${v.name}`, () => {
    assertKnownFields(v.name, v.expected, KNOWN_CATEGORICAL_FIELDS);
    const res = chiSquareHomogeneity(v.reference_counts, v.current_counts);
    checkClose('chi2_statistic', res.statistic, v.expected.chi2_statistic);
    fieldsChecked++;
    assert.equal(res.dof, v.expected.dof);
    checkClose('chi2_pvalue', res.pvalue, v.expected.pvalue);
    const asMaps = chiSquareHomogeneity(new Map(Object.entries(v.reference_counts)), new Map(Object.entries(v.current_counts)));
    checkClose('chi2_statistic', asMaps.statistic, v.expected.chi2_statistic);
    checkClose('chi2_pvalue', asMaps.pvalue, v.expected.pvalue);
  });
}

test('reference vectors: summary of what was checked', (t) => {
  assert.ok(fieldsChecked > 0);
  t.diagnostic(`${vectors.numeric.length} numeric + ${vectors.categorical.length} categorical vectors, ${fieldsChecked} field checks`);
  for (const [what, err] of [...maxErr].sort()) t.diagnostic(`max error ${what}: ${err.toExponential(2)}`);
});

// ---------------------------------------------------------------------------------------
// independent checks of the ports
// ---------------------------------------------------------------------------------------

function randomSample(n: number, seed: number, gen: (r: () => number) => number): number[] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => gen(r));
}

const normal = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

test('sortSample: radix sort agrees with Float64Array.prototype.sort (ties, ±0, ±∞, subnormals)', () => {
  const specials = [0, -0, Infinity, -Infinity, 5e-324, -5e-324, Number.MAX_VALUE, -Number.MAX_VALUE, 1, -1];
  for (const n of [0, 1, 7, 2047, 2048, 5000, 30000]) {
    const values = randomSample(n, n + 1, (r) => {
      const u = r();
      if (u < 0.05) return specials[Math.floor(r() * specials.length)];
      if (u < 0.4) return Math.round(normal(r) * 3); // many ties
      return normal(r) * 10 ** Math.floor(r() * 10 - 5);
    });
    const expected = Float64Array.from(values).sort();
    const ours = sortSample(values);
    assert.equal(ours.length, n);
    for (let i = 0; i < n; i++) assert.ok(Object.is(ours[i], expected[i]), `n=${n} index ${i}: ${ours[i]} vs ${expected[i]}`);
  }
  assert.throws(() => sortSample([1, NaN, 2]), RangeError);
  assert.throws(() => sortSample(randomSample(5000, 3, (r) => (r() < 0.001 ? NaN : r()))), RangeError);
  assert.throws(() => asSortedSample(Float64Array.from([1, 3, 2])), /not sorted/);
  assert.throws(() => asSortedSample(Float64Array.from([1, NaN])), /NaN/);
  assert.doesNotThrow(() => asSortedSample(Float64Array.from([1, 1, 2])));
});

test('ks statistic: merge agrees with the searchsorted definition, with ties', () => {
  const upper = (s: Float64Array, x: number) => s.filter((v) => v <= x).length;
  for (let seed = 1; seed <= 20; seed++) {
    const a = sortSample(randomSample(5 + seed * 3, seed, (r) => Math.floor(r() * 8)));
    const b = sortSample(randomSample(4 + seed * 2, seed + 100, (r) => Math.floor(r() * 8 + (seed % 3))));
    let best = 0;
    for (const x of [...a, ...b]) best = Math.max(best, Math.abs(upper(a, x) / a.length - upper(b, x) / b.length));
    assert.ok(Math.abs(ksStatisticSorted(a, b) - best) < 1e-15, `seed ${seed}`);
    assert.equal(ksStatisticSorted(a, a), 0);
  }
});

/** Pr(D ≥ d) by enumerating every split of n1 + n2 distinct pooled values. */
function bruteForceKsPValues(n1: number, n2: number): Map<number, number> {
  const counts = new Map<number, number>(); // key: D·lcm (integer)
  let total = 0;
  const rec = (i: number, j: number, maxAbs: number) => {
    if (i === n1 && j === n2) {
      counts.set(maxAbs, (counts.get(maxAbs) ?? 0) + 1);
      total++;
      return;
    }
    if (i < n1) rec(i + 1, j, Math.max(maxAbs, Math.abs((i + 1) * n2 - j * n1)));
    if (j < n2) rec(i, j + 1, Math.max(maxAbs, Math.abs(i * n2 - (j + 1) * n1)));
  };
  rec(0, 0, 0);
  const out = new Map<number, number>();
  for (const key of counts.keys()) {
    let atLeast = 0;
    for (const [k, c] of counts) if (k >= key) atLeast += c;
    out.set(key / (n1 * n2), atLeast / total);
  }
  return out;
}

test('ks exact p-value: equal to lattice-path enumeration (equal and unequal sizes)', () => {
  for (const [n1, n2] of [
    [4, 4],
    [6, 6],
    [5, 4],
    [3, 7],
    [8, 6],
    [6, 9],
    [10, 4],
  ]) {
    for (const [d, p] of bruteForceKsPValues(n1, n2)) {
      if (d === 0) continue;
      const ours = ksPValueExact(d, n1, n2);
      assert.ok(ours !== null && Math.abs(ours - p) <= 1e-12 * Math.max(p, 1e-300) + 1e-15, `n=${n1}, m=${n2}, d=${d}: ${ours} vs ${p}`);
      assert.equal(ksPValueExact(d, n2, n1), ours, 'symmetric in the sizes');
    }
  }
  assert.equal(ksPValueExact(0, 10, 12), 1);
});

test('ks method: auto is exact up to 10,000 and asymptotic beyond, as scipy', () => {
  const a = randomSample(10_000, 1, normal);
  const b = randomSample(700, 2, (r) => normal(r) + 0.1);
  assert.equal(ks2samp(a, b).method, 'exact');
  assert.equal(ks2samp([...a, 0.5], b).method, 'asymp');
  assert.equal(ks2samp(a, b, 'asymp').method, 'asymp');
  const res = ks2samp([1, 2, 3], [1, 2, 3]);
  assert.equal(res.statistic, 0);
  assert.equal(res.pvalue, 1);
  assert.throws(() => ks2samp([], [1]), RangeError);
  assert.throws(() => ks2samp([1, NaN], [1]), RangeError);
});

test('roundHalfEven: numpy rounding of the effective sample size', () => {
  assert.deepEqual([0.5, 1.5, 2.5, 3.5, 2.4999, 2.5001, 7].map(roundHalfEven), [0, 2, 2, 4, 2, 3, 7]);
  // n = m = 5 → en = 2.5 → 2 (not 3)
  assert.equal(ksPValueAsymp(0.6, 5, 5), kolmogorovSmirnovSf(2, 0.6));
});

test('kolmogorov: Durbin matrix and Pomeranz recursion (both exact) agree', () => {
  for (const n of [3, 10, 37, 80, 140]) {
    for (const nx2 of [0.3, 0.76, 1.2, 2, 3.5]) {
      const x = Math.sqrt(nx2 / n);
      if (n * x <= 1 || x >= 0.5) continue;
      const a = kolmogorovSmirnovCdfDurbin(n, x);
      const b = kolmogorovSmirnovCdfPomeranz(n, x);
      assert.ok(Math.abs(a - b) <= 1e-12, `n=${n} x=${x}: ${a} vs ${b}`);
    }
  }
});

test('kolmogorov: Pelz–Good approximates the exact Durbin value; kstwo tends to kstwobign', () => {
  for (const z of [0.6, 0.9, 1.2]) {
    const n = 2500;
    const x = z / Math.sqrt(n);
    const exact = kolmogorovSmirnovCdfDurbin(n, x);
    const approx = kolmogorovSmirnovCdfPelzGood(n, x);
    assert.ok(Math.abs(exact - approx) <= 1e-6, `z=${z}: ${exact} vs ${approx}`);
  }
  for (const z of [0.5, 1, 1.36, 2]) {
    const limit = kolmogorovSf(z);
    const finite = kolmogorovSmirnovSf(1_000_000, z / 1000);
    assert.ok(Math.abs(finite - limit) <= 3e-3 * limit, `z=${z}: ${finite} vs ${limit}`); // O(1/√n)
  }
  // kolmogorov(x) = 2 Σ (−1)^(k−1) e^(−2k²x²)
  for (const z of [0.7, 0.82, 0.83, 1, 1.5, 3]) {
    let s = 0;
    for (let k = 1; k < 50; k++) s += 2 * (-1) ** (k - 1) * Math.exp(-2 * k * k * z * z);
    assert.ok(Math.abs(kolmogorovSf(z) - s) <= 1e-14, `kolmogorov(${z}): ${kolmogorovSf(z)} vs ${s}`);
  }
  assert.ok(Math.abs(kolmogorovSf(1) - 0.26999967167735456) < 1e-15);
});

test('smirnov: the log-space sum equals the direct Birnbaum–Tingey sum; special cases', () => {
  const binom = (n: number, k: number) => {
    let c = 1;
    for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
    return c;
  };
  for (const n of [2, 5, 12, 30]) {
    for (const x of [0.05, 0.13, 0.3, 0.55, 0.8]) {
      let s = 0;
      for (let j = 0; j <= Math.floor(n * (1 - x)); j++) s += binom(n, j) * x * (x + j / n) ** (j - 1) * (1 - x - j / n) ** (n - j);
      const ours = smirnovSf(n, x);
      assert.ok(Math.abs(ours - s) <= 1e-12 * s + 1e-300, `n=${n} x=${x}: ${ours} vs ${s}`);
    }
  }
  assert.equal(smirnovSf(1, 0.3), 0.7);
  assert.equal(smirnovSf(10, 0), 1);
  assert.equal(smirnovSf(10, 1), 0);
  assert.ok(Number.isNaN(smirnovSf(0, 0.5)));
  assert.ok(Number.isNaN(kolmogorovSmirnovSf(0, 0.5))); // n1 = n2 = 1 rounds en = 0.5 to 0, as scipy
});

test('special: lnΓ, regularized incomplete gamma and χ² survival against closed forms', () => {
  let lnFact = 0;
  for (let n = 1; n <= 170; n++) {
    // lnΓ(n) = ln((n−1)!)
    assert.ok(Math.abs(logGamma(n) - lnFact) <= 1e-13 * Math.max(1, lnFact), `lnΓ(${n})`);
    lnFact += Math.log(n);
  }
  // Γ(k + ½) = (2k)! √π / (4^k k!)
  for (let k = 0; k <= 60; k++) {
    let l = 0.5 * Math.log(Math.PI) - k * Math.log(4);
    for (let i = k + 1; i <= 2 * k; i++) l += Math.log(i);
    assert.ok(Math.abs(logGamma(k + 0.5) - l) <= 1e-13 * Math.max(1, Math.abs(l)), `lnΓ(${k}.5)`);
  }
  // even dof: Q(k, x) = e^{−x} Σ_{i<k} x^i / i!  (summed in logs for large k)
  for (const k of [1, 2, 5, 30, 500]) {
    for (const x of [0.01, 1, k * 0.5, k, k + 3 * Math.sqrt(k), 3 * k + 50]) {
      const logs = Array.from({ length: k }, (_, i) => -x + i * Math.log(x) - logGamma(i + 1));
      const mx = Math.max(...logs);
      const q = Math.exp(mx) * logs.reduce((s, l) => s + Math.exp(l - mx), 0);
      const ours = regularizedGammaQ(k, x);
      assert.ok(Math.abs(ours - q) <= 1e-11 * q + 1e-300, `Q(${k}, ${x}): ${ours} vs ${q}`);
      assert.ok(Math.abs(regularizedGammaP(k, x) + ours - 1) <= 1e-14);
      assert.equal(chiSquareSf(2 * x, 2 * k), ours);
    }
  }
  // χ²₁ critical values
  assert.ok(Math.abs(chiSquareSf(3.841458820694124, 1) - 0.05) <= 1e-13);
  assert.ok(Math.abs(chiSquareSf(6.6348966010212145, 1) - 0.01) <= 1e-13);
  assert.equal(chiSquareSf(0, 3), 1);
});

test('psi: left-closed bins, the last one closed; floors; quantile edges without duplicates', () => {
  const edges = [0, 1, 2];
  assert.deepEqual(Array.from(binCounts([-Infinity, -1, 0, 0.5, 1, 2, 3, Infinity], edges)), [2, 2, 1, 3]);
  assert.deepEqual(Array.from(binCountsSorted(sortSample([-Infinity, -1, 0, 0.5, 1, 2, 3, Infinity]), edges)), [2, 2, 1, 3]);
  assert.throws(() => binCounts([1], [1, 1]), RangeError);
  assert.equal(psiFromCounts([5, 5], [5, 5]), 0);
  // an empty current bin is floored at ε
  const expected = (1e-4 - 0.5) * Math.log(1e-4 / 0.5) + (1 - 0.5) * Math.log(1 / 0.5);
  assert.ok(Math.abs(psiFromCounts([1, 1], [0, 3]) - expected) < 1e-15);
  const near = (a: ArrayLike<number>, b: number[]) =>
    assert.ok(a.length === b.length && b.every((x, i) => Math.abs(a[i] - x) < 1e-12), `${Array.from(a)} vs ${b}`);
  near(quantileEdges(sortSample([1, 1, 1, 1, 2])), [1, 1.2, 1.6]); // seven deciles equal 1
  near(quantileEdges(sortSample([0, 10])), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('jensen–shannon: bounds', () => {
  assert.equal(jensenShannonDivergence([1, 2, 3], [2, 4, 6]), 0);
  assert.ok(Math.abs(jensenShannonDivergence([1, 0], [0, 1]) - 1) < 1e-15);
  assert.throws(() => jensenShannonDivergence([0, 0], [1, 1]), RangeError);
});

test('wasserstein: merge agrees with the definition (scipy _cdf_distance), with ties', () => {
  for (let seed = 1; seed <= 10; seed++) {
    const u = randomSample(20 + seed, seed, (r) => Math.floor(r() * 6));
    const v = randomSample(13 + 2 * seed, seed + 50, (r) => Math.floor(r() * 6) + 0.5 * (seed % 2));
    const all = Float64Array.from([...u, ...v]).sort();
    const su = Float64Array.from(u).sort();
    const sv = Float64Array.from(v).sort();
    let expected = 0;
    for (let i = 0; i + 1 < all.length; i++) {
      const cu = su.filter((x) => x <= all[i]).length / u.length;
      const cv = sv.filter((x) => x <= all[i]).length / v.length;
      expected += Math.abs(cu - cv) * (all[i + 1] - all[i]);
    }
    assert.ok(Math.abs(wasserstein(u, v) - expected) <= 1e-13 * Math.max(1, expected), `seed ${seed}`);
  }
  assert.equal(wasserstein([1, 2, 3], [3, 1, 2]), 0);
  assert.equal(wasserstein([0], [5]), 5);
});

test('chi-square: union of categories, zero-total categories left out, one category', () => {
  const a = chiSquareHomogeneity({ x: 10, y: 20, z: 0 }, { y: 5, w: 7 });
  assert.deepEqual(a.categories, ['x', 'y', 'w']);
  const b = chiSquareFromTable([10, 20, 0], [0, 5, 7]);
  assert.equal(a.statistic, b.statistic);
  assert.equal(a.dof, 2);
  assert.deepEqual(chiSquareHomogeneity({ only: 3 }, { only: 9 }), { statistic: 0, dof: 0, pvalue: 1, categories: ['only'] });
  assert.throws(() => chiSquareHomogeneity({ x: 1 }, {}), RangeError);
  assert.throws(() => chiSquareHomogeneity({ x: -1, y: 2 }, { x: 1 }), RangeError);
});
