/**
 * Real versions of a spec trained with the pipeline's steps called directly (no Temporal)
 * and registered, as the training workflow would: for tests and benchmarks that need real
 * models fast.
 */
import { openArtifactStore, type ArtifactPlace } from '../artifacts/open';
import type { ModelVersion } from '../registry/registry';
import { openRegistry, type RegistryPlace } from '../registry/open';
import type { LoadedSpec } from '../spec/load';
import { gbdtTrainer } from '../spec/modelSpec';
import { evaluateModel, ingest, trainModel, validateData } from './steps';

export interface TrainedVersion {
  version: ModelVersion;
  snapshotUri: string;
}

/**
 * Trains real versions of a spec with the library's training steps (ingest once, then
 * one training per parameter set) and registers them: what the training workflow does,
 * without Temporal. Returns them in version order.
 */
export async function trainVersions(home: string | (ArtifactPlace & RegistryPlace), loaded: LoadedSpec, variants: { rounds: number; maxDepth: number }[], by = 'test'): Promise<TrainedVersion[]> {
  const where = typeof home === 'string' ? { home } : home;
  const store = openArtifactStore(where);
  const spec = loaded.spec;
  const snapshot = await ingest(spec, store);
  const prepared = await validateData(spec, snapshot.uri, store);
  const registry = openRegistry(where);
  try {
    const out: TrainedVersion[] = [];
    for (const [i, v] of variants.entries()) {
      const gbdt = gbdtTrainer(spec);
      const variant = { ...spec, trainer: { ...gbdt, params: { ...gbdt.params, rounds: v.rounds, maxDepth: v.maxDepth } } };
      const trained = await trainModel(variant, snapshot.uri, prepared.pipelineUri, store, { checkpointKey: `${spec.name}-${i}`, profileUri: prepared.profileUri });
      const evaluation = await evaluateModel(variant, snapshot.uri, trained.artifactUri);
      const { version } = await registry.register({
        model: spec.name,
        artifactUri: trained.artifactUri,
        artifactSha256: trained.artifactSha256,
        metrics: { ...evaluation.model, holdout: evaluation.model, baseRate: evaluation.baseRate },
        lineage: {
          datasetUri: snapshot.uri,
          datasetSha256: snapshot.sha256,
          specHash: loaded.specHash,
          codeVersion: by,
          profileUri: trained.profileUri ?? prepared.profileUri,
          pipelineUri: prepared.pipelineUri,
          workflowId: `${by}/${spec.name}/${i + 1}`,
          runId: `run-${i + 1}`,
          trainedBy: by,
          trainedAt: new Date().toISOString(),
        },
      });
      out.push({ version, snapshotUri: snapshot.uri });
    }
    return out;
  } finally {
    await registry.close();
  }
}
