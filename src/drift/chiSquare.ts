/**
 * Chi-square test of homogeneity of two categorical samples, as
 * scipy.stats.chi2_contingency(table, correction=False) on the 2 × k table of reference and
 * current counts over the union of their categories:
 *   expected[r][c] = rowTotal[r] · colTotal[c] / total,  χ² = Σ (observed − expected)² / expected,
 *   dof = k − 1,  p = Q((k − 1)/2, χ²/2) (regularized upper incomplete gamma).
 * Categories are the reference's in its order, then the current's new ones. A category whose
 * count is 0 in both samples carries no information and is left out (scipy raises on the zero
 * expected frequency it would create). With a single category, χ² = 0, dof = 0 and p = 1, as scipy.
 */

import { chiSquareSf } from './special';

export type CategoryCounts = Readonly<Record<string, number>> | ReadonlyMap<string, number>;

export interface ChiSquareResult {
  statistic: number;
  dof: number;
  pvalue: number;
  /** the categories of the table's columns, in order */
  categories: string[];
}

function entries(counts: CategoryCounts): Iterable<[string, number]> {
  return counts instanceof Map ? counts.entries() : Object.entries(counts);
}

function checkCount(c: number, where: string): void {
  if (!(c >= 0 && Number.isFinite(c))) throw new RangeError(`chiSquare: ${where} count ${c} must be finite and ≥ 0`);
}

/** χ² homogeneity test on the 2 × k table given by two rows of counts over the same k columns. */
export function chiSquareFromTable(referenceCounts: ArrayLike<number>, currentCounts: ArrayLike<number>): Omit<ChiSquareResult, 'categories'> {
  const k = referenceCounts.length;
  if (currentCounts.length !== k) throw new RangeError(`chiSquare: ${k} reference columns but ${currentCounts.length} current`);
  let r0 = 0;
  let r1 = 0;
  for (let c = 0; c < k; c++) {
    checkCount(referenceCounts[c], 'reference');
    checkCount(currentCounts[c], 'current');
    r0 += referenceCounts[c];
    r1 += currentCounts[c];
  }
  if (r0 === 0 || r1 === 0) throw new RangeError('chiSquare: each sample needs at least one count');
  const total = r0 + r1;
  let statistic = 0;
  let columns = 0;
  for (let c = 0; c < k; c++) {
    const col = referenceCounts[c] + currentCounts[c];
    if (col === 0) continue;
    columns++;
    const e0 = (r0 * col) / total;
    const e1 = (r1 * col) / total;
    statistic += (referenceCounts[c] - e0) ** 2 / e0 + (currentCounts[c] - e1) ** 2 / e1;
  }
  const dof = columns - 1;
  if (dof <= 0) return { statistic: 0, dof: 0, pvalue: 1 };
  return { statistic, dof, pvalue: chiSquareSf(statistic, dof) };
}

/** χ² homogeneity test of reference vs current category counts, over the union of categories. */
export function chiSquareHomogeneity(reference: CategoryCounts, current: CategoryCounts): ChiSquareResult {
  const index = new Map<string, number>();
  const ref: number[] = [];
  const cur: number[] = [];
  for (const [cat, n] of entries(reference)) {
    checkCount(n, `reference "${cat}"`);
    index.set(cat, ref.length);
    ref.push(n);
    cur.push(0);
  }
  for (const [cat, n] of entries(current)) {
    checkCount(n, `current "${cat}"`);
    const at = index.get(cat);
    if (at === undefined) {
      index.set(cat, ref.length);
      ref.push(0);
      cur.push(n);
    } else {
      cur[at] += n;
    }
  }
  const categories: string[] = [];
  const r: number[] = [];
  const c: number[] = [];
  for (const [cat, at] of index) {
    if (ref[at] + cur[at] === 0) continue;
    categories.push(cat);
    r.push(ref[at]);
    c.push(cur[at]);
  }
  return { ...chiSquareFromTable(r, c), categories };
}
