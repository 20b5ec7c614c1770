import { metricMeter } from '@temporalio/workflow';
import { Stage } from '../../src/lifecycle/contract';

/*
 * The lifecycle's own metrics, beside the SDK's on the worker's Prometheus endpoint
 * (PERENNIAL_WORKER_METRICS_PORT). Emitted by the worker that runs the workflow task and
 * never on replay, so counters add up across workers.
 */

/** 1 for the stage a lifecycle is in, 0 for the others. */
export function recordStage(model: string, stage: Stage): void {
  const gauge = metricMeter.createGauge('perennial_lifecycle_stage', 'int', undefined, '1 for the stage each lifecycle is in, 0 for the others');
  for (const s of Stage.options) gauge.set(s === stage ? 1 : 0, { model, stage: s });
}

/** A monitor check's outcome: breached, quiet, no_data (too few rows) or failed. */
export function countCheck(model: string, outcome: 'breached' | 'quiet' | 'no_data' | 'failed'): void {
  metricMeter.createCounter('perennial_monitor_checks_total', undefined, 'Monitor checks, by outcome').add(1, { model, outcome });
}

/** A retrain started, by who asked: the monitor (drift or performance), the schedule, or a person. */
export function countRetrain(model: string, by: string): void {
  const trigger = by === 'perennial-monitor' ? 'monitor' : by === 'perennial-schedule' ? 'schedule' : 'person';
  metricMeter.createCounter('perennial_retrains_total', undefined, 'Retrains started, by trigger').add(1, { model, trigger });
}

/** A promotion decision: approved, rejected, expired, deployed, deploy-failed, rolled back (rollback-requested), retired. */
export function countDecision(model: string, decision: string): void {
  metricMeter.createCounter('perennial_decisions_total', undefined, 'Lifecycle decisions recorded in the ledger, by kind').add(1, { model, decision });
}
