/**
 * The drift of one feature: its statistics and its decision (report.ts explains both). One
 * function for both ways of computing a report — `driftReport` calls it in a loop and
 * `driftReportParallel` in worker threads — so the two cannot drift apart. Everything it takes
 * besides the column is plain data (structured-cloneable), and a numeric reference can come as a
 * Float64Array on shared memory instead of the profile's plain array.
 */

import type { CategoricalProfile, FeatureProfile, NumericProfile } from '../data/profile';
import { countCategories } from './categoryCounts';
import { chiSquareHomogeneity } from './chiSquare';
import { jensenShannonDivergence } from './jensenShannon';
import { ksPValue } from './ks';
import { ksWassersteinSorted } from './ksWasserstein';
import { binCountsSorted, psiFromCounts } from './psi';
import { asSortedSample, countMissing, sortedCopy, sortPresent, type SortedSample } from './sample';

/**
 * A profile's sample as a checked Float64Array, made once per parsed profile: the monitor
 * keeps profiles parsed, so its checks stop copying and checking the same sample each time.
 */
const referenceSamples = new WeakMap<ArrayLike<number>, SortedSample>();

function referenceSample(sample: ArrayLike<number>, where: string): SortedSample {
  let sorted = referenceSamples.get(sample);
  if (!sorted) {
    sorted = sortedCopy(sample, where);
    referenceSamples.set(sample, sorted);
  }
  return sorted;
}

export interface FeatureDrift {
  name: string;
  kind: 'numeric' | 'categorical';
  /** non-missing current values the statistics were computed on */
  rows: number;
  /** missing (NaN) current values, dropped */
  missing: number;
  ks?: { statistic: number; pvalue: number };
  psi?: number;
  js?: number;
  wasserstein?: number;
  chi2?: { statistic: number; dof: number; pvalue: number };
  breached: boolean;
  /** in words: why it breached, or why it was not tested; empty when tested and quiet */
  reasons: string[];
  /** The current window's distribution beside the profile's: rows per profile bin (numeric) or per category code (categorical), when tested. */
  current?: { bins: number[] } | { frequencies: Record<string, number> };
}

/** How one kind of feature is decided. */
export interface Decision {
  /** the configured p-value tests ('ks' or 'chi2') */
  pTests: string[];
  psiOn: boolean;
  perTestAlpha: number;
  psiThreshold: number;
}

/** What a feature's computation needs besides its profile and column. */
export interface FeatureRules {
  minRows: number;
  numeric: Decision;
  categorical: Decision;
}

function fmt(x: number): string {
  return x === 0 || (Math.abs(x) >= 1e-3 && Math.abs(x) < 1e4) ? String(Number(x.toFixed(4))) : x.toExponential(2);
}

/** Applies the combination rule; pvalues maps configured p-value tests to their p-values. */
function decide(d: Decision, pvalues: Record<string, number>, psiValue: number, out: FeatureDrift): void {
  if (d.pTests.length === 0 && !d.psiOn) return;
  const significant = d.pTests.filter((t) => pvalues[t] < d.perTestAlpha);
  const isSignificant = d.pTests.length === 0 || significant.length > 0;
  const isLarge = !d.psiOn || psiValue >= d.psiThreshold;
  out.breached = isSignificant && isLarge;
  if (!out.breached) return;
  const label: Record<string, string> = { ks: 'KS', chi2: 'chi-square' };
  for (const t of significant) {
    out.reasons.push(`${label[t]} p-value ${fmt(pvalues[t])} < per-test alpha ${fmt(d.perTestAlpha)}`);
  }
  if (d.psiOn) out.reasons.push(`PSI ${fmt(psiValue)} ≥ threshold ${fmt(d.psiThreshold)}`);
}

/**
 * The drift of one feature. For a numeric feature `reference` replaces `f.sample` when given (a
 * worker gets the sample as a shared Float64Array and the profile without it); either way it must
 * be sorted, which is checked in O(n).
 */
