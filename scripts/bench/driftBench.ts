/**
 * `npm run bench -- drift`: the drift report at scale and at a monitor's everyday size.
 *
 * - 1M × 1M × 20: 20 synthetic features (16 numeric of varied shapes, some with NaN, ties, ±0,
 *   heavy tails; 4 categorical), 1M reference rows profiled with `sampleSize` = 1M, so the profile
 *   keeps every non-missing reference value sorted and KS and Wasserstein really compare ~1M
 *   against ~1M; 1M current rows (on SharedArrayBuffers) with a shift in six features. Prints
 *   the profile build (once, not part of the goal), `driftReport` (1 thread) and
 *   `driftReportParallel` (2 threads) as medians of alternating runs, the goal (≤ 2 s), and the
 *   parallel report's first call separately (it starts the workers).
 * - A typical monitor window: 12 numeric features shaped like the flights spec's (hour,
 *   minute of day, day of week, distance, per-airport and per-route lookup statistics), profiled
 *   from 200k rows with a 10k sample (exact KS p-values) and with the profile's default sample,
 *   against a 5,000-row window of the same distribution.
 * - scipy/numpy (drift_baseline.py, in the Python worker's environment) on the same 1M × 1M × 20 inputs,
 *   written as raw float64 files under .perennial/bench/drift/, timed in the same run: the
 *   ratio, and how closely the values agree.
 * The machine is shared and noisy: the load average is printed beside the figures, and how much
 * faster two threads of plain arithmetic run than one just then (coreCheck.ts) — the ceiling of
 * any parallel speed-up measured at that moment.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { isDeepStrictEqual } from 'node:util';
import { profileFeatures, type DataProfile } from '../../src/data/profile';
import type { FeatureMatrix } from '../../src/ml/gbdt';
import { driftReport, type DriftPolicy, type DriftReport } from '../../src/drift/report';
import { closeDriftWorkers, driftReportParallel } from '../../src/drift/parallel';
import { seededRandom } from '../../src/util/random';
import { parallelHeadroom } from './coreCheck';
import { baselinePython } from './python';
import { median } from './stats';

const GOAL_SECONDS = 2;
const THREADS = 2;
const POLICY: DriftPolicy = { alpha: 0.01, psiThreshold: 0.2, correction: 'bonferroni', minRows: 500 };

type Random = () => number;
interface FeatureGen {
  name: string;
  kind: 'numeric' | 'categorical';
  /** one value; `shifted` is the current window's distribution (the same for most features) */
  gen: (r: Random, shifted: boolean) => number;
}

