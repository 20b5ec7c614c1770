/**
 * How long a step waits after the worker running it is killed (SIGKILL) before another
 * worker runs it again: one kill inside each activity long enough to be caught running,
 * two workers polling throughout (a replacement starts after each kill), on a real
 * Temporal dev server. Evidence is the history: the retried attempt's start event.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { loadConfig, type Config } from '../../src/config';
import { createLogger } from '../../src/logging';
import type { LoadedSpec } from '../../src/spec/load';
import { startDevServer } from '../../src/temporal/devServer';
import { connectClient } from '../../src/temporal/connection';
import { freePort } from '../../src/util/net';
import { serveModels } from '../../src/serving/serveModels';
import { startLifecycle } from '../../src/client/startLifecycle';
import { approveUpdate, retrainNowUpdate, statusQuery } from '../../workflows';
import { protoSeconds } from './stats';

const ROOT = path.resolve(__dirname, '../..');
const STARTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

export interface KillFigure {
  activity: string;
  /** Kill → the retried attempt's start, by the history's clock; null when the step finished before the kill landed. */
  secondsToRetry: number | null;
  attempt: number | null;
}

type Sign = (name: 'bench-approver' | 'bench-trainer', action: string, args: Record<string, unknown>, workflowId: string) => never;

/** Workers as `npm run worker` runs them, each its own process so it can be killed. */
class Workers {
  private readonly live = new Map<number, ChildProcess>();
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  spawn(): void {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/worker.ts')], {
      cwd: ROOT,
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    this.live.set(child.pid!, child);
  }

  /** Kills the worker whose identity (`pid@host`, the SDK's default) ran the attempt. */
  kill(identity: string): boolean {
    const child = this.live.get(Number(identity.split('@')[0]));
    if (!child) return false;
    child.kill('SIGKILL');
    this.live.delete(child.pid!);
    return true;
  }

  stopAll(): void {
    for (const c of this.live.values()) c.kill('SIGKILL');
    this.live.clear();
  }
}


/** The attempt that ended `activity` (completed or failed), from the history: its number and when it started. */
async function closedAttempt(handle: WorkflowHandle, activity: string): Promise<{ attempt: number; startedAt: number } | null> {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = new Set(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activity).map((e) => String(e.eventId)));
  const closed = events
    .map((e) => e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes)
    .find((c) => c && scheduled.has(String(c.scheduledEventId)));
  if (!closed) return null;
  const startedId = String(closed.startedEventId);
  const started = events.find((e) => String(e.eventId) === startedId);
  return { attempt: started?.activityTaskStartedEventAttributes?.attempt ?? 1, startedAt: protoSeconds(started?.eventTime) * 1000 };
}

/** Waits until `activity` runs its first attempt, kills that worker, starts a replacement, and times the retry. */
async function killDuring(client: Client, workflowId: string, activity: string, workers: Workers, afterKill?: () => Promise<void>): Promise<KillFigure> {
  const handle = client.workflow.getHandle(workflowId);
  const deadline = Date.now() + 10 * 60_000;
  let killedAt = 0;
  for (let i = 0; killedAt === 0; i++) {
    if (Date.now() > deadline) throw new Error(`${activity} of ${workflowId} never ran within 10 minutes`);
    const running = await handle
      .describe()
      .then((d) => d.raw.pendingActivities?.find((a) => a.activityType?.name === activity && a.state === STARTED && a.attempt === 1))
      .catch(() => undefined);
    if (running?.lastWorkerIdentity && workers.kill(running.lastWorkerIdentity)) {
      killedAt = Date.now();
      workers.spawn();
      await afterKill?.();
      break;
    }
    if (i % 20 === 19 && (await closedAttempt(handle, activity).catch(() => null))) return { activity, secondsToRetry: null, attempt: null };
    await sleep(25);
  }
  for (;;) {
    if (Date.now() > deadline) throw new Error(`${activity} of ${workflowId} was not retried within 10 minutes of the kill`);
    const done = await closedAttempt(handle, activity);
    if (done) return { activity, secondsToRetry: (done.startedAt - killedAt) / 1000, attempt: done.attempt };
    await sleep(250);
  }
}

async function waitForStage(handle: WorkflowHandle, stage: string): Promise<void> {
  const deadline = Date.now() + 15 * 60_000;
  while ((await handle.query(statusQuery)).stage !== stage) {
    if (Date.now() > deadline) throw new Error(`the lifecycle did not reach ${stage} within 15 minutes`);
    await sleep(200);
  }
}

/**
 * One lifecycle through its steps with a kill in each: the four training steps, the deploy
 * (no model server until after the kill, so it is caught waiting), and the champion's
 * evaluation on a retrain's holdout.
 */
export async function benchWorkerKills(home: string, loaded: LoadedSpec, signer: (config: Config) => Promise<Sign>): Promise<KillFigure[]> {
  const env: NodeJS.ProcessEnv = {
    PERENNIAL_HOME: home,
    TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
    PERENNIAL_UI_PORT: String(await freePort()),
    PERENNIAL_SERVER_PORT: String(await freePort()),
    PERENNIAL_SERVER_POLL_MS: '100',
    LOG_LEVEL: 'error',
    TEMPORAL_CONFIG_FILE: path.join(home, 'none.toml'),
  };
  const config = loadConfig(env);
  const server = await startDevServer({ home, address: config.temporalAddress, uiPort: config.uiPort, namespace: config.namespace });
  const client = await connectClient(config, 'bench');
  const workers = new Workers(env);
  let models: Awaited<ReturnType<typeof serveModels>> | undefined;
  try {
    const sign = await signer(config);
    workers.spawn();
    workers.spawn();
    const { handle } = await startLifecycle(client, config, loaded, 'bench-trainer');
    const model = loaded.spec.name;
    const figures: KillFigure[] = [];
    for (const activity of ['ingest', 'validateData', 'train', 'evaluate']) figures.push(await killDuring(client, `train/${model}/1`, activity, workers));
    await waitForStage(handle, 'AWAITING_APPROVAL');
    await handle.executeUpdate(approveUpdate, { args: [sign('bench-approver', 'approve', { version: 1, by: 'bench-approver', reason: 'bench' }, handle.workflowId)] });
    figures.push(
      await killDuring(client, handle.workflowId, 'deploy', workers, async () => {
        models = await serveModels(config, createLogger('error', 'perennial-bench'));
      }),
    );
    await waitForStage(handle, 'SERVING');
    await handle.executeUpdate(retrainNowUpdate, { args: [sign('bench-trainer', 'retrainNow', { by: 'bench-trainer', reason: 'bench' }, handle.workflowId)] });
    figures.push(await killDuring(client, handle.workflowId, 'evaluateVersion', workers));
    return figures;
  } finally {
    workers.stopAll();
    await models?.server.close();
    await client.connection.close();
    await server.stop();
  }
}
