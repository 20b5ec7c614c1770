import { metricMeter } from '@temporalio/workflow';

/*
 * The lifecycle's own counters, beside the SDK's on the worker's Prometheus endpoint
 * (PERENNIAL_WORKER_METRICS_PORT). Emitted by the worker that runs the workflow task and
 * never on replay, so they add up across workers. (Which stage each lifecycle is in is not
 * emitted here: a gauge would linger on a worker the lifecycle moved away from. The worker's
 * census counts stages from Temporal's visibility store: src/worker/lifecycleCensus.ts.)
 */

/** A monitor check's outcome: breached, quiet, no_data (too few rows) or failed. */
export function countCheck(model: string, outcome: 'breached' | 'quiet' | 'no_data' | 'failed'): void {
  metricMeter.createCounter('perennial_monitor_checks_total', undefined, 'Monitor checks, by outcome').add(1, { model, outcome });
}

/** A retrain started, by who asked: the monitor (drift or performance), the schedule, or a person. */
export function countRetrain(model: string, by: string): void {
  const trigger = by === 'perennial-monitor' ? 'monitor' : by === 'perennial-schedule' ? 'schedule' : 'person';
  metricMeter.createCounter('perennial_retrains_total', undefined, 'Retrains started, by trigger').add(1, { model, trigger });
}

/** A ledger entry: trained, gate-passed/failed, approved, rejected, expired, deployed, deploy-failed, rollback-requested, retired, paused, … */
export function countDecision(model: string, decision: string): void {
  metricMeter.createCounter('perennial_decisions_total', undefined, 'Lifecycle decisions recorded in the ledger, by kind').add(1, { model, decision });
}
