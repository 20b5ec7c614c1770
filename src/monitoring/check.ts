import type { ModelSpec, MonitoringSpec } from '../spec/modelSpec';
import type { DataProfile } from '../data/profile';
import { driftReport, type CurrentWindow, type DriftReport } from '../drift/report';
import { asUtc } from '../spec/specValues';
import type { ArtifactStore } from '../artifacts/store';
import { readArtifactBytes } from '../artifacts/read';
import { ParsedCache } from './profileCache';
import type { Registry } from '../registry/registry';
import type { MonitorWindow } from '../serving/predictionLog';
import type { PredictionReader } from '../serving/predictionStore';
import type { BinaryMetrics } from '../ml/metrics';
import { durationMs } from '../util/duration';
import { judgePerformance, type PerformanceJudgement } from './performance';

export interface MonitorCheckInput {
  spec: ModelSpec;
  /** The champion version whose traffic is checked. */
  version: number;
  /** Prediction-log row id the previous check read up to. */
  cursor: number;
  /** The check's time (the workflow's clock): retention counts back from it. */
  asOf: string;
  /** Unique per check (e.g. workflow id and check number): a retried activity stores one report. */
  checkKey: string;
}

/** What the lifecycle needs to decide; the full report is stored beside it. */
export interface MonitorCheckSummary {
  at: string;
  version: number;
  cursor: { from: number; to: number };
  /** Rows of the champion since the last check, and how many of the newest were tested. */
  available: number;
  rows: number;
  enoughData: boolean;
  /** `excluded`: features the spec keeps out of drift tests. */
  drift: { excluded: string[]; breached: boolean; score: number; breachedFeatures: string[]; perTestAlpha: number; reasons: string[] };
  performance: PerformanceJudgement;
  /** The latest event time labeled traffic has reached (ISO), where a retrain's window ends. */
  labeledUntil: string | null;
  reportUri: string;
  checkId: number;
  pruned: { predictions: number; checks: number };
  /** When the check ended, by its worker's clock (ISO); absent in checks recorded before it. */
  finishedAt?: string;
}

export interface MonitorDeps {
  registry: Registry;
  store: ArtifactStore;
  predictions: PredictionReader;
}

export class MonitorError extends Error {}

/**
 * One monitor check: the champion's traffic since the cursor against its training profile
 * (drift), its labeled traffic against the floor (performance); prunes what retention
 * allows; stores the report whatever it says.
 */
export async function runMonitorCheck(d: MonitorDeps, input: MonitorCheckInput): Promise<MonitorCheckSummary> {
  const { spec, version } = input;
  const monitoring = spec.monitoring;
  if (!monitoring) throw new MonitorError(`${spec.name}'s spec has no monitoring section`);
  const registered = await d.registry.get(spec.name, version);
  if (!registered) throw new MonitorError(`${spec.name} has no version ${version}`);
  const profile = await loadProfile(registered.lineage.profileUri);
  const reference = referenceFor(profile, monitoring);
  const excluded = monitoring.drift.exclude.filter((name) => profile.features.some((f) => f.name === name));

  const window = await d.predictions.window({ model: spec.name, version, afterId: input.cursor, limit: monitoring.maxRows });
  const drift = driftReport(reference, currentWindow(reference, profile, window), {
    alpha: monitoring.drift.alpha,
    psiThreshold: monitoring.drift.psiThreshold,
    correction: monitoring.drift.correction,
    minRows: monitoring.minRows,
    tests: monitoring.drift.tests,
  });
  const labeledUntil = eventTime(await d.predictions.latestLabeledEventTime(spec.name, spec.data.timeColumn));
  const labeled = await labeledRows(d, spec, version, window.to, input.asOf);
  const holdout = (registered.metrics as { holdout?: BinaryMetrics }).holdout ?? null;
  const performance = judgePerformance(monitoring.performance, labeled.labels, labeled.scores, holdout);
  if (labeled.eventWindow) performance.reasons.push(labeled.eventWindow);
  const pruned = await prune(d, spec.name, monitoring, input.asOf);

  const reportUri = await d.store.putNamedJson(`monitor-reports/${spec.name}/${safeName(input.checkKey)}.json`, {
    format: 'perennial.monitor-check/1',
    model: spec.name,
    version,
    at: input.asOf,
    cursor: { from: window.from, to: window.to },
    available: window.available,
    drift,
    performance,
    labeledUntil,
  });
  const summary = {
    at: input.asOf,
    version,
    cursor: { from: window.from, to: window.to },
    available: window.available,
    rows: drift.rows,
    enoughData: drift.enoughData,
    drift: {
      excluded,
      breached: drift.breached,
      score: drift.score,
      breachedFeatures: drift.breachedFeatures,
      perTestAlpha: drift.threshold.perTestAlpha,
      reasons: breachReasons(drift),
    },
    performance,
    labeledUntil,
    reportUri,
    pruned,
  };
  const stored = await d.registry.recordCheck({
    model: spec.name,
    version,
    at: input.asOf,
    rows: drift.rows,
    enoughData: drift.enoughData,
    breached: drift.breached,
    score: drift.score,
    performanceOk: performance.belowFloor === null ? null : !performance.belowFloor,
    cursorFrom: window.from,
    cursorTo: window.to,
    reportUri,
    summary: { breachedFeatures: drift.breachedFeatures, performance: performance.metrics, labeledUntil },
    dedupeKey: input.checkKey,
  });
  return { ...summary, checkId: stored.id };
}

