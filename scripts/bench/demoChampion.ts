/**
 * A home whose champion is the shipped spec's model as `npm start` trains it (its own
 * trainer parameters: 100 trees of depth 6), on the bench's data windows: the serving
 * benchmark's second model, beside the lifecycle bench's small one.
 */
import { ArtifactStore } from '../../src/artifacts/store';
import { Registry } from '../../src/registry/registry';
import type { LoadedSpec } from '../../src/spec/load';
import { evaluateModel, ingest, trainModel, validateData } from '../../src/training/steps';

export async function homeWithChampion(home: string, loaded: LoadedSpec): Promise<void> {
  const { spec } = loaded;
  const store = ArtifactStore.forHome(home);
  const snapshot = await ingest(spec, store);
  const prepared = await validateData(spec, snapshot.uri, store);
  const trained = await trainModel(spec, snapshot.uri, prepared.pipelineUri, store, { checkpointKey: `${spec.name}-bench`, profileUri: prepared.profileUri });
  const evaluation = await evaluateModel(spec, snapshot.uri, trained.artifactUri);
  const registry = Registry.forHome(home);
  try {
    const { version } = registry.register({
      model: spec.name,
      artifactUri: trained.artifactUri,
      artifactSha256: trained.artifactSha256,
      metrics: { ...evaluation.model, holdout: evaluation.model, baseRate: evaluation.baseRate },
      lineage: {
        datasetUri: snapshot.uri,
        datasetSha256: snapshot.sha256,
        specHash: loaded.specHash,
        codeVersion: 'bench',
        profileUri: trained.profileUri ?? prepared.profileUri,
        pipelineUri: prepared.pipelineUri,
        workflowId: `bench/${spec.name}/1`,
        runId: 'bench',
        trainedBy: 'bench',
        trainedAt: new Date().toISOString(),
      },
    });
    registry.setAlias(spec.name, 'champion', version.version);
  } finally {
    registry.close();
  }
}
