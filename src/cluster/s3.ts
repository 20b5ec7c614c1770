/**
 * An S3-compatible server of this machine's own (gofakes3, built by `go install`), keeping
 * its objects on disk: for the tests and `npm run cluster`. Listens on 127.0.0.1 only.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureGoTool, GO_TOOLS } from './goTools';

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
  const out = openSync(logFile, 'a');
  const child = spawn(binary, ['-backend', 'fs', '-fs.path', path.join(o.dataDir, 'data'), '-fs.create', '-host', `127.0.0.1:${o.port}`, '-initialbucket', o.bucket], {
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => ((exited = true), resolve()));
    child.once('error', () => ((exited = true), resolve()));
  });
  const stop = async (signal: NodeJS.Signals) => {
    if (!exited) child.kill(signal);
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exit;
    clearTimeout(killer);
  };
  const endpoint = `http://127.0.0.1:${o.port}`;
  const deadline = Date.now() + 30_000;
  while (!(await listening(o.port))) {
    if (exited || Date.now() > deadline) {
      await stop('SIGKILL');
      throw new Error(`the S3 server did not start on ${endpoint}: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    await sleep(50);
  }
  return {
    endpoint,
    port: o.port,
    bucket: o.bucket,
    dataDir: o.dataDir,
    pid: child.pid!,
    exited: exit,
    env: { AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'perennial', AWS_SECRET_ACCESS_KEY: 'perennial-local' },
    stop: () => stop('SIGTERM'),
    kill: () => stop('SIGKILL'),
  };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
