import type { ModelSpec } from '../src/spec/modelSpec';
import { validateData as validate, type PreparedData } from '../src/training/steps';
import type { ActivityDeps } from './deps';
import { asActivity } from './failures';
import { heartbeating } from './heartbeat';

export const validateDataActivity = (d: ActivityDeps) =>
  async function validateData(input: { spec: ModelSpec; snapshotUri: string }): Promise<PreparedData> {
    return heartbeating(() => asActivity(() => validate(input.spec, input.snapshotUri, d.store)));
  };
