import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ArtifactStore } from '../../src/artifacts/store';
import { artifactPath } from '../../src/artifacts/store';
import { withDuckDb } from '../../src/data/duckdb';
import { readWindow } from '../../src/data/read';
import { Registry, type ModelVersion } from '../../src/registry/registry';
import type { LoadedSpec } from '../../src/spec/load';
import { evaluateModel, ingest, trainModel, validateData } from '../../src/training/steps';
import type { RawColumns } from '../../src/features/pipeline';

export const REPO_ROOT = path.resolve(__dirname, '../..');

export interface TrainedVersion {
  version: ModelVersion;
  snapshotUri: string;
}

/**
 * Trains real versions of a spec with the library's training steps (ingest once, then
 * one training per parameter set) and registers them: what the training workflow does,
 * without Temporal. Returns them in version order.
 */
export async function trainVersions(home: string, loaded: LoadedSpec, variants: { rounds: number; maxDepth: number }[]): Promise<TrainedVersion[]> {
  const store = ArtifactStore.forHome(home);
  const spec = loaded.spec;
  const snapshot = await ingest(spec, store);
  const prepared = await validateData(spec, snapshot.uri, store);
  const registry = Registry.forHome(home);
  try {
    const out: TrainedVersion[] = [];
    for (const [i, v] of variants.entries()) {
      const variant = { ...spec, trainer: { ...spec.trainer, params: { ...spec.trainer.params, rounds: v.rounds, maxDepth: v.maxDepth } } };
      const trained = await trainModel(variant, snapshot.uri, prepared.pipelineUri, store, { checkpointKey: `${spec.name}-${i}`, profileUri: prepared.profileUri });
      const evaluation = await evaluateModel(variant, snapshot.uri, trained.artifactUri);
      const { version } = registry.register({
        model: spec.name,
        artifactUri: trained.artifactUri,
        artifactSha256: trained.artifactSha256,
        metrics: { ...evaluation.model, holdout: evaluation.model, baseRate: evaluation.baseRate },
        lineage: {
          datasetUri: snapshot.uri,
          datasetSha256: snapshot.sha256,
          specHash: loaded.specHash,
          codeVersion: 'test',
          profileUri: trained.profileUri ?? prepared.profileUri,
          pipelineUri: prepared.pipelineUri,
          workflowId: `test/${spec.name}/${i + 1}`,
          runId: `run-${i + 1}`,
          trainedBy: 'test',
          trainedAt: new Date().toISOString(),
        },
      });
      out.push({ version, snapshotUri: snapshot.uri });
    }
    return out;
  } finally {
    registry.close();
  }
}

/** Raw rows of a snapshot window, one object per row (timestamps as epoch ms). */
export async function windowRows(loaded: LoadedSpec, snapshotUri: string, which: 'training' | 'holdout'): Promise<Record<string, unknown>[]> {
  const raw: RawColumns = await withDuckDb((db) => readWindow(db, artifactPath(snapshotUri), loaded.spec, loaded.spec.data[which]));
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
