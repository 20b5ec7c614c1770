/**
 * The Temporal server as docker-compose.yml runs it — Temporal Server v1.30.8 on
 * PostgreSQL — natively: built once with `go install`, its two databases created and
 * migrated with its own SQL tool and schema files (the `postgres12` plugin), started from
 * a config written here with every port free, then given the namespace and perennial's
 * search attributes.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import YAML from 'yaml';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { ensureGoTool, goModuleDir, GO_TOOLS } from './goTools';
import { startServerProcess } from './serverProcess';
import { run } from '../temporal/binaries';
import { freePort } from '../util/net';
import { PerennialModel, registerSearchAttributes } from '../temporal/searchAttributes';

const SERVER_MODULE = `go.temporal.io/server@${GO_TOOLS.temporalServer.pkg.split('@')[1]}`;

export interface PostgresAccess {
  host: string;
  port: number;
  user: string;
  password: string;
}

export interface ClusterTemporal {
  /** 127.0.0.1:port of the frontend. */
  address: string;
  namespace: string;
  pid: number;
  logFile: string;
  exited: Promise<void>;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

export interface ClusterTemporalOptions {
  /** Config and log files go here. */
  dir: string;
  postgres: PostgresAccess;
  namespace: string;
  /** The frontend's gRPC port (the other services get free ports of their own). */
  port: number;
  log?: (m: string) => void;
}

/** The persistence and visibility databases, created and migrated to the server's schema (idempotent). */
export async function setUpTemporalSchema(pg: PostgresAccess, log: (m: string) => void = () => undefined): Promise<void> {
  const sqlTool = await ensureGoTool(GO_TOOLS.temporalSql, log);
  const schema = await temporalSchemaDir();
  for (const [database, folder] of [['temporal', 'temporal'], ['temporal_visibility', 'visibility']] as const) {
    const base = ['--plugin', 'postgres12', '--ep', pg.host, '-p', String(pg.port), '-u', pg.user, '--db', database];
    // The password by environment: a command line is readable by every user of the machine (ps).
    const env = { ...process.env, SQL_PASSWORD: pg.password };
    const created = await run(sqlTool, [...base, 'create-database'], env);
    if (created.code !== 0 && !/already exists/.test(created.output)) throw new Error(`creating the ${database} database failed: ${created.output.slice(-2000)}`);
    const version = await run(sqlTool, [...base, 'setup-schema', '-v', '0.0'], env);
    if (version.code !== 0 && !/already exists/.test(version.output)) throw new Error(`setting up the ${database} schema failed: ${version.output.slice(-2000)}`);
    const updated = await run(sqlTool, [...base, 'update-schema', '-d', path.join(schema, folder, 'versioned')], env);
    if (updated.code !== 0) throw new Error(`migrating the ${database} schema failed: ${updated.output.slice(-2000)}`);
  }
  log('Temporal schema ready (temporal, temporal_visibility)');
}

/** The pinned server's PostgreSQL schema files (`temporal/`, `visibility/`), from the Go module cache. */
export async function temporalSchemaDir(): Promise<string> {
  return path.join(await goModuleDir(SERVER_MODULE), 'schema', 'postgresql', 'v12');
}

/** The server's dynamic config (docker-compose.yml mounts the same, docker/dynamicconfig/perennial.yaml). */
export const DYNAMIC_CONFIG = {
  // An activity on the workflow's own queue (a monitor check, a deploy step) comes back with
  // the workflow task that scheduled it: no trip through matching, less work for the server
  // and its database per check (npm run bench -- cluster).
  'system.enableActivityEagerExecution': [{ value: true, constraints: {} }],
};

