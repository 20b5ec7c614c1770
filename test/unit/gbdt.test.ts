import { test } from 'node:test';
import { seededRandom } from '../../src/util/random';
import assert from 'node:assert/strict';
import { GbdtModel, trainGbdt, type FeatureMatrix, type GbdtParams, type GbdtModelJson, type GbdtNodeJson, type JsonNumber } from '../../src/ml/gbdt';
import { auc } from '../../src/ml/metrics';

// ---------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------


const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

interface Dataset {
  x: FeatureMatrix;
  y: Float64Array;
  /** true P(y = 1) per row */
  p: Float64Array;
}

/** Rows generated column by column from gen(rng) -> {values, logit}; labels ~ Bernoulli(sigmoid(logit)). */
function makeData(
  n: number,
  seed: number,
  names: string[],
  kinds: ('numeric' | 'categorical')[],
  gen: (r: () => number) => { values: number[]; logit: number },
): Dataset {
  const r = seededRandom(seed);
  const columns = names.map(() => new Float64Array(n));
  const y = new Float64Array(n);
  const p = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const { values, logit } = gen(r);
    for (let f = 0; f < names.length; f++) columns[f][i] = values[f];
    p[i] = sigmoid(logit);
    y[i] = r() < p[i] ? 1 : 0;
  }
  return { x: { names, kinds, columns, nRows: n }, y, p };
}

const CAT_EFFECT = [1, -1, 0.5, -0.5, 1.2, -1.2, 0, 0.8, -0.8, 0.3, -0.3, 1.1];

/**
 * XOR + sin + linear; a feature whose NaNs behave like its low values; a categorical
 * feature (12 categories, codes 12..13 only appear when `unseenCats`); two noise features.
 */
function nonLinear(n: number, seed: number, unseenCats = false): Dataset {
  const names = ['a', 'b', 'c', 'd', 'w', 'cat', 'noise1', 'noise2'];
  const kinds: ('numeric' | 'categorical')[] = ['numeric', 'numeric', 'numeric', 'numeric', 'numeric', 'categorical', 'numeric', 'numeric'];
  return makeData(n, seed, names, kinds, (r) => {
    const v = Array.from({ length: 8 }, () => 2 * r() - 1);
    if (r() < 0.2) v[4] = NaN;
    v[5] = Math.floor(r() * (unseenCats ? 14 : 12));
    const logit =
      2.5 * (v[0] * v[1] > 0 ? 1 : -1) +
      1.5 * Math.sin(3 * v[2]) +
      v[3] +
      (Number.isNaN(v[4]) ? -0.8 : v[4] > 0 ? 0.8 : -0.8) +
      (CAT_EFFECT[v[5]] ?? 0);
    return { values: v, logit };
  });
}

const PARAMS: GbdtParams = { rounds: 150, learningRate: 0.1, maxDepth: 5, minChildWeight: 1, l2: 1, maxBins: 255, seed: 42 };

function jsonRoundTrip(m: GbdtModel): GbdtModel {
  return GbdtModel.fromJSON(JSON.parse(JSON.stringify(m.toJSON())));
}

function rowOf(x: FeatureMatrix, i: number): number[] {
  return x.columns.map((c) => c[i]);
}

/** Logistic regression by plain gradient descent (NaN imputed as 0): the "linear" baseline. */
function linearBaselineAuc(trainSet: Dataset, testSet: Dataset): number {
  const impute = (d: Dataset): Dataset => ({ ...d, x: { ...d.x, columns: d.x.columns.map((c) => c.map((v) => (v === v ? v : 0))) } });
  const train = impute(trainSet);
  const test = impute(testSet);
  const nf = train.x.columns.length;
  const w = new Float64Array(nf + 1);
  const n = train.x.nRows;
  for (let it = 0; it < 200; it++) {
    const grad = new Float64Array(nf + 1);
    for (let i = 0; i < n; i++) {
      let z = w[nf];
      for (let f = 0; f < nf; f++) z += w[f] * train.x.columns[f][i];
      const e = sigmoid(z) - train.y[i];
      for (let f = 0; f < nf; f++) grad[f] += e * train.x.columns[f][i];
      grad[nf] += e;
    }
    for (let f = 0; f <= nf; f++) w[f] -= (1.0 * grad[f]) / n;
  }
  const s = new Float64Array(test.x.nRows);
  for (let i = 0; i < s.length; i++) {
    let z = w[nf];
    for (let f = 0; f < nf; f++) z += w[f] * test.x.columns[f][i];
    s[i] = z;
  }
  return auc(test.y, s);
}

