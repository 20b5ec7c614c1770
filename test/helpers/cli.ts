import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as the one JSON object `--json` promises ({} without --json). */
  json: Record<string, any>;
  ms: number;
}

/** `node scripts/perennial.js …` as a child process with the given environment on top of this one's. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  const started = Date.now();
  const child = spawn(process.execPath, [path.join(ROOT, 'scripts/perennial.js'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  let json: Record<string, any> = {};
  if (args.includes('--json')) {
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 1, `exactly one JSON line on stdout, got:\n${stdout}\nstderr:\n${stderr}`);
    json = JSON.parse(lines[0]) as Record<string, any>;
  }
  return { code, stdout, stderr, json, ms: Date.now() - started };
}

export function expectExit(r: CliRun, code: number): void {
  assert.equal(r.code, code, `exit ${r.code}, expected ${code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}
