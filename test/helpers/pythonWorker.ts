import { ensurePythonEnv } from '../../src/python/environment';
import { startPollingPythonWorker, type RunningPythonWorker } from '../../src/python/workerProcess';
import type { TestStack } from './temporalServer';

export type { RunningPythonWorker };

/** The repository's Python worker, really run (its environment made on demand, as `npm run setup` does). */
export async function startTestPythonWorker(stack: Pick<TestStack, 'config'>, o: { taskQueue?: string } = {}): Promise<RunningPythonWorker> {
  await ensurePythonEnv((m) => console.error(`[python env] ${m}`));
  return startPollingPythonWorker({ address: stack.config.temporalAddress, namespace: stack.config.namespace, taskQueue: o.taskQueue, logLevel: 'info' });
}
