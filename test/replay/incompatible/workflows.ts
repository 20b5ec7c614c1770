// A deliberately incompatible edit of the training pipeline: it validates before it
// ingests. Running workflows recorded with the real code cannot replay on it — which is
// what the replay test proves the fixtures would catch.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../../activities';
import type { TrainingInput } from '../../../workflows/trainingPipeline';

const { ingest, validateData } = proxyActivities<Activities>({ startToCloseTimeout: '10 minutes' });

export async function trainingPipeline(input: TrainingInput): Promise<void> {
  await validateData({ spec: input.spec, snapshotUri: 'file:///nowhere.parquet' });
  await ingest({ spec: input.spec });
}
