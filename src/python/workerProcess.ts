import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { PYTHON_TASK_QUEUE } from '../spec/specValues';
import { PYTHON_SOURCE_DIR, pythonExecutable } from './environment';

export interface PythonWorkerOptions {
  address: string;
  namespace: string;
  taskQueue?: string;
  /** How many trainings it runs at once (default 1). */
  trainings?: number;
  logLevel?: string;
  stdio?: StdioOptions;
  env?: NodeJS.ProcessEnv;
}

/** Starts `python -m perennial_worker` from the repository's python/ folder in the project's environment. */
export function startPythonWorker(o: PythonWorkerOptions): ChildProcess {
  const base = o.env ?? process.env;
  return spawn(pythonExecutable(base), ['-m', 'perennial_worker'], {
    cwd: PYTHON_SOURCE_DIR,
    stdio: o.stdio ?? 'inherit',
    env: {
      ...base,
      PYTHONPATH: PYTHON_SOURCE_DIR,
      PYTHONUNBUFFERED: '1',
      TEMPORAL_ADDRESS: o.address,
      TEMPORAL_NAMESPACE: o.namespace,
      PERENNIAL_PYTHON_TASK_QUEUE: o.taskQueue ?? PYTHON_TASK_QUEUE,
      PERENNIAL_PYTHON_TRAININGS: String(o.trainings ?? 1),
      LOG_LEVEL: o.logLevel ?? base.LOG_LEVEL ?? 'info',
    },
  });
}

/** Resolves once the worker says it polls (it logs that after its Temporal worker has started); rejects if it exits first. */
function untilPolling(child: ChildProcess, output: () => string, timeoutMs = 60_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(deadline);
      child.stderr?.off('data', check);
      child.off('exit', exited);
      if (err) reject(err);
      else resolve();
    };
    const check = () => {
      if (/polling \S+ on/.test(output())) done();
    };
    const exited = (code: number | null) => done(new Error(`the Python worker exited with ${code} before polling:\n${output()}`));
    const deadline = setTimeout(() => done(new Error(`the Python worker did not start polling within ${timeoutMs / 1000} s:\n${output()}`)), timeoutMs);
    child.stderr?.on('data', check);
    child.once('exit', exited);
    check();
  });
}

/** A Python worker whose output is kept, started once it polls (tests and benches). */
export interface RunningPythonWorker {
  child: ChildProcess;
  /** The last 50 kB it printed, for failure messages. */
  output(): string;
  /** SIGTERM, then waits for it to exit. */
  stop(): Promise<void>;
}

export async function startPollingPythonWorker(o: Omit<PythonWorkerOptions, 'stdio'>): Promise<RunningPythonWorker> {
  const child = startPythonWorker({ ...o, stdio: ['ignore', 'pipe', 'pipe'] });
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
