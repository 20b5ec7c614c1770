import { Runtime } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { Stage } from '../lifecycle/contract';
import { PerennialStage } from '../temporal/searchAttributes';
import type { Logger } from '../logging';

/** How often the census asks Temporal's visibility store. */
const EVERY_MS = 15_000;

/**
 * `perennial_lifecycles{stage}` on the worker's metrics endpoint: how many running
 * lifecycles are in each stage, counted from Temporal's visibility store (the
 * `PerennialStage` search attribute) — the truth whichever worker ran them last. Every worker
 * reports the same counts; a dashboard takes the maximum. Returns a stop function.
 */
export function startLifecycleCensus(client: Client, logger: Logger): () => void {
  const gauge = Runtime.instance().metricMeter.createGauge('perennial_lifecycles', 'int', undefined, 'Running lifecycles by stage, from the PerennialStage search attribute');
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const count = async () => {
    try {
      for (const stage of Stage.options) {
        const { count: n } = await client.workflow.count(`WorkflowType = 'lifecycle' AND ExecutionStatus = 'Running' AND ${PerennialStage.name} = '${stage}'`);
        gauge.set(n, { stage });
      }
    } catch (err) {
      logger.warn({ err }, 'lifecycle census: Temporal visibility did not answer; counts kept from the last census');
    } finally {
      if (!stopped) timer = setTimeout(() => void count(), EVERY_MS).unref();
    }
  };
  void count();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
