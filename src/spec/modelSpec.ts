import { z } from 'zod';
import { isCalendarDateTime } from '../util/calendar';
import { DURATION_PATTERN } from '../util/duration';
import { asUtc, PYTHON_TASK_QUEUE, windowMs } from './specValues';
import { Actor } from '../lifecycle/contract';

/**
 * ModelSpec: the one place a user describes a model. Everything else — the snapshot
 * query, validation rules, the feature pipeline, the trainer's settings, the gates —
 * derives from it.
 */

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an identifier (letters, digits, _)');
// A plain pattern rather than z.iso: the lifecycle re-validates specs inside the
// workflow sandbox, where zod's ISO formats rejected valid dates.
export const ISO_DATE_PATTERN = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const isoDate = z
  .string()
  .regex(ISO_DATE_PATTERN, 'expected an ISO date or date-time, e.g. 2001-01-22 or 2001-01-22T06:00:00')
  .refine((s) => isCalendarDateTime(s) && !Number.isNaN(Date.parse(asUtc(s.replace(' ', 'T')))), 'not a real calendar date and time of day');

export const ColumnSpec = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('timestamp'),
    nullable: z.boolean().default(false),
  }),
  z.strictObject({
    type: z.literal('number'),
    nullable: z.boolean().default(false),
    min: z.number().optional(),
    max: z.number().optional(),
  }),
  z.strictObject({
    type: z.literal('string'),
    nullable: z.boolean().default(false),
    /** The allowed values; omit to allow any. */
    categories: z.array(z.string()).min(1).optional(),
  }),
]);
export type ColumnSpec = z.infer<typeof ColumnSpec>;

export const Window = z
  .object({ start: isoDate, end: isoDate })
  .refine((w) => Date.parse(asUtc(w.start)) < Date.parse(asUtc(w.end)), 'window start must be before its end (end is exclusive)');
export type Window = z.infer<typeof Window>;

/** How a row's target (0/1) is derived from a source column. */
export const TargetSpec = z.strictObject({
  name: identifier,
  column: identifier,
  positiveWhen: z.union([
    z.strictObject({ gt: z.number() }),
    z.strictObject({ gte: z.number() }),
    z.strictObject({ lt: z.number() }),
    z.strictObject({ lte: z.number() }),
    z.strictObject({ equals: z.union([z.number(), z.string(), z.boolean()]) }),
    z.strictObject({ in: z.array(z.union([z.number(), z.string()])).min(1) }),
  ], { message: 'expected exactly one operator: gt, gte, lt, lte (a number), equals (a value) or in (a list), e.g. { gt: 15 }' }),
});
export type TargetSpec = z.infer<typeof TargetSpec>;

export const DatePart = z.enum(['hour', 'minuteOfDay', 'dayOfWeek', 'dayOfMonth', 'month']);
export type DatePart = z.infer<typeof DatePart>;

/** A statistic computed per key over the training window only (DuckDB, in SQL). */
export const LookupStat = z.discriminatedUnion('agg', [
  z.strictObject({ agg: z.literal('count') }),
  /** Target rate shrunk towards the global rate: (positives + m·rate) / (count + m). */
  z.strictObject({ agg: z.literal('targetRate'), smoothing: z.number().nonnegative().default(20) }),
  z.strictObject({ agg: z.literal('mean'), column: identifier }),
]);
export type LookupStat = z.infer<typeof LookupStat>;

export const LookupTableSpec = z.strictObject({
  keys: z.array(identifier).min(1),
  stats: z.record(identifier, LookupStat),
});
export type LookupTableSpec = z.infer<typeof LookupTableSpec>;

/** A row-wise transform of the input columns, shared by training and serving. */
export const FeatureTransform = z.discriminatedUnion('from', [
  z.strictObject({ from: z.literal('column'), column: identifier }),
  z.strictObject({ from: z.literal('datePart'), column: identifier, part: DatePart }),
  z.strictObject({ from: z.literal('lookup'), table: identifier, stat: identifier }),
  /** Category code from the training window's vocabulary; unseen values are missing. */
  z.strictObject({ from: z.literal('category'), column: identifier, maxCategories: z.number().int().min(2).max(254).default(64) }),
]);
export type FeatureTransform = z.infer<typeof FeatureTransform>;

export const FeatureSpec = z.strictObject({
  name: identifier,
  kind: z.enum(['numeric', 'categorical']),
  transform: FeatureTransform,
});
export type FeatureSpec = z.infer<typeof FeatureSpec>;

