import { reportUrl, workflowUrl } from '../config';
import type { LifecycleStatus, Metrics } from '../lifecycle/contract';
import { printable } from '../lifecycle/limits';
import { lifecycleWorkflowId } from '../lifecycle/names';
import { cliIdentity, actorOrDefault, connect, describeLifecycle, noLifecycle, queryStatus, rootMessage, type Ctx } from './context';
import { CliError, EXIT, f4, relative, type CommandResult } from './output';

const HISTORY_SHOWN = 10;
const REFUSED_SHOWN = 5;

/** `status <model> [--json]`: the lifecycle's `status` query (`--json`: the result unchanged). */
export async function statusCommand(ctx: Ctx, model: string): Promise<CommandResult> {
  const client = await connect(ctx.config, cliIdentity(actorOrDefault(undefined)));
  try {
    const description = await describeLifecycle(client, model);
    if (!description) throw noLifecycle(ctx, model);
    const workflowId = lifecycleWorkflowId(model);
    const webUi = workflowUrl(ctx.config, workflowId, description.runId);
    const ended = description.status.name === 'RUNNING' ? '' : `lifecycle ended: ${description.status.name}`;
    let status: LifecycleStatus;
    try {
      status = await queryStatus(ctx, client.workflow.getHandle(workflowId, description.runId), webUi);
    } catch (err) {
      if (!ended || err instanceof CliError) throw err;
      // A lifecycle that was terminated (or failed) cannot always answer a query: say what happened.
      const at = description.closeTime ? ` at ${description.closeTime.toISOString()}` : '';
      throw new CliError('not_found', `the lifecycle of ${model} is not running: it was ${description.status.name}${at}, and its last state cannot be queried (${rootMessage(err)})`, { model, workflowId, status: description.status.name, webUi }, [
        `its history is in the Web UI: ${webUi}`,
        `start a new one with: npx perennial start-lifecycle ${model} --by <you>`,
      ]);
    }
    return { exitCode: EXIT.ok, json: status, text: statusText(status, webUi, ended, reportUrl(ctx.config, model)) };
  } finally {
    await client.connection.close();
  }
}

const metricsLine = (m: Metrics) => `AUC ${f4(m.auc)}  log-loss ${f4(m.logLoss)}  accuracy ${f4(m.accuracy)}  Brier ${f4(m.brier)}`;

export function approveCommand(model: string, version: number): string {
  return `npx perennial approve ${model} --version ${version} --by <you> --reason "<why>"`;
}

export function statusText(s: LifecycleStatus, webUi: string, ended = '', report?: string): string {
  const out: string[] = [];
  out.push(`${s.model} — ${s.stage}${ended ? ` (${ended})` : ''}   spec version ${s.specVersion}`);
  out.push(s.champion ? `champion:   v${s.champion.version} since ${s.champion.since}   ${metricsLine(s.champion.metrics)}` : 'champion:   none');
  const c = s.candidate;
  if (!c) out.push('candidate:  none');
  else {
    out.push(`candidate:  v${c.version}, trained by ${c.trainedBy} (${c.trainingWorkflowId})`);
    out.push(`  holdout    ${metricsLine(c.metrics)}`);
    out.push(`  base rate  ${metricsLine(c.baseRate)}`);
    if (c.championOnSameHoldout) out.push(`  champion   ${metricsLine(c.championOnSameHoldout)}   (same holdout)`);
    out.push(`  gate       ${c.gate.passed ? 'passed' : 'FAILED'}`);
    for (const check of c.gate.checks) out.push(`    ${check.passed ? '✓' : '✗'} ${check.detail}`);
    if (c.approvalDeadline) out.push(`  deadline   ${c.approvalDeadline} (${relative(c.approvalDeadline)}); undecided by then, it is rejected`);
  }
  out.push(`waiting for: ${s.waitingFor}`);
  out.push(...monitoringLines(s));
  if (s.stage === 'AWAITING_APPROVAL' && c) {
    out.push(`approve:    ${approveCommand(s.model, c.version)}`);
    out.push(`reject:     npx perennial reject ${s.model} --version ${c.version} --by <you> --reason "<why>"`);
  } else if (s.stage === 'SERVING' || s.stage === 'IDLE' || s.stage === 'PAUSED') {
    const monitorAction = s.stage === 'PAUSED' ? 'resume|' : s.monitoring.state === 'watching' ? 'pause|' : '';
    out.push(`actions:    npx perennial ${monitorAction}retrain|retire ${s.model} --by <you> --reason "<why>"${s.stage !== 'IDLE' ? `; rollback ${s.model} --to N …` : ''}`);
  }
  if (s.history.length > 0) {
    out.push(`history (last ${Math.min(HISTORY_SHOWN, s.history.length)} of ${s.history.length}):`);
    for (const h of s.history.slice(-HISTORY_SHOWN)) {
      out.push(`  ${h.at}  ${h.event}${h.version !== undefined ? ` v${h.version}` : ''}${h.by ? ` by ${h.by}` : ''}${h.reason ? ` — ${h.reason}` : ''}`);
    }
  }
  if (s.refused.length > 0) {
    out.push(`refused (last ${Math.min(REFUSED_SHOWN, s.refused.length)} of ${s.refused.length}; refused updates are only in the CLI's log):`);
    // What refused senders wrote is shown escaped: no control sequence of theirs reaches the terminal.
    for (const r of s.refused.slice(-REFUSED_SHOWN)) out.push(`  ${r.at}  ${r.action} by ${printable(r.by ?? '?', 64)} via ${r.via}: ${printable(r.reason, 300)}`);
  }
  if (s.auth) {
    if (s.auth.signatures !== 'required') out.push(`signatures: ${s.auth.signatures === 'off' ? 'OFF (the spec says approval.signatures: off)' : 'not checked (a lifecycle started before signed actions, until it continues as new)'}`);
    for (const k of s.auth.keys) out.push(`key:        ${k.name} ${k.fingerprint} (${k.trust === 'first-registered' ? 'the first key registered for the name: trusted on first use; pin it in approval.keys' : k.trust})`);
  }
  out.push(`Web UI: ${webUi}`);
  if (report) out.push(`Report: ${report}`);
  return out.join('\n');
}

