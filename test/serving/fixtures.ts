import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { filePath } from '../../src/artifacts/fileStore';
import { withDuckDb } from '../../src/data/duckdb';
import { readWindow } from '../../src/data/read';
import type { LoadedSpec } from '../../src/spec/load';
import type { RawColumns } from '../../src/features/pipeline';

export const REPO_ROOT = path.resolve(__dirname, '../..');

export { trainVersions, type TrainedVersion } from '../../src/training/trainVersions';

/** Raw rows of a snapshot window, one object per row (timestamps as epoch ms). */
export async function windowRows(loaded: LoadedSpec, snapshotUri: string, which: 'training' | 'holdout'): Promise<Record<string, unknown>[]> {
  const raw: RawColumns = await withDuckDb((db) => readWindow(db, filePath(snapshotUri), loaded.spec, loaded.spec.data[which]));
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < raw.nRows; i++) {
    const row: Record<string, unknown> = {};
    for (const [c, values] of Object.entries(raw.columns)) row[c] = values[i];
    rows.push(row);
  }
  return rows;
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** stderr so far (pino JSON lines), for failure messages. */
  output(): string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
}

/** `node --import tsx scripts/serve.ts` with the given environment; resolves once /healthz answers. */
export async function startServerProcess(env: Record<string, string>, port: number): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/serve.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', PERENNIAL_SERVER_HOST: '127.0.0.1', PERENNIAL_SERVER_PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  let done = false;
  void exited.then(() => (done = true));
  for (;;) {
    if (done) throw new Error(`the model server exited before it served:\n${output}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the model server did not answer /healthz within 60 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, url, output: () => output, exited };
}

/** Ends a server process started by `startServerProcess` if it still runs (by its pid). */
export async function killServer(p: ServerProcess | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGKILL');
  await p.exited;
}