export const GbdtParamsSpec = z.strictObject({
  rounds: z.number().int().min(1).max(10_000).default(100),
  learningRate: z.number().positive().max(1).default(0.1),
  maxDepth: z.number().int().min(1).max(16).default(6),
  minChildWeight: z.number().nonnegative().default(1),
  l2: z.number().nonnegative().default(1),
  maxBins: z.number().int().min(2).max(255).default(255),
  seed: z.number().int().default(42),
});

const GbdtTrainerSpec = z.strictObject({
  type: z.literal('gbdt'),
  params: GbdtParamsSpec.default(GbdtParamsSpec.parse({})),
  /** Write a checkpoint every this many rounds, so a retried attempt resumes instead of restarting. */
  checkpointEvery: z.number().int().min(1).default(10),
});

/** perennial's own LightGBM trainer: the params it knows, checked key by key (LightGBM itself only warns). */
export const LightGbmParamsSpec = z.strictObject({
  num_leaves: z.number().int().min(2).max(131_072).default(31),
  learning_rate: z.number().positive().max(1).default(0.1),
  num_boost_round: z.number().int().min(1).max(100_000).default(100),
  max_depth: z.number().int().min(-1).max(64).optional(),
  min_data_in_leaf: z.number().int().min(0).optional(),
  min_sum_hessian_in_leaf: z.number().nonnegative().optional(),
  lambda_l1: z.number().nonnegative().optional(),
  lambda_l2: z.number().nonnegative().optional(),
  feature_fraction: z.number().gt(0).max(1).optional(),
  bagging_fraction: z.number().gt(0).max(1).optional(),
  bagging_freq: z.number().int().min(0).optional(),
  max_bin: z.number().int().min(2).max(65_535).optional(),
  min_gain_to_split: z.number().nonnegative().optional(),
  num_threads: z.number().int().min(0).max(1024).optional(),
});

const TaskQueue = z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'expected a task queue name (letters, digits, . _ -)');
const Seed = z.number().int().min(0).max(2 ** 31 - 1).default(42);
/**
 * `file.py:function` (relative to the spec's folder, never above it) or
 * `package.module:function` (importable by the worker: what its environment installs).
 */
export const ENTRYPOINT_PATTERN = /^(?:(?!\/)(?!(?:.*\/)?\.\.\/)[A-Za-z0-9_.\/-]{1,250}\.py|[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*){0,20}):[A-Za-z_][A-Za-z0-9_]{0,100}$/;
/** A user trainer's params travel in workflow histories: bounded, but never checked key by key. */
const MAX_PYTHON_PARAMS_CHARS = 64 * 1024;
const MAX_PYTHON_PARAMS_DEPTH = 32;

/** How deeply a JSON value nests, counted no further than `limit + 1`. */
function nesting(value: unknown, limit: number): number {
  if (typeof value !== 'object' || value === null) return 0;
  if (limit < 0) return 1;
  let deepest = 0;
  for (const v of Object.values(value)) deepest = Math.max(deepest, nesting(v, limit - 1));
  return deepest + 1;
}

const LightGbmTrainerSpec = z.strictObject({
  type: z.literal('lightgbm'),
  params: LightGbmParamsSpec.default(LightGbmParamsSpec.parse({})),
  seed: Seed,
  taskQueue: TaskQueue.default(PYTHON_TASK_QUEUE),
});

const PythonTrainerSpec = z.strictObject({
  type: z.literal('python'),
  entrypoint: z
    .string()
    .max(300, 'expected path/to/file.py:function or package.module:function, at most 300 characters')
    .regex(ENTRYPOINT_PATTERN, 'expected path/to/file.py:function or package.module:function'),
  params: z
    .preprocess(
      // Depth first: zod's own JSON check recurses, and a value nested thousands deep must get this message, not a stack overflow.
      (p) => (nesting(p, MAX_PYTHON_PARAMS_DEPTH) > MAX_PYTHON_PARAMS_DEPTH ? { __tooDeep: true } : p),
      z
        .record(z.string().max(200), z.json())
        .refine((p) => !('__tooDeep' in p), `params may nest at most ${MAX_PYTHON_PARAMS_DEPTH} levels deep`)
        .refine((p) => JSON.stringify(p).length <= MAX_PYTHON_PARAMS_CHARS, `params must be at most ${MAX_PYTHON_PARAMS_CHARS / 1024} Ki characters as JSON`),
    )
    .default({}),
  seed: Seed,
  taskQueue: TaskQueue.default(PYTHON_TASK_QUEUE),
  /** Set by the spec loader for a file entrypoint: the stored copy of the file every worker runs. */
  code: z.strictObject({ file: z.string().max(250), sha256: z.string().regex(/^[0-9a-f]{64}$/) }).optional(),
}).superRefine((t, ctx) => {
  // The code the lineage names must be the code that runs: a file's copy under that file's name, a module's none.
  const target = t.entrypoint.slice(0, t.entrypoint.lastIndexOf(':'));
  if (!target.endsWith('.py') && t.code) ctx.addIssue({ code: 'custom', path: ['code'], message: 'a module entrypoint runs what the worker has installed: it takes no stored code' });
  if (target.endsWith('.py') && t.code && t.code.file !== target) ctx.addIssue({ code: 'custom', path: ['code', 'file'], message: `the stored code is of ${t.code.file}, the entrypoint names ${target}` });
});

