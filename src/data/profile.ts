import type { FeatureMatrix } from '../ml/gbdt';
import { seededRandom } from '../util/random';
import { binCountsSorted, quantileEdges } from '../drift/psi';
import { sortedValuesAt, sortPresent } from '../drift/sample';

export interface NumericProfile {
  kind: 'numeric';
  name: string;
  count: number;
  missing: number;
  min: number;
  max: number;
  mean: number;
  std: number;
  /** Inner quantile edges (deciles by default, numpy's linear method, duplicates removed): the reference bins for PSI. */
  quantileEdges: number[];
  /** Rows per bin, left-closed: below edge 0, [edge i, edge i+1), at or above the last edge. */
  binCounts: number[];
  /** A seeded random sample of the values, sorted: the reference for KS and Wasserstein. */
  sample: number[];
}

export interface CategoricalProfile {
  kind: 'categorical';
  name: string;
  count: number;
  missing: number;
  /** Rows per category code (as a string key). */
  frequencies: Record<string, number>;
}

export type FeatureProfile = NumericProfile | CategoricalProfile;

export interface DataProfile {
  format: 'perennial.profile/1';
  rows: number;
  labelRate: number;
  features: FeatureProfile[];
  /**
   * The model's scores on the sampled training rows: the reference for the drift of live
   * predictions. Added after training (profiles written before that have none).
   */
  prediction?: NumericProfile;
}

/**
 * Reference values kept per numeric feature for KS and Wasserstein. Above 10,000 the KS
 * p-value of a check is the asymptotic one (accurate at this size) instead of the exact
 * O(n·m) one, which would cost ~10 ms per feature per check.
 */
export const PROFILE_SAMPLE_SIZE = 20_000;

export interface ProfileOptions {
  bins?: number;
  sampleSize?: number;
  seed?: number;
}

/** The training window as seen by the model: the drift reference that monitoring compares live traffic with. */
export function profileFeatures(x: FeatureMatrix, y: ArrayLike<number>, o: ProfileOptions = {}): DataProfile {
  const bins = o.bins ?? 10;
  const sampleSize = o.sampleSize ?? PROFILE_SAMPLE_SIZE;
  const random = seededRandom(o.seed ?? 42);
  // One shared set of sampled rows keeps the per-feature samples jointly consistent.
  const sampleRows = sampleIndices(x.nRows, sampleSize, random);
  let positives = 0;
  for (let i = 0; i < y.length; i++) positives += y[i];
  return {
    format: 'perennial.profile/1',
    rows: x.nRows,
    labelRate: y.length ? positives / y.length : NaN,
    features: x.names.map((name, j) =>
      x.kinds[j] === 'numeric' ? numericProfile(name, x.columns[j], bins, sampleRows) : categoricalProfile(name, x.columns[j]),
    ),
  };
}

/**
 * Adds the reference for prediction drift: the trained model's scores on the same seeded
 * sample of training rows (scoring all of them would cost seconds per training for the
 * same picture).
 */
export async function withPredictionProfile(
  profile: DataProfile,
  x: FeatureMatrix,
  score: (sample: FeatureMatrix) => Float64Array | Promise<Float64Array>,
  o: ProfileOptions = {},
): Promise<DataProfile> {
  const rows = sampleIndices(x.nRows, o.sampleSize ?? PROFILE_SAMPLE_SIZE, seededRandom(o.seed ?? 42));
  const sample: FeatureMatrix = { ...x, nRows: rows.length, columns: x.columns.map((c) => Float64Array.from(rows, (i) => c[i])) };
  const scores = await score(sample);
  const all = Uint32Array.from({ length: scores.length }, (_, i) => i);
  return { ...profile, prediction: numericProfile('prediction', scores, o.bins ?? 10, all) };
}

function sampleIndices(n: number, k: number, random: () => number): Uint32Array {
  if (n <= k) return Uint32Array.from({ length: n }, (_, i) => i);
  // Partial Fisher–Yates over indices.
  const all = Uint32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (n - i));
    const t = all[i];
    all[i] = all[j];
    all[j] = t;
  }
  return all.slice(0, k).sort();
}

function numericProfile(name: string, column: Float64Array, bins: number, sampleRows: Uint32Array): NumericProfile {
  // The drift library's own quantiles and bins, so monitoring compares like with like.
  const present = sortPresent(column, `profile of ${name}`).sorted;
  const n = present.length;
  let sum = 0;
  for (const v of present) sum += v;
  const mean = n ? sum / n : NaN;
  let sq = 0;
  for (const v of present) sq += (v - mean) ** 2;
  const probabilities = Array.from({ length: bins - 1 }, (_, b) => (b + 1) / bins);
  const edges = n ? Array.from(quantileEdges(present, probabilities)) : [];
  const sample = sortedValuesAt(column, sampleRows, `profile of ${name}`);
  return {
    kind: 'numeric',
    name,
    count: column.length,
    missing: column.length - n,
    min: n ? present[0] : NaN,
    max: n ? present[n - 1] : NaN,
    mean,
    std: n ? Math.sqrt(sq / n) : NaN,
    quantileEdges: edges,
    binCounts: Array.from(binCountsSorted(present, edges)),
    sample,
  };
}

function categoricalProfile(name: string, column: Float64Array): CategoricalProfile {
  const frequencies: Record<string, number> = {};
  let missing = 0;
  for (const v of column) {
    if (Number.isNaN(v)) missing++;
    else frequencies[String(v)] = (frequencies[String(v)] ?? 0) + 1;
  }
  return { kind: 'categorical', name, count: column.length, missing, frequencies };
}