// shared data / model for several tests
const TRAIN = nonLinear(20_000, 1);
const HOLD = nonLinear(10_000, 2, true);
let mainModelPromise: Promise<GbdtModel> | null = null;
const mainModel = () => (mainModelPromise ??= trainGbdt(TRAIN.x, TRAIN.y, { params: PARAMS }));

// ---------------------------------------------------------------------------------------
// quality
// ---------------------------------------------------------------------------------------

test('learns a non-linear (XOR + sin) problem close to the Bayes-optimal AUC', async () => {
  const model = await mainModel();
  assert.equal(model.rounds, PARAMS.rounds);
  const bayes = auc(HOLD.y, HOLD.p);
  const got = auc(HOLD.y, model.predictProba(HOLD.x));
  const linear = linearBaselineAuc(TRAIN, HOLD);
  assert.ok(got > bayes - 0.02, `holdout AUC ${got.toFixed(4)} vs Bayes ${bayes.toFixed(4)}`);
  assert.ok(got > linear + 0.1, `holdout AUC ${got.toFixed(4)} vs linear baseline ${linear.toFixed(4)}`);
  // a model with no interactions (stumps) cannot learn the XOR either
  const stumps = await trainGbdt(TRAIN.x, TRAIN.y, { params: { ...PARAMS, maxDepth: 1 } });
  const stumpAuc = auc(HOLD.y, stumps.predictProba(HOLD.x));
  assert.ok(got > stumpAuc + 0.1, `depth 5 ${got.toFixed(4)} vs stumps ${stumpAuc.toFixed(4)}`);
});

test('zero rounds predicts the training base rate (initial score = log-odds of the base rate)', async () => {
  const m = await trainGbdt(TRAIN.x, TRAIN.y, { params: { ...PARAMS, rounds: 0 } });
  let pos = 0;
  for (const v of TRAIN.y) pos += v;
  const rate = pos / TRAIN.y.length;
  assert.equal(m.baseRate, rate);
  const p = m.predictProba(HOLD.x);
  for (let i = 0; i < 10; i++) assert.ok(Math.abs(p[i] - rate) < 1e-12);
  assert.equal(m.toJSON().baseScore, Math.log(rate / (1 - rate)));
});

test('thresholds are raw feature values (midpoints between distinct values)', async () => {
  // x in {0,1,2,3}; y = 1 iff x >= 2 (noise-free): the root split must be x <= 1.5
  const n = 400;
  const col = new Float64Array(n).map((_, i) => i % 4);
  const y = col.map((v) => (v >= 2 ? 1 : 0));
  const x: FeatureMatrix = { names: ['x'], kinds: ['numeric'], columns: [col], nRows: n };
  const m = await trainGbdt(x, y, { params: { ...PARAMS, rounds: 1, maxDepth: 1 } });
  const j = m.toJSON();
  assert.deepEqual(j.features[0], { name: 'x', kind: 'numeric', edges: [0.5, 1.5, 2.5] });
  const root = j.trees[0].nodes[0];
  assert.ok('threshold' in root && root.threshold === 1.5, JSON.stringify(root));
  // values between training values route by the raw threshold
  assert.ok(m.predictRow([1.49]) < 0.5 && m.predictRow([1.51]) > 0.5);
});

