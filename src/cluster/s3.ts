/**
 * An S3-compatible server of this machine's own (gofakes3, built by `go install`), keeping
 * its objects on disk: for the tests and `npm run cluster`. Listens on 127.0.0.1 only.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureGoTool, GO_TOOLS } from './goTools';
import { startServerProcess } from './serverProcess';
import { tcpOpen } from '../util/net';

export interface LocalS3 {
  /** http://127.0.0.1:port: the AWS_ENDPOINT_URL to use. */
  endpoint: string;
  port: number;
  bucket: string;
  dataDir: string;
  pid: number;
  exited: Promise<void>;
  /** What a client needs: AWS_ENDPOINT_URL, AWS_REGION and (any) keys. */
  env: Record<string, string>;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

export async function startLocalS3(o: { port: number; dataDir: string; bucket: string; log?: (m: string) => void }): Promise<LocalS3> {
  const binary = await ensureGoTool(GO_TOOLS.s3, o.log);
  mkdirSync(o.dataDir, { recursive: true });
  const logFile = path.join(o.dataDir, 'gofakes3.log');
  const child = startServerProcess(binary, ['-backend', 'fs', '-fs.path', path.join(o.dataDir, 'data'), '-fs.create', '-host', `127.0.0.1:${o.port}`, '-initialbucket', o.bucket], { logFile });
  const endpoint = `http://127.0.0.1:${o.port}`;
  const deadline = Date.now() + 30_000;
  while (!(await tcpOpen('127.0.0.1', o.port, 1000))) {
    if (child.hasExited() || Date.now() > deadline) {
      await child.stop('SIGKILL');
      throw new Error(`the S3 server did not start on ${endpoint}: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    await sleep(50);
  }
  return {
    endpoint,
    port: o.port,
    bucket: o.bucket,
    dataDir: o.dataDir,
    pid: child.pid,
    exited: child.exited,
    env: { AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'perennial', AWS_SECRET_ACCESS_KEY: 'perennial-local' },
    stop: () => child.stop('SIGTERM', 10_000),
    kill: () => child.stop('SIGKILL'),
  };
}
