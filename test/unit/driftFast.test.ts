/**
 * The fast paths of the drift report against the readable definitions, bit for bit: the radix
 * sort (sortSample / sortPresent) against Float64Array.prototype.sort, the one-merge KS +
 * Wasserstein against ks.ts and wasserstein.ts, category counting against a Map keyed by String(v).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { seededRandom } from '../../src/util/random';
import {
  countCategories,
  ksStatisticSorted,
  ksWassersteinSorted,
  sortedCopy,
  sortedValuesAt,
  sortPresent,
  sortSample,
  wassersteinSorted,
} from '../../src/drift';

const normal = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

function assertSameBits(actual: Float64Array, expected: Float64Array, label: string): void {
  assert.equal(actual.length, expected.length, label);
  for (let i = 0; i < expected.length; i++) assert.ok(Object.is(actual[i], expected[i]), `${label} index ${i}: ${actual[i]} vs ${expected[i]}`);
}

/** Value generators that reach each path of radixSort.ts: ties of high words short, medium and long. */
const SHAPES: Record<string, (r: () => number) => number> = {
  normal: (r) => normal(r),
  wideMagnitudes: (r) => normal(r) * 10 ** Math.floor(r() * 40 - 20),
  integersAndSpecials: (r) => {
    const u = r();
    if (u < 0.05) return [0, -0, Infinity, -Infinity, 5e-324, -5e-324, Number.MAX_VALUE, -Number.MAX_VALUE][Math.floor(r() * 8)];
    return Math.round(normal(r) * 3);
  },
  // same high word, different low words: runs for insertion sort, the typed-array sort and the full-key radix
  narrow: (r) => 1 + r() * 2 ** -21,
  manyNarrowClusters: (r) => Math.floor(r() * 5000) + r() * 2 ** -30,
  fewNarrowClusters: (r) => Math.floor(r() * 50) + r() * 2 ** -30,
  negativeNarrow: (r) => -3 - r() * 2 ** -22,
};

test('sortPresent and sortSample: the typed-array sort order bit for bit, NaN dropped and counted', () => {
  for (const [name, gen] of Object.entries(SHAPES)) {
    for (const n of [0, 1, 100, 2047, 2048, 2049, 40_000]) {
      const r = seededRandom(n + name.length);
      const column = Float64Array.from({ length: n }, () => (r() < 0.07 ? NaN : gen(r)));
      const present = column.filter((v) => !Number.isNaN(v));
      const expected = Float64Array.from(present).sort();
      const { sorted, missing } = sortPresent(column);
      assert.equal(missing, n - present.length);
      assertSameBits(sorted, expected, `sortPresent ${name} n=${n}`);
      assertSameBits(sortSample(present), expected, `sortSample ${name} n=${n}`);
    }
  }
  assert.throws(() => sortSample(Float64Array.from({ length: 5000 }, (_, i) => (i === 4321 ? NaN : i))), /NaN/);
});

test('sortedCopy: a checked copy of an already sorted array', () => {
  const values = [-Infinity, -1, -0, 0, 0, 2.5, Infinity];
  assertSameBits(sortedCopy(values), Float64Array.from(values), 'sortedCopy');
  assert.throws(() => sortedCopy([1, 3, 2]), /not sorted ascending at index 2/);
  assert.throws(() => sortedCopy([1, NaN]), /NaN/);
});

test('sortedValuesAt: what a stable comparator sort gives, ±0 in their order of appearance', () => {
  for (const n of [10, 3_000, 20_000]) {
    const r = seededRandom(n);
    const column = Float64Array.from({ length: n }, () => (r() < 0.1 ? NaN : r() < 0.2 ? 0 : r() < 0.25 ? -0 : r() < 0.01 ? -Infinity : normal(r)));
    const rows = Uint32Array.from({ length: Math.floor(n / 2) }, (_, i) => 2 * i);
    const expected: number[] = [];
    for (const i of rows) if (!Number.isNaN(column[i])) expected.push(column[i]);
    expected.sort((a, b) => a - b);
    assertSameBits(Float64Array.from(sortedValuesAt(column, rows)), Float64Array.from(expected), `n=${n}`);
  }
});

