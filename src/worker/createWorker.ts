import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Config, WorkerRole } from '../config';
import { trainingTaskQueue } from '../temporal/taskQueues';
import { activityDeps, createActivities } from '../../activities';
import { WORKFLOW_BUNDLE_OPTIONS } from './workflowBundle';

export interface PerennialWorkerOptions {
  config: Config;
  connection: NativeConnection;
  /** Pre-built workflow bundle (tests build it once); default: bundle `workflows/` at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** What this worker polls; default `config.workerRole`. */
  role?: WorkerRole;
  /** Replaces perennial's activities (tests inject faults and stubs). */
  activities?: object;
}

/** One process polling perennial's task queues: one SDK worker per queue, run and stopped together. */
export interface PerennialWorker {
  readonly taskQueues: string[];
  run(): Promise<void>;
  /** Runs until `work` settles, then stops; fails as soon as a queue's worker fails. */
  runUntil<R>(work: Promise<R> | (() => Promise<R>)): Promise<R>;
  /** Starts a graceful stop (in-flight tasks finish); a no-op when not running. */
  shutdown(): void;
}

/**
 * The workflows and their quick steps poll `config.taskQueue`; the training steps poll
 * `<taskQueue>-training`. Role `all` (the default) polls both, `orchestration` and
 * `training` one each, so training can run on machines of its own.
 */
export async function createWorker(o: PerennialWorkerOptions): Promise<PerennialWorker> {
  const role = o.role ?? o.config.workerRole;
  const activities = o.activities ?? createActivities(activityDeps(o.config));
  const common = { connection: o.connection, namespace: o.config.namespace, activities };
  const workers: Worker[] = [];
  if (role !== 'training') {
    workers.push(
      await Worker.create({
        ...common,
        taskQueue: o.config.taskQueue,
        ...(o.workflowBundle ? { workflowBundle: o.workflowBundle } : { workflowsPath: WORKFLOW_BUNDLE_OPTIONS.workflowsPath, bundlerOptions: { preloadModules: WORKFLOW_BUNDLE_OPTIONS.preloadModules } }),
      }),
    );
  }
  if (role !== 'orchestration') workers.push(await Worker.create({ ...common, taskQueue: trainingTaskQueue(o.config.taskQueue) }));
  return new Pollers(workers);
}

class Pollers implements PerennialWorker {
  constructor(private readonly workers: Worker[]) {}

  get taskQueues(): string[] {
    return this.workers.map((w) => w.options.taskQueue);
  }

  async run(): Promise<void> {
    // When one queue's worker stops, all stop: a process polling half its queues looks alive.
    const results = await Promise.allSettled(this.workers.map((w) => w.run().finally(() => this.shutdown())));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async runUntil<R>(work: Promise<R> | (() => Promise<R>)): Promise<R> {
    const running = this.run();
    const stoppedFirst = running.then(() => {
      throw new Error('the worker stopped before the work it ran for was done');
    });
    let outcome: R;
    try {
      outcome = await Promise.race([typeof work === 'function' ? work() : work, stoppedFirst]);
    } catch (err) {
      this.shutdown();
      await running.catch(() => undefined);
      throw err;
    }
    this.shutdown();
    await running;
    return outcome;
  }

  shutdown(): void {
    for (const w of this.workers) if (w.getState() === 'RUNNING') w.shutdown();
  }
}
