/**
 * Jensen–Shannon divergence with base-2 logarithms — the square of
 * scipy.spatial.distance.jensenshannon(p, q, base=2) — between two discrete distributions
 * given as non-negative weights over the same bins (counts or proportions; each is normalized
 * to sum 1 first, as scipy does). The drift report applies it to the PSI bins, unfloored.
 * 0 ≤ JS ≤ 1; 0 iff the distributions are equal.
 */

/** x · ln(x / y) with scipy.special.rel_entr's conventions for zeros. */
function relEntr(x: number, y: number): number {
  if (x > 0 && y > 0) return x * Math.log(x / y);
  if (x === 0 && y >= 0) return 0;
  return Infinity;
}

/** Squared Jensen–Shannon distance (= JS divergence) in bits between weights p and q. */
export function jensenShannonDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  const k = p.length;
  if (q.length !== k) throw new RangeError(`jensenShannon: ${k} bins against ${q.length}`);
  let sp = 0;
  let sq = 0;
  for (let i = 0; i < k; i++) {
    if (!(p[i] >= 0 && q[i] >= 0)) throw new RangeError('jensenShannon: weights must be non-negative numbers');
    sp += p[i];
    sq += q[i];
  }
  if (!(sp > 0 && sq > 0 && Number.isFinite(sp) && Number.isFinite(sq))) {
    throw new RangeError('jensenShannon: weights must have a positive finite total');
  }
  let left = 0;
  let right = 0;
  for (let i = 0; i < k; i++) {
    const pi = p[i] / sp;
    const qi = q[i] / sq;
    const m = (pi + qi) / 2;
    left += relEntr(pi, m);
    right += relEntr(qi, m);
  }
  return (left + right) / Math.LN2 / 2;
}
