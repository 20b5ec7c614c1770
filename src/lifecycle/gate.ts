import type { ModelSpec, Metric } from '../spec/modelSpec';
import { HIGHER_IS_BETTER } from '../spec/specValues';
import type { GateResult, Metrics } from './contract';


const f = (x: number) => x.toFixed(4);

/**
 * The evaluation gate from the spec: absolute thresholds, beating the constant
 * base-rate predictor, and no more than the allowed regression against the champion
 * scored on the same holdout. Pure: the workflow calls it.
 */
export function evaluateGate(
  gates: ModelSpec['evaluation']['gates'],
  candidate: Metrics,
  baseRate: Metrics,
  champion: Metrics | null,
): GateResult {
  const checks: GateResult['checks'] = [];
  const check = (rule: string, passed: boolean, detail: string) => checks.push({ rule, passed, detail });

  for (const [metric, min] of Object.entries(gates.min) as [Metric, number][]) {
    check(`min:${metric}`, candidate[metric] >= min, `${metric} ${f(candidate[metric])} ${candidate[metric] >= min ? '≥' : '<'} minimum ${min}`);
  }
  for (const [metric, max] of Object.entries(gates.max) as [Metric, number][]) {
    check(`max:${metric}`, candidate[metric] <= max, `${metric} ${f(candidate[metric])} ${candidate[metric] <= max ? '≤' : '>'} maximum ${max}`);
  }
  for (const metric of gates.beatBaseRate) {
    const better = HIGHER_IS_BETTER[metric] ? candidate[metric] > baseRate[metric] : candidate[metric] < baseRate[metric];
    check(`beatBaseRate:${metric}`, better, `${metric} ${f(candidate[metric])} ${better ? 'beats' : 'does not beat'} the base rate's ${f(baseRate[metric])}`);
  }
  if (champion) {
    for (const [metric, tolerance] of Object.entries(gates.maxRegression) as [Metric, number][]) {
      const worseBy = HIGHER_IS_BETTER[metric] ? champion[metric] - candidate[metric] : candidate[metric] - champion[metric];
      const ok = worseBy <= tolerance;
      check(
        `maxRegression:${metric}`,
        ok,
        `${metric} ${f(candidate[metric])} vs champion ${f(champion[metric])} on the same holdout: ` +
          (worseBy > 0 ? `worse by ${f(worseBy)}, ${ok ? 'within' : 'beyond'} the allowed ${tolerance}` : 'not worse'),
      );
    }
  }
  const reasons = checks.filter((c) => !c.passed).map((c) => c.detail);
  return { passed: reasons.length === 0, reasons, checks };
}
