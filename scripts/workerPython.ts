/**
 * `npm run worker:python`: the Python worker alone, polling `perennial-python` (or
 * PERENNIAL_PYTHON_TASK_QUEUE) on the configured Temporal server until Ctrl-C. Its
 * environment (.tools/python) is made first if it is missing.
 */
import { loadConfig } from '../src/config';
import { ensurePythonEnv } from '../src/python/environment';
import { startPythonWorker } from '../src/python/workerProcess';

async function main(): Promise<number> {
  const config = loadConfig();
  await ensurePythonEnv((m) => console.error(m));
  const child = startPythonWorker({
    address: config.temporalAddress,
    namespace: config.namespace,
    taskQueue: process.env.PERENNIAL_PYTHON_TASK_QUEUE,
    trainings: process.env.PERENNIAL_PYTHON_TRAININGS ? Number(process.env.PERENNIAL_PYTHON_TRAININGS) : undefined,
    logLevel: config.logLevel,
  });
  // Ctrl-C reaches the child with the terminal's process group; a TERM sent to this process is passed on.
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  process.on('SIGINT', () => undefined);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