/** Parsed profiles, within 256 MiB of their JSON. */
const profiles = new ParsedCache<DataProfile>(256 * 1024 * 1024);

function loadProfile(uri: string): Promise<DataProfile> {
  return profiles.get(uri, async (u) => {
    const bytes = await readArtifactBytes(u);
    return { value: JSON.parse(bytes.toString('utf8')) as DataProfile, bytes: bytes.length };
  });
}

/**
 * The profile the report tests against: the features not excluded, and the predicted
 * scores when asked for and known.
 */
function referenceFor(profile: DataProfile, monitoring: MonitoringSpec): DataProfile {
  const excluded = new Set(monitoring.drift.exclude);
  const features = profile.features.filter((f) => !excluded.has(f.name));
  if (monitoring.drift.predictions && profile.prediction) features.push(profile.prediction);
  return { ...profile, features };
}

/** The window's columns for the reference's features (logged rows hold every feature, in the profile's order). */
function currentWindow(reference: DataProfile, profile: DataProfile, w: MonitorWindow): CurrentWindow {
  const n = profile.features.length;
  const position = new Map(profile.features.map((f, j) => [f.name, j]));
  const sources = reference.features.map((f) => (f === profile.prediction ? -1 : position.get(f.name)!));
  const columns = sources.map(() => new Float64Array(w.features.length));
  w.features.forEach((row, i) => {
    if (row.length !== n) throw new MonitorError(`a logged row has ${row.length} features, the profile ${n}: was it logged by another model version?`);
    sources.forEach((j, k) => {
      columns[k][i] = j < 0 ? w.scores[i] : (row[j] ?? NaN);
    });
  });
  return { names: reference.features.map((f) => f.name), columns };
}

function breachReasons(r: DriftReport): string[] {
  return r.features.filter((f) => f.breached).map((f) => `${f.name}: ${f.reasons.join('; ')}`);
}

async function prune(d: MonitorDeps, model: string, monitoring: MonitoringSpec, asOf: string): Promise<{ predictions: number; checks: number }> {
  const before = new Date(Date.parse(asOf) - durationMs(monitoring.retention)).toISOString();
  const predictions = await d.predictions.prune(model, before);
  const reports = await d.registry.pruneChecks(model, before);
  for (const uri of reports) await d.store.remove(uri);
  return { predictions, checks: reports.length };
}

/** Labeled rows scanned at most for an event-time window (the newest logged first). */
const EVENT_WINDOW_SCAN = 200_000;

/**
 * The labeled rows performance is judged on: the newest `performance.window` logged, or with
 * `eventWindow` those of this version whose own event time lies within it of the newest one
 * among them — never later than the check itself, so one row dated in the future cannot empty
 * the window.
 */
async function labeledRows(d: MonitorDeps, spec: ModelSpec, version: number, upToId: number, asOf: string): Promise<{ scores: number[]; labels: (0 | 1)[]; eventWindow?: string }> {
  const policy = spec.monitoring!.performance;
  if (!policy.eventWindow) return d.predictions.labeled({ model: spec.name, version, upToId, limit: policy.window });
  const rows = await d.predictions.labeledWithEventTime({ model: spec.name, version, upToId, timeColumn: spec.data.timeColumn, limit: EVENT_WINDOW_SCAN });
  const times = rows.times.map((t) => {
    const at = eventTime(t);
    return at === null ? NaN : Date.parse(at);
  });
  const until = Date.parse(asOf);
  let newest = -Infinity;
  for (const t of times) if (t <= until && t > newest) newest = t;
  const scores: number[] = [];
  const labels: (0 | 1)[] = [];
  if (Number.isFinite(newest)) {
    const from = newest - durationMs(policy.eventWindow);
    times.forEach((t, i) => {
      if (t >= from && t <= newest) {
        scores.push(rows.scores[i]);
        labels.push(rows.labels[i]);
      }
    });
  }
  const scanned = rows.scores.length === EVENT_WINDOW_SCAN ? ` (of the newest ${EVENT_WINDOW_SCAN} labeled rows logged)` : '';
  const window = Number.isFinite(newest) ? `event time from ${new Date(newest - durationMs(policy.eventWindow)).toISOString()} to ${new Date(newest).toISOString()}` : 'no labeled row with a usable event time';
  return { scores, labels, eventWindow: `${labels.length} labeled rows with ${window}${scanned} (eventWindow ${policy.eventWindow})` };
}

/** An event time as clients send it (ISO text, zone or not, or epoch ms) as ISO UTC, or null. */
function eventTime(t: string | number | null): string | null {
  if (t === null) return null;
  const ms = typeof t === 'number' ? t : Date.parse(asUtc(t.replace(' ', 'T')));
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

function safeName(key: string): string {
  return key.replace(/[^A-Za-z0-9._-]+/g, '_');
}
