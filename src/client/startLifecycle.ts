import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { reportUrl, type Config } from '../config';
import { storeTrainerCode, type LoadedSpec } from '../spec/load';
import { openArtifactStore } from '../artifacts/open';
import { lifecycleWorkflowId } from '../lifecycle/names';
import { hasSearchAttributes, modelSearchAttributes } from '../temporal/searchAttributes';
import type { lifecycle } from '../../workflows';

/**
 * Starts `lifecycle/<model>`, or returns the one already running: a model has one
 * lifecycle. `started` says which.
 */
export async function startLifecycle(
  client: Client,
  config: Config,
  loaded: LoadedSpec,
  startedBy: string,
  options: { continueAsNewAfter?: number } = {},
): Promise<{ handle: WorkflowHandleWithFirstExecutionRunId<typeof lifecycle>; started: boolean }> {
  await storeTrainerCode(loaded, openArtifactStore(config));
  const workflowId = lifecycleWorkflowId(loaded.spec.name);
  const runningBefore = await runningRunId(client, workflowId);
  const searchAttributes = await hasSearchAttributes(client.connection, config.namespace);
  const handle = await client.workflow.start<typeof lifecycle>('lifecycle', {
    workflowId,
    taskQueue: config.taskQueue,
    args: [{ spec: loaded.spec, specHash: loaded.specHash, startedBy, searchAttributes, reportUrl: reportUrl(config, loaded.spec.name), ...options }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    ...(searchAttributes ? { typedSearchAttributes: modelSearchAttributes(loaded.spec.name) } : {}),
    staticSummary: `Lifecycle of ${loaded.spec.name}`,
  });
  return { handle, started: handle.firstExecutionRunId !== runningBefore };
}

async function runningRunId(client: Client, workflowId: string): Promise<string | undefined> {
  try {
    const d = await client.workflow.getHandle(workflowId).describe();
    return d.status.name === 'RUNNING' ? d.runId : undefined;
  } catch {
    return undefined;
  }
}
