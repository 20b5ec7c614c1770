/**
 * `driftReportParallel`: the same report as `driftReport`, feature by feature on worker threads.
 * The features of a report are independent and a numeric one over a million current values costs
 * ~100–150 ms (sort, merge, p-value), so a 20-feature report splits across cores almost perfectly.
 *
 * Same report, exactly: the plan (policy, columns, Bonferroni m and per-test alpha) and the
 * assembly come from report.ts, and each feature from feature.ts's `featureDrift`, the function
 * `driftReport` calls; results land in the profile's feature order whatever order workers finish.
 *
 * Data crosses without copies where it can: a column already on a SharedArrayBuffer is shared as
 * is; any other column, and a profile's reference sample (a plain array, as profiles are JSON),
 * is copied once into shared memory — one memcpy-speed pass on the calling thread, done as a
 * worker takes the feature so it overlaps the others' work. Columns are never transferred (that
 * would detach the caller's arrays); do not write into them until the promise settles.
 *
 * Workers: one pool per thread count, started on first use and reused (starting a worker and
 * loading TypeScript costs a few hundred ms); idle workers do not keep the process alive;
 * `closeDriftWorkers()` stops them.
 */

import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { DataProfile, FeatureProfile } from '../data/profile';
import { WorkerPool, type PoolTask } from '../util/workerPool';
import type { FeatureDrift, FeatureRules } from './feature';
import { assembleReport, planReport, type CurrentWindow, type DriftPolicy, type DriftReport } from './report';

export interface ParallelDriftOptions {
  /** worker threads; default: the machine's available parallelism */
  threads?: number;
}

/** One feature's work as a worker receives it (parallelWorker.ts). */
export interface FeatureTask {
  profile: FeatureProfile;
  column: Float64Array;
  rules: FeatureRules;
  /** a numeric feature's reference sample (the profile then carries an empty `sample`) */
  reference?: Float64Array;
}

const WORKER_ENTRY = path.join(__dirname, 'parallelWorker.cjs');
const pools = new Map<number, WorkerPool<FeatureTask, FeatureDrift>>();

function poolOf(threads: number): WorkerPool<FeatureTask, FeatureDrift> {
  let pool = pools.get(threads);
  if (!pool) {
    pool = new WorkerPool<FeatureTask, FeatureDrift>(WORKER_ENTRY, threads);
    pools.set(threads, pool);
  }
  return pool;
}

/** The drift worker pools: thread count and workers started so far (reuse shows as started ≤ threads). */
export function driftWorkerPools(): { threads: number; started: number }[] {
  return [...pools.values()].map((p) => ({ threads: p.size, started: p.started }));
}

/** Stops the drift worker threads (they are restarted on the next call). */
export async function closeDriftWorkers(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.close()));
}

/** The drift report of `driftReport(profile, current, policy)`, computed on worker threads. */
export async function driftReportParallel(
  profile: DataProfile,
  current: CurrentWindow,
  policy: DriftPolicy,
  options: ParallelDriftOptions = {},
): Promise<DriftReport> {
  const plan = planReport(profile, current, policy);
  if (!plan.enoughData) return plan.report;
  const threads = options.threads ?? availableParallelism();
  if (!(Number.isInteger(threads) && threads >= 1)) throw new RangeError(`driftReportParallel: threads ${threads} must be an integer ≥ 1`);
  const pool = poolOf(threads);
  const features = profile.features;
  // Numeric features first: they are the long tasks, so no worker is left with one at the end.
  const order = features.map((_, j) => j).sort((a, b) => cost(features[b]) - cost(features[a]));
  const settled = new Array<PromiseSettledResult<FeatureDrift>>(features.length);
  await Promise.all(
    order.map((j) =>
      pool.run(() => featureTask(features[j], plan.columns[j], plan.rules)).then(
        (value) => void (settled[j] = { status: 'fulfilled', value }),
        (reason: unknown) => void (settled[j] = { status: 'rejected', reason }),
      ),
    ),
  );
  // Like driftReport's loop: the first failing feature in profile order is the error.
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  return assembleReport(plan, settled.map((s) => (s as PromiseFulfilledResult<FeatureDrift>).value));
}

function cost(f: FeatureProfile): number {
  return f.kind === 'numeric' ? 1 : 0;
}

function featureTask(f: FeatureProfile, column: Float64Array, rules: FeatureRules): PoolTask<FeatureTask> {
  if (f.kind === 'categorical') return { message: { profile: f, column: shared(column), rules } };
  const { sample, ...rest } = f;
  return { message: { profile: { ...rest, sample: [] }, column: shared(column), rules, reference: shared(sample) } };
}

/** `values` on a SharedArrayBuffer: itself when it already is, else a copy. */
function shared(values: Float64Array | readonly number[]): Float64Array {
  if (values instanceof Float64Array && values.buffer instanceof SharedArrayBuffer) return values;
  const out = new Float64Array(new SharedArrayBuffer(values.length * Float64Array.BYTES_PER_ELEMENT));
  out.set(values);
  return out;
}
