/**
 * In-place ascending sort of a Float64Array, in the order of Float64Array.prototype.sort
 * (−∞ < … < −0 < +0 < … < +∞), about 2× faster than that sort on a million doubles.
 *
 * Each double maps to an order-preserving unsigned 64-bit key (all bits flipped for negatives,
 * the sign bit set for positives). Sorting by all 64 bits takes six 10–11-bit LSD passes; but
 * the key's high 32 bits (sign, exponent, top 20 mantissa bits) already separate almost every
 * pair of values that differ, so the sort is:
 *   1. three LSD passes on the high 32 bits of the key (a digit that is the same for every value
 *      is skipped);
 *   2. one linear pass that finds runs of equal high words out of order and sorts each by value:
 *      insertion sort for short runs, the typed-array sort for longer ones, and the full-key
 *      radix sort (the six passes, minus the constant high digits) for very long ones — data
 *      packed into a tiny range degrades to that, never to a quadratic sort.
 * Values equal as doubles are identical except ±0, whose high words differ, so the result is
 * the same array of bits as the typed-array sort's.
 *
 * Measured on a loaded 2-core machine, 1M doubles: normal or lognormal 54 ms (full-key LSD radix
 * 100 ms, Float64Array.prototype.sort 163 ms).
 */

const DIGIT_BITS = 11;
const BUCKETS = 1 << DIGIT_BITS;
const DIGIT_MASK = BUCKETS - 1;
/** Below this many values the typed-array sort wins. */
export const RADIX_MIN = 2048;
const INSERTION_MAX = 16;

export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Sorts the values of `owned`, which the caller gives up: the result is `owned` itself or a new
 * array of the same length (saving the copy back after an odd number of radix passes). Throws a
 * RangeError naming `where` if the values contain NaN.
 */
export function sortFloat64(owned: Float64Array, where: string): Float64Array {
  if (owned.length < RADIX_MIN || !LITTLE_ENDIAN) {
    owned.sort();
    if (owned.length > 0 && Number.isNaN(owned[owned.length - 1])) throw nanError(where);
    return owned;
  }
  const sorted = sortByHighWord(owned, where);
  orderRunsOfEqualHighWords(sorted);
  return sorted;
}

export function nanError(where: string): RangeError {
  return new RangeError(`${where}: the sample contains NaN`);
}

/** The order-preserving key of a double's high word (h0: its raw high 32 bits). */
function highKey(h0: number): number {
  return (h0 ^ ((h0 >> 31) | 0x80000000)) >>> 0;
}

/** Sorts by the high 32 bits of the key: three LSD passes (11, 11, 10 bits); `out` or the scratch array. */
function sortByHighWord(out: Float64Array, where: string): Float64Array {
  const n = out.length;
  let src: Float64Array = out;
  let dst: Float64Array = new Float64Array(n);
  let sw: Uint32Array = new Uint32Array(src.buffer, src.byteOffset, 2 * n);
  let dw: Uint32Array = new Uint32Array(dst.buffer, dst.byteOffset, 2 * n);
  const counts = new Uint32Array(3 * BUCKETS);
  for (let i = 0; i < n; i++) {
    const h0 = sw[2 * i + 1];
    if ((h0 & 0x7ff00000) === 0x7ff00000 && ((h0 & 0xfffff) | sw[2 * i]) !== 0) throw nanError(where);
    const h = highKey(h0);
    counts[h & DIGIT_MASK]++;
    counts[BUCKETS + ((h >>> 11) & DIGIT_MASK)]++;
    counts[2 * BUCKETS + (h >>> 22)]++;
  }
  const offsets = new Uint32Array(BUCKETS);
  for (let d = 0; d < 3; d++) {
    if (!prefixSums(counts, d * BUCKETS, n, offsets)) continue;
    const shift = d * DIGIT_BITS;
    for (let i = 0; i < n; i++) dst[offsets[(highKey(sw[2 * i + 1]) >>> shift) & DIGIT_MASK]++] = src[i];
    [src, dst] = [dst, src];
    [sw, dw] = [dw, sw];
  }
  return src;
}

