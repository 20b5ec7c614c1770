import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription, type WorkflowHandle } from '@temporalio/client';
import { connectClient } from '../temporal/connection';
import { workflowUrl, type Config } from '../config';
import { Actor, type LifecycleStatus } from '../lifecycle/contract';
import { lifecycleWorkflowId } from '../lifecycle/names';
import { findSpec, knownSpecNames, loadSpecFile, SpecError, type LoadedSpec } from '../spec/load';
import { openExistingRegistry, type RegistryPlace } from '../registry/open';
import { defaultActor } from '../client/startTraining';
import { createLogger, type Logger } from '../logging';
import { statusQuery, type lifecycle } from '../../workflows';
import { CliError } from './output';

/** How long connecting may take before Temporal counts as unreachable. */
export const CONNECT_TIMEOUT_MS = 3_000;
/** How long a query or an update may wait for a worker to handle it. */
export const WORKER_TIMEOUT_MS = 20_000;

export interface Ctx {
  config: Config;
  json: boolean;
}

/** The Temporal client identity of the CLI: `perennial-cli:<by>@<hostname>` (recorded in the ledger beside `by`). */
export function cliIdentity(by: string): string {
  return `perennial-cli:${by}@${hostname()}`;
}

export function actorOrDefault(by: string | undefined): string {
  return by ?? defaultActor();
}

/** `--by`: the lifecycle's own rule for actor ids, checked before anything is sent. */
export function checkActor(by: string): string {
  const r = Actor.safeParse(by);
  if (!r.success) throw new CliError('bad_input', `malformed --by ${JSON.stringify(by)}: ${r.error.issues[0]?.message}`);
  return by;
}

/** A client with a short connect timeout: an unreachable server is reported in seconds (exit 4). */
export async function connect(config: Config, identity: string): Promise<Client> {
  try {
    return await connectClient(config, identity, { connectTimeoutMs: CONNECT_TIMEOUT_MS });
  } catch (err) {
    throw unreachable(config, err);
  }
}

export function unreachable(config: Config, err: unknown): CliError {
  return new CliError(
    'unreachable',
    `cannot reach Temporal at ${config.temporalAddress} (namespace ${config.namespace}): ${rootMessage(err)}`,
    { address: config.temporalAddress },
    ['start it with: npm start (or npm run temporal and npm run worker), or set TEMPORAL_ADDRESS'],
  );
}

/** gRPC UNAVAILABLE anywhere in the cause chain: the server went away mid-command. */
export function isUnavailable(err: unknown): boolean {
  for (let e: unknown = err; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === 14) return true;
  }
  return false;
}

export function rootMessage(err: unknown): string {
  let e: unknown = err;
  const messages: string[] = [];
  while (e) {
    if (e instanceof Error) {
      if (e.message && !messages.includes(e.message)) messages.push(e.message);
      e = (e as { cause?: unknown }).cause;
    } else {
      messages.push(String(e));
      break;
    }
  }
  return messages.at(-1) ?? 'unknown error';
}

/** Resolves `p` or fails with `onTimeout()` after `ms`. */
export async function within<T>(ms: number, p: Promise<T>, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(onTimeout()), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** `<model>` on the command line: a model name, or a spec file whose model is meant. */
export function modelName(arg: string): string {
  if (/[\\/]|\.(ya?ml|json)$/.test(arg)) {
    if (!existsSync(arg)) throw new CliError('not_found', `no spec file ${arg}`);
    return loadSpec(arg, '').spec.name;
  }
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(arg)) throw new CliError('bad_input', `malformed model name ${JSON.stringify(arg)}: expected lower-case letters, digits and -`);
  return arg;
}

/** A spec by name or path; a missing one is "not found" (3), an invalid one "bad input" (2). */
export function loadSpec(nameOrPath: string, home: string): LoadedSpec {
  const isPath = /[\\/]|\.(ya?ml|json)$/.test(nameOrPath);
  if (isPath && !existsSync(nameOrPath)) throw new CliError('not_found', `no spec file ${nameOrPath}`);
  try {
    return isPath ? loadSpecFile(nameOrPath) : findSpec(nameOrPath, home);
  } catch (err) {
    if (err instanceof SpecError && !isPath && /^no spec named/.test(err.problems[0] ?? '')) {
      throw new CliError('not_found', err.problems[0], { model: nameOrPath });
    }
    if (err instanceof SpecError) throw new CliError('bad_input', err.message, { problems: err.problems });
    throw err;
  }
}