test('hand-computed split: gain, leaf values, minGain and minChildWeight', async () => {
  // x = 0,0,0,1,1,1; y = 0,0,1,1,1,1 -> base rate 2/3, p = 2/3, g = p - y, h = p(1-p) = 2/9
  // split x <= 0.5: GL = 1, HL = 2/3; GR = -1, HR = 2/3; G = 0
  // λ = 1: gain = 1/(5/3) + 1/(5/3) - 0 = 1.2; leaves (lr = 1): -GL/(HL+λ) = -0.6, +0.6
  const x: FeatureMatrix = { names: ['x'], kinds: ['numeric'], columns: [new Float64Array([0, 0, 0, 1, 1, 1])], nRows: 6 };
  const y = [0, 0, 1, 1, 1, 1];
  const p: GbdtParams = { rounds: 1, learningRate: 1, maxDepth: 1, minChildWeight: 0.66, l2: 1, maxBins: 255, seed: 1, minGain: 1.19 };
  const leaves = (m: GbdtModel) => m.toJSON().trees[0].nodes.filter((n) => 'leaf' in n).map((n) => ('leaf' in n ? n.leaf : NaN));
  const split = await trainGbdt(x, y, { params: p });
  const [l, r] = leaves(split);
  assert.ok(Math.abs(l + 0.6) < 1e-12 && Math.abs(r - 0.6) < 1e-12, `leaves ${l}, ${r}`);
  assert.ok(Math.abs(split.predictRow([0]) - sigmoid(Math.log(2) - 0.6)) < 1e-12);
  // learning rate scales the leaves
  const [l2] = leaves(await trainGbdt(x, y, { params: { ...p, learningRate: 0.5 } }));
  assert.ok(Math.abs(l2 + 0.3) < 1e-12);
  // gain 1.2 is not above minGain 1.21 -> single leaf; child hessian 2/3 is below 0.67 -> single leaf
  assert.equal(leaves(await trainGbdt(x, y, { params: { ...p, minGain: 1.21 } })).length, 1);
  assert.equal(leaves(await trainGbdt(x, y, { params: { ...p, minChildWeight: 0.67 } })).length, 1);
  // with λ = 0 the gain is 1/(2/3) * 2 = 3 and the leaves are ∓1.5
  const [l0, r0] = leaves(await trainGbdt(x, y, { params: { ...p, l2: 0, minGain: 2.99 } }));
  assert.ok(Math.abs(l0 + 1.5) < 1e-12 && Math.abs(r0 - 1.5) < 1e-12, `leaves ${l0}, ${r0}`);
});

test('training loss decreases and onRound is awaited once per round with a usable snapshot', async () => {
  const losses: number[] = [];
  const events: string[] = [];
  const small = { ...PARAMS, rounds: 8 };
  const m = await trainGbdt(TRAIN.x, TRAIN.y, {
    params: small,
    onRound: async (p, model) => {
      events.push(`start ${p.round}`);
      await new Promise((r) => setTimeout(r, 1));
      assert.equal(p.rounds, 8);
      assert.equal(model().rounds, p.round);
      losses.push(p.trainLogLoss);
      events.push(`end ${p.round}`);
    },
  });
  assert.equal(m.rounds, 8);
  assert.equal(losses.length, 8);
  for (let i = 1; i < losses.length; i++) assert.ok(losses[i] < losses[i - 1], `loss went up at round ${i + 1}`);
  // strictly sequential: each async callback finishes before the next round starts
  assert.deepEqual(events, Array.from({ length: 8 }, (_, i) => [`start ${i + 1}`, `end ${i + 1}`]).flat());
});

test('yields to the event loop while training (timers and heartbeats keep running)', async () => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  try {
    await trainGbdt(TRAIN.x, TRAIN.y, { params: { ...PARAMS, rounds: 10 } });
  } finally {
    clearInterval(timer);
  }
  assert.ok(ticks >= 3, `only ${ticks} timer ticks during training`);
});

// ---------------------------------------------------------------------------------------
// determinism, serialization, resume
// ---------------------------------------------------------------------------------------

