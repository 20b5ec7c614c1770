import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { durationMs } from '../util/duration';
import type { HistoryEntry, LifecycleStatus } from '../lifecycle/contract';
import { approveUpdate, pauseUpdate, refreshKeysSignal, rejectUpdate, resumeUpdate, retireUpdate, retrainNowUpdate, rollbackUpdate, type ActionAck, type lifecycle } from '../../workflows';
import { lifecycleWorkflowId } from '../lifecycle/names';
import type { LifecycleAction } from '../lifecycle/actions';
import { KeyError, readLocalKey, signAction, type LocalKey } from '../auth/keyStore';
import {
  checkActor,
  cliIdentity,
  cliLogger,
  connect,
  localSpec,
  queryStatus,
  rootMessage,
  runningLifecycle,
  within,
  workerBound,
  type Ctx,
} from './context';
import { CliError, ok, progress, type CommandResult } from './output';

export type ActionName = 'approve' | 'reject' | 'rollback' | 'retire' | 'retrain' | 'pause' | 'resume';

export interface ActionRequest {
  action: ActionName;
  model: string;
  by: string;
  reason: string;
  /** approve/reject: the candidate; rollback: the version to serve again. */
  version?: number;
  /** approve, rollback, retire: wait for the outcome (default true). */
  wait: boolean;
  /** Print the signed payload for `temporal workflow signal` / the Web UI instead of sending it. */
  printSignal?: boolean;
  /** How long the signature stays valid (default 24 h). */
  lifetimeMs?: number;
}

/** Extra time beyond the spec's rollout.deployTimeout that an approve/rollback waits for the outcome. */
export const DEPLOY_WAIT_MARGIN_MS = 60_000;
const DEFAULT_DEPLOY_TIMEOUT = '2m';
const RETIRE_WAIT_MS = 60_000;
const POLL_MS = 500;

type Handle = WorkflowHandle<typeof lifecycle>;

/** The lifecycle's name for a CLI action, and its payload before signing. */
function payloadOf(a: ActionRequest): { name: LifecycleAction; args: Record<string, unknown> } {
  const { by, reason } = a;
  switch (a.action) {
    case 'approve':
    case 'reject':
      return { name: a.action, args: { version: a.version!, by, reason } };
    case 'rollback':
      return { name: 'rollback', args: { toVersion: a.version!, by, reason } };
    case 'retrain':
      return { name: 'retrainNow', args: { by, reason } };
    default:
      return { name: a.action, args: { by, reason } };
  }
}

/** The payload signed with the local key of `--by` (unsigned without one: a lifecycle that needs signatures says so). */
function signedPayload(a: ActionRequest, key: LocalKey | null): { name: LifecycleAction; payload: Record<string, unknown> } {
  const { name, args } = payloadOf(a);
  return { name, payload: key ? signAction(key, lifecycleWorkflowId(a.model), name, args, a.lifetimeMs) : args };
}

export function localKeyOf(ctx: Ctx, by: string): LocalKey | null {
  try {
    return readLocalKey(ctx.config.keysDir, by);
  } catch (err) {
    if (err instanceof KeyError) throw new CliError('bad_input', err.message);
    throw err;
  }
}

function send(handle: Handle, name: LifecycleAction, payload: Record<string, unknown>): Promise<ActionAck> {
  const args = [payload] as never;
  switch (name) {
    case 'approve':
      return handle.executeUpdate(approveUpdate, { args });
    case 'reject':
      return handle.executeUpdate(rejectUpdate, { args });
    case 'rollback':
      return handle.executeUpdate(rollbackUpdate, { args });
    case 'retire':
      return handle.executeUpdate(retireUpdate, { args });
    case 'retrainNow':
      return handle.executeUpdate(retrainNowUpdate, { args });
    case 'pause':
      return handle.executeUpdate(pauseUpdate, { args });
    case 'resume':
      return handle.executeUpdate(resumeUpdate, { args });
    case 'updateSpec':
      throw new Error('updateSpec is sent by update-spec');
  }
}

/** A lifecycle's refusal because it does not know the signing key yet (registered after it loaded keys). */
const UNKNOWN_KEY = /is not a current key of \S+ known to this lifecycle/;

/**
 * Asks the lifecycle to reload keys from the registry and waits until it has (or 20 s
 * pass): for a key created after the lifecycle last loaded keys.
 */
async function refreshKeys(ctx: Ctx, handle: Handle, webUi: string): Promise<void> {
  const before = (await queryStatus(ctx, handle, webUi)).auth?.loads ?? 0;
  await handle.signal(refreshKeysSignal);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (((await queryStatus(ctx, handle, webUi)).auth?.loads ?? 0) > before) return;
    await sleep(POLL_MS);
  }
}

