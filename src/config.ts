import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadClientConnectConfig, type ClientConnectConfig } from '@temporalio/envconfig';
import { z } from 'zod';

/**
 * Every setting perennial reads, by its environment name. The optional config file
 * (`PERENNIAL_CONFIG`, default `perennial.config.json` in the working directory) uses
 * the same names; the environment wins over the file.
 */
export const ConfigSchema = z.object({
  PERENNIAL_HOME: z.string().min(1).default('.perennial'),
  /** Where `perennial keys create` keeps private keys (default $PERENNIAL_HOME/keys). */
  PERENNIAL_KEYS_DIR: z.string().min(1).optional(),
  /** Where the registry and prediction log live: unset for the SQLite files in PERENNIAL_HOME, or postgres://user:pass@host:port/db. */
  PERENNIAL_REGISTRY_URL: z
    .string()
    .max(2048)
    .refine(isPostgresUrl, 'expected postgres://user:password@host:port/database (unset: the SQLite files in PERENNIAL_HOME)')
    .optional(),
  /** Where artifacts live: unset for $PERENNIAL_HOME/artifacts, file:///a/folder, or s3://bucket/prefix (with the standard AWS_* settings). */
  PERENNIAL_ARTIFACTS_URL: z
    .string()
    .max(1024)
    .refine(isArtifactsUrl, 'expected file:///absolute/folder or s3://bucket/prefix (unset: $PERENNIAL_HOME/artifacts)')
    .optional(),
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:7233')
    .optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).optional(),
  PERENNIAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  PERENNIAL_UI_URL: z.url({ message: 'expected an http(s) URL, e.g. http://127.0.0.1:8233' }).optional(),
  PERENNIAL_TASK_QUEUE: z
    .string()
    .min(1)
    .max(200)
    .regex(/^\S+$/, 'expected a name without spaces')
    .default('perennial'),
  /** What `npm run worker` polls: `all` its queues, or only `orchestration` (workflows, quick steps) or `training`. */
  PERENNIAL_WORKER_ROLE: z.enum(['all', 'orchestration', 'training']).default('all'),
  PERENNIAL_SERVER_HOST: z.string().min(1).default('127.0.0.1'),
  PERENNIAL_SERVER_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  PERENNIAL_SERVER_URL: z.url({ message: 'expected an http(s) URL, e.g. http://127.0.0.1:8080' }).optional(),
  /** Model server tuning: registry poll interval, prediction-log batching, request limits. */
  PERENNIAL_SERVER_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(250),
  PERENNIAL_SERVER_FLUSH_MS: z.coerce.number().int().min(1).max(3_600_000).default(200),
  PERENNIAL_SERVER_FLUSH_ROWS: z.coerce.number().int().min(1).max(1_000_000).default(500),
  PERENNIAL_SERVER_LOG_MAX_PENDING: z.coerce.number().int().min(1).max(10_000_000).default(50_000),
  PERENNIAL_SERVER_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(1024 ** 3).default(1024 * 1024),
  /** A request (headers and body) must arrive whole within this; a slow or stalled client is cut off (408). */
  PERENNIAL_SERVER_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  PERENNIAL_SERVER_MAX_INSTANCES: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  /** How often a model server tells the registry what it serves. */
  PERENNIAL_SERVER_HEARTBEAT_MS: z.coerce.number().int().min(100).max(60_000).default(2000),
  /** A deploy waits for every model server heard from within this; one silent longer has dropped out. */
  PERENNIAL_SERVER_LIVENESS_MS: z.coerce.number().int().min(500).max(600_000).default(10_000),
  /** Where a worker serves the Temporal SDK's Prometheus metrics (`/metrics`); unset: not served (npm start picks a port). */
  PERENNIAL_WORKER_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  PERENNIAL_WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

function isPostgresUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'postgres:' || u.protocol === 'postgresql:') && u.hostname !== '' && u.pathname.length > 1;
  } catch {
    return false;
  }
}

