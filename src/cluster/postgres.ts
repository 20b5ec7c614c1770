/**
 * A PostgreSQL server of this machine's own, started from the installed binaries (Debian's
 * `/usr/lib/postgresql/<n>/bin`): for the tests, and for `npm run cluster`. `initdb` and
 * `postgres` refuse to run as root, so when we are root they run as the `postgres` user,
 * with a data folder that user owns. It listens on 127.0.0.1 only (no Unix socket).
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { startServerProcess } from './serverProcess';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

export interface LocalPostgresOptions {
  port: number;
  /** The cluster's files; an existing one is started as it is (no initdb). Default: a new folder in the temp dir, removed by `stop({ remove: true })`. */
  dataDir?: string;
  /** With a password, connections need it (scram-sha-256); without, loopback connections are trusted (tests). */
  password?: string;
  /** Superuser and database to create. Default `perennial`. */
  user?: string;
  database?: string;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string | number>;
  readyTimeoutMs?: number;
}

export interface LocalPostgres {
  /** postgres://user[:password]@127.0.0.1:port/database */
  url: string;
  port: number;
  dataDir: string;
  logFile: string;
  pid: number;
  exited: Promise<void>;
  /** A fast shutdown (SIGINT), SIGKILL after 20 s; `remove` deletes the data folder. Idempotent. */
  stop(o?: { remove?: boolean }): Promise<void>;
  /** SIGKILL: what a crashed database looks like to its clients. */
  kill(): Promise<void>;
}

/** The newest installed PostgreSQL's bin folder (PERENNIAL_PG_BIN overrides). */
export function postgresBinDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PERENNIAL_PG_BIN) return env.PERENNIAL_PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(path.join(root, v, 'bin', 'postgres'))) return path.join(root, v, 'bin');
  const found = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (found.status === 0 && found.stdout.trim()) return found.stdout.trim();
  throw new Error('no PostgreSQL server binaries found (looked in /usr/lib/postgresql/*/bin and pg_config): install PostgreSQL (apt-get install -y postgresql) or set PERENNIAL_PG_BIN');
}

/** Who the server runs as: ourselves, or the `postgres` user when we are root. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root, and there is no postgres user to run PostgreSQL as (initdb and postgres refuse root)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function ownedBy(dir: string, user: { uid: number; gid: number } | undefined): void {
  if (user) chownSync(dir, user.uid, user.gid);
}

function initdb(bin: string, dataDir: string, user: { uid: number; gid: number } | undefined, superuser: string, password: string | undefined): void {
  const args = ['-D', dataDir, '-U', superuser, '-E', 'UTF8', '--locale=C', '--no-instructions'];
  let pwfile: string | undefined;
  if (password) {
    pwfile = path.join(dataDir, '..', `${path.basename(dataDir)}.pw`);
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    ownedBy(pwfile, user);
    args.push(`--pwfile=${pwfile}`, '--auth-host=scram-sha-256', '--auth-local=scram-sha-256');
  } else {
    args.push('--auth=trust');
  }
  const run = spawnSync(path.join(bin, 'initdb'), args, { encoding: 'utf8', ...user });
  if (pwfile) rmSync(pwfile, { force: true });
  if (run.status !== 0) throw new Error(`initdb failed (${run.status ?? run.signal}): ${(run.stderr || run.stdout).trim().slice(-2000)}`);
}

/** Starts (and on first use creates) a PostgreSQL cluster on 127.0.0.1:port; resolves once it accepts connections. */
export async function startLocalPostgres(o: LocalPostgresOptions): Promise<LocalPostgres> {
  const bin = postgresBinDir();
  const user = serverUser();
  const superuser = o.user ?? 'perennial';
  const database = o.database ?? 'perennial';
  const dataDir = o.dataDir ?? path.join(mkdtempSync(path.join(tmpdir(), 'perennial-pg-')), 'data');
  const parent = path.dirname(dataDir);
  mkdirSync(parent, { recursive: true });
  ownedBy(parent, user);
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    ownedBy(dataDir, user);
    initdb(bin, dataDir, user, superuser, o.password);
  }
  const logFile = path.join(parent, 'postgres.log');
  const settings: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    port: o.port,
    unix_socket_directories: '',
    max_connections: 200,
    ...o.settings,
  };
  const child = startServerProcess(path.join(bin, 'postgres'), ['-D', dataDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])], { logFile, ...user });
  const auth = o.password ? `${encodeURIComponent(superuser)}:${encodeURIComponent(o.password)}` : encodeURIComponent(superuser);
  const adminUrl = `postgres://${auth}@127.0.0.1:${o.port}/postgres`;
  const server: LocalPostgres = {
    url: `postgres://${auth}@127.0.0.1:${o.port}/${database}`,
    port: o.port,
    dataDir,
    logFile,
    pid: child.pid,
    exited: child.exited,
    async stop(s = {}) {
      // SIGINT: PostgreSQL's fast shutdown.
      await child.stop('SIGINT');
      if (s.remove) rmSync(o.dataDir ? dataDir : parent, { recursive: true, force: true });
    },
    kill: () => child.stop('SIGKILL'),
  };
  try {
    await untilAccepting(adminUrl, o.readyTimeoutMs ?? 60_000, child.hasExited, logFile);
    await ensureDatabase(adminUrl, database);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

async function untilAccepting(url: string, timeoutMs: number, exited: () => boolean, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited()) throw new Error(`PostgreSQL exited while starting; its log (${logFile}):\n${tail(logFile)}`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`PostgreSQL did not accept connections within ${timeoutMs} ms (${(err as Error).message}); its log:\n${tail(logFile)}`);
    } finally {
      await client.end().catch(() => undefined);
    }
    await sleep(100);
  }
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}
