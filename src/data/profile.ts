import type { FeatureMatrix } from '../ml/gbdt';
import { seededRandom } from '../util/random';

export interface NumericProfile {
  kind: 'numeric';
  name: string;
  count: number;
  missing: number;
  min: number;
  max: number;
  mean: number;
  std: number;
  /** Inner quantile edges (deciles by default): the reference bins for PSI. */
  quantileEdges: number[];
  /** Rows per bin: below edge 0, between edges, at or above the last edge. */
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
}

export interface ProfileOptions {
  bins?: number;
  sampleSize?: number;
  seed?: number;
}

/** The training window as seen by the model: the drift reference that monitoring compares live traffic with. */
export function profileFeatures(x: FeatureMatrix, y: ArrayLike<number>, o: ProfileOptions = {}): DataProfile {
  const bins = o.bins ?? 10;
  const sampleSize = o.sampleSize ?? 10_000;
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
  const present = column.filter((v) => !Number.isNaN(v)).sort();
  const n = present.length;
  let sum = 0;
  for (const v of present) sum += v;
  const mean = n ? sum / n : NaN;
  let sq = 0;
  for (const v of present) sq += (v - mean) ** 2;
  const edges: number[] = [];
  for (let b = 1; b < bins; b++) {
    const q = present[Math.min(n - 1, Math.floor((b * n) / bins))];
    if (n && (edges.length === 0 || q > edges[edges.length - 1])) edges.push(q);
  }
  const binCounts = new Array<number>(edges.length + 1).fill(0);
  for (const v of present) binCounts[upperBound(edges, v)]++;
  const sample: number[] = [];
  for (const i of sampleRows) if (!Number.isNaN(column[i])) sample.push(column[i]);
  sample.sort((a, b) => a - b);
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
    binCounts,
    sample,
  };
}

/** Index of the first edge greater than v (values equal to an edge fall in the bin above it). */
function upperBound(edges: number[], v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
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
