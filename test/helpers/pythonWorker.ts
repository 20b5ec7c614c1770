import type { ChildProcess } from 'node:child_process';
import { ensurePythonEnv } from '../../src/python/environment';
import { startPythonWorker, untilPolling } from '../../src/python/workerProcess';
import type { TestStack } from './temporalServer';

/** The repository's Python worker, really run (its environment made on demand, as `npm run setup` does). */
export interface RunningPythonWorker {
  child: ChildProcess;
  /** What it printed, for failure messages. */
  output(): string;
  /** SIGTERM, then waits for it to exit. */
  stop(): Promise<void>;
}

export async function startTestPythonWorker(stack: Pick<TestStack, 'config'>, o: { taskQueue?: string } = {}): Promise<RunningPythonWorker> {
  await ensurePythonEnv((m) => console.error(`[python env] ${m}`));
  const child = startPythonWorker({ address: stack.config.temporalAddress, namespace: stack.config.namespace, taskQueue: o.taskQueue, stdio: ['ignore', 'pipe', 'pipe'], logLevel: 'info' });
  let output = '';
  const collect = (b: Buffer) => (output = (output + b.toString('utf8')).slice(-50_000));
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await untilPolling(child, () => output);
  return {
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