/** The spec for a model name as `findSpec` picks it (a user's spec first), if one is known locally; never throws. */
export function localSpec(model: string, home: string): LoadedSpec | undefined {
  try {
    return findSpec(model, home);
  } catch {
    return undefined;
  }
}

/** The lifecycle's latest run, or null if there never was one. */
export async function describeLifecycle(client: Client, model: string): Promise<WorkflowExecutionDescription | null> {
  try {
    return await client.workflow.getHandle(lifecycleWorkflowId(model)).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

/** A running lifecycle, or "not found" (3) saying what exists instead. */
export async function runningLifecycle(ctx: Ctx, client: Client, model: string): Promise<{ handle: WorkflowHandle<typeof lifecycle>; description: WorkflowExecutionDescription; webUi: string }> {
  const description = await describeLifecycle(client, model);
  const workflowId = lifecycleWorkflowId(model);
  if (!description) throw noLifecycle(ctx, model);
  const webUi = workflowUrl(ctx.config, workflowId, description.runId);
  if (description.status.name !== 'RUNNING') {
    throw new CliError('not_found', `the lifecycle of ${model} is not running (${description.status.name}${description.status.name === 'COMPLETED' ? ', retired' : ''})`, { model, workflowId, webUi }, [
      `start a new one with: npx perennial start-lifecycle ${model} --by <you>`,
      `Web UI: ${webUi}`,
    ]);
  }
  return { handle: client.workflow.getHandle<typeof lifecycle>(workflowId), description, webUi };
}

export function noLifecycle(ctx: Ctx, model: string): CliError {
  const hasSpec = localSpec(model, ctx.config.home) !== undefined;
  const known = knownSpecNames(ctx.config.home);
  return hasSpec
    ? new CliError('not_found', `no lifecycle for ${model}`, { model }, [`start it with: npx perennial start-lifecycle ${model} --by <you>`])
    : new CliError('not_found', `no model named ${model}: no spec file and no lifecycle (known specs: ${known.join(', ') || 'none'}; user specs go in ${path.join(ctx.config.home, 'specs')})`, { model });
}

/** The `status` query, bounded: a lifecycle nobody's worker answers for fails in WORKER_TIMEOUT_MS. */
export function queryStatus(ctx: Ctx, handle: WorkflowHandle<typeof lifecycle>, webUi?: string): Promise<LifecycleStatus> {
  return workerBound(handle.query(statusQuery), ctx, 'the status query', webUi);
}

function noWorker(ctx: Ctx, what: string, webUi?: string): CliError {
  return new CliError(
    'no_worker',
    `no worker answered ${what} within ${WORKER_TIMEOUT_MS / 1000}s (task queue "${ctx.config.taskQueue}")`,
    { taskQueue: ctx.config.taskQueue, ...(webUi ? { webUi } : {}) },
    [
      'is a worker running? npm run worker',
      ...(/update/.test(what) ? ['the update may still be applied when a worker picks it up: check with npx perennial status <model>'] : []),
      ...(webUi ? [`Web UI: ${webUi}`] : []),
    ],
  );
}

/** `p` (a query or an update), failing with "no worker" after WORKER_TIMEOUT_MS. */
export function workerBound<T>(p: Promise<T>, ctx: Ctx, what: string, webUi?: string): Promise<T> {
  return within(WORKER_TIMEOUT_MS, p, () => noWorker(ctx, what, webUi));
}

/** Number of registered versions in the local registry (0 when there is no registry yet; never creates one). */
export async function registeredVersions(where: RegistryPlace, models: string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const registry = openExistingRegistry(where);
  if (!registry) return counts;
  try {
    for (const m of models) counts.set(m, (await registry.versions(m)).length);
    for (const m of await registry.models()) if (!counts.has(m)) counts.set(m, (await registry.versions(m)).length);
  } finally {
    await registry.close();
  }
  return counts;
}

let logger: Logger | undefined;
/** pino on stderr, made on first use (refusals are the only thing the CLI logs). */
export function cliLogger(config: Config): Logger {
  logger ??= createLogger(config.logLevel, 'perennial-cli');
  return logger;
}