test('deterministic for a seed; the seed matters when rows are subsampled', async () => {
  const params = { ...PARAMS, rounds: 15, rowSubsample: 0.7 };
  const a = JSON.stringify((await trainGbdt(TRAIN.x, TRAIN.y, { params })).toJSON());
  const b = JSON.stringify((await trainGbdt(TRAIN.x, TRAIN.y, { params })).toJSON());
  const c = JSON.stringify((await trainGbdt(TRAIN.x, TRAIN.y, { params: { ...params, seed: 43 } })).toJSON());
  assert.equal(a, b);
  assert.notEqual(a, c);
});

/** A row's margin by walking the model's JSON nodes as documented: independent of the packed scoring layout. */
function referenceMargin(json: GbdtModelJson, row: number[]): number {
  const cap = json.params.maxBins - 1;
  const num = (v: JsonNumber) => (v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v);
  let s = json.baseScore;
  for (const tree of json.trees) {
    let node = tree.nodes[0];
    while (!('leaf' in node)) {
      const v = row[node.feature];
      let left: boolean;
      if ('threshold' in node) left = Number.isNaN(v) ? node.defaultLeft : v <= num(node.threshold);
      else {
        const bin = v >= 0 && Number.isInteger(v) ? Math.min(v, cap) : -1;
        left = node.catLeft.includes(bin) ? true : node.catRight.includes(bin) ? false : node.defaultLeft;
      }
      node = tree.nodes[left ? node.left : node.right];
    }
    s += node.leaf;
  }
  return s;
}

test('scoring follows every tree as its JSON says: numeric, categorical, missing and unseen values', async () => {
  const model = await mainModel();
  const json = model.toJSON();
  assert.ok(json.trees.some((t) => t.nodes.some((n) => 'catLeft' in n)), 'the model has categorical splits');
  assert.ok(json.trees.some((t) => t.nodes.some((n) => 'threshold' in n && n.defaultLeft)) && json.trees.some((t) => t.nodes.some((n) => 'threshold' in n && !n.defaultLeft)));
  const rows = Array.from({ length: 500 }, (_, i) => rowOf(HOLD.x, i));
  // Missing everywhere, unseen / negative / fractional / huge category codes, infinities.
  rows.push([NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN], [0.1, -0.2, 0.3, 0, 0.5, 13, 0, 0], [0.1, -0.2, 0.3, 0, 0.5, -1, 0, 0]);
  rows.push([0.1, -0.2, 0.3, 0, 0.5, 2.5, 0, 0], [0.1, -0.2, 0.3, 0, 0.5, 1e9, 0, 0], [Infinity, -Infinity, 0, 0, Infinity, 3, 0, 0]);
  for (const [i, row] of rows.entries()) {
    const expected = referenceMargin(json, row);
    const got = model.predictRowMargin(row);
    if (!Object.is(got, expected)) assert.fail(`row ${i} ${JSON.stringify(row)}: ${got} !== ${expected}`);
  }
});

