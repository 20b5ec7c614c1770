/**
 * Counts of a categorical column's codes, keyed by String(code) in first-seen order, NaN counted
 * as missing — what the drift report's chi-square and PSI take.
 *
 * A Map keyed by String(v) per row costs ~120 ms per million rows (a number-to-string conversion
 * and a string hash each); categorical codes are small non-negative integers (FeatureMatrix), so
 * they are counted in a dense array and converted to strings once per category. Other values
 * (negative, fractional, large) go to a Map keyed by the number. Both give the same groups and the
 * same order as the per-row String(v) Map: distinct numbers have distinct strings except ±0, and
 * those share a dense slot and the string "0".
 */

const DENSE_LIMIT = 1 << 16;

export interface CategoryCountsOfColumn {
  counts: Map<string, number>;
  missing: number;
}

export function countCategories(column: Float64Array): CategoryCountsOfColumn {
  const dense = new Float64Array(DENSE_LIMIT);
  const sparse = new Map<number, number>();
  const firstSeen: number[] = [];
  let missing = 0;
  for (let i = 0; i < column.length; i++) {
    const v = column[i];
    if (v !== v) {
      missing++;
    } else if (v >= 0 && v < DENSE_LIMIT && (v | 0) === v) {
      if (dense[v]++ === 0) firstSeen.push(v);
    } else {
      const c = sparse.get(v);
      if (c === undefined) firstSeen.push(v);
      sparse.set(v, (c ?? 0) + 1);
    }
  }
  const counts = new Map<string, number>();
  for (const v of firstSeen) counts.set(String(v), v >= 0 && v < DENSE_LIMIT && (v | 0) === v ? dense[v] : sparse.get(v)!);
  return { counts, missing };
}
