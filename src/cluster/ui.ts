/**
 * The Temporal Web UI (ui-server, built by `go install`; its assets are embedded), pointed
 * at the cluster's Temporal server, on 127.0.0.1.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import YAML from 'yaml';
import { ensureGoTool, GO_TOOLS } from './goTools';
import { startServerProcess } from './serverProcess';

export interface ClusterUi {
  url: string;
  pid: number;
  exited: Promise<void>;
  stop(): Promise<void>;
}

export async function startTemporalUi(o: { dir: string; temporalAddress: string; port: number; namespace?: string; log?: (m: string) => void }): Promise<ClusterUi> {
  const binary = await ensureGoTool(GO_TOOLS.temporalUi, o.log);
  mkdirSync(path.join(o.dir, 'config'), { recursive: true });
  writeFileSync(
    path.join(o.dir, 'config', 'cluster.yaml'),
    YAML.stringify({ temporalGrpcAddress: o.temporalAddress, host: '127.0.0.1', port: o.port, enableUi: true, defaultNamespace: o.namespace ?? 'default', cors: { allowOrigins: [], unsafeAllowAllOrigins: false } }),
  );
  const logFile = path.join(o.dir, 'ui-server.log');
  const child = startServerProcess(binary, ['--root', o.dir, '--config', 'config', '--env', 'cluster', 'start'], { logFile });
  const url = `http://127.0.0.1:${o.port}`;
  const deadline = Date.now() + 30_000;
  while (!(await fetch(url).then((r) => r.ok, () => false))) {
    if (child.hasExited() || Date.now() > deadline) {
      await child.stop('SIGKILL');
      throw new Error(`the Temporal Web UI did not start on ${url}: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    await sleep(100);
  }
  o.log?.(`Temporal Web UI at ${url}`);
  return {
    url,
    pid: child.pid,
    exited: child.exited,
    stop: () => child.stop('SIGTERM', 10_000),
  };
}