/**
 * `trainer.seed` is common to every trainer; the built-in GBDT keeps it as `params.seed`
 * (where it always was), so a `seed` beside its params moves there.
 */
function gbdtSeedInParams(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || (raw as { type?: unknown }).type !== 'gbdt' || !('seed' in raw)) return raw;
  const { seed, ...rest } = raw as { seed: unknown; params?: Record<string, unknown> };
  const params = rest.params ?? {};
  if (typeof params !== 'object' || params === null) return raw;
  if ('seed' in params && params.seed !== seed) return raw; // refused below: two different seeds
  return { ...rest, params: { ...params, seed } };
}

export const TrainerSpec = z.preprocess(
  gbdtSeedInParams,
  z.discriminatedUnion('type', [GbdtTrainerSpec, LightGbmTrainerSpec, PythonTrainerSpec], {
    error: (issue) => (issue.code === 'invalid_union' ? 'expected trainer.type gbdt, lightgbm or python (a gbdt trainer takes one seed: trainer.seed or trainer.params.seed)' : undefined),
  }),
);
export type TrainerSpec = z.infer<typeof TrainerSpec>;
export type GbdtTrainerSpec = z.infer<typeof GbdtTrainerSpec>;
export type GbdtTrainerInput = z.input<typeof GbdtTrainerSpec>;
export type PythonTrainerSpec = z.infer<typeof PythonTrainerSpec>;
export type LightGbmTrainerSpec = z.infer<typeof LightGbmTrainerSpec>;
/** Trainers that run on a Python worker and hand back ONNX. */
export type ExternalTrainerSpec = LightGbmTrainerSpec | PythonTrainerSpec;

export const Metric = z.enum(['auc', 'logLoss', 'accuracy', 'brier']);
export type Metric = z.infer<typeof Metric>;

export const EvaluationSpec = z.strictObject({
  metrics: z.array(Metric).min(1).default(['auc', 'logLoss', 'accuracy', 'brier']),
  gates: z
    .object({
      /** Absolute thresholds per metric. */
      min: z.partialRecord(Metric, z.number()).default({}),
      max: z.partialRecord(Metric, z.number()).default({}),
      /** Metrics on which the model must beat the constant base-rate predictor. */
      beatBaseRate: z.array(Metric).default([]),
      /** How much worse than the current champion (same holdout) a candidate may be, per metric. */
      maxRegression: z.partialRecord(Metric, z.number().nonnegative()).default({}),
    })
    .default({ min: {}, max: {}, beatBaseRate: [], maxRegression: {} }),
});

const Duration = z.string().regex(DURATION_PATTERN, 'expected a duration such as 90s, 15m, 72h or 7d');

const Fingerprint = z.string().regex(/^[0-9a-f]{32}$/, 'expected a key fingerprint (32 hex digits, as `npx perennial keys list` prints it)');

export const ApprovalSpec = z.strictObject({
  /** Who may approve, reject, roll back, retire and change policy. */
  approvers: z.array(Actor).min(1).max(50),
  /** Who may pause, resume and retrain now (default: the approvers). */
  operators: z.array(Actor).min(1).max(50).optional(),
  /**
   * `required`: every human action is signed by its actor's key (`npx perennial keys create`).
   * `off` only for a sandbox: then `by` is whatever the sender writes.
   */
  signatures: z.enum(['required', 'off']).default('required'),
  /** Pinned key fingerprints by name; a name without one trusts the first key registered for it. */
  keys: z.record(Actor, Fingerprint).default({}),
  /** When on, whoever started a training may not approve its candidate. */
  separationOfDuties: z.boolean().default(true),
  /** A candidate nobody decided on by then is rejected. */
  timeout: Duration.default('72h'),
});

export const RolloutSpec = z.strictObject({
  /** How long the model server may take to serve a promoted version before the promotion is undone. */
  deployTimeout: Duration.default('2m'),
});

