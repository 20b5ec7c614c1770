/**
 * Histogram gradient-boosted decision trees for binary classification (log-loss).
 *
 * Pure library code: no I/O, no Temporal. The trainer is async only so that it can
 * yield to the event loop once per round (heartbeats) and await `onRound`.
 *
 * Algorithm (XGBoost/LightGBM "hist" style):
 * - Bin edges are computed once from the training data (quantiles of a seeded sample of
 *   at most 200k rows). Numeric features get at most `maxBins - 1` value bins plus one
 *   bin for missing (NaN). Categorical features hold integer codes 0..k-1: code c gets
 *   bin c, codes >= maxBins-1 share bin maxBins-1, plus one bin for missing.
 * - Depth-wise growth up to `maxDepth`; gain = GL²/(HL+λ) + GR²/(HR+λ) − G²/(H+λ);
 *   a split is kept if gain > minGain and both children have hessian >= minChildWeight
 *   (and at least one row); leaf = −G/(H+λ) × learningRate.
 * - Missing values: every split learns a default direction (both sides are tried).
 *   If a node saw no missing values, the default is the child with the larger hessian.
 * - Categorical splits: present categories are ordered by G/(H + 10) (LightGBM-style)
 *   and the best prefix goes left. Categories not seen in the node at training time
 *   (and missing values) follow the default direction at prediction time.
 * - Histogram subtraction: only the smaller child's histogram is built; the larger is
 *   parent − smaller.
 *
 * Thresholds are stored as raw feature values (not bin indices): a numeric split sends
 * v to the left iff v <= threshold. Bin edges are also stored so that training can be
 * resumed from a checkpoint with exactly the same binning.
 */

import { seededRandom } from '../util/random';
import { ScoringForest, type TreeArrays } from './forest';

export type FeatureKind = 'numeric' | 'categorical';

export interface FeatureMatrix {
  /** feature names, in column order */
  names: string[];
  /** categorical columns hold non-negative integer codes (0..k-1) as numbers; NaN = missing */
  kinds: FeatureKind[];
  /** column-major, each of length nRows */
  columns: Float64Array[];
  nRows: number;
}

export interface GbdtParams {
  rounds: number;
  learningRate: number;
  maxDepth: number;
  minChildWeight: number;
  l2: number;
  maxBins: number;
  seed: number;
  /** minimum gain to split (default 0: any strictly positive gain) */
  minGain?: number;
  /** fraction of rows sampled (Bernoulli, seeded per round) for each tree; default 1 */
  rowSubsample?: number;
}

export interface TrainProgress {
  /** number of trees so far (1-based round just finished) */
  round: number;
  rounds: number;
  /** mean training log-loss after this round (over all rows) */
  trainLogLoss: number;
}

export interface TrainOptions {
  params: GbdtParams;
  /** a checkpoint: continue boosting from its trees (same binning, same base score) */
  resumeFrom?: GbdtModel;
  /** called after each round; may be async (it is awaited) */
  onRound?: (p: TrainProgress, model: () => GbdtModel) => void | Promise<void>;
}

/** A JSON number that may also be ±Infinity (JSON has no representation for those). */
export type JsonNumber = number | 'Infinity' | '-Infinity';

export type GbdtFeatureJson =
  | { name: string; kind: 'numeric'; /** upper edges of value bins 0..n-2 (last bin is unbounded) */ edges: JsonNumber[] }
  | { name: string; kind: 'categorical'; /** number of value bins (codes >= maxBins-1 share bin maxBins-1) */ valueBins: number };

export type GbdtNodeJson =
  | { leaf: number }
  | { feature: number; threshold: JsonNumber; defaultLeft: boolean; left: number; right: number }
  | { feature: number; catLeft: number[]; catRight: number[]; defaultLeft: boolean; left: number; right: number };

export interface GbdtTreeJson {
  nodes: GbdtNodeJson[];
}

export interface GbdtModelJson {
  format: typeof MODEL_FORMAT;
  version: typeof MODEL_FORMAT_VERSION;
  params: Required<GbdtParams>;
  features: GbdtFeatureJson[];
  /** positive rate of the training labels */
  baseRate: number;
  /** initial raw score: log-odds of baseRate (clamped) */
  baseScore: number;
  trees: GbdtTreeJson[];
}

export const MODEL_FORMAT = 'perennial-gbdt' as const;
export const MODEL_FORMAT_VERSION = 1 as const;

const QUANTILE_SAMPLE_ROWS = 200_000;
const CAT_SMOOTH = 10;
const RATE_CLAMP = 1e-15;

// ---------------------------------------------------------------------------------------
// Deterministic PRNG
// ---------------------------------------------------------------------------------------

function fmix32(a: number): number {
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  a = Math.imul(a, 0xc2b2ae35);
  a ^= a >>> 16;
  return a >>> 0;
}

/** Hash (seed, stream, index) into a 32-bit PRNG state. */
function streamState(seed: number, stream: number, index: number): number {
  const lo = ((seed % 4294967296) + 4294967296) % 4294967296;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  let s = fmix32(lo ^ fmix32(hi + 0x9e3779b9));
  s = fmix32(s ^ Math.imul(stream + 1, 0x85ebca6b));
  s = fmix32(s ^ Math.imul(index + 1, 0xc2b2ae35));
  return s;
}

const STREAM_QUANTILE = 1;
const STREAM_SUBSAMPLE = 2;

// ---------------------------------------------------------------------------------------
// Params and input validation
// ---------------------------------------------------------------------------------------

