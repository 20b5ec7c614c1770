/**
 * Two-sample Kolmogorov–Smirnov test, two-sided, as scipy.stats.ks_2samp (scipy 1.17).
 *
 * - statistic D = sup |F_ref − F_cur|, from one merge of the two sorted samples, O(n + m);
 *   computed as scipy does, i/n − j/m at the pooled values (ties advance both ECDFs together);
 * - method 'auto' (scipy's default): the exact p-value when max(n, m) ≤ 10,000, else the
 *   asymptotic one;
 * - exact: scipy's `_attempt_exact_2kssamp`, with D rounded to h/lcm(n, m): for n = m the
 *   alternating binomial series in Horner form (`_compute_prob_outside_square`), otherwise
 *   the lattice-path "inside method" computing 1 − p directly (Hodges; Viehmann 2021;
 *   `_compute_outer_prob_inside_method`, O(max(n,m) · h/(max/g))). When that computation is not a
 *   probability, scipy warns and falls back to the asymptotic p-value; so does `ks2sampSorted`
 *   (`ksPValueExact` returns null then). An explicit 'exact' with lcm ≥ 2³¹ also falls back;
 * - asymptotic: `kstwo.sf(D, round(n·m/(n+m)))` — the exact distribution of the *one-sample*
 *   two-sided statistic with the effective size rounded half-to-even (see kolmogorov.ts), not the
 *   limiting Kolmogorov distribution.
 *
 * The reported statistic is the unrounded D (scipy 1.17.1 returns h/lcm when the exact method
 * ran; the two differ by rounding only, ≤ 1 ulp-ish).
 */

import { kolmogorovSmirnovSf } from './kolmogorov';
import { type Sample, type SortedSample, sortSample } from './sample';
import { roundHalfEven } from './special';

/** Largest max(n, m) for which method 'auto' computes the exact p-value (scipy's MAX_AUTO_N). */
export const KS_MAX_EXACT_N = 10_000;

export type KsMethod = 'auto' | 'exact' | 'asymp';

export interface KsResult {
  /** sup |F_reference − F_current| */
  statistic: number;
  /** two-sided p-value */
  pvalue: number;
  /** the method the p-value came from ('exact' may have fallen back to 'asymp') */
  method: 'exact' | 'asymp';
  n1: number;
  n2: number;
}

const INT32_MAX = 2 ** 31 - 1;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** The two-sample KS statistic of two sorted samples, O(n + m). */
export function ksStatisticSorted(reference: SortedSample, current: SortedSample): number {
  const n1 = reference.length;
  const n2 = current.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('ks: samples must not be empty');
  // Track the extremes of the exact integer numerator i·n2 − j·n1 (< 2⁵³ for n1·n2 < 9e15) and
  // evaluate scipy's float expression i/n1 − j/n2 only at (candidate) arg-extremes.
  let i = 0;
  let j = 0;
  let maxNum = 0;
  let maxI = 0;
  let maxJ = 0;
  let minNum = 0;
  let minI = 0;
  let minJ = 0;
  while (i < n1 && j < n2) {
    const a = reference[i];
    const b = current[j];
    if (a <= b) {
      do i++;
      while (i < n1 && reference[i] === a);
    }
    if (b <= a) {
      do j++;
      while (j < n2 && current[j] === b);
    }
    const num = i * n2 - j * n1;
    // On an exact tie keep the pair whose float value is the most extreme, like scipy's argmax.
    if (num >= maxNum) {
      if (num > maxNum || i / n1 - j / n2 > maxI / n1 - maxJ / n2) {
        maxNum = num;
        maxI = i;
        maxJ = j;
      }
    } else if (num <= minNum) {
      if (num < minNum || i / n1 - j / n2 < minI / n1 - minJ / n2) {
        minNum = num;
        minI = i;
        minJ = j;
      }
    }
  }
  // Once one sample is exhausted the difference moves monotonically to 0: no new extreme.
  const maxS = maxI / n1 - maxJ / n2;
  const minS = Math.min(-(minI / n1 - minJ / n2), 1);
  return minS > maxS ? minS : maxS;
}