const Thresholds = z.partialRecord(Metric, z.number());

/** How live traffic is compared with the champion's training profile (src/drift/report.ts). */
export const DriftPolicySpec = z.strictObject({
  /** Family-wise significance of one check: same-distribution traffic breaches at most this often. */
  alpha: z.number().gt(0).lt(1).default(0.01),
  /** How the p-value tests of many features share alpha. */
  correction: z.enum(['bonferroni', 'none']).default('bonferroni'),
  /** PSI at or above which a significant shift is large enough to act on. */
  psiThreshold: z.number().positive().default(0.2),
  tests: z
    .object({
      numeric: z.array(z.enum(['ks', 'psi'])).default(['ks', 'psi']),
      categorical: z.array(z.enum(['chi2', 'psi'])).default(['chi2', 'psi']),
    })
    .default({ numeric: ['ks', 'psi'], categorical: ['chi2', 'psi'] }),
  /** Also test the drift of the predicted scores against the scores on the training window. */
  predictions: z.boolean().default(true),
  /**
   * Features not tested for drift. Calendar parts are the usual case: an hour of live
   * traffic has one `hour`, never the training window's spread, so they would breach on
   * every short window without anything having changed.
   */
  exclude: z.array(identifier).default([]),
});
export type DriftPolicySpec = z.infer<typeof DriftPolicySpec>;

export const PerformanceSpec = z.strictObject({
  /** Fewer labeled rows than this: performance is not judged. */
  minLabeled: z.number().int().min(10).default(200),
  /** Judge the most recent this many labeled rows (by when they were logged). */
  window: z.number().int().min(10).default(5000),
  /**
   * Judge instead the labeled rows whose own event time (the spec's `timeColumn`) lies within
   * this long of the newest labeled event time, e.g. `7d`: traffic logged out of event-time
   * order (a backfill, a slow segment) cannot dilute the latest week with older rows.
   */
  eventWindow: Duration.optional(),
  /** The floor: absolute bounds per metric on the labeled live rows. */
  min: Thresholds.default({}),
  max: Thresholds.default({}),
  /** How much worse than the champion's own holdout metrics live performance may get, per metric. */
  maxDrop: z.partialRecord(Metric, z.number().nonnegative()).default({}),
});
export type PerformanceSpec = z.infer<typeof PerformanceSpec>;

/** The SERVING stage's durable loop: every `interval`, the newest logged traffic against the champion. */
export const MonitoringSpec = z.strictObject({
  interval: Duration.default('1h'),
  /** Fewer new rows than this: the check records "not enough data" and decides nothing. */
  minRows: z.number().int().min(1).default(500),
  /** At most this many of the newest rows per check (a backlog is not replayed check by check). */
  maxRows: z.number().int().min(1).default(50_000),
  drift: DriftPolicySpec.default(DriftPolicySpec.parse({})),
  performance: PerformanceSpec.default(PerformanceSpec.parse({})),
  /** Prediction-log rows and check reports older than this are pruned; versions and the ledger never are. */
  retention: Duration.default('30d'),
});
export type MonitoringSpec = z.infer<typeof MonitoringSpec>;

export const RetrainSpec = z.strictObject({
  /** Retrain after this many consecutive drift breaches; null: drift alone never retrains. */
  onDrift: z.strictObject({ consecutiveBreaches: z.number().int().min(1).default(3) }).nullable().default({ consecutiveBreaches: 3 }),
  /** Retrain when live performance falls through the monitoring floor. */
  onPerformance: z.boolean().default(true),
  /** A Temporal Schedule (visible and pausable in the Web UI) that asks for a retrain. */
  schedule: z.union([z.strictObject({ cron: z.string().regex(/^\S+( \S+){4}$/, 'expected a cron expression of five fields, e.g. "0 3 * * 1"') }), z.strictObject({ every: Duration })]).optional(),
  /** No retrain starts within this time of the previous one. */
  cooldown: Duration.default('24h'),
  /** At most `max` retrains in any `per`. */
  budget: z.strictObject({ max: z.number().int().min(1).default(3), per: Duration.default('7d') }).default({ max: 3, per: '7d' }),
  /**
   * Window lengths of a retrain, counted back from the latest event time labeled traffic
   * reached (event time, not the wall clock); default: the spec's own window lengths.
   */
  window: z.strictObject({ training: Duration.optional(), holdout: Duration.optional() }).default({}),
});
export type RetrainSpec = z.infer<typeof RetrainSpec>;