function normalizeParams(p: GbdtParams, where: string): Required<GbdtParams> {
  if (p === null || typeof p !== 'object') throw new Error(`${where}: params must be an object`);
  const need = (k: keyof GbdtParams, ok: (v: number) => boolean, what: string): number => {
    const v = p[k];
    if (typeof v !== 'number' || !ok(v)) throw new Error(`${where}: params.${k} must be ${what} (got ${String(v)})`);
    return v;
  };
  const isInt = (v: number) => Number.isInteger(v);
  const out: Required<GbdtParams> = {
    rounds: need('rounds', (v) => isInt(v) && v >= 0, 'an integer >= 0'),
    learningRate: need('learningRate', (v) => Number.isFinite(v) && v > 0, 'a finite number > 0'),
    maxDepth: need('maxDepth', (v) => isInt(v) && v >= 1 && v <= 64, 'an integer in [1, 64]'),
    minChildWeight: need('minChildWeight', (v) => Number.isFinite(v) && v >= 0, 'a finite number >= 0'),
    l2: need('l2', (v) => Number.isFinite(v) && v >= 0, 'a finite number >= 0'),
    maxBins: need('maxBins', (v) => isInt(v) && v >= 2 && v <= 65534, 'an integer in [2, 65534]'),
    seed: need('seed', (v) => Number.isSafeInteger(v), 'a safe integer'),
    minGain: p.minGain === undefined ? 0 : need('minGain', (v) => Number.isFinite(v) && v >= 0, 'a finite number >= 0'),
    rowSubsample:
      p.rowSubsample === undefined ? 1 : need('rowSubsample', (v) => Number.isFinite(v) && v > 0 && v <= 1, 'a number in (0, 1]'),
  };
  return out;
}

