/**
 * Runs the local Temporal Server the project's own way: `temporal server start-dev` from the resolved CLI
 * binary, with its state in `<home>/temporal.sqlite` (so workflows survive restarts), its output in
 * `<home>/logs/temporal-server.log`, and perennial's search attributes registered.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, writeSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { installHint, resolveTemporalBinary } from './binaries';
import { tcpOpen } from '../util/net';
import { registerSearchAttributes, SEARCH_ATTRIBUTES } from './searchAttributes';

export { SEARCH_ATTRIBUTES, type SearchAttributeTypeName } from './searchAttributes';

/** A pino logger (anything with `info`/`warn` taking a message) or a plain function. */
export type DevServerLogger = ((msg: string) => void) | { info(msg: string): void; warn(msg: string): void };

export interface DevServerOptions {
  /** State folder: the SQLite file is `<home>/temporal.sqlite`, the server log `<home>/logs/temporal-server.log`. */
  home: string;
  /** gRPC `host:port`; the host must be 127.0.0.1 (or localhost), the server always binds 127.0.0.1. */
  address: string;
  /** Web UI port (bound on 127.0.0.1). */
  uiPort: number;
  /** Namespace created at launch and given the search attributes. */
  namespace: string;
  log?: DevServerLogger;
  /** How long to wait for the server to answer gRPC; default 30 s. */
  readyTimeoutMs?: number;
}

export interface RunningDevServer {
  pid: number;
  /** `127.0.0.1:<port>` */
  address: string;
  /** `http://127.0.0.1:<uiPort>` */
  uiUrl: string;
  /** The server's log file. */
  logFile: string;
  /** Resolves when the server process exits, for whatever reason (also after stop()). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, wait for exit, SIGKILL after 15 s. Idempotent. */
  stop(): Promise<void>;
}

function logFns(log: DevServerLogger | undefined): { info: (m: string) => void; warn: (m: string) => void } {
  if (!log) return { info: () => undefined, warn: () => undefined };
  if (typeof log === 'function') return { info: log, warn: log };
  return { info: (m) => log.info(m), warn: (m) => log.warn(m) };
}

function parseLocalAddress(address: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(address);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) throw new Error(`invalid Temporal address ${JSON.stringify(address)}: expected host:port, e.g. 127.0.0.1:7233`);
  const host = m[1];
  if (host !== '127.0.0.1' && host !== 'localhost') {
    throw new Error(`the local Temporal server only binds 127.0.0.1, but the address is ${address}; use 127.0.0.1:${port}`);
  }
  return { host: '127.0.0.1', port };
}

function splitAddress(address: string): { host: string; port: number } | undefined {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(address);
  return m ? { host: m[1], port: Number(m[2]) } : undefined;
}

/** True if a Temporal server answers gRPC (`GetSystemInfo`) at `address` within `timeoutMs` (default 2 s). */
export async function isServerUp(address: string, timeoutMs = 2000): Promise<boolean> {
  const hp = splitAddress(address);
  // A quick TCP probe first: a refused port answers at once, whereas gRPC would retry until its deadline.
  if (hp && !(await tcpOpen(hp.host, hp.port, Math.min(timeoutMs, 1000)))) return false;
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close();
  }
}

/**
 * Registers any of {@link SEARCH_ATTRIBUTES} missing from `namespace` through the operator API.
 * Returns the names it added (empty if all were there). Throws if one exists with another type.
 */
export async function ensureSearchAttributes(address: string, namespace: string): Promise<string[]> {
  const connection = await Connection.connect({ address, connectTimeout: 5000 });
  try {
    return await registerSearchAttributes(connection, namespace);
  } finally {
    await connection.close();
  }
}