/** Pr(D ≥ h/n) for two samples of equal size n (scipy `_compute_prob_outside_square`). */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
  }
  return 2 * P;
}

/**
 * Proportion of lattice paths (0,0)→(m,n) leaving the band |x/m − y/n| < h/lcm
 * (scipy `_compute_outer_prob_inside_method`).
 */
function outerProbInsideMethod(m: number, n: number, g: number, h: number): number {
  if (m < n) [m, n] = [n, m];
  const mg = Math.floor(m / g);
  const ng = Math.floor(n / g);
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.max(Math.floor((ng * i - h) / mg) + 1, 0);
    minj = Math.min(minj, n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    const shift = minj - lastminj;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + shift] * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, curlen, curlen + (lastlen - curlen));
  }
  return A[maxj - minj - 1];
}

/**
 * scipy's exact two-sided p-value for statistic d with sample sizes n1, n2, or null when the
 * computation does not yield a probability (scipy then falls back to the asymptotic p-value).
 * Cost O(max(n1, n2) · window): use it for max(n1, n2) ≤ KS_MAX_EXACT_N as 'auto' does.
 */
export function ksPValueExact(d: number, n1: number, n2: number): number | null {
  checkSizes(n1, n2);
  const g = gcd(n1, n2);
  const lcm = (n1 / g) * n2;
  const h = roundHalfEven(d * lcm);
  if (h === 0) return 1;
  const prob = n1 === n2 ? probOutsideSquare(n1, h) : outerProbInsideMethod(n1, n2, g, h);
  if (!(prob >= 0 && prob <= 1)) return null;
  return prob;
}

/** scipy's asymptotic two-sided p-value: kstwo.sf(d, round(n1·n2/(n1+n2))). */
export function ksPValueAsymp(d: number, n1: number, n2: number): number {
  checkSizes(n1, n2);
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const en = (m * n) / (m + n);
  return kolmogorovSmirnovSf(roundHalfEven(en), d);
}

function checkSizes(n1: number, n2: number): void {
  if (!(Number.isInteger(n1) && Number.isInteger(n2) && n1 > 0 && n2 > 0)) {
    throw new RangeError(`ks: sample sizes must be positive integers, got ${n1} and ${n2}`);
  }
}

/** The p-value for statistic d as ks_2samp(method) would choose and compute it. */
export function ksPValue(d: number, n1: number, n2: number, method: KsMethod = 'auto'): { pvalue: number; method: 'exact' | 'asymp' } {
  checkSizes(n1, n2);
  let mode = method;
  if (mode === 'auto') mode = Math.max(n1, n2) <= KS_MAX_EXACT_N ? 'exact' : 'asymp';
  else if (mode === 'exact') {
    const g = gcd(n1, n2);
    if (n1 / g >= INT32_MAX / (n2 / g)) mode = 'asymp';
  }
  if (mode === 'exact') {
    const p = ksPValueExact(d, n1, n2);
    if (p !== null) return { pvalue: p, method: 'exact' };
  }
  const p = ksPValueAsymp(d, n1, n2);
  return { pvalue: Number.isNaN(p) ? p : Math.min(1, Math.max(0, p)), method: 'asymp' };
}

/** Two-sided two-sample KS test on sorted samples: O(n + m) plus the p-value. */
export function ks2sampSorted(reference: SortedSample, current: SortedSample, method: KsMethod = 'auto'): KsResult {
  const statistic = ksStatisticSorted(reference, current);
  const n1 = reference.length;
  const n2 = current.length;
  return { statistic, ...ksPValue(statistic, n1, n2, method), n1, n2 };
}

/** Two-sided two-sample KS test, as scipy.stats.ks_2samp(reference, current, method=method). */
export function ks2samp(reference: Sample, current: Sample, method: KsMethod = 'auto'): KsResult {
  return ks2sampSorted(sortSample(reference, 'ks2samp'), sortSample(current, 'ks2samp'), method);
}