/** The local key of `by`, which signing cannot do without. */
export function requireKeyOf(ctx: Ctx, by: string): LocalKey {
  const key = localKeyOf(ctx, by);
  if (!key) throw new CliError('bad_input', `no key of ${by} in ${ctx.config.keysDir} to sign with: create one with npx perennial keys create --as ${by}`);
  return key;
}

/**
 * `attempt` (an update signed afresh each time), once more after the lifecycle reloaded its
 * keys if it refused the first for a key it does not know yet (made after it last loaded).
 */
export async function withKeyRefresh<T>(ctx: Ctx, handle: Handle, webUi: string, attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (err) {
    if (!(err instanceof WorkflowUpdateFailedError && UNKNOWN_KEY.test(rootMessage(err.cause ?? err)))) throw err;
    await refreshKeys(ctx, handle, webUi);
    return attempt();
  }
}

/** `--print-signal`: the signed payload, one line of JSON on stdout, nothing sent. */
export function printSignal(ctx: Ctx, a: ActionRequest): CommandResult {
  checkActor(a.by);
  const { payload } = signedPayload(a, requireKeyOf(ctx, a.by));
  return { exitCode: 0, json: payload, text: JSON.stringify(payload) };
}

/**
 * approve / reject / rollback / retire / retrain: one Update to `lifecycle/<model>`. The
 * lifecycle's validator decides; a refusal is printed with its reason (exit 2) and logged
 * here, since a refused update leaves no trace in the workflow's history.
 */
export async function actionCommand(ctx: Ctx, a: ActionRequest): Promise<CommandResult> {
  checkActor(a.by);
  if (a.reason.trim() === '') throw new CliError('bad_input', '--reason must not be empty');
  if (a.printSignal) return printSignal(ctx, a);
  const key = localKeyOf(ctx, a.by);
  const identity = cliIdentity(a.by);
  const client = await connect(ctx.config, identity);
  try {
    const { handle, description, webUi } = await runningLifecycle(ctx, client, a.model);
    const base = { model: a.model, action: a.action, ...(a.version !== undefined ? { version: a.version } : {}), by: a.by, identity, workflowId: handle.workflowId, runId: description.runId, webUi };
    const deploys = a.wait && (a.action === 'approve' || a.action === 'rollback');
    // The last history entry before the action: only what follows it counts as this action's outcome.
    const before = deploys ? await queryStatus(ctx, handle, webUi) : undefined;

    let ack: ActionAck;
    const attempt = () => {
      const { name, payload } = signedPayload(a, key);
      return workerBound(send(handle, name, payload), ctx, `the ${a.action} update`, webUi);
    };
    try {
      ack = key ? await withKeyRefresh(ctx, handle, webUi, attempt) : await attempt();
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        const reason = rootMessage(err.cause ?? err);
        cliLogger(ctx.config).warn({ model: a.model, action: a.action, by: a.by, reason, version: a.version, requestReason: a.reason, identity, workflowId: handle.workflowId, runId: description.runId }, 'refused action');
        throw new CliError('refused', reason, base, [
          ...(!key && /^unsigned/.test(reason) ? [`no key of ${a.by} in ${ctx.config.keysDir}: create one with npx perennial keys create --as ${a.by}`] : []),
          `Web UI: ${webUi}`,
        ]);
      }
      if (err instanceof WorkflowNotFoundError) throw new CliError('not_found', `the lifecycle of ${a.model} ended before the ${a.action} arrived`, base, [`Web UI: ${webUi}`]);
      throw err;
    }

    const accepted = { ...base, accepted: true, message: ack.message };
    switch (a.action) {
      case 'approve':
      case 'rollback': {
        const v = a.version!;
        const what = a.action === 'approve' ? `v${v} approved by ${a.by}` : `rollback to v${v} accepted from ${a.by}`;
        if (!a.wait) {
          return ok({ ...accepted, outcome: 'accepted' }, [`${what}; deploying (not waited for: follow with npx perennial status ${a.model})`, `Web UI: ${webUi}`].join('\n'));
        }
        const deployTimeout = localSpec(a.model, ctx.config.home)?.spec.rollout.deployTimeout ?? DEFAULT_DEPLOY_TIMEOUT;
        const waitMs = durationMs(deployTimeout) + DEPLOY_WAIT_MARGIN_MS;
        progress(ctx.json, `${what}; waiting up to ${Math.round(waitMs / 1000)}s for the model server to serve v${v}...`);
        const started = Date.now();
        const outcome = await waitForDeployment(ctx, handle, v, before!, waitMs, webUi);
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        if (outcome.kind === 'served') {
          const previous = before!.champion?.version;
          const text = a.action === 'approve'
            ? `${what} and served: ${a.model} v${v} is the champion${previous ? ` (was v${previous})` : ''}, ${seconds}s after approval`
            : `rolled back: ${a.model} v${v} is served again${previous ? ` (was v${previous})` : ''}, after ${seconds}s`;
          return ok({ ...accepted, outcome: 'served', champion: outcome.status.champion, stage: outcome.status.stage }, [text, `Web UI: ${webUi}`].join('\n'));
        }
        if (outcome.kind === 'failed') {
          throw new CliError('deploy_failed', `${what}, but the deployment of v${v} failed: ${outcome.reason}`, { ...accepted, outcome: 'deploy-failed', deployError: outcome.reason, stage: outcome.status.stage, champion: outcome.status.champion }, [
            outcome.status.champion ? `v${outcome.status.champion.version} stays the champion` : 'no champion is served',
            `Web UI: ${webUi}`,
          ]);
        }
        throw new CliError('timeout', `${what}, but v${v} is not served after ${Math.round(waitMs / 1000)}s (stage ${outcome.status.stage}: waiting for ${outcome.status.waitingFor})`, { ...accepted, outcome: 'not-seen', stage: outcome.status.stage }, [
          `follow it with: npx perennial status ${a.model}`,
          `Web UI: ${webUi}`,
        ]);
      }
      case 'reject':
        return ok({ ...accepted, outcome: 'rejected' }, [`v${a.version} rejected by ${a.by}; the champion is unchanged`, `Web UI: ${webUi}`].join('\n'));
      case 'retrain':
        return ok({ ...accepted, outcome: 'accepted' }, [`${ack.message}: the new candidate will await approval once trained and gated`, `follow it with: npx perennial status ${a.model}`, `Web UI: ${webUi}`].join('\n'));
      case 'pause':
        return ok({ ...accepted, outcome: 'paused' }, [`${ack.message} by ${a.by}: no checks run until resumed (the champion keeps serving)`, `Web UI: ${webUi}`].join('\n'));
      case 'resume':
        return ok({ ...accepted, outcome: 'resumed' }, [`${ack.message} by ${a.by}: the next check is one interval from now`, `Web UI: ${webUi}`].join('\n'));
      case 'retire': {
        if (!a.wait) return ok({ ...accepted, outcome: 'accepted' }, [`${ack.message} (not waited for: follow with npx perennial status ${a.model})`, `Web UI: ${webUi}`].join('\n'));
        progress(ctx.json, `${ack.message}; waiting for the lifecycle to end...`);
        const final = await within(RETIRE_WAIT_MS, handle.result(), () => new CliError('timeout', `retire of ${a.model} accepted, but the lifecycle has not ended after ${RETIRE_WAIT_MS / 1000}s`, { ...accepted, outcome: 'not-seen' }, [`Web UI: ${webUi}`]));
        return ok({ ...accepted, outcome: 'retired', stage: final.stage }, [`${a.model} retired by ${a.by}: nothing is served and the lifecycle has ended (${final.stage})`, `Web UI: ${webUi}`].join('\n'));
      }
    }
  } finally {
    await client.connection.close();
  }
}

