import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { Metrics } from '../../src/lifecycle/contract';
import { PerennialCandidate, PerennialChampion, PerennialCheckedAt, PerennialDriftScore, PerennialModel, PerennialStage } from '../../src/temporal/searchAttributes';
import type { LifecycleState } from './state';

export const approveCommand = (model: string, v: number) => `npx perennial approve ${model} --version ${v} --by <you> --reason "<why>"`;

const metricsLine = (m: Metrics) => `AUC ${m.auc.toFixed(4)}, log-loss ${m.logLoss.toFixed(4)}`;

/** What the Web UI shows of the lifecycle: its search attributes and Current Details. */
export function publish(s: LifecycleState): void {
  const { model, stage, champion, candidate, monitor } = s;
  const scored = s.shownCheck();
  if (s.useSearchAttributes) upsertSearchAttributes([
    { key: PerennialModel, value: model },
    { key: PerennialStage, value: stage },
    { key: PerennialChampion, value: champion?.version ?? null },
    { key: PerennialCandidate, value: candidate?.version ?? null },
    ...(scored
      ? [
          { key: PerennialDriftScore, value: scored.score },
          { key: PerennialCheckedAt, value: new Date(scored.at) },
        ]
      : s.keepsLastScored
        ? [
            { key: PerennialDriftScore, value: null },
            { key: PerennialCheckedAt, value: null },
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
    const live = c.performance.auc !== null ? `; live AUC ${c.performance.auc.toFixed(4)} on ${c.performance.labeled} labels` : '';
    // A check with too little data shows beside the last score, never instead of it.
    const shown = c.enoughData || !scored ? c : scored;
    const drift = shown.enoughData ? `drift score ${shown.score.toFixed(3)}${shown.breached ? ` — BREACHED on ${shown.breachedFeatures.join(', ')}` : ''}` : `not enough data (${shown.rows} rows)`;
    lines.push(`${shown === c ? 'last check' : 'last scored check'} ${shown.at}: ${drift}${shown === c ? live : ''}; consecutive breaches ${monitor.consecutiveBreaches}`);
    if (shown !== c) lines.push(`last check ${c.at}: not enough data (${c.rows} rows)${live}`);
    const breach = monitor.lastBreach;
    if (breach && breach.at !== shown.at) lines.push(`last breach ${breach.at} of v${breach.version} on ${breach.breachedFeatures.join(', ')} (score ${breach.score.toFixed(3)})`);
  }
  if (s.blockedBy) lines.push(`retrain held back: ${s.blockedBy}`);
  if (stage === 'AWAITING_APPROVAL' && candidate) lines.push('', `approve: \`${approveCommand(model, candidate.version)}\``);
  if (s.reportUrl && /^https?:\/\/[^\s]+$/.test(s.reportUrl)) lines.push(`report: [drift, performance and versions](${s.reportUrl.replace(/[()]/g, encodeURIComponent)})`);
  setCurrentDetails(lines.join('\n\n'));
}
