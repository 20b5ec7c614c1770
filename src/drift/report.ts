/**
 * One drift report: live traffic (a window of current rows) against a model version's training
 * profile (src/data/profile.ts). Pure — no I/O, no clock; the monitor activity calls it per check
 * and stores the result, breached or not.
 *
 * Statistics per feature (missing values — NaN — are dropped from the current window, as the
 * profile dropped them from the reference):
 * - numeric: two-sample KS against the profile's sorted seeded `sample`; PSI over the profile's
 *   `quantileEdges` with its `binCounts` as the reference counts (left-closed bins [e_i, e_{i+1}),
 *   which is how the profile counted them: a value equal to an edge falls in the bin above it);
 *   Jensen–Shannon divergence over the same bins (unfloored); Wasserstein-1 against the sample.
 * - categorical: chi-square test of homogeneity between the profile's `frequencies` and the
 *   current code counts (union of categories); PSI over the union of categories, proportions
 *   floored at PSI_EPSILON (a category new in the current window counts as ε in the reference).
 * Every statistic is computed (all are O(n + m) or cheaper); `policy.tests` chooses which of them
 * take part in the decision and in the multiple-testing count. The others are descriptive.
 *
 * Decision rule (per feature), with P = the configured p-value tests of its kind (ks for numeric,
 * chi2 for categorical) and E = whether 'psi' is configured for its kind:
 *   significant = P is empty, or some test in P has p < perTestAlpha
 *   large       = not E, or PSI ≥ psiThreshold
 *   breached    = (P or E non-empty) and significant and large
 * i.e. a breach needs statistical evidence that the distribution changed AND an effect large
 * enough to matter. With big windows a p-value test alone flags tiny, harmless shifts; PSI alone
 * is noisy in small windows; the conjunction keeps same-distribution traffic quiet (its false-alarm
 * rate is at most that of the Bonferroni-corrected p-value tests, family-wise ≤ alpha) while a
 * real shift trips both. With no test configured for a kind, its features never breach.
 *
 * Multiple testing: with 'bonferroni', perTestAlpha = alpha / m, m = Σ over the profile's features
 * of the number of configured p-value tests for the feature's kind (at most 1 each today), so the
 * family-wise false-alarm rate of one report is ≤ alpha. m is fixed by the profile and the policy,
 * not by which features happened to have data in this window, so the threshold is stable across
 * checks. With 'none', perTestAlpha = alpha.
 *
 * Score: the largest PSI over the features that were tested (0 when none, or not enough data).
 * PSI is an effect size, comparable between checks and windows of any size, unlike (1 − p), which
 * saturates at 1 for big windows; so it is what the lifecycle shows as "latest drift score".
 *
 * Not enough data: fewer than `policy.minRows` current rows → `enoughData: false`, no statistic
 * computed, nothing breached. A feature with fewer than `minRows` non-missing current values (or
 * an empty reference) is likewise reported untested and not breached, with the reason in words.
 *
 * Layout: this file plans a report (policy, columns, Bonferroni) and assembles it; feature.ts
 * computes one feature; parallel.ts runs feature.ts on worker threads for big windows.
 */

import type { DataProfile } from '../data/profile';
import { featureDrift, type Decision, type FeatureDrift, type FeatureRules } from './feature';

export type { FeatureDrift } from './feature';

export type NumericDriftTest = 'ks' | 'psi';
export type CategoricalDriftTest = 'chi2' | 'psi';

export interface DriftPolicy {
  /** family-wise significance level of one report, e.g. 0.01 */
  alpha: number;
  /** PSI at or above which a shift is large enough to matter, e.g. 0.2 */
  psiThreshold: number;
  correction: 'bonferroni' | 'none';
  /** fewer current rows than this: "not enough data", nothing decided */
  minRows: number;
  /** the tests that decide; default KS + PSI for numeric, chi-square + PSI for categorical */
  tests?: { numeric: NumericDriftTest[]; categorical: CategoricalDriftTest[] };
}

export const DEFAULT_DRIFT_TESTS: Readonly<{ numeric: readonly NumericDriftTest[]; categorical: readonly CategoricalDriftTest[] }> =
  Object.freeze({ numeric: Object.freeze(['ks', 'psi'] as NumericDriftTest[]), categorical: Object.freeze(['chi2', 'psi'] as CategoricalDriftTest[]) });

export interface DriftReport {
  /** current rows in the window */
  rows: number;
  enoughData: boolean;
  threshold: { alpha: number; perTestAlpha: number; psi: number };
  features: FeatureDrift[];
  breached: boolean;
  /** max PSI over the tested features (0 when none) */
  score: number;
  breachedFeatures: string[];
}

export interface CurrentWindow {
  names: string[];
  /** column-major, one per name, all the same length; NaN = missing */
  columns: Float64Array[];
}

