import { test } from 'node:test';
import { seededRandom } from '../../src/util/random';
import assert from 'node:assert/strict';
import { auc, baseRateMetrics, binaryMetrics, logLoss } from '../../src/ml/metrics';

const close = (a: number, b: number, tol = 1e-12, msg?: string) =>
  assert.ok(Math.abs(a - b) <= tol, msg ?? `expected ${a} ≈ ${b} (tol ${tol})`);


/** O(n²) definition: P(score_pos > score_neg) + ½ P(tie). */
function bruteAuc(y: number[], p: number[]): number {
  let num = 0;
  let pairs = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== 1) continue;
    for (let j = 0; j < y.length; j++) {
      if (y[j] !== 0) continue;
      pairs++;
      if (p[i] > p[j]) num += 1;
      else if (p[i] === p[j]) num += 0.5;
    }
  }
  return num / pairs;
}

test('auc: hand-computed cases', () => {
  // pairs (pos, neg): (.35,.1)=1 (.35,.4)=0 (.8,.1)=1 (.8,.4)=1 -> 3/4
  assert.equal(auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.75);
  assert.equal(auc([0, 1], [0.2, 0.9]), 1);
  assert.equal(auc([0, 1], [0.9, 0.2]), 0);
  assert.equal(auc(new Float64Array([1, 0, 1, 0]), new Float64Array([0.3, 0.3, 0.3, 0.3])), 0.5);
});

test('auc: ties are counted one half (rank average)', () => {
  // pos {0.5, 0.9}, neg {0.5, 0.2}: (0.5,0.5)=½ (0.5,0.2)=1 (0.9,0.5)=1 (0.9,0.2)=1 -> 3.5/4
  assert.equal(auc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]), 0.875);
  // pos {1,1,2}, neg {1,2,2}: 1v1 ½,1v2 0,1v2 0 ; same ; 2v1 1,2v2 ½,2v2 ½ -> (0.5+0.5+2)/9
  assert.equal(auc([1, 1, 1, 0, 0, 0], [1, 1, 2, 1, 2, 2]), 3 / 9);
});

test('auc: matches the O(n²) definition on random data with many ties', () => {
  const r = seededRandom(7);
  const y: number[] = [];
  const p: number[] = [];
  for (let i = 0; i < 600; i++) {
    const yi = r() < 0.3 ? 1 : 0;
    y.push(yi);
    p.push(Math.round((r() + 0.3 * yi) * 10) / 10); // coarse scores -> lots of ties
  }
  close(auc(y, p), bruteAuc(y, p), 1e-12);
});

test('auc: single class is NaN; invalid input throws', () => {
  assert.ok(Number.isNaN(auc([1, 1], [0.2, 0.3])));
  assert.throws(() => auc([0, 1], [0.5]), /same length/);
  assert.throws(() => auc([0, 2], [0.5, 0.5]), /expected 0 or 1/);
  assert.throws(() => auc([0, 1], [0.5, NaN]), /NaN/);
  assert.throws(() => auc([], []), /no rows/);
});

test('auc: on 1M rows matches the analytic value of the generating process', () => {
  const n = 1_000_000;
  const r = seededRandom(1);
  const y = new Float64Array(n);
  const p = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = r() < 0.5 ? 1 : 0;
    p[i] = r() + 0.2 * y[i];
  }
  // P(U1 + 0.2 > U0) for independent uniforms = 1 - 0.8²/2 = 0.68.
  const a = auc(y, p);
  assert.ok(Math.abs(a - 0.68) < 0.003, `auc ${a}`);
});

test('logLoss: hand-computed and clipped at 1e-15', () => {
  close(logLoss([1, 0], [0.8, 0.3]), -(Math.log(0.8) + Math.log(0.7)) / 2);
  // confident and wrong: clipped, finite
  close(logLoss([1], [0]), -Math.log(1e-15), 1e-12);
  close(logLoss([0], [1]), -Math.log(1e-15), 1e-3);
  assert.ok(Number.isFinite(logLoss([0, 1], [1, 0])));
  close(logLoss([1, 0], [1, 0]), -Math.log(1 - 1e-15), 1e-15);
});

test('binaryMetrics: accuracy at 0.5, brier, log-loss and auc together', () => {
  const y = [1, 1, 0, 0];
  const p = [0.5, 0.6, 0.4, 0.7];
  const m = binaryMetrics(y, p);
  // predictions (p > 0.5): 0,1,0,1 -> correct: no, yes, yes, no
  assert.equal(m.accuracy, 0.5);
  close(m.brier, (0.25 + 0.16 + 0.16 + 0.49) / 4);
  close(m.logLoss, -(Math.log(0.5) + Math.log(0.6) + Math.log(0.6) + Math.log(0.3)) / 4);
  // pos {0.5,0.6} neg {0.4,0.7}: (.5,.4)=1 (.5,.7)=0 (.6,.4)=1 (.6,.7)=0 -> 0.5
  assert.equal(m.auc, 0.5);
  assert.deepEqual(m, { auc: auc(y, p), logLoss: logLoss(y, p), accuracy: 0.5, brier: m.brier });
});

test('baseRateMetrics: constant predictor of the training base rate', () => {
  const y = [1, 0, 0, 0, 1];
  const q = 0.3;
  const m = baseRateMetrics(y, q);
  assert.equal(m.auc, 0.5);
  close(m.logLoss, -(2 * Math.log(q) + 3 * Math.log(1 - q)) / 5);
  assert.equal(m.accuracy, 3 / 5); // always predicts 0
  close(m.brier, (2 * (1 - q) ** 2 + 3 * q ** 2) / 5);
  assert.equal(baseRateMetrics(y, 0.8).accuracy, 2 / 5); // always predicts 1
  assert.throws(() => baseRateMetrics(y, 1.5), /trainBaseRate/);
});