/** Monitoring in a few lines: the last check, the run of breaches, what holds a retrain back. */
export function monitoringLines(s: LifecycleStatus, o: { relativeTimes?: boolean } = {}): string[] {
  const m = s.monitoring;
  const relativeTo = (iso: string) => (o.relativeTimes === false ? '' : ` (${relative(iso)})`);
  if (m.state === 'off') return ['monitoring: off (the spec has no monitoring section)'];
  const out = [`monitoring: ${m.state}${m.interval ? `, every ${m.interval}` : ''}${m.state === 'watching' && m.nextCheckAt ? `; next check ${m.nextCheckAt}${relativeTo(m.nextCheckAt)}` : ''}; ${m.checks} checks so far`];
  if (s.paused) out.push(`  paused by ${s.paused.by} at ${s.paused.at}: ${s.paused.reason}`);
  const c = m.lastCheck;
  if (c) {
    const drift = c.enoughData ? `drift score ${c.score.toFixed(4)} on ${c.rows} rows${c.breached ? `, BREACHED: ${c.breachedFeatures.join(', ')}` : ', quiet'}` : `not enough data (${c.rows} rows)`;
    const perf = c.performance.auc !== null ? `; live AUC ${f4(c.performance.auc)}, log-loss ${f4(c.performance.logLoss!)} on ${c.performance.labeled} labels${c.performance.belowFloor ? ' — BELOW THE FLOOR' : ''}` : `; ${c.performance.labeled} labeled rows (performance not judged yet)`;
    out.push(`  last check ${c.at} of v${c.version}: ${drift}${perf}`);
    const scored = m.lastScored;
    if (!c.enoughData && scored) out.push(`  last scored check ${scored.at} of v${scored.version}: drift score ${scored.score.toFixed(4)} on ${scored.rows} rows${scored.breached ? `, BREACHED: ${scored.breachedFeatures.join(', ')}` : ', quiet'}`);
    const breach = m.lastBreach;
    if (breach && breach.at !== scored?.at) out.push(`  last breach ${breach.at} of v${breach.version}: drift score ${breach.score.toFixed(4)}, ${breach.breachedFeatures.join(', ')}`);
    out.push(`  consecutive breaches ${m.consecutiveBreaches}; labeled traffic reached event time ${m.labeledUntil ?? '-'}; report ${c.reportUri}`);
  }
  if (s.retrain.blockedBy) out.push(`  retrain held back: ${s.retrain.blockedBy}`);
  if (s.retrain.recent.length) out.push(`  recent retrains: ${s.retrain.recent.join(', ')}`);
  return out;
}
