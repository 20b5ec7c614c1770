/**
 * What a worker pays to bring one lifecycle into memory — at its start, at every
 * continue-as-new, after a failover — measured by replaying a recorded continued run (it
 * starts from carried state, as every continued lifecycle does, then checks its champion)
 * through the workflow bundle as the worker builds it, against the same bundle with nothing
 * preloaded, in alternating rounds of the same run.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { PRELOADED_MODULES, WORKFLOW_BUNDLE_OPTIONS } from '../../src/worker/workflowBundle';
import { createLogger } from '../../src/logging';
import { installRuntime } from '../../src/temporal/runtime';
import { median } from './stats';

const HISTORY = path.resolve(__dirname, '../../test/replay/histories/monitoring-run2.binpb');
const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/** Milliseconds per history when `count` copies of it replay through one replay worker. */
async function replayMs(bundle: WorkflowBundleWithSourceMap, history: temporal.api.history.v1.History, count: number, round: number): Promise<number> {
  const histories = Array.from({ length: count }, (_, i) => ({ workflowId: `bench-creation-${round}-${i}`, history }));
  const t0 = performance.now();
  for await (const r of Worker.runReplayHistories({ workflowBundle: bundle }, histories)) {
    if (r.error) throw r.error;
  }
  return (performance.now() - t0) / count;
}

export async function benchWorkflowCreation(rounds = 5, count = 100): Promise<void> {
  console.log(`\n# a lifecycle brought into a worker: a recorded continued run (carried state in, ${count} replays a round, ${rounds} rounds)`);
  installRuntime(createLogger('warn', 'perennial-bench'));
  const history = temporal.api.history.v1.History.decode(readFileSync(HISTORY));
  const preloaded = await bundleWorkflowCode({ ...WORKFLOW_BUNDLE_OPTIONS, logger: quiet });
  const plain = await bundleWorkflowCode({ ...WORKFLOW_BUNDLE_OPTIONS, preloadModules: [], logger: quiet });
  const ours: number[] = [];
  const baseline: number[] = [];
  // A first round of each warms the bundles and the replay path, and is not counted.
  await replayMs(preloaded, history, 10, -1);
  await replayMs(plain, history, 10, -2);
  for (let round = 0; round < rounds; round++) {
    ours.push(await replayMs(preloaded, history, count, round));
    baseline.push(await replayMs(plain, history, count, round + rounds));
  }
  const o = median(ours);
  const b = median(baseline);
  console.log(`  ${history.events?.length ?? 0} events a run: ${o.toFixed(1)} ms per run with ${PRELOADED_MODULES.join(', ')} preloaded, ${b.toFixed(1)} ms with nothing preloaded → ${(o / b).toFixed(2)}× (medians)`);
}