export function featureDrift(f: FeatureProfile, column: Float64Array, rules: FeatureRules, reference?: Float64Array): FeatureDrift {
  return f.kind === 'numeric'
    ? numericDrift(f, column, rules.minRows, rules.numeric, reference)
    : categoricalDrift(f, column, rules.minRows, rules.categorical);
}

function numericDrift(f: NumericProfile, column: Float64Array, minRows: number, d: Decision, reference?: Float64Array): FeatureDrift {
  const missing = countMissing(column);
  const rows = column.length - missing;
  const out: FeatureDrift = { name: f.name, kind: 'numeric', rows, missing, breached: false, reasons: [] };
  if (f.binCounts.length !== f.quantileEdges.length + 1) {
    throw new Error(`driftReport: profile of ${f.name} has ${f.binCounts.length} bin counts for ${f.quantileEdges.length} edges`);
  }
  const referenceLength = reference ? reference.length : f.sample.length;
  if (referenceLength === 0) {
    out.reasons.push('not tested: the profile has no reference values');
    return out;
  }
  if (rows < minRows) {
    out.reasons.push(`not tested: ${rows} non-missing current values < minRows ${minRows}`);
    return out;
  }
  const where = `driftReport(${f.name}) reference sample`;
  const sortedReference: SortedSample = reference ? asSortedSample(reference, where) : referenceSample(f.sample, where);
  const cur = sortPresent(column, `driftReport(${f.name})`, missing).sorted;
  const merged = ksWassersteinSorted(sortedReference, cur);
  const ks = ksPValue(merged.ks, sortedReference.length, cur.length);
  out.ks = { statistic: merged.ks, pvalue: ks.pvalue };
  const currentCounts = binCountsSorted(cur, f.quantileEdges);
  out.psi = psiFromCounts(f.binCounts, currentCounts);
  out.js = jensenShannonDivergence(f.binCounts, currentCounts);
  out.wasserstein = merged.wasserstein;
  out.current = { bins: Array.from(currentCounts) };
  decide(d, { ks: ks.pvalue }, out.psi, out);
  return out;
}

function categoricalDrift(f: CategoricalProfile, column: Float64Array, minRows: number, d: Decision): FeatureDrift {
  const { counts, missing } = countCategories(column);
  const rows = column.length - missing;
  const out: FeatureDrift = { name: f.name, kind: 'categorical', rows, missing, breached: false, reasons: [] };
  const reference = new Map(Object.entries(f.frequencies));
  let referenceTotal = 0;
  for (const n of reference.values()) referenceTotal += n;
  if (referenceTotal === 0) {
    out.reasons.push('not tested: the profile has no reference values');
    return out;
  }
  if (rows < minRows) {
    out.reasons.push(`not tested: ${rows} non-missing current values < minRows ${minRows}`);
    return out;
  }
  const chi = chiSquareHomogeneity(reference, counts);
  out.chi2 = { statistic: chi.statistic, dof: chi.dof, pvalue: chi.pvalue };
  // PSI over the union of categories (reference order, then new ones), floored as in psi.ts.
  const categories = [...reference.keys()];
  for (const k of counts.keys()) if (!reference.has(k)) categories.push(k);
  const r = categories.map((k) => reference.get(k) ?? 0);
  const c = categories.map((k) => counts.get(k) ?? 0);
  out.psi = psiFromCounts(r, c);
  out.js = jensenShannonDivergence(r, c);
  out.current = { frequencies: Object.fromEntries(counts) };
  decide(d, { chi2: chi.pvalue }, out.psi, out);
  const unseen = categories.filter((k) => !reference.has(k));
  if (out.breached && unseen.length) out.reasons.push(`categories not seen in training: ${unseen.slice(0, 10).join(', ')}${unseen.length > 10 ? ', …' : ''}`);
  return out;
}