function gaussian(r: Random): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/** Draws a code 0..k-1 with the given (unnormalized) weights. */
function categorical(weights: number[]): (r: Random) => number {
  const total = weights.reduce((a, b) => a + b, 0);
  const cumulative = Float64Array.from(weights.map((_, i) => weights.slice(0, i + 1).reduce((a, b) => a + b, 0) / total));
  return (r) => {
    const u = r();
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid] <= u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

const zipf = (k: number) => Array.from({ length: k }, (_, i) => 1 / (i + 1));
const carrier = categorical(zipf(20));
const carrierShifted = categorical(zipf(20).reverse());
const channel = categorical([0.5, 0.3, 0.15, 0.05]);
const airport = categorical(zipf(300));
const device = categorical([0.6, 0.3, 0.1]);
const missing = (r: Random, rate: number, v: () => number) => (r() < rate ? NaN : v());

/**
 * Shifted in the current window: amount (by 0.02 σ: significant at 1M rows, harmless), latency_ms
 * (σ × 1.3), bimodal (mixture weight 0.3 → 0.5), distance (× 1.5), carrier (mix reversed), device
 * (10% a code unseen in training).
 */
const FEATURES: FeatureGen[] = [
  { name: 'amount', kind: 'numeric', gen: (r, s) => 50 + 10 * gaussian(r) + (s ? 0.2 : 0) },
  { name: 'latency_ms', kind: 'numeric', gen: (r, s) => Math.exp(3 + (s ? 0.65 : 0.5) * gaussian(r)) },
  { name: 'wait_s', kind: 'numeric', gen: (r) => missing(r, 0.03, () => -30 * Math.log(1 - r())) },
  { name: 'score', kind: 'numeric', gen: (r) => r() },
  { name: 'items', kind: 'numeric', gen: (r) => Math.max(0, Math.round(20 + 5 * gaussian(r))) },
  { name: 'bimodal', kind: 'numeric', gen: (r, s) => (r() < (s ? 0.5 : 0.3) ? -2 + 0.5 * gaussian(r) : 2 + gaussian(r)) },
  { name: 'ratio', kind: 'numeric', gen: (r) => gaussian(r) / (0.1 + r()) },
  { name: 'share', kind: 'numeric', gen: (r) => r() ** 2 },
  { name: 'temperature', kind: 'numeric', gen: (r) => missing(r, 0.1, () => 15 + 8 * gaussian(r)) },
  { name: 'price', kind: 'numeric', gen: (r) => Math.round(Math.exp(3 + gaussian(r)) * 100) / 100 },
  { name: 'hour', kind: 'numeric', gen: (r) => Math.floor(r() * 24) },
  { name: 'distance', kind: 'numeric', gen: (r, s) => Math.round(Math.exp(6.2 + 0.6 * gaussian(r)) * (s ? 1.5 : 1)) },
  { name: 'gamma3', kind: 'numeric', gen: (r) => -Math.log((1 - r()) * (1 - r()) * (1 - r())) },
  { name: 'tiny', kind: 'numeric', gen: (r) => 1e-6 * gaussian(r) },
  { name: 'zero_inflated', kind: 'numeric', gen: (r) => missing(r, 0.05, () => (r() < 0.4 ? 0 : Math.exp(gaussian(r)))) },
  { name: 'balance', kind: 'numeric', gen: (r) => (r() < 0.05 ? 0 : Math.round(1e4 * gaussian(r)) / 100) },
  { name: 'carrier', kind: 'categorical', gen: (r, s) => (s ? carrierShifted(r) : carrier(r)) },
  { name: 'channel', kind: 'categorical', gen: (r) => missing(r, 0.02, () => channel(r)) },
  { name: 'airport', kind: 'categorical', gen: (r) => airport(r) },
  { name: 'device', kind: 'categorical', gen: (r, s) => (s && r() < 0.1 ? 3 : device(r)) },
];

/** n rows of the features; columns on SharedArrayBuffers when `shared` (what a caller of driftReportParallel would allocate). */
function synth(features: FeatureGen[], n: number, seed: number, shifted: boolean, shared: boolean): FeatureMatrix {
  const r = seededRandom(seed);
  const columns = features.map((f) => {
    const c = shared ? new Float64Array(new SharedArrayBuffer(8 * n)) : new Float64Array(n);
    for (let i = 0; i < n; i++) c[i] = f.gen(r, shifted);
    return c;
  });
  return { names: features.map((f) => f.name), kinds: features.map((f) => f.kind), columns, nRows: n };
}

/** Lookup statistics of the flights-like features, fixed (training and live traffic share them, as the pipeline's lookup tables). */
const LOOKUPS = (() => {
  const r = seededRandom(99);
  const stat = (k: number, f: (i: number) => number) => Float64Array.from({ length: k }, (_, i) => f(i));
  return {
    airportFlights: stat(300, (i) => Math.round(50_000 / (i + 1))),
    airportLate: stat(300, () => 0.1 + 0.3 * r()),
    airportDistance: stat(300, () => Math.round(400 + 800 * r())),
    routeFlights: stat(3000, (i) => Math.round(5_000 / (1 + (i % 97)))),
    routeLate: stat(3000, () => 0.05 + 0.4 * r()),
  };
})();

const FLIGHTS_NAMES = ['hour', 'minute_of_day', 'day_of_week', 'distance', 'origin_flights', 'origin_late_rate', 'origin_mean_distance', 'dest_flights', 'dest_late_rate', 'dest_mean_distance', 'route_flights', 'route_late_rate'];

/** Flights-like monitor features: time of day and week, distance, per-airport and per-route lookup statistics (heavy ties, as the real ones). */
function flightsLike(n: number, seed: number): FeatureMatrix {
  const r = seededRandom(seed);
  const L = LOOKUPS;
  const columns = FLIGHTS_NAMES.map(() => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    const minute = Math.floor(360 + 1000 * r());
    const origin = airport(r);
    const dest = airport(r);
    const route = (origin * 300 + dest) % 3000;
    const row = [
      Math.floor(minute / 60), minute, Math.floor(7 * r()), Math.round(L.airportDistance[origin] * (0.5 + r())),
      L.airportFlights[origin], L.airportLate[origin], L.airportDistance[origin],
      L.airportFlights[dest], L.airportLate[dest], L.airportDistance[dest],
      L.routeFlights[route], L.routeLate[route],
    ];
    for (let j = 0; j < row.length; j++) columns[j][i] = row[j];
  }
  return { names: [...FLIGHTS_NAMES], kinds: FLIGHTS_NAMES.map(() => 'numeric'), columns, nRows: n };
}

async function seconds<T>(fn: () => T | Promise<T>): Promise<{ value: T; seconds: number }> {
  const t = performance.now();
  const value = await fn();
  return { value, seconds: (performance.now() - t) / 1000 };
}

/** Single-threaded and parallel reports alternately, so the machine's load falls on both alike. */
async function alternate(profile: DataProfile, current: FeatureMatrix, repeats: number) {
  const single: number[] = [];
  const parallel: number[] = [];
  for (let k = 0; k < repeats; k++) {
    single.push((await seconds(() => driftReport(profile, current, POLICY))).seconds);
    parallel.push((await seconds(() => driftReportParallel(profile, current, POLICY, { threads: THREADS }))).seconds);
  }
  return { single: median(single), parallel: median(parallel), singleRuns: single, parallelRuns: parallel };
}

const load = () => `load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${availableParallelism()} cores`;
const ms = (s: number) => `${(s * 1000).toFixed(s < 0.1 ? 1 : 0)} ms`;
const list = (xs: number[]) => xs.map((x) => (x * 1000).toFixed(0)).join(', ');

function writeF64(file: string, values: ArrayLike<number>): void {
  const a = values instanceof Float64Array ? values : Float64Array.from(values);
  writeFileSync(file, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

/** The inputs of the 1M report as raw little-endian float64 files and a manifest; the manifest's path. */
function writePythonInputs(dir: string, profile: DataProfile, current: FeatureMatrix): string {
  mkdirSync(dir, { recursive: true });
  const features = profile.features.map((f, j) => {
    const currentFile = `current-${j}.f64`;
    writeF64(path.join(dir, currentFile), current.columns[current.names.indexOf(f.name)]);
    if (f.kind === 'categorical') return { name: f.name, kind: f.kind, currentFile, frequencies: f.frequencies };
    const referenceFile = `reference-${j}.f64`;
    writeF64(path.join(dir, referenceFile), f.sample);
    return { name: f.name, kind: f.kind, currentFile, referenceFile, edges: f.quantileEdges, binCounts: f.binCounts };
  });
  const manifest = path.join(dir, 'manifest.json');
  writeFileSync(manifest, JSON.stringify({ features }, null, 1));
  return manifest;
}

interface ScipyFeature {
  ks?: [number, number];
  psi: number;
  js: number;
  wasserstein?: number;
  chi2?: [number, number, number];
}

/** Largest relative difference between our report's values and scipy's: statistics, p-values. */
function agreement(report: DriftReport, scipy: ScipyFeature[]): { statistics: number; pvalues: number } {
  const rel = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b)));
  let statistics = 0;
  let pvalues = 0;
  report.features.forEach((f, j) => {
    const s = scipy[j];
    const stats = [rel(f.psi!, s.psi), rel(f.js!, s.js)];
    if (s.ks) {
      stats.push(rel(f.ks!.statistic, s.ks[0]), rel(f.wasserstein!, s.wasserstein!));
      pvalues = Math.max(pvalues, rel(f.ks!.pvalue, s.ks[1]));
    }
    if (s.chi2) {
      stats.push(rel(f.chi2!.statistic, s.chi2[0]));
      pvalues = Math.max(pvalues, rel(f.chi2!.pvalue, s.chi2[1]));
    }
    statistics = Math.max(statistics, ...stats);
  });
  return { statistics, pvalues };
}

