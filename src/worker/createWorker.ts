import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Config } from '../config';
import { activityDeps, createActivities } from '../../activities';

export interface PerennialWorkerOptions {
  config: Config;
  connection: NativeConnection;
  /** Pre-built workflow bundle (tests build it once); default: bundle `workflows/` at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

/** One worker runs perennial's workflows and activities against one state folder. */
export async function createWorker(o: PerennialWorkerOptions): Promise<Worker> {
  const deps = activityDeps(o.config);
  return Worker.create({
    connection: o.connection,
    namespace: o.config.namespace,
    taskQueue: o.config.taskQueue,
    ...(o.workflowBundle ? { workflowBundle: o.workflowBundle } : { workflowsPath: require.resolve('../../workflows') }),
    activities: createActivities(deps),
  });
}