async function tailOf(file: string, lines = 20): Promise<string> {
  try {
    const text = await fs.readFile(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function waitForExit(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/**
 * Starts `temporal server start-dev` on 127.0.0.1, waits until it answers gRPC with `namespace` present,
 * then makes sure perennial's search attributes exist (the CLI's `--search-attribute` only applies when
 * the SQLite file is new). Throws, with the last lines of the server log, if it does not come up.
 */
export async function startDevServer(o: DevServerOptions): Promise<RunningDevServer> {
  const log = logFns(o.log);
  const { host, port } = parseLocalAddress(o.address);
  const address = `${host}:${port}`;
  const uiUrl = `http://${host}:${o.uiPort}`;
  const home = path.resolve(o.home);
  const dbFile = path.join(home, 'temporal.sqlite');
  const logDir = path.join(home, 'logs');
  const logFile = path.join(logDir, 'temporal-server.log');

  if (await tcpOpen(host, port, 1000)) {
    throw new Error(
      (await isServerUp(address))
        ? `a Temporal server is already running at ${address}; use it, or stop it first`
        : `port ${port} on ${host} is already in use by something else; choose another TEMPORAL_ADDRESS`,
    );
  }
  if (await tcpOpen(host, o.uiPort, 1000)) {
    throw new Error(`Web UI port ${o.uiPort} on ${host} is already in use; choose another PERENNIAL_UI_PORT`);
  }

  const binary = await resolveTemporalBinary('temporal', { log: log.info });
  if (!binary) throw new Error(`the Temporal CLI is not available; install it with:\n  ${installHint()}`);

  await fs.mkdir(logDir, { recursive: true });
  const args = ['server', 'start-dev', '--ip', host, '--port', String(port), '--ui-port', String(o.uiPort)];
  args.push('--db-filename', dbFile, '--namespace', o.namespace, '--log-level', 'warn');
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);

  const freshDb = !existsSync(dbFile);
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    writeSync(fd, `\n--- ${new Date().toISOString()} starting: ${binary.path} ${args.join(' ')}\n`);
    child = spawn(binary.path, args, { cwd: home, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  const spawned = child;
  let spawnError: Error | undefined;
  spawned.on('error', (err) => (spawnError = err));
  const exited = waitForExit(spawned);
  log.info(`starting Temporal dev server (${binary.path}, ${freshDb ? 'new' : 'existing'} state ${dbFile}, log ${logFile})`);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (spawned.exitCode === null && spawned.signalCode === null) {
        spawned.kill('SIGTERM');
        const timer = new AbortController();
        const timedOut = await Promise.race([
          exited.then(() => false),
          sleep(15_000, true, { signal: timer.signal }).catch(() => false),
        ]);
        timer.abort();
        if (timedOut) {
          log.warn(`Temporal dev server (pid ${spawned.pid}) did not stop within 15 s of SIGTERM; killing it`);
          spawned.kill('SIGKILL');
          await exited;
        }
      }
    })());

  let connection: Connection | undefined;
  const fail = async (why: string): Promise<never> => {
    await connection?.close();
    await stop();
    throw new Error(`Temporal dev server did not start: ${why}\nlast lines of ${logFile}:\n${await tailOf(logFile)}`);
  };

  const started = Date.now();
  const deadline = started + (o.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (spawnError) return fail(`could not run ${binary.path}: ${spawnError.message}`);
    if (spawned.exitCode !== null || spawned.signalCode !== null) {
      return fail(`the process exited (${spawned.exitCode !== null ? `code ${spawned.exitCode}` : spawned.signalCode})`);
    }
    if (Date.now() > deadline) return fail(`no gRPC answer at ${address} within ${Math.round((deadline - started) / 1000)} s`);
    try {
      if (await tcpOpen(host, port, 500)) {
        connection ??= await Connection.connect({ address, connectTimeout: 2000 });
        await connection.workflowService.describeNamespace({ namespace: o.namespace });
        break;
      }
    } catch {
      // not ready yet
    }
    await sleep(150);
  }

  try {
    const added = await registerSearchAttributes(connection, o.namespace);
    if (added.length > 0) log.info(`registered search attributes in ${o.namespace}: ${added.join(', ')}`);
  } catch (err) {
    return fail(`registering search attributes failed: ${(err as Error).message}`);
  }
  await connection.close();

  // The Web UI starts right after the frontend; give it a moment so the URL we print works.
  const uiDeadline = Date.now() + 10_000;
  while (!(await tcpOpen(host, o.uiPort, 500))) {
    if (Date.now() > uiDeadline) {
      log.warn(`the Web UI is not answering at ${uiUrl} yet; see ${logFile}`);
      break;
    }
    await sleep(150);
  }
  log.info(`Temporal dev server ready at ${address} (Web UI ${uiUrl}) in ${Date.now() - started} ms`);

  return { pid: spawned.pid!, address, uiUrl, logFile, exited, stop };
}
