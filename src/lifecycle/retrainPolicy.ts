import type { ModelSpec, RetrainSpec, Window } from '../spec/modelSpec';
import { windowMs } from '../spec/specValues';
import { durationMs } from '../util/duration';
import type { CheckSummary } from './contract';

/**
 * The retrain policy from the spec, as pure functions the workflow calls: what triggers
 * a retrain, what holds one back (cooldown, budget), and which event-time windows it
 * trains on. Retrains are the trainings after the first; the first is not rate-limited.
 */

/** Retrain start times still inside the budget period (the rest no longer matter). */
export function recentRetrains(policy: RetrainSpec | undefined, starts: readonly string[], nowMs: number): string[] {
  if (!policy) return starts.slice(-10);
  const per = durationMs(policy.budget.per);
  const cooldown = durationMs(policy.cooldown);
  const keep = Math.max(per, cooldown);
  return starts.filter((t) => nowMs - Date.parse(t) < keep);
}

/** Why a retrain may not start now (cooldown or budget), or null when it may. */
export function retrainHeldBack(policy: RetrainSpec | undefined, starts: readonly string[], nowMs: number): string | null {
  if (!policy || starts.length === 0) return null;
  const last = Date.parse(starts[starts.length - 1]);
  const cooldownEnds = last + durationMs(policy.cooldown);
  if (nowMs < cooldownEnds) {
    return `cooling down until ${new Date(cooldownEnds).toISOString()} (cooldown ${policy.cooldown} after the retrain started ${starts[starts.length - 1]})`;
  }
  const per = durationMs(policy.budget.per);
  const inPeriod = starts.filter((t) => nowMs - Date.parse(t) < per);
  if (inPeriod.length >= policy.budget.max) {
    const freesAt = Date.parse(inPeriod[0]) + per;
    return `retrain budget spent: ${inPeriod.length} retrains in the last ${policy.budget.per} (max ${policy.budget.max}); the next is possible at ${new Date(freesAt).toISOString()}`;
  }
  return null;
}

export interface RetrainTrigger {
  kind: 'drift' | 'performance';
  reason: string;
}

/** Whether the latest check, with the run of breaches so far, calls for a retrain. */
export function retrainTrigger(policy: RetrainSpec | undefined, check: CheckSummary, consecutiveBreaches: number, performanceReasons: readonly string[]): RetrainTrigger | null {
  if (!policy) return null;
  if (policy.onPerformance && check.performance.belowFloor) {
    return { kind: 'performance', reason: `live performance below the floor on ${check.performance.labeled} labeled rows: ${performanceReasons.join('; ')}` };
  }
  const k = policy.onDrift?.consecutiveBreaches;
  if (k !== undefined && consecutiveBreaches >= k) {
    return {
      kind: 'drift',
      reason: `drift breached ${consecutiveBreaches} consecutive checks (policy: ${k}); latest score ${check.score.toFixed(4)} on ${check.breachedFeatures.join(', ')}`,
    };
  }
  return null;
}

/**
 * The windows a retrain trains and judges on: they end at the latest event time labeled
 * traffic has reached (not the wall clock), the holdout the newest part. Without labeled
 * traffic yet, the spec's own windows.
 */
export function retrainWindows(spec: ModelSpec, labeledUntil: string | null): { training: Window; holdout: Window } {
  if (!labeledUntil) return { training: spec.data.training, holdout: spec.data.holdout };
  const t = windowMs(spec.data.training);
  const h = windowMs(spec.data.holdout);
  const trainingMs = spec.retrain?.window.training ? durationMs(spec.retrain.window.training) : t.end - t.start;
  const holdoutMs = spec.retrain?.window.holdout ? durationMs(spec.retrain.window.holdout) : h.end - h.start;
  // End is exclusive: one millisecond past the latest labeled event keeps that event in.
  const end = Date.parse(labeledUntil) + 1;
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    training: { start: iso(end - holdoutMs - trainingMs), end: iso(end - holdoutMs) },
    holdout: { start: iso(end - holdoutMs), end: iso(end) },
  };
}

/** The spec a retrain runs with: the same model description over the new windows. */
export function retrainSpec(spec: ModelSpec, windows: { training: Window; holdout: Window }): ModelSpec {
  return { ...spec, data: { ...spec.data, training: windows.training, holdout: windows.holdout } };
}
