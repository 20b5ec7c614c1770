/**
 * Binary classification metrics. Pure functions, no I/O.
 *
 * Conventions:
 * - labels must be exactly 0 or 1, probabilities must not be NaN (an Error is thrown otherwise);
 * - AUC is NaN when only one class is present (it is undefined);
 * - log-loss clips probabilities to [1e-15, 1 - 1e-15];
 * - accuracy predicts 1 when p > 0.5.
 */

export interface BinaryMetrics {
  auc: number;
  logLoss: number;
  accuracy: number;
  brier: number;
}

const EPS = 1e-15;

function check(y: ArrayLike<number>, p: ArrayLike<number>, where: string): number {
  if (!y || !p || y.length !== p.length) {
    throw new Error(`${where}: labels (${y?.length}) and predictions (${p?.length}) must have the same length`);
  }
  const n = y.length;
  if (n === 0) throw new Error(`${where}: no rows`);
  for (let i = 0; i < n; i++) {
    const yi = y[i];
    if (yi !== 0 && yi !== 1) throw new Error(`${where}: label ${i} is ${yi}, expected 0 or 1`);
    if (Number.isNaN(p[i])) throw new Error(`${where}: prediction ${i} is NaN`);
  }
  return n;
}

function aucUnchecked(y: ArrayLike<number>, p: ArrayLike<number>): number {
  const n = y.length;
  let nPos = 0;
  for (let i = 0; i < n; i++) nPos += y[i];
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  const pos = new Float64Array(nPos);
  const neg = new Float64Array(nNeg);
  let a = 0;
  let b = 0;
  for (let i = 0; i < n; i++) {
    if (y[i] === 1) pos[a++] = p[i];
    else neg[b++] = p[i];
  }
  pos.sort();
  neg.sort();
  // Mann–Whitney U: for each positive, count negatives strictly below it plus half the ties.
  // Walk both sorted arrays by distinct score value.
  let u = 0; // in units of 1/2 to stay exact in integers as long as possible
  let i = 0;
  let j = 0;
  while (i < nPos) {
    const v = pos[i];
    let ci = 0;
    while (i < nPos && pos[i] === v) {
      i++;
      ci++;
    }
    while (j < nNeg && neg[j] < v) j++;
    let tie = 0;
    while (j + tie < nNeg && neg[j + tie] === v) tie++;
    u += ci * (2 * j + tie);
  }
  return u / 2 / nPos / nNeg;
}

/** Area under the ROC curve (ties count one half). O(n log n). NaN if only one class is present. */
export function auc(y: ArrayLike<number>, p: ArrayLike<number>): number {
  check(y, p, 'auc');
  return aucUnchecked(y, p);
}

function logLossUnchecked(y: ArrayLike<number>, p: ArrayLike<number>): number {
  const n = y.length;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const q = Math.min(Math.max(p[i], EPS), 1 - EPS);
    s -= y[i] === 1 ? Math.log(q) : Math.log(1 - q);
  }
  return s / n;
}

/** Mean binary cross-entropy with probabilities clipped to [1e-15, 1 - 1e-15]. */
export function logLoss(y: ArrayLike<number>, p: ArrayLike<number>): number {
  check(y, p, 'logLoss');
  return logLossUnchecked(y, p);
}

export function binaryMetrics(y: ArrayLike<number>, p: ArrayLike<number>): BinaryMetrics {
  const n = check(y, p, 'binaryMetrics');
  let correct = 0;
  let brier = 0;
  for (let i = 0; i < n; i++) {
    const yi = y[i];
    const pi = p[i];
    if ((pi > 0.5 ? 1 : 0) === yi) correct++;
    const d = pi - yi;
    brier += d * d;
  }
  return {
    auc: aucUnchecked(y, p),
    logLoss: logLossUnchecked(y, p),
    accuracy: correct / n,
    brier: brier / n,
  };
}

/**
 * Metrics of the constant predictor that always predicts the training base rate
 * (AUC 0.5 when both classes are present in yEval).
 */
export function baseRateMetrics(yEval: ArrayLike<number>, trainBaseRate: number): BinaryMetrics {
  if (!(trainBaseRate >= 0 && trainBaseRate <= 1)) {
    throw new Error(`baseRateMetrics: trainBaseRate must be in [0, 1], got ${trainBaseRate}`);
  }
  const p = new Float64Array(yEval.length).fill(trainBaseRate);
  return binaryMetrics(yEval, p);
}

/** The label a score is served as. */
export function predictedLabel(score: number): 0 | 1 {
  return score >= 0.5 ? 1 : 0;
}
