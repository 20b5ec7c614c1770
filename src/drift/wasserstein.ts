/**
 * First Wasserstein distance between two empirical distributions (equal weights), as
 * scipy.stats.wasserstein_distance(u, v): ∫ |F_u(t) − F_v(t)| dt, computed by one merge of the
 * two sorted samples in O(n + m). Between consecutive pooled values the ECDF difference is
 * |i·m − j·n| / (n·m), an exact integer numerator below 2⁵³; the sum of (numerator × gap) is
 * compensated (Neumaier) and divided once at the end.
 */

import { type Sample, type SortedSample, sortSample } from './sample';

/** W₁ between two sorted samples, O(n + m). Infinite values give NaN or ∞, as in scipy. */
export function wassersteinSorted(u: SortedSample, v: SortedSample): number {
  const n = u.length;
  const m = v.length;
  if (n === 0 || m === 0) throw new RangeError('wasserstein: samples must not be empty');
  let i = 0;
  let j = 0;
  let prev = Math.min(u[0], v[0]);
  let sum = 0;
  let comp = 0;
  while (i < n && j < m) {
    const a = u[i];
    const b = v[j];
    const next = a < b ? a : b;
    const term = Math.abs(i * m - j * n) * (next - prev);
    const t = sum + term;
    comp += Math.abs(sum) >= Math.abs(term) ? sum - t + term : term - t + sum;
    sum = t;
    if (a === next) {
      do i++;
      while (i < n && u[i] === next);
    }
    if (b === next) {
      do j++;
      while (j < m && v[j] === next);
    }
    prev = next;
  }
  // One sample is exhausted; walk the rest of the other (its ECDF rises to 1).
  while (i < n) {
    const next = u[i];
    const term = Math.abs(i * m - j * n) * (next - prev);
    const t = sum + term;
    comp += Math.abs(sum) >= Math.abs(term) ? sum - t + term : term - t + sum;
    sum = t;
    do i++;
    while (i < n && u[i] === next);
    prev = next;
  }
  while (j < m) {
    const next = v[j];
    const term = Math.abs(i * m - j * n) * (next - prev);
    const t = sum + term;
    comp += Math.abs(sum) >= Math.abs(term) ? sum - t + term : term - t + sum;
    sum = t;
    do j++;
    while (j < m && v[j] === next);
    prev = next;
  }
  return (sum + comp) / (n * m);
}

/** W₁ between two samples, as scipy.stats.wasserstein_distance(u, v). */
export function wasserstein(u: Sample, v: Sample): number {
  return wassersteinSorted(sortSample(u, 'wasserstein'), sortSample(v, 'wasserstein'));
}
