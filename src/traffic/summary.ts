import type { Scenario } from './options';
import type { LabelStats } from './labels';
import type { ReplayStats } from './replay';
import type { ShiftKeys } from './rareKeys';

/** What one run of traffic did: returned by `runTraffic`, printed by `perennial traffic`. */
export interface TrafficSummary {
  model: string;
  serverUrl: string;
  scenario: Scenario;
  /** Seeds `same`'s sample: pass it again to send the same rows. */
  seed: number;
  /** The period the rows were drawn from, [from, to) (ISO UTC). */
  window: { from: string; to: string };
  /** First and last event time among the rows sent (ISO UTC); null when none was sent. */
  period: { first: string | null; last: string | null };
  rowsRequested: number;
  rowsSent: number;
  predictions: number;
  /** Predictions per model version that scored them, e.g. {"1": 180, "2": 20}. */
  modelVersions: Record<string, number>;
  /** Null when labels were not sent (`labelDelayMs` null or negative). */
  labels: Omit<LabelStats, 'latestEventMs'> | null;
  /** Failed requests by HTTP status (`network`: no answer), predict and labels apart. */
  httpErrors: { predict: Record<string, number>; labels: Record<string, number> };
  lastError: string | null;
  rate: { requested: number; achieved: number };
  batch: number;
  elapsedMs: number;
  /** Share of the sent rows whose target is 1. */
  positiveRate: number | null;
  /** The latest event time among rows whose label the server accepted (ISO UTC). */
  latestLabeledEventTime: string | null;
  /** `done`, or the bound that ended the run early. */
  stoppedBy: ReplayStats['stoppedBy'];
  /** shift: what counted as rare, per key column. */
  shift?: ShiftKeys;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function summarize(o: {
  model: string;
  serverUrl: string;
  scenario: Scenario;
  seed: number;
  rowsRequested: number;
  rate: number;
  batch: number;
  window: TrafficSummary['window'];
  shift?: ShiftKeys;
  sent: ReplayStats;
  labels: LabelStats | null;
  labelErrors: { byStatus: Record<string, number>; last: string | null };
  elapsedMs: number;
}): TrafficSummary {
  const { sent } = o;
  const { latestEventMs, ...labels } = o.labels ?? { latestEventMs: null };
  return {
    model: o.model,
    serverUrl: o.serverUrl,
    scenario: o.scenario,
    seed: o.seed,
    window: o.window,
    period: { first: iso(sent.firstEventMs), last: iso(sent.lastEventMs) },
    rowsRequested: o.rowsRequested,
    rowsSent: sent.rowsSent,
    predictions: sent.predictions,
    modelVersions: sent.modelVersions,
    labels: o.labels ? (labels as Omit<LabelStats, 'latestEventMs'>) : null,
    httpErrors: { predict: sent.errors.byStatus, labels: o.labelErrors.byStatus },
    lastError: sent.errors.last ?? o.labelErrors.last,
    rate: { requested: o.rate, achieved: sent.sendMs > 0 ? round(sent.rowsSent / (sent.sendMs / 1000), 2) : 0 },
    batch: o.batch,
    elapsedMs: Math.round(o.elapsedMs),
    positiveRate: sent.rowsSent > 0 ? round(sent.positives / sent.rowsSent, 4) : null,
    latestLabeledEventTime: iso(latestEventMs),
    stoppedBy: sent.stoppedBy,
    ...(o.shift ? { shift: o.shift } : {}),
  };
}

/** Requests that failed, and labels the server refused: a run with any did not fully happen. */
export function problemsOf(s: TrafficSummary): string[] {
  const out: string[] = [];
  const failed = (m: Record<string, number>) => Object.entries(m).map(([status, n]) => `${n}× ${status}`).join(', ');
  if (Object.keys(s.httpErrors.predict).length) out.push(`predict requests failed: ${failed(s.httpErrors.predict)}`);
  if (Object.keys(s.httpErrors.labels).length) out.push(`label requests failed: ${failed(s.httpErrors.labels)}`);
  if (s.labels?.unknown) out.push(`${s.labels.unknown} labels for request ids the server did not know`);
  if (s.labels?.conflicts) out.push(`${s.labels.conflicts} labels conflicting with ones already recorded`);
  return out;
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The summary for people. */
export function summaryText(s: TrafficSummary): string {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
  const versions = Object.entries(s.modelVersions).map(([v, n]) => `v${v}: ${n}`).join(', ') || 'none';
  const stopped = s.stoppedBy === 'done' ? '' : ` — stopped early (${s.stoppedBy === 'max-time' ? 'time limit' : s.stoppedBy === 'aborted' ? 'interrupted' : 'the server stopped answering'})`;
  const lines = [
    `${s.model}: ${s.rowsSent} of ${s.rowsRequested} rows sent (${s.scenario}, seed ${s.seed}) to ${s.serverUrl} in ${seconds(s.elapsedMs)}${stopped}`,
    `  rate        ${s.rate.achieved} rows/s achieved of ${s.rate.requested} asked, ${s.batch} per request`,
    `  drawn from  ${s.window.from} → ${s.window.to}`,
    `  event times ${s.period.first ?? '-'} … ${s.period.last ?? '-'}`,
    `  predictions ${s.predictions} (${versions})`,
    `  positives   ${s.positiveRate === null ? '-' : `${(s.positiveRate * 100).toFixed(1)}% of the rows sent`}`,
  ];
  if (s.labels) {
    const l = s.labels;
    lines.push(`  labels      ${l.accepted} accepted of ${l.posted} posted ${seconds(l.delayMs)} after each prediction; ${l.unknown} unknown, ${l.conflicts} conflicting, ${l.failed} failed, ${l.notLabeled} not yet due when stopped`);
    lines.push(`  labeled up to event time ${s.latestLabeledEventTime ?? '-'}`);
  } else lines.push('  labels      none sent');
  if (s.shift) {
    const cols = Object.entries(s.shift.columns).map(([c, k]) => `${c} (${k.rareValues} rare values, ≤ ${k.maxTrainingCount} training rows each, or unseen)`);
    lines.push(`  shift       every row's ${cols.join(' and ')}`);
  }
  const problems = problemsOf(s);
  lines.push(problems.length ? `  problems    ${problems.join('; ')}${s.lastError ? ` (last: ${s.lastError})` : ''}` : '  problems    none');
  return lines.join('\n');
}
