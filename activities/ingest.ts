import type { ModelSpec } from '../src/spec/modelSpec';
import { ingest as snapshot, type DatasetSnapshot } from '../src/training/steps';
import type { ActivityDeps } from './deps';
import { asActivity } from './failures';

export const ingestActivity = (d: ActivityDeps) =>
  async function ingest(input: { spec: ModelSpec }): Promise<DatasetSnapshot> {
    return asActivity(() => snapshot(input.spec, d.store));
  };
