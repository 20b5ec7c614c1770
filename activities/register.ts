import type { ModelVersion, NewVersion } from '../src/registry/registry';
import type { ModelSpec } from '../src/spec/modelSpec';
import { canonicalJson } from '../src/util/canonicalJson';
import { codeVersion } from '../src/training/codeVersion';
import type { ActivityDeps } from './deps';

export interface RegisterInput extends Omit<NewVersion, 'lineage' | 'specJson'> {
  lineage: Omit<NewVersion['lineage'], 'codeVersion' | 'trainedAt'>;
  /** The spec the run trained under: kept with the version, as canonical JSON. */
  spec?: ModelSpec;
}

/** Idempotent: the registry keys versions by training workflow, so a retry returns the same version. */
export const registerActivity = (d: ActivityDeps) =>
  async function register(input: RegisterInput): Promise<{ version: ModelVersion; created: boolean }> {
    const { spec, ...version } = input;
    return d.registry.register({
      ...version,
      ...(spec ? { specJson: canonicalJson(spec) } : {}),
      lineage: { ...input.lineage, codeVersion: codeVersion(), trainedAt: new Date().toISOString() },
    });
  };