/** The server's config: development-postgres12.yaml's shape, on the given database and free ports. */
async function serverConfig(o: ClusterTemporalOptions): Promise<unknown> {
  const store = (database: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName: database,
      connectAddr: `${o.postgres.host}:${o.postgres.port}`,
      connectProtocol: 'tcp',
      user: o.postgres.user,
      password: o.postgres.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const service = async (grpcPort: number) => ({ rpc: { grpcPort, membershipPort: await freePort(), bindOnLocalHost: true } });
  const dynamic = path.join(o.dir, 'dynamicconfig.yaml');
  writeFileSync(dynamic, YAML.stringify(DYNAMIC_CONFIG));
  return {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: 4,
      datastores: { 'postgres-default': store('temporal', 20), 'postgres-visibility': store('temporal_visibility', 4) },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' } },
    services: {
      frontend: { rpc: { ...(await service(o.port)).rpc, httpPort: await freePort() } },
      matching: await service(await freePort()),
      history: await service(await freePort()),
      worker: await service(await freePort()),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${o.port}` } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: dynamic, pollInterval: '10s' },
  };
}

/** Starts the server (schema first); resolves once the namespace and search attributes are there. */
export async function startClusterTemporal(o: ClusterTemporalOptions): Promise<ClusterTemporal> {
  const log = o.log ?? (() => undefined);
  mkdirSync(o.dir, { recursive: true });
  const binary = await ensureGoTool(GO_TOOLS.temporalServer, log);
  await setUpTemporalSchema(o.postgres, log);
  const configFile = path.join(o.dir, 'temporal-server.yaml');
  writeFileSync(configFile, YAML.stringify(await serverConfig(o)), { mode: 0o600 });
  const logFile = path.join(o.dir, 'temporal-server.log');
  const child = startServerProcess(binary, ['--config-file', configFile, '--allow-no-auth', 'start'], { logFile, cwd: o.dir });
  const address = `127.0.0.1:${o.port}`;
  try {
    await untilServing(address, o.namespace, child.hasExited, logFile);
  } catch (err) {
    await child.stop('SIGKILL');
    throw err;
  }
  log(`Temporal server ${GO_TOOLS.temporalServer.pkg.split('@')[1]} on PostgreSQL at ${address} (namespace ${o.namespace})`);
  return { address, namespace: o.namespace, pid: child.pid, logFile, exited: child.exited, stop: () => child.stop('SIGTERM'), kill: () => child.stop('SIGKILL') };
}

async function untilServing(address: string, namespace: string, exited: () => boolean, logFile: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  let last = '';
  let added = false;
  for (;;) {
    if (exited()) throw new Error(`the Temporal server exited while starting; its log (${logFile}):\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`the Temporal server at ${address} did not become ready in 120 s (${last}); its log: ${logFile}`);
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: 2_000 });
      await ensureNamespace(connection, namespace);
      added = (await registerSearchAttributes(connection, namespace)).length > 0 || added;
      await historyAnswers(connection, namespace);
      await searchAttributesUsable(connection, namespace, added);
      return;
    } catch (err) {
      last = (err as Error).message;
    } finally {
      await connection?.close();
    }
    await sleep(500);
  }
}

/**
 * The frontend answers before the history and matching services have joined: ready means a
 * lookup of a workflow reaches history (NOT_FOUND) and a task queue's description comes from matching.
 */
async function historyAnswers(connection: Connection, namespace: string): Promise<void> {
  try {
    await connection.workflowService.describeWorkflowExecution({ namespace, execution: { workflowId: 'perennial-readiness-probe' } });
  } catch (err) {
    if ((err as { code?: number }).code !== 5) throw err;
  }
  await connection.workflowService.describeTaskQueue({ namespace, taskQueue: { name: 'perennial-readiness-probe' }, taskQueueType: 1 });
}

/**
 * On PostgreSQL, perennial's search attributes are aliases kept in the namespace's record,
 * which every service caches and re-reads every 2 s (`system.namespaceCacheRefreshInterval`):
 * usable once the frontend filters by one, and, when they were just added, once the history
 * service (which checks a workflow's upserts) has re-read the record too — within one more
 * refresh. (Forcing search attributes to be re-read at every use, as the dev server does,
 * re-reads the cluster's metadata, not a namespace's aliases: a database read per use that
 * buys nothing here, and Temporal warns against it in production.)
 */
async function searchAttributesUsable(connection: Connection, namespace: string, justAdded: boolean): Promise<void> {
  await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1, query: `${PerennialModel.name} = 'perennial-readiness-probe'` });
  if (justAdded) await sleep(NAMESPACE_CACHE_REFRESH_MS + 500);
}

const NAMESPACE_CACHE_REFRESH_MS = 2000;

async function ensureNamespace(connection: Connection, namespace: string): Promise<void> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
  } catch (err) {
    if ((err as { code?: number }).code !== 5) throw err; // NOT_FOUND
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('3 days') });
  }
}
