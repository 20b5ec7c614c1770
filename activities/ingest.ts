import type { ModelSpec } from '../src/spec/modelSpec';
import { ingest as snapshot, type DatasetSnapshot } from '../src/training/steps';
import type { ActivityDeps } from './deps';
import { asActivity } from './failures';
import { heartbeating } from './heartbeat';

export const ingestActivity = (d: ActivityDeps) =>
  async function ingest(input: { spec: ModelSpec }): Promise<DatasetSnapshot> {
    return heartbeating(() => asActivity(() => snapshot(input.spec, d.store)));
  };
