import { ActivityFailure, ApplicationFailure, condition, log, patched, proxyActivities, proxyLocalActivities, type LocalActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { CheckSummary } from '../../src/lifecycle/contract';
import { checkSummary, nextBreachRun } from '../../src/lifecycle/checkSummary';
import { CHECK_TIMEOUT_MS, checkClockLag } from '../../src/lifecycle/checkClock';
import { recentRetrains, retrainHeldBack, retrainTrigger } from '../../src/lifecycle/retrainPolicy';
import type { MonitorCheckSummary } from '../../src/monitoring/check';
import { durationMs } from '../../src/util/duration';
import { publish } from './details';
import { countCheck } from './metrics';
import { recordPendingNotes } from './ledger';
import type { LifecycleState } from './state';

/**
 * Waits until `done()` or the deadline, running monitor checks when they are due (the
 * champion is watched in every stage that waits). Returns early when it is time to continue
 * as new, so the loop can hand over.
 */
export async function waitWatching(s: LifecycleState, done: () => boolean, deadline = Infinity): Promise<'done' | 'deadline' | 'continue-as-new'> {
  for (;;) {
    await recordPendingNotes(s);
    if (done()) return 'done';
    if (Date.now() >= deadline) return 'deadline';
    if (s.continueAsNewDue()) return 'continue-as-new';
    const watching = s.monitoringOn();
    if (watching && s.monitor.nextCheckAt === null) s.monitor.nextCheckAt = new Date(Date.now() + durationMs(s.spec.monitoring!.interval)).toISOString();
    const nextCheck = watching ? Date.parse(s.monitor.nextCheckAt!) : Infinity;
    const until = Math.min(deadline, nextCheck);
    const wake = () => done() || s.pendingNotes.length > 0 || s.monitoringOn() !== watching;
    // Used for this one wait only: a worker whose clock runs ahead shortens one wait at most, never skips a check.
    const lag = checkClockLag(s.checkEndedAt, Date.now());
    s.checkEndedAt = null;
    if (until === Infinity) await condition(wake);
    else if (until > Date.now()) await condition(wake, Math.max(1, until - Date.now() - lag));
    if (watching && s.monitoringOn() && Date.now() >= nextCheck && !done()) await checkNow(s);
  }
}

/** One monitor check of the champion: drift and live performance, and a retrain if the policy calls for one. */
async function checkNow(s: LifecycleState): Promise<void> {
  const { monitor } = s;
  const monitoring = s.spec.monitoring!;
  const version = s.champion!.version;
  const interval = durationMs(monitoring.interval);
  const options: LocalActivityOptions = {
    startToCloseTimeout: CHECK_TIMEOUT_MS,
    retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['MonitorError'] },
    summary: `monitor check ${monitor.checks + 1} of v${version}`,
  };
  // A check is a local activity: it runs inside the workflow task its timer woke, so a check
  // costs the server one workflow task and one marker instead of two tasks and an activity's
  // three events. A worker lost mid-check loses that task, and the check reruns on the next.
  const { checkChampion } = patched('monitor-check-local')
    ? proxyLocalActivities<Activities>(options)
    : proxyActivities<Activities>({ ...options, heartbeatTimeout: '30 seconds' });
  s.cycles++;
  monitor.checks++;
  // The next check is an interval after this one was due, never a burst of catch-ups.
  monitor.nextCheckAt = new Date(Math.max(Date.parse(monitor.nextCheckAt!) + interval, Date.now() + 1000)).toISOString();
  let r: MonitorCheckSummary;
  try {
    r = await checkChampion({ spec: s.spec, version, cursor: monitor.cursor, asOf: new Date().toISOString(), checkKey: `${s.workflowId}/check/${monitor.checks}` });
  } catch (err) {
    const reason = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause.message : String(err);
    s.note('check-failed', { version, reason });
    countCheck(s.model, 'failed');
    log.warn('monitor check failed', { version, reason });
    return;
  }
  s.checkEndedAt = r.finishedAt === undefined ? null : Date.parse(r.finishedAt);
  monitor.cursor = r.cursor.to;
  monitor.labeledUntil = r.labeledUntil ?? monitor.labeledUntil;
  const runBefore = monitor.consecutiveBreaches;
  monitor.consecutiveBreaches = nextBreachRun(runBefore, r);
  // History notes where a run of breaches starts and ends, not every hour of it (the registry has every check).
  if (runBefore === 0 && monitor.consecutiveBreaches > 0) s.note('drift-breached', { version, reason: `score ${r.drift.score.toFixed(4)}: ${r.drift.reasons.slice(0, 3).join(' | ')}` });
  if (runBefore > 0 && r.enoughData && !r.drift.breached) s.note('drift-cleared', { version, reason: `after ${runBefore} breached checks; score ${r.drift.score.toFixed(4)}` });
  const check = checkSummary(r);
  monitor.lastCheck = check;
  countCheck(s.model, !check.enoughData ? 'no_data' : check.breached ? 'breached' : 'quiet');
  if (s.keepsLastScored && check.enoughData) monitor.lastScored = check;
  if (s.keepsLastScored && check.breached) monitor.lastBreach = check;
  if (r.performance.belowFloor) s.note('performance-below-floor', { version, reason: r.performance.reasons.join('; ') });
  considerRetrain(s, check, r.performance.reasons);
  publish(s);
}

/** An automatic retrain, when the policy calls for one and nothing holds it back. */
function considerRetrain(s: LifecycleState, check: CheckSummary, performanceReasons: string[]): void {
  s.retrainStarts = recentRetrains(s.spec.retrain, s.retrainStarts, Date.now());
  s.blockedBy = null;
  const trigger = retrainTrigger(s.spec.retrain, check, s.monitor.consecutiveBreaches, performanceReasons);
  if (!trigger) return;
  if (s.stage !== 'SERVING') {
    s.blockedBy = `${trigger.reason} — but ${s.stage === 'AWAITING_APPROVAL' ? `v${s.candidate?.version} awaits a decision first` : `the lifecycle is ${s.stage}`}`;
    return;
  }
  if (s.retrain) return;
  const held = retrainHeldBack(s.spec.retrain, s.retrainStarts, Date.now());
  if (held) {
    s.blockedBy = `${trigger.kind} retrain held back: ${held}`;
    return;
  }
  s.retrain = { payload: { by: 'perennial-monitor', reason: trigger.reason } };
}
