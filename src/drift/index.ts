/**
 * Drift statistics library: pure functions, no I/O, checked against scipy's values in
 * ../shared/reference/drift-vectors.json (test/unit/drift.test.ts).
 *
 * Numeric features: two-sample Kolmogorov–Smirnov (ks.ts), PSI over reference decile bins
 * (psi.ts), Jensen–Shannon divergence over the same bins (jensenShannon.ts), Wasserstein-1
 * (wasserstein.ts) — the O(n + m) variants take `SortedSample`s (sample.ts, sorted by
 * radixSort.ts); ksWasserstein.ts computes KS and W₁ in one merge. Categorical features:
 * chi-square test of homogeneity (chiSquare.ts), counts by categoryCounts.ts. Distributions and
 * special functions: kolmogorov.ts, special.ts.
 *
 * Reports: report.ts (`driftReport`, one feature at a time by feature.ts) and parallel.ts
 * (`driftReportParallel`, the same report on worker threads).
 */

export { type Sample, type SortedSample, sortSample, sortPresent, asSortedSample, sortedCopy, sortedValuesAt, countMissing, assertNoNaN } from './sample';
export {
  KS_MAX_EXACT_N,
  type KsMethod,
  type KsResult,
  ks2samp,
  ks2sampSorted,
  ksStatisticSorted,
  ksPValue,
  ksPValueExact,
  ksPValueAsymp,
} from './ks';
export {
  PSI_EPSILON,
  DECILE_PROBABILITIES,
  type PsiResult,
  quantileSorted,
  quantileEdges,
  binCounts,
  binCountsSorted,
  binProportions,
  psiFromCounts,
  psi,
} from './psi';
export { jensenShannonDivergence } from './jensenShannon';
export { wasserstein, wassersteinSorted } from './wasserstein';
export { type KsWasserstein, ksWassersteinSorted } from './ksWasserstein';
export { countCategories } from './categoryCounts';
export { type CategoryCounts, type ChiSquareResult, chiSquareHomogeneity, chiSquareFromTable } from './chiSquare';
export {
  kolmogorovSmirnovSf,
  kolmogorovSmirnovCdfDurbin,
  kolmogorovSmirnovCdfPomeranz,
  kolmogorovSmirnovCdfPelzGood,
  smirnovSf,
  kolmogorovSf,
} from './kolmogorov';
export { logGamma, regularizedGammaP, regularizedGammaQ, chiSquareSf, roundHalfEven } from './special';
export * from './report';
export { featureDrift, type Decision, type FeatureRules } from './feature';
export { driftReportParallel, closeDriftWorkers, driftWorkerPools, type ParallelDriftOptions } from './parallel';
