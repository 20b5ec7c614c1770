/**
 * Population stability index over reference-quantile bins.
 *
 * - Bins from k interior edges e₁ < … < e_k: [−∞, e₁), [e₁, e₂), …, [e_k, +∞] — left-closed,
 *   the last one closed, as numpy.histogram with bin edges (−∞, e₁, …, e_k, +∞).
 * - Edges: the reference 10-quantiles (numpy.quantile's default 'linear' method, Hyndman–Fan 7)
 *   with duplicates removed (numpy.unique), so k ≤ 9; `quantileEdges`.
 * - PSI = Σ (c − r) · ln(c / r), r and c the bin proportions floored at ε (default 1e-4).
 *
 * Counting is O(n log k) for an unsorted sample (binary search per value) and O(k log n) for a
 * sorted one (one binary search per edge) — the monitor sorts the window once for KS anyway,
 * and the profile stores the reference counts.
 */

import { type Sample, type SortedSample } from './sample';

export const PSI_EPSILON = 1e-4;

/** The nine 10-quantile probabilities, k/10 for k = 1 … 9. */
export const DECILE_PROBABILITIES: readonly number[] = Object.freeze([1, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => k / 10));

/** numpy.quantile(sorted, q) with method='linear', for a sorted NaN-free sample. */
export function quantileSorted(sorted: SortedSample, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError('quantile: empty sample');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: probability ${q} is not in [0, 1]`);
  const virtualIndex = (n - 1) * q;
  if (virtualIndex >= n - 1) return sorted[n - 1];
  const prev = Math.floor(virtualIndex);
  const gamma = virtualIndex - prev;
  const a = sorted[prev];
  const b = sorted[prev + 1];
  // numpy _lerp: a + (b−a)·t, or b − (b−a)·(1−t) for t ≥ 0.5
  const diff = b - a;
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

/**
 * PSI bin edges: the reference quantiles at `probabilities` (default the deciles), sorted with
 * duplicates removed (np.unique(np.quantile(reference, probabilities))).
 */
export function quantileEdges(sortedReference: SortedSample, probabilities: readonly number[] = DECILE_PROBABILITIES): Float64Array {
  const qs = Float64Array.from(probabilities, (q) => quantileSorted(sortedReference, q)).sort();
  let k = 0;
  for (let i = 0; i < qs.length; i++) {
    if (k === 0 || qs[i] !== qs[k - 1]) qs[k++] = qs[i];
  }
  return qs.slice(0, k);
}

function checkEdges(edges: ArrayLike<number>): void {
  for (let i = 0; i < edges.length; i++) {
    if (Number.isNaN(edges[i]) || (i > 0 && !(edges[i - 1] < edges[i]))) {
      throw new RangeError('psi: interior edges must be strictly increasing and not NaN');
    }
  }
}

/** Number of edges ≤ v (the bin index of v), by binary search. */
function binIndex(edges: ArrayLike<number>, k: number, v: number): number {
  let lo = 0;
  let hi = k;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index i with sorted[i] ≥ v. */
function lowerBound(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Counts of `values` in the k + 1 bins of the interior edges, O(n log k). NaN throws. */
export function binCounts(values: Sample, edges: ArrayLike<number>): Float64Array {
  checkEdges(edges);
  const k = edges.length;
  const counts = new Float64Array(k + 1);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== v) throw new RangeError('psi: the sample contains NaN');
    counts[binIndex(edges, k, v)]++;
  }
  return counts;
}

/** Counts of a sorted sample in the k + 1 bins of the interior edges, O(k log n). */
export function binCountsSorted(sorted: SortedSample, edges: ArrayLike<number>): Float64Array {
  checkEdges(edges);
  const k = edges.length;
  const counts = new Float64Array(k + 1);
  let below = 0;
  for (let i = 0; i < k; i++) {
    const at = lowerBound(sorted, edges[i]);
    counts[i] = at - below;
    below = at;
  }
  counts[k] = sorted.length - below;
  return counts;
}

/** Counts divided by their total (NaN everywhere when the total is 0). */
export function binProportions(counts: ArrayLike<number>): Float64Array {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  return Float64Array.from(counts as ArrayLike<number>, (c) => c / total);
}

/** PSI from the bin counts of the reference and the current sample (same bins). */
export function psiFromCounts(referenceCounts: ArrayLike<number>, currentCounts: ArrayLike<number>, epsilon = PSI_EPSILON): number {
  if (referenceCounts.length !== currentCounts.length) {
    throw new RangeError(`psi: ${referenceCounts.length} reference bins but ${currentCounts.length} current bins`);
  }
  if (!(epsilon > 0)) throw new RangeError('psi: epsilon must be > 0');
  const r = binProportions(referenceCounts);
  const c = binProportions(currentCounts);
  if (r.length > 0 && !(Number.isFinite(r[0]) && Number.isFinite(c[0]))) {
    throw new RangeError('psi: the counts must be finite, non-negative, with a positive total');
  }
  let sum = 0;
  for (let i = 0; i < r.length; i++) {
    const ri = Math.max(r[i], epsilon);
    const ci = Math.max(c[i], epsilon);
    sum += (ci - ri) * Math.log(ci / ri);
  }
  return sum;
}

export interface PsiResult {
  value: number;
  referenceCounts: Float64Array;
  currentCounts: Float64Array;
}

/** PSI of two (unsorted) samples over the given interior edges. */
export function psi(reference: Sample, current: Sample, edges: ArrayLike<number>, epsilon = PSI_EPSILON): PsiResult {
  const referenceCounts = binCounts(reference, edges);
  const currentCounts = binCounts(current, edges);
  return { value: psiFromCounts(referenceCounts, currentCounts, epsilon), referenceCounts, currentCounts };
}