/** Exclusive prefix sums of one digit's counts into `offsets`; false when the digit is constant. */
function prefixSums(counts: Uint32Array, base: number, n: number, offsets: Uint32Array): boolean {
  let sum = 0;
  for (let b = 0; b < BUCKETS; b++) {
    const c = counts[base + b];
    if (c === n) return false;
    offsets[b] = sum;
    sum += c;
  }
  return true;
}

/** After sortByHighWord only runs of equal high words can be out of order: sort those. */
function orderRunsOfEqualHighWords(a: Float64Array): void {
  const n = a.length;
  const w = new Uint32Array(a.buffer, a.byteOffset, 2 * n);
  for (let i = 1; i < n; i++) {
    if (!(a[i] < a[i - 1])) continue;
    const h = w[2 * i + 1];
    let start = i - 1;
    while (start > 0 && w[2 * start - 1] === h) start--;
    let end = i + 1;
    while (end < n && w[2 * end + 1] === h) end++;
    sortRun(a, start, end);
    i = end - 1;
  }
}

function sortRun(a: Float64Array, start: number, end: number): void {
  const len = end - start;
  if (len <= INSERTION_MAX) {
    for (let p = start + 1; p < end; p++) {
      const v = a[p];
      let q = p;
      while (q > start && a[q - 1] > v) {
        a[q] = a[q - 1];
        q--;
      }
      a[q] = v;
    }
  } else if (len < RADIX_MIN) {
    a.subarray(start, end).sort();
  } else {
    sortByFullKey(a.subarray(start, end));
  }
}

/**
 * LSD radix sort by the full 64-bit key, six 10–11-bit digits computed on the fly from the bit
 * pattern of each value; a digit that is the same for every value is skipped. NaN-free input.
 */
function sortByFullKey(out: Float64Array): void {
  const n = out.length;
  let src: Float64Array = out;
  let dst: Float64Array = new Float64Array(n);
  let sw: Uint32Array = new Uint32Array(src.buffer, src.byteOffset, 2 * n);
  let dw: Uint32Array = new Uint32Array(dst.buffer, dst.byteOffset, 2 * n);
  // counts[d * BUCKETS + b]: digit d (0–2 from the low key word, 3–5 from the high), bucket b
  const counts = new Uint32Array(6 * BUCKETS);
  for (let i = 0; i < n; i++) {
    const h0 = sw[2 * i + 1];
    const l = (sw[2 * i] ^ (h0 >> 31)) >>> 0;
    const h = highKey(h0);
    counts[l & DIGIT_MASK]++;
    counts[BUCKETS + ((l >>> 11) & DIGIT_MASK)]++;
    counts[2 * BUCKETS + (l >>> 22)]++;
    counts[3 * BUCKETS + (h & DIGIT_MASK)]++;
    counts[4 * BUCKETS + ((h >>> 11) & DIGIT_MASK)]++;
    counts[5 * BUCKETS + (h >>> 22)]++;
  }
  const offsets = new Uint32Array(BUCKETS);
  for (let d = 0; d < 6; d++) {
    if (!prefixSums(counts, d * BUCKETS, n, offsets)) continue;
    const shift = (d % 3) * DIGIT_BITS;
    if (d < 3) {
      for (let i = 0; i < n; i++) dst[offsets[(((sw[2 * i] ^ (sw[2 * i + 1] >> 31)) >>> shift) & DIGIT_MASK)]++] = src[i];
    } else {
      for (let i = 0; i < n; i++) dst[offsets[(highKey(sw[2 * i + 1]) >>> shift) & DIGIT_MASK]++] = src[i];
    }
    [src, dst] = [dst, src];
    [sw, dw] = [dw, sw];
  }
  if (src !== out) out.set(src);
}
