/**
 * The Python worker's virtual environment, `.tools/python`: created by `npm run setup`
 * (and by the tests on demand) from the pinned python/requirements.txt. A marker holds
 * the requirements' sha256, so a changed pin reinstalls and a finished install is never
 * redone.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, run } from '../temporal/binaries';

export const PYTHON_SOURCE_DIR = path.join(repoRoot(), 'python');
const REQUIREMENTS = path.join(PYTHON_SOURCE_DIR, 'requirements.txt');

/** `PERENNIAL_PYTHON_ENV`, else `<repo root>/.tools/python`. */
export function pythonEnvDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.PERENNIAL_PYTHON_ENV ? path.resolve(env.PERENNIAL_PYTHON_ENV) : path.join(repoRoot(), '.tools', 'python');
}

export function pythonExecutable(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(pythonEnvDir(env), 'bin', 'python');
}

const marker = (dir: string) => path.join(dir, 'perennial-requirements.sha256');
const requirementsHash = () => createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex');

/** True when the environment exists with exactly the pinned requirements installed. */
export function pythonEnvReady(env: NodeJS.ProcessEnv = process.env): boolean {
  const dir = pythonEnvDir(env);
  return existsSync(pythonExecutable(env)) && existsSync(marker(dir)) && readFileSync(marker(dir), 'utf8').trim() === requirementsHash();
}

/** The command that makes it, for messages. */
export const PYTHON_SETUP_HINT = 'npm run setup   (creates .tools/python with python3 -m venv and pip)';

/** Creates the environment (python3 -m venv, pip install -r python/requirements.txt) unless it is ready. */
export async function ensurePythonEnv(log: (message: string) => void = () => undefined, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const dir = pythonEnvDir(env);
  const python = pythonExecutable(env);
  if (pythonEnvReady(env)) return python;
  const started = Date.now();
  if (!existsSync(python)) {
    log(`creating the Python worker's environment in ${dir}`);
    await checked('python3', ['-m', 'venv', dir]);
  }
  log(`installing the Python worker's pinned requirements (${path.relative(repoRoot(), REQUIREMENTS)}) with pip`);
  await checked(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-input', '-r', REQUIREMENTS]);
  writeFileSync(marker(dir), requirementsHash());
  log(`the Python worker's environment is ready (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  return python;
}

async function checked(cmd: string, args: string[]): Promise<void> {
  const r = await run(cmd, args, process.env);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} ${r.spawnError ? `could not start: ${r.spawnError.message}` : `exited with ${r.code}`}:\n${r.output}`);
}
