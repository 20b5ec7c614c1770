/**
 * Special functions for the drift statistics, in double precision. Pure functions, no I/O.
 *
 * - `logGamma(x)`: ln Γ(x) for x > 0 — Stirling's series (the Bernoulli coefficients
 *   B₂ⱼ/(2j(2j−1)), j = 1…8) at z ≥ 15, shifted down by the recurrence below that;
 *   absolute error ≲ 1e-14.
 * - `regularizedGammaP(a, x)` / `regularizedGammaQ(a, x)`: P(a, x) = γ(a, x)/Γ(a) and
 *   Q(a, x) = Γ(a, x)/Γ(a) = 1 − P, Numerical Recipes style: the series for x < a + 1,
 *   the continued fraction (modified Lentz) otherwise; the common factor
 *   xᵃ e⁻ˣ / Γ(a) is computed as a·(ln(1+t) − t) + ½ln(a/2π) − (Stirling tail) with
 *   t = (x − a)/a for a ≥ 10, which avoids the cancellation of −x + a·ln x − lnΓ(a).
 * - `chiSquareSf(x, dof)`: Pr(χ²_dof > x) = Q(dof/2, x/2), as scipy.stats.chi2.sf.
 * - `roundHalfEven(x)`: numpy's `np.round` (ties to even), which scipy uses on sample sizes.
 */

const LN_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** B₂ⱼ / (2j (2j − 1)) for j = 8 … 1 (highest order first, for Horner in 1/z²). */
const STIRLING_COEFFS = [
  -2.955065359477124183e-2, // B16/(16·15) = -3617/122400
  6.4102564102564102564e-3, // B14/(14·13) = 1/156
  -1.9175269175269175269e-3, // B12/(12·11) = -691/360360
  8.4175084175084175084e-4, // B10/(10·9) = 1/1188
  -5.952380952380952381e-4, // B8/(8·7) = -1/1680
  7.9365079365079365079e-4, // B6/(6·5) = 1/1260
  -2.7777777777777777778e-3, // B4/(4·3) = -1/360
  8.3333333333333333333e-2, // B2/(2·1) = 1/12
];

/** Σⱼ B₂ⱼ/(2j(2j−1)) z^(1−2j): the Stirling correction lnΓ(z) − [(z−½)ln z − z + ½ln 2π]. */
function stirlingTail(z: number): number {
  const r = 1 / z;
  const r2 = r * r;
  let s = 0;
  for (let i = 0; i < STIRLING_COEFFS.length; i++) s = s * r2 + STIRLING_COEFFS[i];
  return s * r;
}

const STIRLING_MIN = 15;

/** ln Γ(x) for x > 0 (NaN for x ≤ 0 or NaN, +∞ for +∞). */
export function logGamma(x: number): number {
  if (!(x > 0)) return NaN;
  if (x === Infinity) return Infinity;
  if (x >= STIRLING_MIN) return (x - 0.5) * Math.log(x) - x + LN_SQRT_2PI + stirlingTail(x);
  // Γ(x) = Γ(x + k) / (x (x+1) … (x+k−1)), with x + k ≥ STIRLING_MIN.
  let z = x;
  let prod = 1;
  while (z < STIRLING_MIN) {
    prod *= z;
    z += 1;
  }
  return (z - 0.5) * Math.log(z) - z + LN_SQRT_2PI + stirlingTail(z) - Math.log(prod);
}

/** ln(xᵃ e⁻ˣ / Γ(a)), accurate also for large a and x close to a. */
function logGammaPrefactor(a: number, x: number): number {
  if (a < 10) return -x + a * Math.log(x) - logGamma(a);
  // −x + a ln x − [(a−½) ln a − a + ½ ln 2π + tail(a)]
  //   = a (ln(x/a) − (x/a − 1)) + ½ ln a − ½ ln 2π − tail(a)
  const t = (x - a) / a;
  return a * (Math.log1p(t) - t) + 0.5 * Math.log(a) - LN_SQRT_2PI - stirlingTail(a);
}

const GAMMA_EPS = 1e-16;
const GAMMA_FPMIN = 1e-300;
const GAMMA_MAX_ITER = 1_000_000;

/** Series for P(a, x), valid (and used) for x < a + 1. */
function gammaPSeries(a: number, x: number): number {
  let ap = a;
  let del = 1 / a;
  let sum = del;
  for (let n = 0; n < GAMMA_MAX_ITER; n++) {
    ap += 1;
    del *= x / ap;
    sum += del;
    if (Math.abs(del) < Math.abs(sum) * GAMMA_EPS) {
      return sum * Math.exp(logGammaPrefactor(a, x));
    }
  }
  throw new Error(`regularized gamma: series did not converge for a=${a}, x=${x}`);
}

/** Continued fraction for Q(a, x) (modified Lentz), valid (and used) for x ≥ a + 1. */
function gammaQContinuedFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / GAMMA_FPMIN;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < GAMMA_MAX_ITER; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < GAMMA_FPMIN) d = GAMMA_FPMIN;
    c = b + an / c;
    if (Math.abs(c) < GAMMA_FPMIN) c = GAMMA_FPMIN;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) <= GAMMA_EPS) return Math.exp(logGammaPrefactor(a, x)) * h;
  }
  throw new Error(`regularized gamma: continued fraction did not converge for a=${a}, x=${x}`);
}

function checkGammaArgs(a: number, x: number): boolean {
  return a > 0 && x >= 0 && a !== Infinity; // false also for NaN
}

/** Regularized lower incomplete gamma P(a, x) = γ(a, x)/Γ(a), for a > 0, x ≥ 0. */
export function regularizedGammaP(a: number, x: number): number {
  if (!checkGammaArgs(a, x)) return NaN;
  if (x === 0) return 0;
  if (x === Infinity) return 1;
  if (x < a + 1) return gammaPSeries(a, x);
  return 1 - gammaQContinuedFraction(a, x);
}

/** Regularized upper incomplete gamma Q(a, x) = Γ(a, x)/Γ(a) = 1 − P(a, x), for a > 0, x ≥ 0. */
export function regularizedGammaQ(a: number, x: number): number {
  if (!checkGammaArgs(a, x)) return NaN;
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  if (x < a + 1) return 1 - gammaPSeries(a, x);
  return gammaQContinuedFraction(a, x);
}

/** Survival function of the χ² distribution with `dof` > 0 degrees of freedom (scipy.stats.chi2.sf). */
export function chiSquareSf(x: number, dof: number): number {
  if (Number.isNaN(x) || !(dof > 0)) return NaN;
  if (x <= 0) return 1;
  return regularizedGammaQ(dof / 2, x / 2);
}

/** Round to the nearest integer, ties to even (numpy's `np.round`). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // ties toward +∞
  if (r - x === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}
