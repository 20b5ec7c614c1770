/**
 * Distribution of the one-sample Kolmogorov–Smirnov statistics, ported from scipy 1.17:
 *
 * - `kolmogorovSmirnovSf(n, d)`: Pr(Dₙ ≥ d) for the two-sided Dₙ, as
 *   `scipy.stats.kstwo.sf(d, n)` (scipy/stats/_ksstats.py `_kolmogn(n, d, cdf=False)`): the
 *   Simard–L'Ecuyer choice between Ruben–Gambino closed forms, the Durbin matrix
 *   (Marsaglia–Tsang–Wang), Pomeranz's recursion, 2·(one-sided Smirnov) and Pelz–Good.
 *   `ks_2samp` uses it in its asymptotic mode with n = round(m·n/(m+n)).
 * - `smirnovSf(n, d)`: Pr(Dₙ⁺ ≥ d) for the one-sided Dₙ⁺, as `scipy.special.smirnov`
 *   (xsf cephes/kolmogorov.h `_smirnov`): the Birnbaum–Tingey sum, evaluated here in double
 *   precision in log space (xsf sums in double-double; agreement ~1e-10 relative), with xsf's
 *   special cases and its exp(−(6nd+1)²/18n) approximation for n > 10⁶. xsf switches to the
 *   alternating "upper" sum when it has at most three terms and d ≤ 0.5/√n; this port always
 *   uses the positive lower sum, which is never slower to converge there.
 * - `kolmogorovSf(x)`: the limiting distribution Pr(K > x), as `scipy.special.kolmogorov`
 *   (`scipy.stats.kstwobign.sf`), not used by ks_2samp but handy for approximate p-values.
 */

const E128 = 2 ** 128;
const EM128 = 2 ** -128;
const LOG_2PI = Math.log(2 * Math.PI);
const SQRT2PI = Math.sqrt(2 * Math.PI);
const SQRT3 = Math.sqrt(3);
const PI_SQUARED = Math.PI ** 2;
const PI_FOUR = Math.PI ** 4;
const PI_SIX = Math.PI ** 6;
const MIN_LOG = -708;
const CEPHES_MINLOG = -7.08396418532264106224e2;
const SMIRNOV_MAX_COMPUTE_N = 1_000_000;
const DBL_EPSILON = 2 ** -52;

const clip01 = (p: number): number => (p < 0 ? 0 : p > 1 ? 1 : p); // NaN passes through

/** B₂ⱼ/(2j)/(2j−1), j = 8 … 1, as scipy's _STIRLING_COEFFS (polyval order). */
const STIRLING_COEFFS = [
  -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3, 8.4175084175084175084e-4,
  -5.952380952380952381e-4, 7.9365079365079365079e-4, -2.7777777777777777778e-3, 8.3333333333333333333e-2,
];

/** ln(n!/nⁿ) by Stirling (scipy `_log_nfactorial_div_n_pow_n`). */
function logNFactorialDivNPowN(n: number): number {
  const rn = 1 / n;
  const x = rn / n;
  let poly = 0;
  for (const c of STIRLING_COEFFS) poly = poly * x + c;
  return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * poly;
}

/** Pr(Dₙ ≤ d) by the Durbin matrix, Marsaglia–Tsang–Wang's evaluation (scipy `_kolmogn_DMTW`). */
export function kolmogorovSmirnovCdfDurbin(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;

  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (1 - h ** j) * fac;
  }
  const tt = Math.max(2 * h - 1, 0) ** m - 2 * h ** m;
  v[m - 1] = (1 + tt) * fac;

  let H = new Float64Array(m * m); // row-major
  for (let i = 1; i < m; i++) {
    for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - (i - 1)];
  }
  for (let r = 0; r < m; r++) H[r * m] = v[r];
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c];

  let Hpwr = new Float64Array(m * m);
  for (let i = 0; i < m; i++) Hpwr[i * m + i] = 1;
  let tmp = new Float64Array(m * m);
  let nn = n;
  let expnt = 0;
  let Hexpnt = 0;
  while (nn > 0) {
    if (nn % 2) {
      matmul(Hpwr, H, tmp, m);
      [Hpwr, tmp] = [tmp, Hpwr];
      expnt += Hexpnt;
    }
    matmul(H, H, tmp, m);
    [H, tmp] = [tmp, H];
    Hexpnt *= 2;
    if (Math.abs(H[(k - 1) * m + (k - 1)]) > E128) {
      for (let i = 0; i < m * m; i++) H[i] /= E128;
      Hexpnt += 128;
    }
    nn = Math.floor(nn / 2);
  }

  let p = Hpwr[(k - 1) * m + (k - 1)];
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < EM128) {
      p *= E128;
      expnt -= 128;
    }
  }
  if (expnt !== 0) p = ldexp(p, expnt);
  return clip01(p);
}