function checkMerged(reference: Float64Array, current: Float64Array, label: string): void {
  const a = sortSample(reference);
  const b = sortSample(current);
  const merged = ksWassersteinSorted(a, b);
  assert.ok(Object.is(merged.ks, ksStatisticSorted(a, b)), `${label}: KS ${merged.ks} vs ${ksStatisticSorted(a, b)}`);
  assert.ok(Object.is(merged.wasserstein, wassersteinSorted(a, b)), `${label}: W ${merged.wasserstein} vs ${wassersteinSorted(a, b)}`);
}

test('ksWassersteinSorted: bit-identical to ksStatisticSorted and wassersteinSorted', () => {
  const vectors = JSON.parse(readFileSync(path.resolve(__dirname, '../../../shared/reference/drift-vectors.json'), 'utf8')) as {
    numeric: { name: string; reference: number[]; current: number[] }[];
  };
  for (const v of vectors.numeric) checkMerged(Float64Array.from(v.reference), Float64Array.from(v.current), v.name);
  const tieShapes: Record<string, (r: () => number) => number> = { ...SHAPES, fewValues: (r) => Math.floor(r() * 5), twoValues: (r) => +(r() < 0.3) };
  for (const [name, gen] of Object.entries(tieShapes)) {
    for (const [n, m] of [[1, 1], [7, 3], [20, 20], [500, 2_000], [10_000, 4_999], [30_000, 30_000]]) {
      const r = seededRandom(n * 31 + m);
      const shift = r() < 0.5 ? 0 : 0.3;
      checkMerged(Float64Array.from({ length: n }, () => gen(r)), Float64Array.from({ length: m }, () => gen(r) + shift), `${name} ${n}×${m}`);
    }
  }
  // groups of equal values cut off where one sample ends; infinities (the by-value loop)
  const edgeCases: [number[], number[]][] = [
    [[0, 1, 1, 1], [1]],
    [[1], [0, 1, 1, 1]],
    [[0, 0, 2, 2, 2], [1, 2]],
    [[-1, 2, 2], [0, 0, 2, 2, 2, 2]],
    [[-0, 0, 0, 1], [0, -0, 1, 1]],
    [[-Infinity, 0, 1], [0, 1, Infinity]],
    [[1, 2, Infinity, Infinity], [0, Infinity]],
  ];
  for (const [a, b] of edgeCases) checkMerged(Float64Array.from(a), Float64Array.from(b), `${a} vs ${b}`);
  // tiny samples over 4 values: every way a tie group can meet the end of a sample
  const r = seededRandom(5);
  for (let k = 0; k < 3_000; k++) {
    const draw = () => Float64Array.from({ length: 1 + Math.floor(r() * 9) }, () => Math.floor(r() * 4) - 1.5);
    checkMerged(draw(), draw(), `fuzz ${k}`);
  }
  assert.throws(() => ksWassersteinSorted(sortSample([]), sortSample([1])), /empty/);
});

test('countCategories: the groups and first-seen order of a Map keyed by String(v)', () => {
  const r = seededRandom(11);
  const odd = [-0, -1, 0.5, 70_000, 1e300, -Infinity, Infinity, 65_535, 65_536];
  const column = Float64Array.from({ length: 50_000 }, () => {
    const u = r();
    if (u < 0.05) return NaN;
    if (u < 0.06) return odd[Math.floor(r() * odd.length)];
    return Math.floor(r() * 30);
  });
  const expected = new Map<string, number>();
  let missing = 0;
  for (const v of column) {
    if (Number.isNaN(v)) missing++;
    else expected.set(String(v), (expected.get(String(v)) ?? 0) + 1);
  }
  const got = countCategories(column);
  assert.equal(got.missing, missing);
  assert.deepStrictEqual([...got.counts], [...expected]);
});