type DeployOutcome =
  | { kind: 'served'; status: LifecycleStatus }
  | { kind: 'failed'; reason: string; status: LifecycleStatus }
  | { kind: 'timeout'; status: LifecycleStatus };

/**
 * Polls `status` until a `deployed` or `deploy-failed` for v`version` follows the state seen
 * `before`. The event, not the stage: a lifecycle whose monitoring is paused rests in
 * PAUSED, not SERVING, once the version is served.
 */
async function waitForDeployment(ctx: Ctx, handle: Handle, version: number, before: LifecycleStatus, timeoutMs: number, webUi: string): Promise<DeployOutcome> {
  const marker = before.history.at(-1);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await queryStatus(ctx, handle, webUi);
    const since = after(s.history, marker);
    if (s.champion?.version === version && since.some((h) => h.event === 'deployed' && h.version === version)) return { kind: 'served', status: s };
    const failed = since.find((h) => h.event === 'deploy-failed' && h.version === version);
    if (failed) return { kind: 'failed', reason: failed.reason ?? 'unknown', status: s };
    if (s.stage === 'RETIRED') return { kind: 'failed', reason: 'the lifecycle was retired', status: s };
    if (Date.now() >= deadline) return { kind: 'timeout', status: s };
    await sleep(POLL_MS);
  }
}

function after(history: HistoryEntry[], marker: HistoryEntry | undefined): HistoryEntry[] {
  if (!marker) return history;
  for (let i = history.length - 1; i >= 0; i--) {
    const h = history[i];
    if (h.at === marker.at && h.event === marker.event && h.version === marker.version && h.by === marker.by) return history.slice(i + 1);
  }
  return history; // the marker was trimmed away: everything is newer
}
