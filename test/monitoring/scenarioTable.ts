import type { BinaryMetrics } from '../../src/ml/metrics';
import type { FirstRetrain } from './firstRetrain';
import type { ScenarioCheck } from './scenarioChecks';

/** What the monitor saw in one scenario, as one line of the printed table. */
export interface ScenarioFigures {
  scenario: string;
  checks: ScenarioCheck[];
  retrain: FirstRetrain | null;
}

const f3 = (x: number) => x.toFixed(3);
const range = (xs: number[]) => (xs.length === 0 ? '—' : `${f3(Math.min(...xs))}–${f3(Math.max(...xs))}`);

/** Breached features with the number of checks each breached in, most frequent first. */
function breachedFeatures(checks: ScenarioCheck[]): string {
  const counts = new Map<string, number>();
  for (const c of checks) for (const name of c.summary.drift.breachedFeatures) counts.set(name, (counts.get(name) ?? 0) + 1);
  if (counts.size === 0) return '—';
  return [...counts].sort((a, b) => b[1] - a[1]).map(([name, n]) => (n === checks.length ? name : `${name}(${n})`)).join(', ');
}

function row(s: ScenarioFigures): string[] {
  const summaries = s.checks.map((c) => c.summary);
  const judged = summaries.map((c) => c.performance.metrics).filter((m): m is BinaryMetrics => m !== null);
  const below = summaries.filter((c) => c.performance.belowFloor).length;
  return [
    s.scenario,
    `${summaries.length}×${summaries[0]?.rows ?? 0}`,
    `${summaries.filter((c) => c.drift.breached).length}/${summaries.length}`,
    range(summaries.map((c) => c.drift.score)),
    range(judged.map((m) => m.auc)),
    range(judged.map((m) => m.logLoss)),
    range(s.checks.map((c) => c.labelRate)),
    `${below}/${summaries.length}`,
    s.retrain ? `${s.retrain.check} (${s.retrain.trigger.kind})` : `none in ${summaries.length}`,
    breachedFeatures(s.checks),
  ];
}

/** A fixed-width table of every scenario, under the champion's holdout metrics. */
export function scenarioTable(holdout: BinaryMetrics, figures: ScenarioFigures[]): string {
  const header = ['scenario', 'checks', 'breached', 'max PSI', 'live AUC', 'live log-loss', 'late rate', 'below floor', 'retrain after', 'breached features (checks)'];
  const rows = [header, ...figures.map(row)];
  const widths = header.map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  const lines = rows.map((r) => r.map((cell, j) => (j === r.length - 1 ? cell : cell.padEnd(widths[j]))).join('  '));
  return [`holdout: AUC ${f3(holdout.auc)}, log-loss ${f3(holdout.logLoss)}`, ...lines].join('\n');
}
