import type { Metric, PerformanceSpec } from '../spec/modelSpec';
import { HIGHER_IS_BETTER } from '../spec/specValues';
import { binaryMetrics, type BinaryMetrics } from '../ml/metrics';

const f = (x: number) => x.toFixed(4);

export interface PerformanceJudgement {
  labeled: number;
  /** null: not judged (too few labels, or one class only) — decides nothing. */
  metrics: BinaryMetrics | null;
  /** null when not judged. */
  belowFloor: boolean | null;
  /** Why it is below the floor, or why it was not judged. */
  reasons: string[];
}

/**
 * Live performance on the labeled rows of a version against the spec's floor: absolute
 * bounds, and the largest drop allowed from the champion's own holdout metrics. Pure.
 */
export function judgePerformance(policy: PerformanceSpec, labels: ArrayLike<number>, scores: ArrayLike<number>, holdout: BinaryMetrics | null): PerformanceJudgement {
  const labeled = labels.length;
  if (labeled < policy.minLabeled) {
    return { labeled, metrics: null, belowFloor: null, reasons: [`not judged: ${labeled} labeled rows < minLabeled ${policy.minLabeled}`] };
  }
  let positives = 0;
  for (let i = 0; i < labeled; i++) positives += labels[i];
  if (positives === 0 || positives === labeled) {
    return { labeled, metrics: null, belowFloor: null, reasons: [`not judged: the ${labeled} labeled rows are all ${positives === 0 ? 'negative' : 'positive'}`] };
  }
  const metrics = binaryMetrics(labels, scores);
  const reasons: string[] = [];
  for (const [m, min] of Object.entries(policy.min) as [Metric, number][]) {
    if (metrics[m] < min) reasons.push(`live ${m} ${f(metrics[m])} < floor ${min}`);
  }
  for (const [m, max] of Object.entries(policy.max) as [Metric, number][]) {
    if (metrics[m] > max) reasons.push(`live ${m} ${f(metrics[m])} > ceiling ${max}`);
  }
  if (holdout) {
    for (const [m, drop] of Object.entries(policy.maxDrop) as [Metric, number][]) {
      const worseBy = HIGHER_IS_BETTER[m] ? holdout[m] - metrics[m] : metrics[m] - holdout[m];
      if (worseBy > drop) reasons.push(`live ${m} ${f(metrics[m])} is ${f(worseBy)} worse than on the holdout (${f(holdout[m])}), more than the allowed ${drop}`);
    }
  }
  return { labeled, metrics, belowFloor: reasons.length > 0, reasons };
}