function isArtifactsUrl(value: string): boolean {
  if (/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[A-Za-z0-9!_.*'()\/-]*)?$/.test(value)) return !value.includes('/../') && !value.endsWith('/..');
  try {
    const u = new URL(value);
    return u.protocol === 'file:' && (u.host === '' || u.host === 'localhost') && u.pathname.length > 1;
  } catch {
    return false;
  }
}

export type WorkerRole = z.infer<typeof ConfigSchema>['PERENNIAL_WORKER_ROLE'];

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';

export interface Config {
  home: string;
  /** PostgreSQL URL of the registry and prediction log; null: the SQLite files in `home`. */
  registryUrl: string | null;
  /** `file:///…` or `s3://bucket/prefix` of the artifact store; null: `home`/artifacts. */
  artifactsUrl: string | null;
  /** Private keys of the actors on this machine (mode 0600 files). */
  keysDir: string;
  temporalAddress: string;
  /** True when the address came from the user (env, config file or envconfig profile), not the local default. */
  addressIsExplicit: boolean;
  namespace: string;
  /** API key, TLS and gRPC metadata from the envconfig profile (Temporal Cloud, mTLS). */
  connection: Omit<ClientConnectConfig['connectionOptions'], 'address'>;
  uiPort: number;
  uiUrl: string;
  /** The workflows' queue; the training steps use `<taskQueue>-training`. */
  taskQueue: string;
  workerRole: WorkerRole;
  /** Where a worker serves its Prometheus metrics, if it does. */
  workerMetrics: { host: string; port: number } | null;
  /** Where the model server listens, and where the lifecycle reaches it. */
  server: {
    host: string;
    port: number;
    url: string;
    pollMs: number;
    flushMs: number;
    flushRows: number;
    /** Predictions are refused (503) while this many logged rows wait for the disk. */
    logMaxPending: number;
    maxBodyBytes: number;
    requestTimeoutMs: number;
    maxInstances: number;
    heartbeatMs: number;
    /** Deploys wait for the servers heard from within this (the worker's setting). */
    livenessMs: number;
  };
  /** True when PERENNIAL_SERVER_URL was given: the URL a server advertises to others. */
  serverUrlIsExplicit: boolean;
  logLevel: z.infer<typeof ConfigSchema>['LOG_LEVEL'];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid perennial configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

function readConfigFile(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const explicit = env.PERENNIAL_CONFIG;
  const file = explicit ?? 'perennial.config.json';
  if (!existsSync(file)) {
    if (explicit) throw new ConfigError([`PERENNIAL_CONFIG: file ${explicit} does not exist`]);
    return {};
  }
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new Error('expected a JSON object of setting names to values');
    }
    return parsed as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError([`${file}: ${(err as Error).message}`]);
  }
}

/**
 * The envconfig profile (TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE or the default
 * temporal.toml): where API keys and mTLS settings for a cluster or Temporal Cloud live.
 */
function loadProfile(env: NodeJS.ProcessEnv): ClientConnectConfig {
  try {
    const vars = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
    return loadClientConnectConfig({ overrideEnvVars: vars });
  } catch (err) {
    throw new ConfigError([`Temporal envconfig profile: ${(err as Error).message}`]);
  }
}

/** Reads and validates the configuration; a bad value throws naming the key and the expected form. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const known = Object.keys(ConfigSchema.shape);
  const fromFile = readConfigFile(env);
  const unknownKeys = Object.keys(fromFile).filter((k) => !known.includes(k));
  const merged: Record<string, unknown> = { ...fromFile };
  for (const key of known) {
    const value = env[key];
    if (value !== undefined && value !== '') merged[key] = value;
  }
  const parsed = ConfigSchema.safeParse(merged);
  const problems = unknownKeys.map((k) => `${k}: unknown setting (known: ${known.join(', ')})`);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`);
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  const c = parsed.data;
  const profile = loadProfile(env);
  const address = c.TEMPORAL_ADDRESS ?? profile.connectionOptions.address;
  const { address: _ignored, ...connection } = profile.connectionOptions;
  return {
    home: path.resolve(c.PERENNIAL_HOME),
    registryUrl: c.PERENNIAL_REGISTRY_URL ?? null,
    artifactsUrl: c.PERENNIAL_ARTIFACTS_URL?.replace(/\/+$/, '') ?? null,
    keysDir: path.resolve(c.PERENNIAL_KEYS_DIR ?? path.join(c.PERENNIAL_HOME, 'keys')),
    temporalAddress: address ?? DEFAULT_TEMPORAL_ADDRESS,
    addressIsExplicit: address !== undefined,
    namespace: c.TEMPORAL_NAMESPACE ?? profile.namespace ?? 'default',
    connection,
    uiPort: c.PERENNIAL_UI_PORT,
    uiUrl: (c.PERENNIAL_UI_URL ?? `http://127.0.0.1:${c.PERENNIAL_UI_PORT}`).replace(/\/$/, ''),
    taskQueue: c.PERENNIAL_TASK_QUEUE,
    workerRole: c.PERENNIAL_WORKER_ROLE,
    workerMetrics: c.PERENNIAL_WORKER_METRICS_PORT === undefined ? null : { host: c.PERENNIAL_WORKER_METRICS_HOST, port: c.PERENNIAL_WORKER_METRICS_PORT },
    server: {
      host: c.PERENNIAL_SERVER_HOST,
      port: c.PERENNIAL_SERVER_PORT,
      url: (c.PERENNIAL_SERVER_URL ?? `http://${c.PERENNIAL_SERVER_HOST}:${c.PERENNIAL_SERVER_PORT}`).replace(/\/$/, ''),
      pollMs: c.PERENNIAL_SERVER_POLL_MS,
      flushMs: c.PERENNIAL_SERVER_FLUSH_MS,
      flushRows: c.PERENNIAL_SERVER_FLUSH_ROWS,
      logMaxPending: c.PERENNIAL_SERVER_LOG_MAX_PENDING,
      maxBodyBytes: c.PERENNIAL_SERVER_MAX_BODY_BYTES,
      requestTimeoutMs: c.PERENNIAL_SERVER_REQUEST_TIMEOUT_MS,
      maxInstances: c.PERENNIAL_SERVER_MAX_INSTANCES,
      heartbeatMs: c.PERENNIAL_SERVER_HEARTBEAT_MS,
      livenessMs: c.PERENNIAL_SERVER_LIVENESS_MS,
    },
    serverUrlIsExplicit: c.PERENNIAL_SERVER_URL !== undefined,
    logLevel: c.LOG_LEVEL,
  };
}

/** A model's report page on the model server. */
export function reportUrl(config: Pick<Config, 'server'>, model: string): string {
  return `${config.server.url}/ui/models/${encodeURIComponent(model)}`;
}

/** Link to one workflow run in the Web UI. */
export function workflowUrl(config: Pick<Config, 'uiUrl' | 'namespace'>, workflowId: string, runId?: string): string {
  const base = `${config.uiUrl}/namespaces/${encodeURIComponent(config.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
}
