/**
 * Drift statistics library: pure functions, no I/O, checked against scipy's values in
 * ../shared/reference/drift-vectors.json (test/unit/drift.test.ts).
 *
 * Numeric features: two-sample Kolmogorov–Smirnov (ks.ts), PSI over reference decile bins
 * (psi.ts), Jensen–Shannon divergence over the same bins (jensenShannon.ts), Wasserstein-1
 * (wasserstein.ts) — the O(n + m) variants take `SortedSample`s (sample.ts). Categorical
 * features: chi-square test of homogeneity (chiSquare.ts). Distributions and special functions:
 * kolmogorov.ts, special.ts.
 */

export { type Sample, type SortedSample, sortSample, asSortedSample, assertNoNaN } from './sample';
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