const ModelSpecShape = z.strictObject({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'expected a lower-case name of letters, digits and -'),
    description: z.string().optional(),
    data: z.strictObject({
      /** Parquet or CSV path or glob; relative to the spec file, or `npm:<package>/<path>`. */
      source: z.string().min(1),
      format: z.enum(['parquet', 'csv']).optional(),
      timeColumn: identifier,
      columns: z.record(identifier, ColumnSpec),
      training: Window,
      holdout: Window,
      minRows: z.strictObject({ training: z.number().int().min(1).default(1000), holdout: z.number().int().min(1).default(200) }).default({ training: 1000, holdout: 200 }),
    }),
    target: TargetSpec,
    lookups: z.record(identifier, LookupTableSpec).default({}),
    features: z.array(FeatureSpec).min(1),
    trainer: TrainerSpec,
    evaluation: EvaluationSpec.default(EvaluationSpec.parse({})),
    approval: ApprovalSpec,
    rollout: RolloutSpec.default({ deployTimeout: '2m' }),
    /** Absent: the lifecycle serves without watching (lifecycles started before monitoring existed). */
    monitoring: MonitoringSpec.optional(),
    /** Absent: retrains only on demand, without cooldown or budget. */
    retrain: RetrainSpec.optional(),
});

export const ModelSpec = ModelSpecShape.superRefine(checkReferences);

export type ModelSpec = z.infer<typeof ModelSpec>;
export type ModelSpecInput = z.input<typeof ModelSpec>;

/** Cross-field rules: every name a spec uses must be defined, and time must not leak. */
function checkReferences(spec: z.output<typeof ModelSpecShape>, ctx: z.RefinementCtx): void {
  const columns = spec.data.columns;
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const needColumn = (path: (string | number)[], name: string, type?: ColumnSpec['type']) => {
    const c = columns[name];
    if (!c) issue(path, `column "${name}" is not declared in data.columns`);
    else if (type && c.type !== type) issue(path, `column "${name}" must be of type ${type}, is ${c.type}`);
  };
  needColumn(['data', 'timeColumn'], spec.data.timeColumn, 'timestamp');
  needColumn(['target', 'column'], spec.target.column);
  const training = windowMs(spec.data.training);
  const holdout = windowMs(spec.data.holdout);
  if (holdout.start < training.end) {
    issue(['data', 'holdout'], 'holdout must start at or after the end of the training window (honest, time-based evaluation)');
  }
  const lookups = spec.lookups;
  for (const [table, t] of Object.entries(lookups)) {
    t.keys.forEach((k, i) => needColumn(['lookups', table, 'keys', i], k));
    for (const [stat, s] of Object.entries(t.stats)) {
      if (s.agg === 'mean') needColumn(['lookups', table, 'stats', stat, 'column'], s.column, 'number');
    }
  }
  const names = new Set(spec.features.map((f) => f.name));
  spec.monitoring?.drift.exclude.forEach((name, i) => {
    if (!names.has(name)) issue(['monitoring', 'drift', 'exclude', i], `"${name}" is not a feature of this spec`);
  });
  const seen = new Set<string>();
  spec.features.forEach((f, i) => {
    const path = ['features', i];
    if (seen.has(f.name)) issue([...path, 'name'], `duplicate feature name "${f.name}"`);
    seen.add(f.name);
    const t = f.transform;
    if (t.from === 'column') {
      needColumn([...path, 'transform', 'column'], t.column, f.kind === 'numeric' ? 'number' : undefined);
      if (t.column === spec.target.column) issue([...path, 'transform', 'column'], 'a feature may not read the target column');
    }
    if (t.from === 'datePart') needColumn([...path, 'transform', 'column'], t.column, 'timestamp');
    if (t.from === 'category') {
      needColumn([...path, 'transform', 'column'], t.column);
      if (f.kind !== 'categorical') issue([...path, 'kind'], 'a category transform makes a categorical feature');
    }
    if (t.from === 'lookup') {
      const table = lookups[t.table];
      if (!table) issue([...path, 'transform', 'table'], `lookup table "${t.table}" is not defined in lookups`);
      else if (!table.stats[t.stat]) issue([...path, 'transform', 'stat'], `lookup table "${t.table}" has no stat "${t.stat}"`);
      if (f.kind !== 'numeric') issue([...path, 'kind'], 'a lookup statistic is numeric');
    }
  });
}

/** The built-in GBDT's settings, where only it can run (the in-process trainer, benchmarks of it). */
export function gbdtTrainer(spec: { trainer: TrainerSpec }): GbdtTrainerSpec {
  if (spec.trainer.type !== 'gbdt') throw new Error(`expected a gbdt trainer, got ${spec.trainer.type}`);
  return spec.trainer;
}
