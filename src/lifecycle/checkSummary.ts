import type { MonitorCheckSummary } from '../monitoring/check';
import type { CheckSummary } from './contract';

/**
 * How the lifecycle reads a monitor check: the few fields it keeps in its state, and the
 * run of breaches it counts. Pure (types only from the activity side): the workflow and the
 * tests that replay its decisions use the same code.
 */

/** The check as the lifecycle keeps it in `status.monitoring.lastCheck`. */
export function checkSummary(r: MonitorCheckSummary): CheckSummary {
  return {
    at: r.at,
    version: r.version,
    rows: r.rows,
    enoughData: r.enoughData,
    breached: r.drift.breached,
    score: r.drift.score,
    breachedFeatures: r.drift.breachedFeatures,
    performance: {
      labeled: r.performance.labeled,
      auc: r.performance.metrics?.auc ?? null,
      logLoss: r.performance.metrics?.logLoss ?? null,
      belowFloor: r.performance.belowFloor,
    },
    reportUri: r.reportUri,
  };
}

/** The run of consecutive breaches after a check: "not enough data" neither grows nor resets it. */
export function nextBreachRun(run: number, r: Pick<MonitorCheckSummary, 'enoughData'> & { drift: { breached: boolean } }): number {
  if (!r.enoughData) return run;
  return r.drift.breached ? run + 1 : 0;
}
