import { userInfo } from 'node:os';
import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { Config } from '../config';
import { storeTrainerCode, type LoadedSpec } from '../spec/load';
import { openArtifactStore } from '../artifacts/open';
import { withRegistry } from '../registry/open';
import { hasSearchAttributes, modelSearchAttributes } from '../temporal/searchAttributes';
import type { trainingPipeline } from '../../workflows';

export function defaultActor(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/**
 * Starts `train/<model>/<n>`; n comes from the registry's per-model sequence, so a
 * script's run and a lifecycle's child never take the same id.
 */
export async function startTraining(
  client: Client,
  config: Config,
  loaded: LoadedSpec,
  requestedBy: string,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof trainingPipeline>> {
  await storeTrainerCode(loaded, openArtifactStore(config));
  const n = await withRegistry(config, (registry) => registry.next(loaded.spec.name, 'training-run'));
  const searchAttributes = await hasSearchAttributes(client.connection, config.namespace);
  return client.workflow.start<typeof trainingPipeline>('trainingPipeline', {
    workflowId: `train/${loaded.spec.name}/${n}`,
    taskQueue: config.taskQueue,
    args: [{ spec: loaded.spec, specHash: loaded.specHash, requestedBy }],
    ...(searchAttributes ? { typedSearchAttributes: modelSearchAttributes(loaded.spec.name) } : {}),
    staticSummary: `Train ${loaded.spec.name} (run ${n}) for ${requestedBy}`,
  });
}