async function benchFull(out: string, repeats: number): Promise<void> {
  const n = 1_000_000;
  console.log(`\n# drift report: ${n.toLocaleString('en-US')} reference × ${n.toLocaleString('en-US')} current rows × ${FEATURES.length} features (16 numeric, 4 categorical)`);
  const reference = synth(FEATURES, n, 1, false, false);
  const current = synth(FEATURES, n, 2, true, true);
  const built = await seconds(() => profileFeatures(reference, new Float64Array(n), { sampleSize: n }));
  const profile = built.value;
  const sampleSizes = profile.features.flatMap((f) => (f.kind === 'numeric' ? [f.sample.length] : []));
  console.log(`  profile build (once, not part of the goal): ${built.seconds.toFixed(2)} s; reference samples kept sorted in the profile: ${Math.min(...sampleSizes).toLocaleString('en-US')}–${Math.max(...sampleSizes).toLocaleString('en-US')} values (all non-missing rows), so KS and Wasserstein compare ~1M against ~1M`);

  const first = await seconds(() => driftReport(profile, current, POLICY));
  const cold = await seconds(() => driftReportParallel(profile, current, POLICY, { threads: THREADS }));
  const identical = isDeepStrictEqual(first.value, cold.value);
  console.log(`  first calls: driftReport ${ms(first.seconds)}; driftReportParallel ${ms(cold.seconds)} (starts ${THREADS} workers and loads TypeScript in them; once per process)`);
  console.log(`  reports identical (deepStrictEqual): ${identical ? 'yes' : 'NO'}; breached: ${first.value.breachedFeatures.join(', ')}; score (max PSI) ${first.value.score.toFixed(4)}`);

  const t = await alternate(profile, current, repeats);
  console.log(`  (${load()}; right now 2 threads of plain arithmetic run ${(await parallelHeadroom()).toFixed(2)}× as fast as 1 — 2.00 would be two free cores)`);
  console.log(`  driftReport, 1 thread:              median ${ms(t.single)} of ${repeats} (${list(t.singleRuns)} ms)`);
  console.log(`  driftReportParallel, ${THREADS} threads:     median ${ms(t.parallel)} of ${repeats} (${list(t.parallelRuns)} ms); speed-up ${(t.single / t.parallel).toFixed(2)}×`);
  console.log(`  goal ≤ ${GOAL_SECONDS} s: ${t.parallel <= GOAL_SECONDS ? 'met' : 'NOT met'} in parallel (${t.parallel.toFixed(2)} s); ${t.single <= GOAL_SECONDS ? 'met' : 'not met'} single-threaded (${t.single.toFixed(2)} s)`);

  const python = await baselinePython('scipy');
  if (!python) return;
  const dir = path.join(out, 'drift');
  const manifest = writePythonInputs(dir, profile, current);
  const run = spawnSync(python, [path.join(__dirname, 'drift_baseline.py'), manifest, String(repeats)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (run.status !== 0) throw new Error(`scipy baseline failed: ${run.stderr}`);
  const scipy = JSON.parse(run.stdout.trim().split('\n').pop()!) as { seconds: number; runs: number[]; scipy: string; numpy: string; features: ScipyFeature[] };
  console.log(`  (${load()})`);
  const agree = agreement(first.value, scipy.features);
  console.log(`  scipy ${scipy.scipy} / numpy ${scipy.numpy} (ks_2samp, np.histogram PSI, chi2_contingency, wasserstein_distance, jensenshannon; 1 thread; inputs ${dir}/*.f64):`);
  console.log(`    median ${ms(scipy.seconds)} of ${repeats} (${list(scipy.runs)} ms); scipy / driftReport ${(scipy.seconds / t.single).toFixed(2)}×, scipy / driftReportParallel ${(scipy.seconds / t.parallel).toFixed(2)}×`);
  console.log(`    agreement: max relative difference ${agree.statistics.toExponential(1)} in the statistics, ${agree.pvalues.toExponential(1)} in the p-values`);
}

async function benchMonitorWindow(repeats: number): Promise<void> {
  const training = flightsLike(200_000, 11);
  const window = flightsLike(5_000, 12);
  console.log(`\n# typical monitor window: ${window.names.length} numeric features shaped like the flights spec's, profile of 200k rows, window of ${window.nRows.toLocaleString('en-US')} rows`);
  // 10k: KS p-values exact (max(n, m) ≤ 10,000, scipy's 'auto'), O(n·m)-ish per feature; the
  // profile's default sample (larger) takes the asymptotic p-value.
  for (const sampleSize of [10_000, undefined]) {
    const profile = profileFeatures(training, new Float64Array(training.nRows), sampleSize ? { sampleSize } : {});
    const kept = profile.features[0].kind === 'numeric' ? profile.features[0].sample.length : 0;
    const t = await alternate(profile, window, repeats);
    const report = driftReport(profile, window, POLICY);
    const label = `sample ${kept.toLocaleString('en-US')}${sampleSize ? '' : ' (the profile default)'}, KS p-values ${kept <= 10_000 ? 'exact' : 'asymptotic'}`;
    console.log(`  ${label}: driftReport, 1 thread median ${ms(t.single)} of ${repeats}; driftReportParallel, ${THREADS} threads median ${ms(t.parallel)} (${(t.single / t.parallel).toFixed(2)}×); breached: ${report.breachedFeatures.length ? report.breachedFeatures.join(', ') : 'none'}`);
  }
  console.log(`  (${load()}; 2 threads of plain arithmetic run ${(await parallelHeadroom()).toFixed(2)}× as fast as 1)`);
}

export async function benchDrift(out: string, repeats: number): Promise<void> {
  try {
    await benchFull(out, repeats);
    await benchMonitorWindow(Math.max(repeats, 21));
  } finally {
    await closeDriftWorkers();
  }
}
