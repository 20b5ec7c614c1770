/**
 * Numeric samples for the drift statistics: plain arrays or Float64Arrays of finite-or-infinite
 * numbers (NaN is rejected with a RangeError — missing values are handled before drift).
 *
 * The statistics on two numeric samples (KS, Wasserstein, PSI counts) run in O(n + m) on
 * sorted inputs, so a training profile keeps its reference sample sorted and a check sorts the
 * current window once. `SortedSample` is a Float64Array branded by the type system as sorted
 * ascending and NaN-free; only `sortSample` / `sortPresent` (copy + sort) and `asSortedSample` /
 * `sortedCopy` (O(n) check) make one, so the O(n + m) functions need not re-check their inputs.
 *
 * Sorting is radixSort.ts above 2,048 values (same order as Float64Array.prototype.sort:
 * −∞ < … < −0 < +0 < … < +∞).
 */

import { nanError, sortFloat64 } from './radixSort';

export type Sample = Float64Array | readonly number[];

declare const sortedBrand: unique symbol;

/** A Float64Array sorted ascending, without NaN. Do not write into it. */
export type SortedSample = Float64Array & { readonly [sortedBrand]: true };

/** A sorted copy of `values` (throws a RangeError on NaN). */
export function sortSample(values: Sample, where = 'sortSample'): SortedSample {
  const out = new Float64Array(values.length);
  out.set(values);
  return sortFloat64(out, where) as SortedSample;
}

/**
 * The non-missing values of a column, sorted, and how many were missing (NaN): one copy, no
 * intermediate array (TypedArray.prototype.filter with a callback costs ~180 ms per million).
 * `missing`, when the caller has counted it already, saves a pass.
 */
export function sortPresent(column: Float64Array, where = 'sortPresent', missing = countMissing(column)): { sorted: SortedSample; missing: number } {
  const out = new Float64Array(column.length - missing);
  if (missing === 0) out.set(column);
  else {
    let k = 0;
    for (let i = 0; i < column.length; i++) {
      const v = column[i];
      if (v === v) out[k++] = v;
    }
  }
  return { sorted: sortFloat64(out, where) as SortedSample, missing };
}

/** Number of NaN values in a column. */
export function countMissing(column: Float64Array): number {
  let missing = 0;
  for (let i = 0; i < column.length; i++) if (column[i] !== column[i]) missing++;
  return missing;
}

/** Brands `values` (not copied) as sorted after checking it is ascending and NaN-free, in O(n). */
export function asSortedSample(values: Float64Array, where = 'asSortedSample'): SortedSample {
  checkSorted(values, where);
  return values as SortedSample;
}

/**
 * A Float64Array copy of values that should already be sorted (a profile's stored sample, a
 * plain array after JSON), checked ascending and NaN-free: O(n), no sort.
 */
export function sortedCopy(values: ArrayLike<number>, where = 'sortedCopy'): SortedSample {
  const out = new Float64Array(values.length);
  out.set(values); // V8's bulk copy: ~2× a per-element loop from a plain array
  return asSortedSample(out, where);
}

function checkSorted(values: ArrayLike<number>, where: string): void {
  const n = values.length;
  if (n > 0 && Number.isNaN(values[0])) throw nanError(where);
  for (let i = 1; i < n; i++) {
    if (!(values[i - 1] <= values[i])) {
      if (Number.isNaN(values[i])) throw nanError(where);
      throw new RangeError(`${where}: the sample is not sorted ascending at index ${i}`);
    }
  }
}

/** Throws a RangeError when an (unsorted) sample contains NaN; O(n). */
export function assertNoNaN(values: Sample, where: string): void {
  for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i])) throw nanError(where);
}

/**
 * The non-missing values of `column` at `rows`, sorted, as a plain array — what
 * `values.sort((a, b) => a - b)` gives (a profile's stored sample), ~10× faster for a million:
 * the typed-array sort, then the zeros put back in their order of appearance, since the stable
 * comparator sort leaves −0 and +0 (equal to it) in that order where the typed sort puts −0 first.
 */
export function sortedValuesAt(column: Float64Array, rows: ArrayLike<number>, where = 'sortedValuesAt'): number[] {
  const picked = new Float64Array(rows.length);
  const zeroIsNegative: boolean[] = [];
  let k = 0;
  for (let i = 0; i < rows.length; i++) {
    const v = column[rows[i]];
    if (v !== v) continue;
    if (v === 0) zeroIsNegative.push(Object.is(v, -0));
    picked[k++] = v;
  }
  const sorted = sortFloat64(picked.slice(0, k), where);
  if (zeroIsNegative.length > 1) {
    let at = 0;
    while (sorted[at] !== 0) at++;
    for (const negative of zeroIsNegative) sorted[at++] = negative ? -0 : 0;
  }
  return Array.from(sorted);
}