/** x · 2^e without intermediate overflow or underflow of 2^e. */
function ldexp(x: number, e: number): number {
  while (e > 1000) {
    x *= 2 ** 1000;
    e -= 1000;
  }
  while (e < -1000) {
    x *= 2 ** -1000;
    e += 1000;
  }
  return x * 2 ** e;
}

function matmul(a: Float64Array, b: Float64Array, out: Float64Array, m: number): void {
  out.fill(0);
  for (let i = 0; i < m; i++) {
    const ri = i * m;
    for (let l = 0; l < m; l++) {
      const ail = a[ri + l];
      if (ail === 0) continue;
      const rl = l * m;
      for (let j = 0; j < m; j++) out[ri + j] += ail * b[rl + j];
    }
  }
}

function pomeranzJ1J2(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const ip1div2 = Math.floor((i + 1) / 2);
    const ip1mod2 = (i + 1) % 2;
    if (ip1mod2 === 0) {
      if (ip1div2 === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = ip1div2 - 1 - ll - roundf - 1;
        j2 = ip1div2 + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = ip1div2 - 1 - ll - 1;
      j2 = ip1div2 + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** Pr(Dₙ ≤ x) by Pomeranz's recursion (scipy `_kolmogn_Pomeranz`). */
export function kolmogorovSmirnovCdfPomeranz(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = 1;
  twogpower[0] = 1;
  onem2gpower[0] = 1;
  let expnt = 0;
  const gOverN = g / n;
  const twoGOverN = (2 * g) / n;
  const oneMinusTwoGOverN = (1 - 2 * g) / n;
  for (let m = 1; m < npwrs; m++) {
    gpower[m] = (gpower[m - 1] * gOverN) / m;
    twogpower[m] = (twogpower[m - 1] * twoGOverN) / m;
    onem2gpower[m] = (onem2gpower[m - 1] * oneMinusTwoGOverN) / m;
  }

  let V0 = new Float64Array(npwrs);
  let V1 = new Float64Array(npwrs);
  V1[0] = 1;
  let V0s = 0;
  let V1s = 0;
  let [j1, j2] = pomeranzJ1J2(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [V0, V1] = [V1, V0];
    [V0s, V1s] = [V1s, V0s];
    V1.fill(0);
    [j1, j2] = pomeranzJ1J2(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      // conv = np.convolve(V0[k1 - V0s : k1 - V0s + ln2], pwrs[:ln2]) (slices clipped like numpy)
      const aStart = k1 - V0s;
      if (aStart < 0) throw new Error('kolmogorovSmirnovCdfPomeranz: negative window start');
      const aLen = Math.max(0, Math.min(aStart + ln2, npwrs) - aStart);
      const bLen = Math.min(ln2, npwrs);
      const convStart = j1 - k1;
      const convLen = j2 - j1 + 1;
      let vmax = 0;
      for (let c = 0; c < convLen; c++) {
        const idx = convStart + c; // conv index
        let s = 0;
        const lo = Math.max(0, idx - bLen + 1);
        const hi = Math.min(aLen - 1, idx);
        for (let q = lo; q <= hi; q++) s += V0[aStart + q] * pwrs[idx - q];
        V1[c] = s;
        if (s > vmax) vmax = s;
      }
      if (vmax > 0 && vmax < EM128) {
        for (let c = 0; c < npwrs; c++) V1[c] *= E128;
        expnt -= 128;
      }
      V1s = V0s + j1 - k1;
    }
  }
  let ans = V1[n - V1s];
  for (let m = 1; m <= n; m++) {
    if (Math.abs(ans) > E128) {
      ans *= EM128;
      expnt += 128;
    }
    ans *= m;
  }
  if (expnt !== 0) ans = ldexp(ans, expnt);
  return clip01(ans);
}

/** Pelz–Good approximation of Pr(Dₙ ≤ x) (scipy `_kolmogn_PelzGood`, cdf=True). */
export function kolmogorovSmirnovCdfPelzGood(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const zsquared = z ** 2;
  const zthree = z ** 3;
  const zfour = z ** 4;
  const zsix = z ** 6;
  const qlog = -PI_SQUARED / 8 / zsquared;
  if (qlog < MIN_LOG) return 0;
  let q = Math.exp(qlog);

  const k1a = -zsquared;
  const k1b = PI_SQUARED / 4;
  const k2a = 6 * zsix + 2 * zfour;
  const k2b = ((2 * zfour - 5 * zsquared) * PI_SQUARED) / 4;
  const k2c = (PI_FOUR * (1 - 2 * zsquared)) / 16;
  const k3d = (PI_SIX * (5 - 30 * zsquared)) / 64;
  const k3c = (PI_FOUR * (-60 * zsquared + 212 * zfour)) / 16;
  const k3b = (PI_SQUARED * (135 * zfour - 96 * zsix)) / 4;
  const k3a = -30 * zsix - 90 * z ** 8;

  let K0 = 0;
  let K1 = 0;
  let K2 = 0;
  let K3 = 0;
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const msquared = m ** 2;
    const mfour = m ** 4;
    const msix = m ** 6;
    const qpower = q ** (8 * k);
    K0 = K0 * qpower + 1;
    K1 = K1 * qpower + (k1a + k1b * msquared);
    K2 = K2 * qpower + (k2a + k2b * msquared + k2c * mfour);
    K3 = K3 * qpower + (k3a + k3b * msquared + k3c * mfour + k3d * msix);
  }
  const s = q * SQRT2PI;
  K0 = (K0 * s) / z;
  K1 = (K1 * s) / (6 * zfour);
  K2 = (K2 * s) / (72 * z ** 7);
  K3 = (K3 * s) / (6480 * z ** 10);

  q = Math.exp(-PI_SQUARED / 2 / zsquared);
  const sqrt3z = SQRT3 * z;
  let k2extra = 0;
  let k3extra = 0;
  for (let k = maxk; k > 0; k--) {
    const ksquared = k * k;
    const qp = q ** ksquared;
    const kspi = Math.PI * k;
    k2extra += ksquared * qp;
    k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksquared * qp;
  }
  K2 += (k2extra * PI_SQUARED * SQRT2PI) / (-36 * zthree);
  K3 += (k3extra * PI_SQUARED * SQRT2PI) / (216 * zsix);
  return K0 + K1 / Math.sqrt(n) + K2 / n + K3 / n ** 1.5;
}

/** Two-product n·x = hi + lo exactly (Dekker), for floor(n·x) and its remainder. */
function modNX(n: number, x: number): { nxfl: number; alpha: number; nx: number } {
  const hi = n * x;
  const SPLIT = 134217729; // 2^27 + 1
  const split = (a: number): [number, number] => {
    const c = SPLIT * a;
    const ah = c - (c - a);
    return [ah, a - ah];
  };
  const [nh, nl] = split(n);
  const [xh, xl] = split(x);
  const lo = nh * xh - hi + nh * xl + nl * xh + nl * xl;
  let nxfl = Math.floor(hi);
  let alpha = hi - nxfl + lo; // hi − floor(hi) is exact
  if (alpha < 0) {
    nxfl -= 1;
    alpha += 1;
  }
  if (alpha >= 1) {
    nxfl += 1;
    alpha = 0;
  }
  return { nxfl, alpha, nx: hi };
}

/** Pr(Dₙ⁺ ≥ x), the one-sided Smirnov survival function (scipy.special.smirnov(n, x)). */
export function smirnovSf(n: number, x: number): number {
  if (!(n > 0 && Number.isInteger(n) && x >= 0 && x <= 1)) return NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;

  const { nxfl, alpha } = modNX(n, x);
  let n1mxfl = n - nxfl - (alpha === 0 ? 0 : 1);
  if (alpha === 0) n1mxfl -= 1;

  // x ≤ 1/n: sf = 1 − x(1+x)^(n−1)
  if (nxfl === 0 || (nxfl === 1 && alpha === 0)) {
    const t = Math.exp((n - 1) * Math.log1p(x));
    return clip01(1 - x * t);
  }
  if (-2 * n * x * x < CEPHES_MINLOG) return 0;
  // x ≥ 1 − 1/n: sf = (1 − x)^n
  if (nxfl >= n - 1) return clip01(Math.exp(n * Math.log1p(-x)));
  if (n > SMIRNOV_MAX_COMPUTE_N) {
    const logp = -((6 * n * x + 1) ** 2) / 18 / n;
    return clip01(logp < -Math.LN2 ? Math.exp(logp) : 1 - -Math.expm1(logp)); // sf = 1 − cdf, cdf = −expm1(logp)
  }

  // Lower sum: sf = x · Σ_{j=0}^{n1mxfl} C(n,j) (x + j/n)^(j−1) (1 − x − j/n)^(n−j),
  // all terms positive; summed with a running log scale.
  const nTerms = n1mxfl + 1;
  const vmid = Math.floor(n / 2);
  let logScale = n * Math.log1p(-x) - Math.log(x); // A_0 = (1−x)^n / x
  let sum = 1;
  let logC = 0; // ln C(n, j)
  for (let j = 1; j < nTerms; j++) {
    logC += Math.log((n - j + 1) / j);
    const t1 = (j + nxfl + alpha) / n; // x + j/n
    const t2 = (n - j - nxfl - alpha) / n; // 1 − x − j/n > 0, without cancellation
    const logA = logC + (j - 1) * Math.log(t1) + (n - j) * Math.log(t2);
    let a: number; // A_j relative to the scale
    const dl = logA - logScale;
    if (dl > 0) {
      sum = sum * Math.exp(-dl) + 1;
      logScale = logA;
      a = 1;
    } else {
      a = Math.exp(dl);
      sum += a;
    }
    if (a !== 0) {
      if (4 * (nTerms - j) * a < DBL_EPSILON * sum && j !== nTerms - 1) break;
    } else if (j > vmid) {
      break;
    }
  }
  return clip01(Math.exp(Math.log(x) + logScale + Math.log(sum)));
}

/**
 * Pr(Dₙ ≥ x) for the two-sided one-sample KS statistic Dₙ — scipy.stats.kstwo.sf(x, n).
 * NaN when n is not a positive integer.
 */
export function kolmogorovSmirnovSf(n: number, x: number): number {
  if (Number.isNaN(n) || Number.isNaN(x)) return NaN;
  if (!Number.isInteger(n) || n <= 0) return NaN;
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    let prob: number;
    if (n <= 140) {
      prob = 1;
      for (let i = 1; i <= n; i++) prob *= i * (1 / n) * (2 * t - 1);
    } else {
      prob = Math.exp(logNFactorialDivNPowN(n) + n * Math.log(2 * t - 1));
    }
    return clip01(1 - prob);
  }
  if (t >= n - 1) return clip01(2 * (1 - x) ** n);
  if (x >= 0.5) return clip01(2 * smirnovSf(n, x));

  const nxsquared = t * x;
  if (n <= 140) {
    if (nxsquared <= 0.754693) return clip01(1 - kolmogorovSmirnovCdfDurbin(n, x));
    if (nxsquared <= 4) return clip01(1 - kolmogorovSmirnovCdfPomeranz(n, x));
    return clip01(2 * smirnovSf(n, x));
  }
  if (nxsquared >= 370) return 0;
  if (nxsquared >= 2.2) return clip01(2 * smirnovSf(n, x));
  let cdf: number;
  if (n <= 100000 && n * x ** 1.5 <= 1.4) cdf = kolmogorovSmirnovCdfDurbin(n, x);
  else cdf = kolmogorovSmirnovCdfPelzGood(n, x);
  return clip01(1 - cdf);
}

/** Pr(K > x) for Kolmogorov's limiting distribution (scipy.special.kolmogorov / kstwobign.sf). */
export function kolmogorovSf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x <= 0) return 1;
  if (x <= Math.PI / Math.sqrt(-(-708 - 38) * 8)) return 1;
  if (x <= 0.82) {
    const w = SQRT2PI / x;
    const logu8 = -PI_SQUARED / (x * x);
    const u = Math.exp(logu8 / 8);
    let P: number;
    if (u === 0) {
      P = Math.exp(logu8 / 8 + Math.log(w));
    } else {
      const u8 = Math.exp(logu8);
      const u8cub = u8 ** 3;
      P = 1 + u8cub;
      P = 1 + u8 * u8 * P;
      P = 1 + u8 * P;
      P = w * u * P;
    }
    return clip01(1 - P);
  }
  const v = Math.exp(-2 * x * x);
  const v3 = v ** 3;
  let P = 1;
  P = 1 - v3 * v3 * v * P;
  P = 1 - v3 * v * v * P;
  P = 1 - v3 * P;
  return clip01(2 * v * P);
}
