import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { PYTHON_TASK_QUEUE } from '../spec/modelSpec';
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
