import { ApplicationFailure } from '@temporalio/activity';
import { MonitorError, runMonitorCheck, type MonitorCheckInput, type MonitorCheckSummary } from '../src/monitoring/check';
import type { ActivityDeps } from './deps';
import { heartbeating } from './heartbeat';

/** One monitor check of the champion's live traffic; the report is stored whatever it says. */
export const checkChampionActivity = (d: ActivityDeps) =>
  async function checkChampion(input: MonitorCheckInput): Promise<MonitorCheckSummary> {
    try {
      const summary = await heartbeating(() => runMonitorCheck({ registry: d.registry, store: d.store, predictions: d.predictions() }, input));
      return { ...summary, finishedAt: new Date().toISOString() };
    } catch (err) {
      if (err instanceof MonitorError) throw ApplicationFailure.nonRetryable(err.message, 'MonitorError');
      throw err;
    }
  };
