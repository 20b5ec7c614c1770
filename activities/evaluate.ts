import type { ModelSpec } from '../src/spec/modelSpec';
import { evaluateModel, type Evaluation } from '../src/training/steps';
import { asActivity } from './failures';
import { heartbeating } from './heartbeat';

export const evaluateActivity = () =>
  async function evaluate(input: { spec: ModelSpec; snapshotUri: string; artifactUri: string }): Promise<Evaluation> {
    return heartbeating(() => asActivity(() => evaluateModel(input.spec, input.snapshotUri, input.artifactUri)));
  };