function validatePolicy(policy: DriftPolicy): void {
  if (!(policy.alpha > 0 && policy.alpha < 1)) throw new RangeError(`driftReport: alpha ${policy.alpha} must be in (0, 1)`);
  if (!(policy.psiThreshold > 0 && Number.isFinite(policy.psiThreshold))) {
    throw new RangeError(`driftReport: psiThreshold ${policy.psiThreshold} must be a positive number`);
  }
  if (policy.correction !== 'bonferroni' && policy.correction !== 'none') {
    throw new RangeError(`driftReport: correction must be 'bonferroni' or 'none', not ${String(policy.correction)}`);
  }
  if (!(Number.isInteger(policy.minRows) && policy.minRows >= 1)) {
    throw new RangeError(`driftReport: minRows ${policy.minRows} must be an integer ≥ 1`);
  }
  const t = policy.tests;
  if (t !== undefined) {
    for (const x of t.numeric) if (x !== 'ks' && x !== 'psi') throw new RangeError(`driftReport: unknown numeric test ${String(x)}`);
    for (const x of t.categorical) if (x !== 'chi2' && x !== 'psi') throw new RangeError(`driftReport: unknown categorical test ${String(x)}`);
  }
}

/** Columns of the current window in the profile's feature order; throws on any mismatch of names. */
function alignColumns(profile: DataProfile, current: CurrentWindow): { columns: Float64Array[]; rows: number } {
  if (current.names.length !== current.columns.length) {
    throw new Error(`driftReport: ${current.names.length} current names but ${current.columns.length} columns`);
  }
  const byName = new Map<string, Float64Array>();
  const duplicates: string[] = [];
  current.names.forEach((name, j) => {
    if (byName.has(name)) duplicates.push(name);
    byName.set(name, current.columns[j]);
  });
  if (duplicates.length) throw new Error(`driftReport: duplicate current feature names: ${duplicates.join(', ')}`);
  const expected = profile.features.map((f) => f.name);
  const missing = expected.filter((n) => !byName.has(n));
  const unexpected = current.names.filter((n) => !expected.includes(n));
  if (missing.length || unexpected.length) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing from the current window: ${missing.join(', ')}`);
    if (unexpected.length) parts.push(`not in the profile: ${unexpected.join(', ')}`);
    throw new Error(`driftReport: the current features do not match the profile's (${parts.join('; ')})`);
  }
  const columns = expected.map((n) => byName.get(n)!);
  const rows = columns.length ? columns[0].length : 0;
  columns.forEach((c, j) => {
    if (c.length !== rows) throw new Error(`driftReport: column ${expected[j]} has ${c.length} rows, ${expected[0]} has ${rows}`);
  });
  return { columns, rows };
}

/**
 * Everything about a report that is not per-feature: the policy checked, the columns aligned
 * with the profile's features, the Bonferroni family size and the rules each feature is decided
 * by — or, below minRows, the whole (empty) report. Shared by driftReport and driftReportParallel.
 */
export type ReportPlan =
  | { enoughData: false; report: DriftReport }
  | { enoughData: true; rows: number; columns: Float64Array[]; threshold: DriftReport['threshold']; rules: FeatureRules };

export function planReport(profile: DataProfile, current: CurrentWindow, policy: DriftPolicy): ReportPlan {
  validatePolicy(policy);
  const { columns, rows } = alignColumns(profile, current);
  const tests = policy.tests ?? DEFAULT_DRIFT_TESTS;
  const numericP = tests.numeric.filter((t) => t === 'ks');
  const categoricalP = tests.categorical.filter((t) => t === 'chi2');
  let m = 0;
  for (const f of profile.features) m += f.kind === 'numeric' ? numericP.length : categoricalP.length;
  const perTestAlpha = policy.correction === 'bonferroni' && m > 0 ? policy.alpha / m : policy.alpha;
  const threshold = { alpha: policy.alpha, perTestAlpha, psi: policy.psiThreshold };

  if (rows < policy.minRows) {
    const features: FeatureDrift[] = profile.features.map((f) => ({
      name: f.name,
      kind: f.kind,
      rows: 0,
      missing: 0,
      breached: false,
      reasons: [`not tested: ${rows} current rows < minRows ${policy.minRows}`],
    }));
    return { enoughData: false, report: { rows, enoughData: false, threshold, features, breached: false, score: 0, breachedFeatures: [] } };
  }
  const numeric: Decision = { pTests: numericP, psiOn: tests.numeric.includes('psi'), perTestAlpha, psiThreshold: policy.psiThreshold };
  const categorical: Decision = { pTests: categoricalP, psiOn: tests.categorical.includes('psi'), perTestAlpha, psiThreshold: policy.psiThreshold };
  return { enoughData: true, rows, columns, threshold, rules: { minRows: policy.minRows, numeric, categorical } };
}

/** The report from its features' drift, in the profile's order. */
export function assembleReport(plan: { rows: number; threshold: DriftReport['threshold'] }, features: FeatureDrift[]): DriftReport {
  let score = 0;
  for (const f of features) if (f.psi !== undefined && f.psi > score) score = f.psi;
  const breachedFeatures = features.filter((f) => f.breached).map((f) => f.name);
  return { rows: plan.rows, enoughData: true, threshold: plan.threshold, features, breached: breachedFeatures.length > 0, score, breachedFeatures };
}

/** The drift report of a current window against a training profile, under a policy. */
export function driftReport(profile: DataProfile, current: CurrentWindow, policy: DriftPolicy): DriftReport {
  const plan = planReport(profile, current, policy);
  if (!plan.enoughData) return plan.report;
  return assembleReport(
    plan,
    profile.features.map((f, j) => featureDrift(f, plan.columns[j], plan.rules)),
  );
}
