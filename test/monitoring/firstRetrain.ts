import { checkSummary, nextBreachRun } from '../../src/lifecycle/checkSummary';
import { retrainTrigger, type RetrainTrigger } from '../../src/lifecycle/retrainPolicy';
import type { MonitorCheckSummary } from '../../src/monitoring/check';
import type { RetrainSpec } from '../../src/spec/modelSpec';

export interface FirstRetrain {
  /** 1-based: the check after which the lifecycle asks for a retrain (the detection delay in checks). */
  check: number;
  trigger: RetrainTrigger;
}

/**
 * The lifecycle's retrain decision over a run of checks, with the workflow's own functions:
 * a check with enough data extends the run of breaches or resets it, one without decides
 * nothing, and the policy's own `retrainTrigger` decides after each check.
 * Only the first retrain matters here — it is the detection — and a first automatic
 * retrain is never held back by cooldown or budget, which count retrains already made.
 */
export function firstRetrain(policy: RetrainSpec | undefined, checks: readonly MonitorCheckSummary[]): FirstRetrain | null {
  let run = 0;
  for (const [i, r] of checks.entries()) {
    run = nextBreachRun(run, r);
    const trigger = retrainTrigger(policy, checkSummary(r), run, r.performance.reasons);
    if (trigger) return { check: i + 1, trigger };
  }
  return null;
}