test('scoring matches the JSON walk on trees of every shape: a lone leaf, lopsided, deep, categorical first', () => {
  // Hand-grown random trees, not a trainer's: leaves at every depth (the scoring layout cuts
  // trees into three-level blocks), depths up to 10, a categorical feature 0, few distinct
  // thresholds so rows land exactly on them, ±0 and ±Infinity among them.
  const r = seededRandom(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const thresholds: JsonNumber[] = [-1.5, -0, 0, 0.25, 2, 1e300, 'Infinity', '-Infinity'];
  const grow = (nodes: GbdtNodeJson[], depth: number): number => {
    const id = nodes.length;
    nodes.push({ leaf: 0 });
    if (depth >= 10 || (depth > 0 && r() < 0.25)) {
      nodes[id] = { leaf: Math.round((r() - 0.5) * 1e6) / 1e6 };
      return id;
    }
    const feature = Math.floor(r() * 3);
    const defaultLeft = r() < 0.5;
    const left = grow(nodes, depth + 1);
    const right = grow(nodes, depth + 1);
    if (feature === 0) {
      const bins = [0, 1, 2, 3].filter(() => r() < 0.7);
      nodes[id] = { feature, catLeft: bins.filter((b) => b % 2 === 0), catRight: bins.filter((b) => b % 2 === 1), defaultLeft, left, right };
    } else {
      nodes[id] = { feature, threshold: pick(thresholds), defaultLeft, left, right };
    }
    return id;
  };
  const trees = [{ nodes: [{ leaf: 0.5 }] as GbdtNodeJson[] }];
  for (let t = 0; t < 60; t++) {
    const nodes: GbdtNodeJson[] = [];
    grow(nodes, 0);
    trees.push({ nodes });
  }
  const json: GbdtModelJson = {
    format: 'perennial-gbdt',
    version: 1,
    params: { rounds: trees.length, learningRate: 0.1, maxDepth: 10, minChildWeight: 1, l2: 1, maxBins: 5, seed: 1, minGain: 0, rowSubsample: 1 },
    features: [{ name: 'c', kind: 'categorical', valueBins: 4 }, { name: 'x', kind: 'numeric', edges: [] }, { name: 'y', kind: 'numeric', edges: [] }],
    baseRate: 0.5,
    baseScore: 0,
    trees,
  };
  assert.ok(trees.some((t) => t.nodes.length > 200), 'some trees are deep');
  const model = GbdtModel.fromJSON(JSON.parse(JSON.stringify(json)));
  const values = [NaN, -Infinity, -2, -1.5, -0, 0, 0.1, 0.25, 1, 2, 3, 1e300, Infinity];
  const codes = [NaN, -1, 0, 1, 2, 3, 4, 1.5, 1e9];
  for (let i = 0; i < 3000; i++) {
    const row = [pick(codes), pick(values), pick(values)];
    const expected = referenceMargin(json, row);
    const got = model.predictRowMargin(row);
    if (!Object.is(got, expected)) assert.fail(`row ${JSON.stringify(row.map(String))}: ${got} !== ${expected}`);
  }
});

test('JSON round trip predicts bit-identically; predictRow equals predictProba', async () => {
  const model = await mainModel();
  const text = JSON.stringify(model.toJSON());
  const back = GbdtModel.fromJSON(JSON.parse(text));
  assert.equal(JSON.stringify(back.toJSON()), text);
  assert.equal(back.rounds, model.rounds);
  const p1 = model.predictProba(HOLD.x);
  const p2 = back.predictProba(HOLD.x);
  for (let i = 0; i < p1.length; i++) {
    if (!Object.is(p1[i], p2[i])) assert.fail(`row ${i}: ${p1[i]} !== ${p2[i]}`);
    const r = back.predictRow(rowOf(HOLD.x, i));
    if (!Object.is(r, p1[i])) assert.fail(`predictRow row ${i}: ${r} !== ${p1[i]}`);
  }
});

test('resume: 10 rounds + JSON round trip + 10 more equals 20 rounds straight', async () => {
  const params = { ...PARAMS, rounds: 20, rowSubsample: 0.8 };
  let snapshotAt10: string | null = null;
  const straight = await trainGbdt(TRAIN.x, TRAIN.y, {
    params,
    onRound: (p, model) => {
      if (p.round === 10) snapshotAt10 = JSON.stringify(model().toJSON());
    },
  });
  const straightJson = JSON.stringify(straight.toJSON());

  // a separate 10-round job, checkpointed, then resumed to 20
  const first = await trainGbdt(TRAIN.x, TRAIN.y, { params: { ...params, rounds: 10 } });
  const rounds: number[] = [];
  const resumed = await trainGbdt(TRAIN.x, TRAIN.y, {
    params,
    resumeFrom: jsonRoundTrip(first),
    onRound: (p) => void rounds.push(p.round),
  });
  assert.deepEqual(rounds, [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
  assert.equal(JSON.stringify(resumed.toJSON()), straightJson);

  // the checkpoint written from onRound of the straight run resumes to the same model too
  assert.ok(snapshotAt10);
  const fromSnap = await trainGbdt(TRAIN.x, TRAIN.y, { params, resumeFrom: GbdtModel.fromJSON(JSON.parse(snapshotAt10)) });
  assert.equal(JSON.stringify(fromSnap.toJSON()), straightJson);

  // a checkpoint with more rounds than requested is cut back to the shorter run
  const cut = await trainGbdt(TRAIN.x, TRAIN.y, { params: { ...params, rounds: 10 }, resumeFrom: straight });
  assert.equal(JSON.stringify(cut.toJSON()), JSON.stringify(first.toJSON()));

  // resuming a finished model is a no-op; incompatible params are refused
  const again = await trainGbdt(TRAIN.x, TRAIN.y, { params, resumeFrom: straight });
  assert.equal(JSON.stringify(again.toJSON()), straightJson);
  await assert.rejects(
    trainGbdt(TRAIN.x, TRAIN.y, { params: { ...params, learningRate: 0.2 }, resumeFrom: first }),
    /cannot resume.*learningRate/,
  );
});

// ---------------------------------------------------------------------------------------
// missing values and categorical features
// ---------------------------------------------------------------------------------------

test('missing values: learned default directions (missing-vs-rest, and NaN joining the low side)', async () => {
  // w (strongest): NaN 30% of the time, NaN behaves like w < 0 -> root split w <= ~0 with NaN going LEFT
  // m: NaN 30% of the time, missingness itself carries the signal (NaN = high risk)
  const gen = (r: () => number) => {
    const wMissing = r() < 0.3;
    const w = wMissing ? NaN : 2 * r() - 1;
    const mMissing = r() < 0.3;
    const m = mMissing ? NaN : 2 * r() - 1;
    const logit = (wMissing || w <= 0 ? -2 : 2) + (mMissing ? 1 : -0.5);
    return { values: [w, m], logit };
  };
  const train = makeData(20_000, 11, ['w', 'm'], ['numeric', 'numeric'], gen);
  const hold = makeData(10_000, 12, ['w', 'm'], ['numeric', 'numeric'], gen);
  const model = await trainGbdt(train.x, train.y, { params: PARAMS });
  const root = model.toJSON().trees[0].nodes[0];
  assert.ok('threshold' in root && root.feature === 0 && root.defaultLeft === true, JSON.stringify(root));
  assert.ok(typeof root.threshold === 'number' && Math.abs(root.threshold) < 0.05, JSON.stringify(root));
  const bayes = auc(hold.y, hold.p);
  const got = auc(hold.y, model.predictProba(hold.x));
  assert.ok(got > bayes - 0.02, `AUC ${got.toFixed(4)} vs Bayes ${bayes.toFixed(4)}`);
  // NaN in w behaves like a low w; NaN in m is high risk
  assert.ok(Math.abs(model.predictRow([NaN, 0]) - model.predictRow([-0.5, 0])) < 0.05);
  assert.ok(model.predictRow([0.5, 0]) > model.predictRow([NaN, 0]) + 0.3);
  assert.ok(model.predictRow([0.5, NaN]) > model.predictRow([0.5, 0.2]) + 0.1);
  assert.ok(Math.abs(model.predictRow([0.5, NaN]) - sigmoid(3)) < 0.1);
  assert.ok(Math.abs(model.predictRow([NaN, 0.5]) - sigmoid(-2.5)) < 0.1);
  // round trip keeps NaN routing
  const back = jsonRoundTrip(model);
  assert.ok(Object.is(back.predictRow([NaN, 0.3]), model.predictRow([NaN, 0.3])));
  assert.ok(Object.is(back.predictRow([0.1, NaN]), model.predictRow([0.1, NaN])));
});

test('missing values never seen in training still get a prediction (learned default)', async () => {
  const model = await mainModel();
  const row = rowOf(HOLD.x, 0);
  row[0] = NaN;
  const p = model.predictRow(row);
  assert.ok(p > 0 && p < 1);
  const x: FeatureMatrix = { ...HOLD.x, columns: HOLD.x.columns.map((c, f) => (f === 0 ? c.map(() => NaN) : c)) };
  const all = model.predictProba(x);
  assert.ok(Object.is(all[0], p));
});

test('categorical: non-ordinal signal in category identity is learned with set splits', async () => {
  // 30 categories with shuffled effects: code order carries no information
  const K = 30;
  const r0 = seededRandom(99);
  const effect = Array.from({ length: K }, (_, k) => (k % 2 === 0 ? 1.8 : -1.8) * (0.5 + r0()));
  for (let k = K - 1; k > 0; k--) {
    const j = Math.floor(r0() * (k + 1));
    [effect[k], effect[j]] = [effect[j], effect[k]];
  }
  // 10% missing, behaving like a high-risk category (so missing, and unseen codes, go with the high-risk side)
  const gen = (r: () => number) => {
    const c = r() < 0.1 ? NaN : Math.floor(r() * K);
    const noise = r();
    return { values: [c, noise], logit: Number.isNaN(c) ? 2 : effect[c] };
  };
  const train = makeData(20_000, 21, ['cat', 'noise'], ['categorical', 'numeric'], gen);
  const hold = makeData(10_000, 22, ['cat', 'noise'], ['categorical', 'numeric'], gen);
  const bayes = auc(hold.y, hold.p);

  // a single depth-1 tree can separate "good" from "bad" categories only as a set split
  const stump = { ...PARAMS, rounds: 1, maxDepth: 1, learningRate: 1 };
  const catModel = await trainGbdt(train.x, train.y, { params: stump });
  const asNumeric = await trainGbdt({ ...train.x, kinds: ['numeric', 'numeric'] }, train.y, { params: stump });
  const catStumpAuc = auc(hold.y, catModel.predictProba(hold.x));
  const numStumpAuc = auc(hold.y, asNumeric.predictProba({ ...hold.x, kinds: ['numeric', 'numeric'] }));
  assert.ok(catStumpAuc > numStumpAuc + 0.1, `categorical stump ${catStumpAuc.toFixed(4)} vs numeric stump ${numStumpAuc.toFixed(4)}`);
  const root = catModel.toJSON().trees[0].nodes[0];
  assert.ok('catLeft' in root, JSON.stringify(root));
  assert.equal(root.catLeft.length + root.catRight.length, K);
  // the left set is exactly the categories with one sign of effect
  const leftSigns = new Set(root.catLeft.map((c) => Math.sign(effect[c])));
  const rightSigns = new Set(root.catRight.map((c) => Math.sign(effect[c])));
  assert.equal(leftSigns.size, 1);
  assert.equal(rightSigns.size, 1);
  assert.notDeepEqual([...leftSigns], [...rightSigns]);

  // a full model gets close to Bayes
  const model = await trainGbdt(train.x, train.y, { params: { ...PARAMS, rounds: 50 } });
  const got = auc(hold.y, model.predictProba(hold.x));
  assert.ok(got > bayes - 0.02, `AUC ${got.toFixed(4)} vs Bayes ${bayes.toFixed(4)}`);

  // unseen categories follow the default direction, i.e. go where NaN goes (high risk here)
  const unseen = model.predictRow([1000, 0.5]);
  assert.ok(Object.is(unseen, model.predictRow([NaN, 0.5])));
  assert.ok(Math.abs(unseen - sigmoid(2)) < 0.1, `unseen ${unseen}`);
  assert.ok(root.defaultLeft === true && root.catLeft.every((c) => effect[c] > 0), JSON.stringify(root));
  assert.ok(Object.is(unseen, model.predictRow([K, 0.5])));
  assert.ok(Object.is(jsonRoundTrip(model).predictRow([1000, 0.5]), unseen));
});

test('categorical codes >= maxBins-1 share one bin', async () => {
  // maxBins 8: codes 0..6 get their own bins, codes 7..19 share bin 7
  const gen = (r: () => number) => {
    const c = Math.floor(r() * 20);
    return { values: [c], logit: c === 3 ? 2 : c >= 7 && c % 2 === 0 ? 1.5 : -1 };
  };
  const train = makeData(5000, 31, ['c'], ['categorical'], gen);
  const m = await trainGbdt(train.x, train.y, { params: { ...PARAMS, rounds: 20, maxBins: 8 } });
  assert.deepEqual(m.toJSON().features[0], { name: 'c', kind: 'categorical', valueBins: 8 });
  assert.ok(Object.is(m.predictRow([8]), m.predictRow([9])));
  assert.ok(Object.is(m.predictRow([7]), m.predictRow([1e6])));
  assert.ok(m.predictRow([3]) > m.predictRow([2]) + 0.3);
});

// ---------------------------------------------------------------------------------------
// validation
// ---------------------------------------------------------------------------------------

test('fromJSON rejects malformed input with a clear error', async () => {
  const good = JSON.parse(JSON.stringify((await trainGbdt(TRAIN.x, TRAIN.y, { params: { ...PARAMS, rounds: 3 } })).toJSON())) as GbdtModelJson;
  const mutate = (f: (j: any) => void): unknown => {
    const j = structuredClone(good);
    f(j);
    return j;
  };
  const cases: [string, unknown, RegExp][] = [
    ['null', null, /expected an object/],
    ['string', 'model', /expected an object/],
    ['wrong format', mutate((j) => (j.format = 'xgboost')), /\$\.format/],
    ['future version', mutate((j) => (j.version = 99)), /unsupported version/],
    ['no params', mutate((j) => delete j.params), /\$\.params/],
    ['bad maxBins', mutate((j) => (j.params.maxBins = 1)), /maxBins/],
    ['features missing', mutate((j) => delete j.features), /\$\.features/],
    ['bad kind', mutate((j) => (j.features[0].kind = 'text')), /features\[0\]\.kind/],
    ['edges not increasing', mutate((j) => (j.features[0].edges = [1, 0])), /strictly increasing/],
    ['trees not an array', mutate((j) => (j.trees = {})), /\$\.trees/],
    ['empty tree', mutate((j) => (j.trees[0].nodes = [])), /nodes/],
    ['leaf not a number', mutate((j) => (j.trees[0].nodes.at(-1).leaf = 'x')), /leaf/],
    ['child out of range', mutate((j) => (j.trees[0].nodes[0].left = 10_000)), /nodes\[0\]\.left/],
    ['cycle', mutate((j) => (j.trees[1].nodes[0].right = 0)), /nodes\[0\]\.right/],
    ['feature out of range', mutate((j) => (j.trees[2].nodes[0].feature = 99)), /feature/],
    ['baseScore NaN', mutate((j) => (j.baseScore = null)), /baseScore/],
  ];
  for (const [name, input, re] of cases) {
    assert.throws(() => GbdtModel.fromJSON(input), (e: unknown) => {
      assert.ok(e instanceof Error, name);
      assert.match(e.message, /Invalid GBDT model JSON/, name);
      assert.match(e.message, re, `${name}: ${e.message}`);
      return true;
    });
  }
  // and the unmodified JSON is accepted
  assert.equal(GbdtModel.fromJSON(good).rounds, 3);
});

test('trainer and predictor validate their inputs', async () => {
  const x: FeatureMatrix = { names: ['a'], kinds: ['numeric'], columns: [new Float64Array([1, 2, 3])], nRows: 3 };
  await assert.rejects(trainGbdt(x, [0, 1, 2], { params: PARAMS }), /expected 0 or 1/);
  await assert.rejects(trainGbdt(x, [0, 1], { params: PARAMS }), /labels have length/);
  await assert.rejects(trainGbdt(x, [0, 1, 1], { params: { ...PARAMS, learningRate: 0 } }), /learningRate/);
  const cat: FeatureMatrix = { names: ['c'], kinds: ['categorical'], columns: [new Float64Array([0, 1.5, 2])], nRows: 3 };
  await assert.rejects(trainGbdt(cat, [0, 1, 1], { params: PARAMS }), /invalid code 1.5/);
  const model = await mainModel();
  assert.throws(() => model.predictRow([1, 2]), /expected 8 values/);
  assert.throws(() => model.predictProba({ ...HOLD.x, names: ['z', ...HOLD.x.names.slice(1)] }), /model expects 'a'/);
});
