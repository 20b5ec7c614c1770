import type { ModelVersion, NewVersion } from '../src/registry/registry';
import { codeVersion } from '../src/training/codeVersion';
import type { ActivityDeps } from './deps';

export interface RegisterInput extends Omit<NewVersion, 'lineage'> {
  lineage: Omit<NewVersion['lineage'], 'codeVersion' | 'trainedAt'>;
}

/** Idempotent: the registry keys versions by training workflow, so a retry returns the same version. */
export const registerActivity = (d: ActivityDeps) =>
  async function register(input: RegisterInput): Promise<{ version: ModelVersion; created: boolean }> {
    return d.registry.register({
      ...input,
      lineage: { ...input.lineage, codeVersion: codeVersion(), trainedAt: new Date().toISOString() },
    });
  };
