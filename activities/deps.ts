import type { Client } from '@temporalio/client';
import { connectClient } from '../src/temporal/connection';
import type { Config } from '../src/config';
import type { ArtifactStore } from '../src/artifacts/store';
import { openArtifactStore } from '../src/artifacts/open';
import type { Registry } from '../src/registry/registry';
import { openRegistry } from '../src/registry/open';
import { openPredictionReader } from '../src/serving/openPredictions';
import type { PredictionReader } from '../src/serving/predictionStore';

/** What activities share on one worker: the state folder's artifact store and registry, and where the model server is. */
export interface ActivityDeps {
  store: ArtifactStore;
  registry: Registry;
  /** Deploys wait for the model servers heard from within this (ms). */
  livenessMs: number;
  /** The model server's prediction log (same state folder), opened on first use: monitoring reads it. */
  predictions(): PredictionReader;
  /** A Temporal client, for reading a workflow's own history (e.g. who sent a signal). */
  client(): Promise<Client>;
}

export function activityDeps(config: Config): ActivityDeps {
  let client: Promise<Client> | undefined;
  let predictions: PredictionReader | undefined;
  return {
    store: openArtifactStore(config),
    registry: openRegistry(config),
    livenessMs: config.server.livenessMs,
    predictions: () => (predictions ??= openPredictionReader(config)),
    client: () =>
      (client ??= connectClient(config, undefined, { connectTimeoutMs: 5000 }).catch(
        (err: unknown) => {
          client = undefined; // try again next time
          throw err;
        },
      )),
  };
}
