/**
 * The two-sample KS statistic and the Wasserstein-1 distance of two sorted samples from one
 * merge instead of two. Both walk the pooled values in order and both need the exact ECDF
 * numerator i·m − j·n at each step, so one loop carries both.
 *
 * Two loops, same results:
 * - `mergeByValue` steps from one distinct pooled value to the next (advancing every sample whose
 *   next value equals it), exactly as ks.ts and wasserstein.ts do;
 * - `mergeBranchFree`, for finite samples, steps one element of each sample whose value is the
 *   pooled minimum, with 0/1 arithmetic instead of branches: which sample is next is a coin flip
 *   for similar distributions, and the mispredicted branch cost ~30% of the loop. Steps inside a
 *   group of equal values add |num|·0 = 0 to the Wasserstein sum (exactly: the sum is ≥ +0), and
 *   KS is only evaluated at the end of a group: when a step's numerator could be a new extreme, the
 *   group is completed first. Infinite values would turn those zero-width steps into ∞ − ∞, so
 *   samples with them take `mergeByValue`.
 * The arithmetic is that of `ksStatisticSorted` (ks.ts) and `wassersteinSorted` (wasserstein.ts),
 * so the results are bit-identical to theirs (test/unit/driftFast.test.ts checks it); those stay
 * the readable definitions.
 */

import type { SortedSample } from './sample';

export interface KsWasserstein {
  /** sup |F_reference − F_current|, as ksStatisticSorted(reference, current) */
  ks: number;
  /** W₁, as wassersteinSorted(reference, current) */
  wasserstein: number;
}

/** Where a merge loop stopped (one sample exhausted): positions, Wasserstein sum, KS arg-extremes. */
interface MergeState {
  i: number;
  j: number;
  prev: number;
  sum: number;
  comp: number;
  maxI: number;
  maxJ: number;
  minI: number;
  minJ: number;
}

/** KS statistic and W₁ of two sorted non-empty samples in one O(n + m) merge. */
export function ksWassersteinSorted(reference: SortedSample, current: SortedSample): KsWasserstein {
  const n = reference.length;
  const m = current.length;
  if (n === 0 || m === 0) throw new RangeError('ksWasserstein: samples must not be empty');
  const finite = Number.isFinite(reference[0]) && Number.isFinite(reference[n - 1]) && Number.isFinite(current[0]) && Number.isFinite(current[m - 1]);
  const state = finite ? mergeBranchFree(reference, current) : mergeByValue(reference, current);
  return finish(reference, current, state);
}

function mergeBranchFree(u: Float64Array, v: Float64Array): MergeState {
  const n = u.length;
  const m = v.length;
  let maxNum = 0;
  let maxI = 0;
  let maxJ = 0;
  let minNum = 0;
  let minI = 0;
  let minJ = 0;
  let i = 0;
  let j = 0;
  let prev = Math.min(u[0], v[0]);
  let sum = 0;
  let comp = 0;
  let num = 0; // i·m − j·n before this step
  while (i < n && j < m) {
    const a = u[i];
    const b = v[j];
    const takeA = +(a <= b);
    const takeB = +(b <= a);
    const next = a * takeA + b * (1 - takeA); // min(a, b) up to the sign of a zero, which cannot change a result
    const term = Math.abs(num) * (next - prev);
    const t = sum + term;
    comp += Math.abs(sum) >= Math.abs(term) ? sum - t + term : term - t + sum;
    sum = t;
    prev = next;
    i += takeA;
    j += takeB;
    num = i * m - j * n;
    if (num >= maxNum || num <= minNum) {
      // A candidate extreme: KS is evaluated after the whole group of values equal to `next`.
      while (i < n && u[i] === next) i++;
      while (j < m && v[j] === next) j++;
      num = i * m - j * n;
      // On an exact tie keep the pair whose float value is the most extreme, as ks.ts.
      if (num >= maxNum) {
        if (num > maxNum || i / n - j / m > maxI / n - maxJ / m) {
          maxNum = num;
          maxI = i;
          maxJ = j;
        }
      } else if (num <= minNum) {
        if (num < minNum || i / n - j / m < minI / n - minJ / m) {
          minNum = num;
          minI = i;
          minJ = j;
        }
      }
    }
  }
  // The loop can stop inside a group of equal values (one sample exhausted): finish the group
  // (its remaining steps add 0 to the sum) and evaluate KS where ks.ts would. Idempotent when the
  // loop stopped at a group's end.
  while (i < n && u[i] === prev) i++;
  while (j < m && v[j] === prev) j++;
  num = i * m - j * n;
  if (num >= maxNum) {
    if (num > maxNum || i / n - j / m > maxI / n - maxJ / m) {
      maxI = i;
      maxJ = j;
    }
  } else if (num <= minNum) {
    if (num < minNum || i / n - j / m < minI / n - minJ / m) {
      minI = i;
      minJ = j;
    }
  }
  return { i, j, prev, sum, comp, maxI, maxJ, minI, minJ };
}

function mergeByValue(u: Float64Array, v: Float64Array): MergeState {
  const n = u.length;
  const m = v.length;
  let maxNum = 0;
  let maxI = 0;
  let maxJ = 0;
  let minNum = 0;
  let minI = 0;
  let minJ = 0;
  let i = 0;
  let j = 0;
  let prev = Math.min(u[0], v[0]);
  let sum = 0;
  let comp = 0;
  let num = 0; // i·m − j·n before this step's advance
  while (i < n && j < m) {
    const a = u[i];
    const b = v[j];
    const next = a < b ? a : b;
    // Wasserstein: |F_u − F_v| over [prev, next), Neumaier-compensated as wasserstein.ts
    const term = Math.abs(num) * (next - prev);
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
    num = i * m - j * n;
    if (num >= maxNum) {
      if (num > maxNum || i / n - j / m > maxI / n - maxJ / m) {
        maxNum = num;
        maxI = i;
        maxJ = j;
      }
    } else if (num <= minNum) {
      if (num < minNum || i / n - j / m < minI / n - minJ / m) {
        minNum = num;
        minI = i;
        minJ = j;
      }
    }
  }
  return { i, j, prev, sum, comp, maxI, maxJ, minI, minJ };
}

/**
 * One sample is exhausted: the KS difference now moves monotonically to 0 (no new extreme);
 * Wasserstein walks the rest of the other.
 */
function finish(u: Float64Array, v: Float64Array, s: MergeState): KsWasserstein {
  const n = u.length;
  const m = v.length;
  let { i, j, prev, sum, comp } = s;
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
  const maxS = s.maxI / n - s.maxJ / m;
  const minS = Math.min(-(s.minI / n - s.minJ / m), 1);
  return { ks: minS > maxS ? minS : maxS, wasserstein: (sum + comp) / (n * m) };
}