function validateMatrix(x: FeatureMatrix, where: string): void {
  if (x === null || typeof x !== 'object') throw new Error(`${where}: feature matrix must be an object`);
  const { names, kinds, columns, nRows } = x;
  if (!Array.isArray(names) || !Array.isArray(kinds) || !Array.isArray(columns)) {
    throw new Error(`${where}: feature matrix needs names[], kinds[] and columns[]`);
  }
  if (names.length !== kinds.length || names.length !== columns.length) {
    throw new Error(
      `${where}: names (${names.length}), kinds (${kinds.length}) and columns (${columns.length}) must have the same length`,
    );
  }
  if (!Number.isInteger(nRows) || nRows < 0) throw new Error(`${where}: nRows must be a non-negative integer`);
  for (let f = 0; f < columns.length; f++) {
    if (kinds[f] !== 'numeric' && kinds[f] !== 'categorical') {
      throw new Error(`${where}: kinds[${f}] must be 'numeric' or 'categorical' (got ${String(kinds[f])})`);
    }
    if (!columns[f] || columns[f].length !== nRows) {
      throw new Error(`${where}: column ${f} (${names[f]}) has length ${columns[f]?.length}, expected nRows=${nRows}`);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Binning
// ---------------------------------------------------------------------------------------

interface FeatureBinning {
  name: string;
  kind: FeatureKind;
  /** number of value bins; the missing bin has index nValueBins */
  nValueBins: number;
  /** numeric only: strictly increasing upper edges of value bins 0..nValueBins-2 */
  edges: Float64Array | null;
}

/** A value in [a, b) separating a and b (a < b), preferring the midpoint. */
function separator(a: number, b: number): number {
  const m = a + (b - a) / 2;
  return m >= a && m < b ? m : a;
}

function numericEdges(sorted: Float64Array, maxValueBins: number): Float64Array {
  const n = sorted.length;
  if (n === 0) return new Float64Array(0);
  // distinct values and their counts
  const vals: number[] = [];
  const cnts: number[] = [];
  let i = 0;
  while (i < n) {
    const v = sorted[i];
    let j = i + 1;
    while (j < n && sorted[j] === v) j++;
    vals.push(v);
    cnts.push(j - i);
    i = j;
  }
  const d = vals.length;
  const edges: number[] = [];
  if (d <= maxValueBins) {
    for (let k = 0; k + 1 < d; k++) edges.push(separator(vals[k], vals[k + 1]));
  } else {
    let rest = n;
    let binsLeft = maxValueBins;
    let cur = 0;
    for (let k = 0; k + 1 < d && binsLeft > 1; k++) {
      cur += cnts[k];
      const target = rest / binsLeft;
      if (cur >= target || cnts[k + 1] >= target) {
        edges.push(separator(vals[k], vals[k + 1]));
        rest -= cur;
        cur = 0;
        binsLeft--;
      }
    }
  }
  return Float64Array.from(edges);
}

function computeBinning(x: FeatureMatrix, maxBins: number, seed: number): FeatureBinning[] {
  const n = x.nRows;
  let sample: Uint32Array | null = null;
  if (n > QUANTILE_SAMPLE_ROWS) {
    const rng = seededRandom(streamState(seed, STREAM_QUANTILE, 0));
    sample = new Uint32Array(QUANTILE_SAMPLE_ROWS);
    for (let i = 0; i < sample.length; i++) sample[i] = Math.floor(rng() * n);
  }
  const out: FeatureBinning[] = [];
  for (let f = 0; f < x.columns.length; f++) {
    const col = x.columns[f];
    const name = x.names[f];
    if (x.kinds[f] === 'numeric') {
      const m = sample ? sample.length : n;
      const buf = new Float64Array(m);
      let k = 0;
      for (let i = 0; i < m; i++) {
        const v = col[sample ? sample[i] : i];
        if (v === v) buf[k++] = v;
      }
      const vals = buf.subarray(0, k).sort();
      const edges = numericEdges(vals, maxBins - 1);
      out.push({ name, kind: 'numeric', nValueBins: edges.length + 1, edges });
    } else {
      let maxCode = -1;
      for (let i = 0; i < n; i++) {
        const v = col[i];
        if (v !== v) continue;
        if (!(v >= 0) || !Number.isInteger(v)) {
          throw new Error(`trainGbdt: categorical feature '${name}' row ${i} has invalid code ${v} (need a non-negative integer or NaN)`);
        }
        if (v > maxCode) maxCode = v;
      }
      out.push({ name, kind: 'categorical', nValueBins: Math.min(maxCode + 1, maxBins), edges: null });
    }
  }
  return out;
}

type BinColumn = Uint8Array | Uint16Array;

/** Bins every column (column-major; Uint16 only if some feature has more than 256 bins). */
function binColumns(x: FeatureMatrix, binning: FeatureBinning[], maxBins: number): BinColumn[] {
  const n = x.nRows;
  let maxTotal = 0;
  for (const b of binning) maxTotal = Math.max(maxTotal, b.nValueBins + 1);
  const wide = maxTotal > 256;
  const cols: BinColumn[] = [];
  for (let f = 0; f < binning.length; f++) {
    const fb = binning[f];
    const col = x.columns[f];
    const out: BinColumn = wide ? new Uint16Array(n) : new Uint8Array(n);
    const miss = fb.nValueBins;
    if (fb.kind === 'numeric') {
      const edges = fb.edges!;
      const ne = edges.length;
      for (let i = 0; i < n; i++) {
        const v = col[i];
        if (v !== v) {
          out[i] = miss;
          continue;
        }
        // smallest b with v <= edges[b]; ne if none
        let lo = 0;
        let hi = ne;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (v <= edges[mid]) hi = mid;
          else lo = mid + 1;
        }
        out[i] = lo;
      }
    } else {
      const cap = maxBins - 1;
      for (let i = 0; i < n; i++) {
        const v = col[i];
        if (v !== v) {
          out[i] = miss;
          continue;
        }
        if (!(v >= 0) || !Number.isInteger(v)) {
          throw new Error(`trainGbdt: categorical feature '${fb.name}' row ${i} has invalid code ${v} (need a non-negative integer or NaN)`);
        }
        const b = v >= cap ? cap : v;
        // codes never seen when the binning was computed behave like missing (default direction)
        out[i] = b < miss ? b : miss;
      }
    }
    cols.push(out);
  }
  return cols;
}

// ---------------------------------------------------------------------------------------
// Trees
// ---------------------------------------------------------------------------------------

/** Immutable tree in struct-of-arrays form. feature[i] < 0 marks a leaf. */
type Tree = TreeArrays;

class TreeBuilder {
  feature: number[] = [];
  threshold: number[] = [];
  left: number[] = [];
  right: number[] = [];
  defaultLeft: number[] = [];
  value: number[] = [];
  catDir: (Uint8Array | null)[] = [];
  /** training only: per-bin go-left lookup (including the missing bin) */
  lut: (Uint8Array | null)[] = [];

  add(): number {
    this.feature.push(-1);
    this.threshold.push(0);
    this.left.push(-1);
    this.right.push(-1);
    this.defaultLeft.push(0);
    this.value.push(0);
    this.catDir.push(null);
    this.lut.push(null);
    return this.feature.length - 1;
  }

  build(): Tree {
    return {
      feature: Int32Array.from(this.feature),
      threshold: Float64Array.from(this.threshold),
      left: Int32Array.from(this.left),
      right: Int32Array.from(this.right),
      defaultLeft: Uint8Array.from(this.defaultLeft),
      value: Float64Array.from(this.value),
      catDir: this.catDir.slice(),
    };
  }
}

// ---------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------

/** Internal constructor data of GbdtModel (use trainGbdt or GbdtModel.fromJSON). */
interface GbdtModelData {
  params: Required<GbdtParams>;
  binning: FeatureBinning[];
  baseRate: number;
  baseScore: number;
  trees: Tree[];
}

function sigmoid(s: number): number {
  return 1 / (1 + Math.exp(-s));
}

function encNum(v: number): JsonNumber {
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return v;
}

export class GbdtModel {
  /** @internal */
  readonly data: GbdtModelData;

  /** @internal use trainGbdt() or GbdtModel.fromJSON() */
  constructor(data: GbdtModelData) {
    this.data = data;
  }

  /** number of trees (boosting rounds) so far */
  get rounds(): number {
    return this.data.trees.length;
  }

  get featureNames(): string[] {
    return this.data.binning.map((b) => b.name);
  }

  get featureKinds(): FeatureKind[] {
    return this.data.binning.map((b) => b.kind);
  }

  /** training parameters (with defaults filled in) */
  get params(): Required<GbdtParams> {
    return { ...this.data.params };
  }

  /** positive rate of the training labels (useful for baseRateMetrics) */
  get baseRate(): number {
    return this.data.baseRate;
  }

  private checkMatrix(x: FeatureMatrix): void {
    validateMatrix(x, 'GbdtModel.predict');
    const bins = this.data.binning;
    if (x.names.length !== bins.length) {
      throw new Error(`GbdtModel.predict: model has ${bins.length} features, matrix has ${x.names.length}`);
    }
    for (let f = 0; f < bins.length; f++) {
      if (x.names[f] !== bins[f].name || x.kinds[f] !== bins[f].kind) {
        throw new Error(
          `GbdtModel.predict: column ${f} is '${x.names[f]}' (${x.kinds[f]}), model expects '${bins[f].name}' (${bins[f].kind})`,
        );
      }
    }
  }

  private forestCache: ScoringForest | null = null;

  private get forest(): ScoringForest {
    if (this.forestCache === null) this.forestCache = new ScoringForest(this.data.trees, this.featureKinds, this.data.params.maxBins - 1);
    return this.forestCache;
  }

  /** Raw scores (log-odds). Trees are added in order, starting from the base score. */
  predictMargin(x: FeatureMatrix): Float64Array {
    this.checkMatrix(x);
    const n = x.nRows;
    const nf = x.columns.length;
    const out = new Float64Array(n);
    const forest = this.forest;
    const base = this.data.baseScore;
    const cols = x.columns;
    const row = new Float64Array(nf);
    for (let i = 0; i < n; i++) {
      for (let f = 0; f < nf; f++) row[f] = cols[f][i];
      out[i] = forest.margin(base, row);
    }
    return out;
  }

  /** P(y = 1) per row. */
  predictProba(x: FeatureMatrix): Float64Array {
    const m = this.predictMargin(x);
    for (let i = 0; i < m.length; i++) m[i] = sigmoid(m[i]);
    return m;
  }

  /** Raw score of one row given in column order. */
  predictRowMargin(values: ArrayLike<number>): number {
    const nf = this.data.binning.length;
    if (values.length !== nf) throw new Error(`GbdtModel.predictRow: expected ${nf} values, got ${values.length}`);
    return this.forest.margin(this.data.baseScore, values);
  }

  /** P(y = 1) of one row given in column order; bit-identical to predictProba. */
  predictRow(values: ArrayLike<number>): number {
    return sigmoid(this.predictRowMargin(values));
  }

  toJSON(): GbdtModelJson {
    const d = this.data;
    const features: GbdtFeatureJson[] = d.binning.map((b) =>
      b.kind === 'numeric'
        ? { name: b.name, kind: 'numeric', edges: Array.from(b.edges!, encNum) }
        : { name: b.name, kind: 'categorical', valueBins: b.nValueBins },
    );
    const trees: GbdtTreeJson[] = d.trees.map((t) => {
      const nodes: GbdtNodeJson[] = [];
      for (let i = 0; i < t.feature.length; i++) {
        const f = t.feature[i];
        if (f < 0) {
          nodes.push({ leaf: t.value[i] });
          continue;
        }
        const cd = t.catDir[i];
        if (cd === null) {
          nodes.push({
            feature: f,
            threshold: encNum(t.threshold[i]),
            defaultLeft: t.defaultLeft[i] === 1,
            left: t.left[i],
            right: t.right[i],
          });
        } else {
          const catLeft: number[] = [];
          const catRight: number[] = [];
          for (let b = 0; b < cd.length; b++) {
            if (cd[b] === 1) catLeft.push(b);
            else if (cd[b] === 2) catRight.push(b);
          }
          nodes.push({ feature: f, catLeft, catRight, defaultLeft: t.defaultLeft[i] === 1, left: t.left[i], right: t.right[i] });
        }
      }
      return { nodes };
    });
    return {
      format: MODEL_FORMAT,
      version: MODEL_FORMAT_VERSION,
      params: { ...d.params },
      features,
      baseRate: d.baseRate,
      baseScore: d.baseScore,
      trees,
    };
  }

  /** Parses and validates the output of toJSON() (after a JSON round trip). */
  static fromJSON(j: unknown): GbdtModel {
    return new GbdtModel(parseModelJson(j));
  }
}

// ---------------------------------------------------------------------------------------
// JSON parsing / validation
// ---------------------------------------------------------------------------------------

function bad(path: string, msg: string): never {
  throw new Error(`Invalid GBDT model JSON at ${path}: ${msg}`);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function decNum(v: unknown, path: string): number {
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(path, `expected a number, got ${JSON.stringify(v)}`);
  return v;
}

function finiteNum(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(path, `expected a finite number, got ${JSON.stringify(v)}`);
  return v;
}

function intIn(v: unknown, lo: number, hi: number, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    bad(path, `expected an integer in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
  }
  return v;
}

function parseModelJson(j: unknown): GbdtModelData {
  if (!isObj(j)) bad('$', 'expected an object');
  if (j.format !== MODEL_FORMAT) bad('$.format', `expected '${MODEL_FORMAT}', got ${JSON.stringify(j.format)}`);
  if (j.version !== MODEL_FORMAT_VERSION) {
    bad('$.version', `unsupported version ${JSON.stringify(j.version)} (supported: ${MODEL_FORMAT_VERSION})`);
  }
  if (!isObj(j.params)) bad('$.params', 'expected an object');
  let params: Required<GbdtParams>;
  try {
    params = normalizeParams(j.params as unknown as GbdtParams, 'params');
  } catch (e) {
    bad('$.params', (e as Error).message);
  }
  const maxBins = params.maxBins;

  if (!Array.isArray(j.features) || j.features.length === 0) bad('$.features', 'expected a non-empty array');
  const binning: FeatureBinning[] = j.features.map((fj: unknown, f: number): FeatureBinning => {
    const p = `$.features[${f}]`;
    if (!isObj(fj)) bad(p, 'expected an object');
    if (typeof fj.name !== 'string') bad(`${p}.name`, 'expected a string');
    if (fj.kind === 'numeric') {
      if (!Array.isArray(fj.edges)) bad(`${p}.edges`, 'expected an array');
      if (fj.edges.length > maxBins - 2) bad(`${p}.edges`, `too many edges (${fj.edges.length}) for maxBins=${maxBins}`);
      const edges = Float64Array.from(fj.edges, (e: unknown, k: number) => decNum(e, `${p}.edges[${k}]`));
      for (let k = 1; k < edges.length; k++) {
        if (!(edges[k] > edges[k - 1])) bad(`${p}.edges[${k}]`, 'edges must be strictly increasing');
      }
      return { name: fj.name, kind: 'numeric', nValueBins: edges.length + 1, edges };
    }
    if (fj.kind === 'categorical') {
      const nv = intIn(fj.valueBins, 0, maxBins, `${p}.valueBins`);
      return { name: fj.name, kind: 'categorical', nValueBins: nv, edges: null };
    }
    return bad(`${p}.kind`, `expected 'numeric' or 'categorical', got ${JSON.stringify(fj.kind)}`);
  });

  const baseRate = finiteNum(j.baseRate, '$.baseRate');
  if (baseRate < 0 || baseRate > 1) bad('$.baseRate', 'expected a number in [0, 1]');
  const baseScore = finiteNum(j.baseScore, '$.baseScore');

  if (!Array.isArray(j.trees)) bad('$.trees', 'expected an array');
  const nf = binning.length;
  const trees: Tree[] = j.trees.map((tj: unknown, ti: number): Tree => {
    const tp = `$.trees[${ti}]`;
    if (!isObj(tj) || !Array.isArray(tj.nodes) || tj.nodes.length === 0) bad(`${tp}.nodes`, 'expected a non-empty array');
    const nodes = tj.nodes as unknown[];
    const nn = nodes.length;
    const tb = new TreeBuilder();
    const referenced = new Uint8Array(nn);
    for (let i = 0; i < nn; i++) {
      const np = `${tp}.nodes[${i}]`;
      const nj = nodes[i];
      tb.add();
      if (!isObj(nj)) bad(np, 'expected an object');
      if ('leaf' in nj) {
        const v = finiteNum(nj.leaf, `${np}.leaf`);
        tb.value[i] = v === 0 ? 0 : v;
        continue;
      }
      const f = intIn(nj.feature, 0, nf - 1, `${np}.feature`);
      const l = intIn(nj.left, i + 1, nn - 1, `${np}.left`);
      const r = intIn(nj.right, i + 1, nn - 1, `${np}.right`);
      if (l === r) bad(np, 'left and right must differ');
      if (referenced[l] || referenced[r]) bad(np, 'a child node is referenced twice');
      referenced[l] = 1;
      referenced[r] = 1;
      if (typeof nj.defaultLeft !== 'boolean') bad(`${np}.defaultLeft`, 'expected a boolean');
      tb.feature[i] = f;
      tb.left[i] = l;
      tb.right[i] = r;
      tb.defaultLeft[i] = nj.defaultLeft ? 1 : 0;
      const fb = binning[f];
      if (fb.kind === 'numeric') {
        if (!('threshold' in nj)) bad(np, `numeric feature ${f} needs a threshold`);
        const thr = decNum(nj.threshold, `${np}.threshold`);
        tb.threshold[i] = thr;
      } else {
        if (!Array.isArray(nj.catLeft) || !Array.isArray(nj.catRight)) {
          bad(np, `categorical feature ${f} needs catLeft[] and catRight[]`);
        }
        const cd = new Uint8Array(fb.nValueBins);
        const fill = (arr: unknown[], dir: number, key: string) => {
          for (let k = 0; k < arr.length; k++) {
            const b = intIn(arr[k], 0, fb.nValueBins - 1, `${np}.${key}[${k}]`);
            if (cd[b] !== 0) bad(`${np}.${key}[${k}]`, `category bin ${b} listed twice`);
            cd[b] = dir;
          }
        };
        fill(nj.catLeft, 1, 'catLeft');
        fill(nj.catRight, 2, 'catRight');
        tb.catDir[i] = cd;
      }
    }
    for (let i = 1; i < nn; i++) if (!referenced[i]) bad(`${tp}.nodes[${i}]`, 'node is not reachable from the root');
    return tb.build();
  });

  return { params, binning, baseRate, baseScore, trees };
}

// ---------------------------------------------------------------------------------------
// Training
// ---------------------------------------------------------------------------------------

interface SplitCandidate {
  gain: number;
  feature: number;
  /** numeric: last value bin going left (value bins <= thrBin go left) */
  thrBin: number;
  defaultLeft: boolean;
  /** categorical: bins going left (present in node) and right */
  catLeft: number[] | null;
  catRight: number[] | null;
  gL: number;
  hL: number;
  cL: number;
  gR: number;
  hR: number;
  cR: number;
}

interface Trainer {
  n: number;
  nf: number;
  /** binned columns (for partitioning / routing) */
  colBins: BinColumn[];
  /**
   * Row-major n x nf matrix of histogram positions: 3 * (offset of feature f + bin) for
   * (row r, feature f) at r * nf + f. Precomputed so the histogram loop is one load per cell.
   */
  histPos: Uint16Array | Uint32Array;
  binning: FeatureBinning[];
  /** offset of feature f's first bin in the histogram (in bins) */
  off: Int32Array;
  /** total bins per feature, including the missing bin */
  nb: Int32Array;
  totalBins: number;
  /** gradient and hessian of row r at 2r and 2r + 1 (interleaved: one cache line per row) */
  gh: Float64Array;
  idx: Uint32Array;
  tmp: Uint32Array;
  histPool: Float64Array[];
  params: Required<GbdtParams>;
  minHess: number;
}

function allocHist(t: Trainer): Float64Array {
  return t.histPool.pop() ?? new Float64Array(3 * t.totalBins);
}

/** Histogram of rows idx[start..end): per bin (sum g, sum h, count). */
function buildHist(t: Trainer, hist: Float64Array, start: number, end: number): void {
  hist.fill(0);
  const { idx, gh, histPos, nf } = t;
  for (let i = start; i < end; i++) {
    const r = idx[i];
    const gr = gh[2 * r];
    const hr = gh[2 * r + 1];
    const rowEnd = r * nf + nf;
    for (let j = rowEnd - nf; j < rowEnd; j++) {
      const b = histPos[j];
      hist[b] += gr;
      hist[b + 1] += hr;
      hist[b + 2] += 1;
    }
  }
}

/** parent -= child, with bins whose count drops to 0 zeroed exactly. */
function subtractHist(parent: Float64Array, child: Float64Array): void {
  for (let j = 0; j < parent.length; j += 3) {
    const c = parent[j + 2] - child[j + 2];
    if (c === 0) {
      parent[j] = 0;
      parent[j + 1] = 0;
      parent[j + 2] = 0;
    } else {
      parent[j] -= child[j];
      parent[j + 1] -= child[j + 1];
      parent[j + 2] = c;
    }
  }
}

function findBestSplit(t: Trainer, hist: Float64Array, G: number, H: number, C: number): SplitCandidate | null {
  const { l2, minGain } = t.params;
  const minHess = t.minHess;
  const parentScore = (G * G) / (H + l2);
  let best: SplitCandidate | null = null;
  let bestGain = minGain;

  // evaluates a candidate; returns the gain if valid and better, else -1
  const score = (gL: number, hL: number, cL: number, gR: number, hR: number, cR: number): number => {
    if (cL <= 0 || cR <= 0 || hL < minHess || hR < minHess) return -1;
    const gain = (gL * gL) / (hL + l2) + (gR * gR) / (hR + l2) - parentScore;
    return gain > bestGain ? gain : -1;
  };
  const record = (
    feature: number,
    gain: number,
    thrBin: number,
    missLeft: boolean,
    missPresent: boolean,
    gL: number,
    hL: number,
    cL: number,
    gR: number,
    hR: number,
    cR: number,
    catLeft: number[] | null,
    catRight: number[] | null,
  ): void => {
    bestGain = gain;
    best = {
      gain,
      feature,
      thrBin,
      defaultLeft: missPresent ? missLeft : hL >= hR,
      catLeft,
      catRight,
      gL,
      hL,
      cL,
      gR,
      hR,
      cR,
    };
  };

  for (let f = 0; f < t.nf; f++) {
    const fb = t.binning[f];
    const nv = fb.nValueBins;
    const o = t.off[f] * 3;
    const mo = o + nv * 3;
    const gM = hist[mo];
    const hM = hist[mo + 1];
    const cM = hist[mo + 2];
    const missPresent = cM > 0;
    if (fb.kind === 'numeric') {
      let gl = 0;
      let hl = 0;
      let cl = 0;
      for (let b = 0; b < nv; b++) {
        const j = o + b * 3;
        const cb = hist[j + 2];
        if (cb === 0 && b < nv - 1) continue; // same partition as the previous threshold
        gl += hist[j];
        hl += hist[j + 1];
        cl += cb;
        if (b < nv - 1) {
          // missing goes right
          const gR = G - gl;
          const hR = H - hl;
          const cR = C - cl;
          let gain = score(gl, hl, cl, gR, hR, cR);
          if (gain >= 0) record(f, gain, b, false, missPresent, gl, hl, cl, gR, hR, cR, null, null);
          if (missPresent) {
            // missing goes left
            const gL2 = gl + gM;
            const hL2 = hl + hM;
            const cL2 = cl + cM;
            gain = score(gL2, hL2, cL2, G - gL2, H - hL2, C - cL2);
            if (gain >= 0) record(f, gain, b, true, true, gL2, hL2, cL2, G - gL2, H - hL2, C - cL2, null, null);
          }
        } else if (missPresent) {
          // all values left, missing right
          const gain = score(gl, hl, cl, gM, hM, cM);
          if (gain >= 0) record(f, gain, b, false, true, gl, hl, cl, gM, hM, cM, null, null);
        }
      }
    } else {
      // categorical: order present categories by G/(H + smooth), scan prefixes
      const present: number[] = [];
      for (let b = 0; b < nv; b++) if (hist[o + b * 3 + 2] > 0) present.push(b);
      const m = present.length;
      if (m + (missPresent ? 1 : 0) < 2) continue;
      const key = new Float64Array(nv);
      for (const b of present) key[b] = hist[o + b * 3] / (hist[o + b * 3 + 1] + CAT_SMOOTH);
      present.sort((a, b) => key[a] - key[b] || a - b);
      let gl = 0;
      let hl = 0;
      let cl = 0;
      for (let k = 0; k < m; k++) {
        const j = o + present[k] * 3;
        gl += hist[j];
        hl += hist[j + 1];
        cl += hist[j + 2];
        if (k < m - 1) {
          const gR = G - gl;
          const hR = H - hl;
          const cR = C - cl;
          let gain = score(gl, hl, cl, gR, hR, cR);
          if (gain >= 0) {
            record(f, gain, -1, false, missPresent, gl, hl, cl, gR, hR, cR, present.slice(0, k + 1), present.slice(k + 1));
          }
          if (missPresent) {
            const gL2 = gl + gM;
            const hL2 = hl + hM;
            const cL2 = cl + cM;
            gain = score(gL2, hL2, cL2, G - gL2, H - hL2, C - cL2);
            if (gain >= 0) {
              record(f, gain, -1, true, true, gL2, hL2, cL2, G - gL2, H - hL2, C - cL2, present.slice(0, k + 1), present.slice(k + 1));
            }
          }
        } else if (missPresent) {
          const gain = score(gl, hl, cl, gM, hM, cM);
          if (gain >= 0) record(f, gain, -1, false, true, gl, hl, cl, gM, hM, cM, present.slice(), []);
        }
      }
    }
  }
  return best;
}

interface NodeTask {
  id: number;
  start: number;
  end: number;
  depth: number;
  G: number;
  H: number;
  C: number;
  /** histogram, or null when the node is at max depth (it will be a leaf) */
  hist: Float64Array | null;
}

/** Grows one tree on rows idx[0..m). Leaves record their row ranges for the score update. */
function growTree(t: Trainer, m: number): { tree: TreeBuilder; leafRanges: number[] } {
  const { params } = t;
  const { l2, learningRate, maxDepth } = params;
  const tb = new TreeBuilder();
  const leafRanges: number[] = []; // triples (nodeId, start, end)

  let G = 0;
  let H = 0;
  for (let i = 0; i < m; i++) {
    const r = t.idx[i];
    G += t.gh[2 * r];
    H += t.gh[2 * r + 1];
  }
  const rootId = tb.add();
  let rootHist: Float64Array | null = null;
  if (maxDepth > 0 && m > 0) {
    rootHist = allocHist(t);
    buildHist(t, rootHist, 0, m);
  }
  const stack: NodeTask[] = [{ id: rootId, start: 0, end: m, depth: 0, G, H, C: m, hist: rootHist }];

  while (stack.length > 0) {
    const node = stack.pop()!;
    const split = node.hist && node.depth < maxDepth ? findBestSplit(t, node.hist, node.G, node.H, node.C) : null;
    if (split === null) {
      const denom = node.H + l2;
      const w = denom > 0 ? (-node.G / denom) * learningRate : 0;
      tb.value[node.id] = Number.isFinite(w) && w !== 0 ? w : 0;
      leafRanges.push(node.id, node.start, node.end);
      if (node.hist) t.histPool.push(node.hist);
      continue;
    }
    const f = split.feature;
    const fb = t.binning[f];
    const nbf = t.nb[f];
    const lut = new Uint8Array(nbf);
    const dl = split.defaultLeft ? 1 : 0;
    if (fb.kind === 'numeric') {
      for (let b = 0; b <= split.thrBin; b++) lut[b] = 1;
      lut[fb.nValueBins] = dl;
      tb.threshold[node.id] = split.thrBin < fb.nValueBins - 1 ? fb.edges![split.thrBin] : Infinity;
    } else {
      lut.fill(dl);
      const cd = new Uint8Array(fb.nValueBins);
      for (const b of split.catLeft!) {
        lut[b] = 1;
        cd[b] = 1;
      }
      for (const b of split.catRight!) {
        lut[b] = 0;
        cd[b] = 2;
      }
      tb.catDir[node.id] = cd;
    }
    tb.feature[node.id] = f;
    tb.defaultLeft[node.id] = dl;
    tb.lut[node.id] = lut;

    // stable in-place partition of idx[start..end)
    const { idx, tmp } = t;
    const col = t.colBins[f];
    let l = node.start;
    let k = 0;
    for (let i = node.start; i < node.end; i++) {
      const r = idx[i];
      const goLeft = lut[col[r]];
      idx[l] = r;
      tmp[k] = r;
      l += goLeft;
      k += 1 - goLeft;
    }
    idx.set(tmp.subarray(0, k), l);
    const mid = l;
    if (mid - node.start !== split.cL) throw new Error(`trainGbdt: internal error (partition ${mid - node.start} != ${split.cL})`);

    const leftId = tb.add();
    const rightId = tb.add();
    tb.left[node.id] = leftId;
    tb.right[node.id] = rightId;
    const childDepth = node.depth + 1;
    let histL: Float64Array | null = null;
    let histR: Float64Array | null = null;
    const parentHist = node.hist!;
    if (childDepth < maxDepth) {
      const small = allocHist(t);
      const leftSmaller = split.cL <= split.cR;
      if (leftSmaller) buildHist(t, small, node.start, mid);
      else buildHist(t, small, mid, node.end);
      subtractHist(parentHist, small);
      histL = leftSmaller ? small : parentHist;
      histR = leftSmaller ? parentHist : small;
    } else {
      t.histPool.push(parentHist);
    }
    // push right first so the left subtree is processed first (deterministic either way)
    stack.push({ id: rightId, start: mid, end: node.end, depth: childDepth, G: split.gR, H: split.hR, C: split.cR, hist: histR });
    stack.push({ id: leftId, start: node.start, end: mid, depth: childDepth, G: split.gL, H: split.hL, C: split.cL, hist: histL });
  }
  return { tree: tb, leafRanges };
}

/** Computes gradients/hessians (interleaved) for the current scores; returns the mean log-loss. */
function computeGradients(F: Float64Array, y: Float64Array, gh: Float64Array): number {
  const n = F.length;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const s = F[i];
    const e = Math.exp(-Math.abs(s));
    const p = s >= 0 ? 1 / (1 + e) : e / (1 + e);
    const yi = y[i];
    gh[2 * i] = p - yi;
    gh[2 * i + 1] = p * (1 - p);
    loss += (s > 0 ? s : 0) + Math.log1p(e) - yi * s;
  }
  return n > 0 ? loss / n : 0;
}

function sameParams(a: Required<GbdtParams>, b: Required<GbdtParams>): string | null {
  for (const k of Object.keys(a) as (keyof GbdtParams)[]) {
    if (k === 'rounds') continue;
    if (!Object.is(a[k], b[k])) return `params.${k} differs (checkpoint: ${a[k]}, requested: ${b[k]})`;
  }
  return null;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Trains (or, with resumeFrom, continues training) a binary log-loss GBDT.
 * Deterministic: same data + params (+ checkpoint) → identical model JSON.
 */
export async function trainGbdt(x: FeatureMatrix, y: ArrayLike<number>, opts: TrainOptions): Promise<GbdtModel> {
  validateMatrix(x, 'trainGbdt');
  const params = normalizeParams(opts.params, 'trainGbdt');
  const n = x.nRows;
  if (n === 0) throw new Error('trainGbdt: no training rows');
  if (x.columns.length === 0) throw new Error('trainGbdt: no features');
  if (!y || y.length !== n) throw new Error(`trainGbdt: labels have length ${y?.length}, expected nRows=${n}`);
  const yy = new Float64Array(n);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const v = y[i];
    if (v !== 0 && v !== 1) throw new Error(`trainGbdt: label ${i} is ${v}, expected 0 or 1`);
    yy[i] = v;
    pos += v;
  }

  let binning: FeatureBinning[];
  let baseRate: number;
  let baseScore: number;
  const trees: Tree[] = [];
  const F = new Float64Array(n);
  const resume = opts.resumeFrom;
  if (resume) {
    const rd = resume.data;
    const why = sameParams(rd.params, params);
    if (why) throw new Error(`trainGbdt: cannot resume from checkpoint: ${why}`);
    if (rd.binning.length !== x.names.length) {
      throw new Error(`trainGbdt: cannot resume: checkpoint has ${rd.binning.length} features, data has ${x.names.length}`);
    }
    for (let f = 0; f < rd.binning.length; f++) {
      if (rd.binning[f].name !== x.names[f] || rd.binning[f].kind !== x.kinds[f]) {
        throw new Error(
          `trainGbdt: cannot resume: column ${f} is '${x.names[f]}' (${x.kinds[f]}), checkpoint has '${rd.binning[f].name}' (${rd.binning[f].kind})`,
        );
      }
    }
    binning = rd.binning;
    baseRate = rd.baseRate;
    baseScore = rd.baseScore;
    // a checkpoint with more trees than requested is cut back: its first trees are exactly
    // what a shorter run would have produced
    trees.push(...rd.trees.slice(0, params.rounds));
    if (trees.length < params.rounds) {
      // same additions in the same order as during training -> bit-identical scores
      F.set(resume.predictMargin(x));
      await yieldToEventLoop();
    }
  } else {
    binning = computeBinning(x, params.maxBins, params.seed);
    baseRate = pos / n;
    const q = Math.min(Math.max(baseRate, RATE_CLAMP), 1 - RATE_CLAMP);
    baseScore = Math.log(q / (1 - q));
    F.fill(baseScore);
  }

  const snapshot = (): GbdtModel => new GbdtModel({ params, binning, baseRate, baseScore, trees: trees.slice() });
  if (trees.length >= params.rounds) return snapshot();

  const colBins = binColumns(x, binning, params.maxBins);
  const nf = binning.length;
  const nb = new Int32Array(nf);
  const off = new Int32Array(nf);
  let totalBins = 0;
  for (let f = 0; f < nf; f++) {
    nb[f] = binning[f].nValueBins + 1;
    off[f] = totalBins;
    totalBins += nb[f];
  }
  const histPos = 3 * totalBins <= 65536 ? new Uint16Array(n * nf) : new Uint32Array(n * nf);
  for (let f = 0; f < nf; f++) {
    const col = colBins[f];
    const o = 3 * off[f];
    for (let i = 0, j = f; i < n; i++, j += nf) histPos[j] = o + 3 * col[i];
  }
  await yieldToEventLoop();
  const t: Trainer = {
    n,
    nf,
    colBins,
    histPos,
    binning,
    off,
    nb,
    totalBins,
    gh: new Float64Array(2 * n),
    idx: new Uint32Array(n),
    tmp: new Uint32Array(n),
    histPool: [],
    params,
    // guards against degenerate children made of saturated rows (hessian ~ 0)
    minHess: Math.max(params.minChildWeight, 1e-12),
  };

  computeGradients(F, yy, t.gh);
  const sub = params.rowSubsample;
  for (let round = trees.length; round < params.rounds; round++) {
    let m = n;
    if (sub < 1) {
      const rng = seededRandom(streamState(params.seed, STREAM_SUBSAMPLE, round));
      m = 0;
      for (let i = 0; i < n; i++) if (rng() < sub) t.idx[m++] = i;
    } else {
      for (let i = 0; i < n; i++) t.idx[i] = i;
    }
    const { tree: tb, leafRanges } = growTree(t, m);
    if (sub < 1) {
      // route every row (sampled or not) through the tree on binned data
      const { feature, left, right, value, lut } = tb;
      for (let i = 0; i < n; i++) {
        let node = 0;
        let f = feature[0];
        while (f >= 0) {
          node = lut[node]![colBins[f][i]] === 1 ? left[node] : right[node];
          f = feature[node];
        }
        F[i] += value[node];
      }
    } else {
      for (let k = 0; k < leafRanges.length; k += 3) {
        const w = tb.value[leafRanges[k]];
        const end = leafRanges[k + 2];
        for (let i = leafRanges[k + 1]; i < end; i++) F[t.idx[i]] += w;
      }
    }
    trees.push(tb.build());
    const trainLogLoss = computeGradients(F, yy, t.gh);
    if (opts.onRound) await opts.onRound({ round: round + 1, rounds: params.rounds, trainLogLoss }, snapshot);
    await yieldToEventLoop();
  }
  return snapshot();
}
