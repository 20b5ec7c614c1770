import type { Config } from '../../src/config';
import { activityDeps, createActivities, type Activities } from '../../activities';
import type { Metrics } from '../../src/lifecycle/contract';

/**
 * The lifecycle's activities with training, deploys and checks stubbed (each answers at once
 * with a fixed, gate-passing result), beside the real ledger, registry and key records: the
 * lifecycle's state machine in seconds. Not a substitute for the end-to-end tests on real
 * parts (test/workflow/lifecycle.test.ts); only what the lifecycle decides is under test here.
 */
export const STUB_METRICS: Metrics = { auc: 0.7, logLoss: 0.4, accuracy: 0.83, brier: 0.13 };
const BASE_RATE: Metrics = { auc: 0.5, logLoss: 0.46, accuracy: 0.83, brier: 0.14 };

export function stubActivities(config: Config): Activities {
  const real = createActivities(activityDeps(config));
  const versions = new Map<string, number>();
  const stubs: Partial<Activities> = {
    ingest: async () => ({ uri: 'stub://snapshot', sha256: 'stub', rows: { training: 1000, holdout: 200 } }) as never,
    validateData: async () => ({ pipelineUri: 'stub://pipeline', profileUri: 'stub://profile', rows: { training: 1000, holdout: 200 } }) as never,
    train: async () => ({ artifactUri: 'stub://model', artifactSha256: 'stub', profileUri: 'stub://profile', rounds: 1, resumedFromRound: 0 }) as never,
    evaluate: async () => ({ model: STUB_METRICS, baseRate: BASE_RATE, holdoutRows: 200 }),
    register: async (input) => {
      const version = (versions.get(input.model) ?? 0) + 1;
      versions.set(input.model, version);
      return { version: { ...input, version, lineage: { ...input.lineage, codeVersion: 'stub', trainedAt: new Date().toISOString() } } as never, created: true };
    },
    evaluateVersion: async () => STUB_METRICS,
    deploy: async () => ({ servedAt: new Date().toISOString() }),
    restoreChampion: async () => undefined,
    retireModel: async () => undefined,
    checkChampion: async () => {
      throw new Error('no monitoring in stub lifecycles');
    },
    syncRetrainSchedule: async (input) => ({ scheduleId: `retrain/${input.model}`, state: 'absent' as const }),
  };
  return { ...real, ...stubs } as Activities;
}
