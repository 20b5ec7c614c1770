import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { Metrics } from '../../src/lifecycle/contract';
import { PerennialCandidate, PerennialChampion, PerennialCheckedAt, PerennialDriftScore, PerennialModel, PerennialStage } from '../../src/temporal/searchAttributes';
import type { LifecycleState } from './state';

export const approveCommand = (model: string, v: number) => `npx perennial approve ${model} --version ${v} --by <you> --reason "<why>"`;

const metricsLine = (m: Metrics) => `AUC ${m.auc.toFixed(4)}, log-loss ${m.logLoss.toFixed(4)}`;

/** What the Web UI shows of the lifecycle: its search attributes and Current Details. */
export function publish(s: LifecycleState): void {
  const { model, stage, champion, candidate, monitor } = s;
  if (s.useSearchAttributes) upsertSearchAttributes([
    { key: PerennialModel, value: model },
    { key: PerennialStage, value: stage },
    { key: PerennialChampion, value: champion?.version ?? null },
    { key: PerennialCandidate, value: candidate?.version ?? null },
    ...(monitor.lastCheck
      ? [
          { key: PerennialDriftScore, value: monitor.lastCheck.score },
          { key: PerennialCheckedAt, value: new Date(monitor.lastCheck.at) },
        ]
      : []),
  ]);
  const lines = [
    `**${model}** — ${stage}`,
    `champion: ${champion ? `v${champion.version} (${metricsLine(champion.metrics)})` : 'none'}`,
    `candidate: ${candidate ? `v${candidate.version} (${metricsLine(candidate.metrics)}; base rate log-loss ${candidate.baseRate.logLoss.toFixed(4)})` : 'none'}`,
    `waiting for: ${s.waitingFor()}`,
  ];
  const c = monitor.lastCheck;
  if (c) {
    lines.push(
      `last check ${c.at}: ${c.enoughData ? `drift score ${c.score.toFixed(3)}${c.breached ? ` — BREACHED on ${c.breachedFeatures.join(', ')}` : ''}` : `not enough data (${c.rows} rows)`}` +
        `${c.performance.auc !== null ? `; live AUC ${c.performance.auc.toFixed(4)} on ${c.performance.labeled} labels` : ''}; consecutive breaches ${monitor.consecutiveBreaches}`,
    );
  }
  if (s.blockedBy) lines.push(`retrain held back: ${s.blockedBy}`);
  if (stage === 'AWAITING_APPROVAL' && candidate) lines.push('', `approve: \`${approveCommand(model, candidate.version)}\``);
  setCurrentDetails(lines.join('\n\n'));
}
