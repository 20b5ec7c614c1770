/**
 * Trains the shipped flight-delays spec (its month of data, few rounds) with the library's
 * steps in a fresh state folder and prints the artifact's sha256: one process, one training,
 * for the test that two processes give the same bytes.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ArtifactStore } from '../../src/artifacts/store';
import { findSpec } from '../../src/spec/load';
import { ingest, trainModel, validateData } from '../../src/training/steps';

(async () => {
  const home = mkdtempSync(path.join(tmpdir(), 'perennial-train-once-'));
  const loaded = findSpec('flight-delays', home);
  loaded.spec.trainer.params = { ...loaded.spec.trainer.params, rounds: 25 };
  const store = ArtifactStore.forHome(home);
  const snapshot = await ingest(loaded.spec, store);
  const prepared = await validateData(loaded.spec, snapshot.uri, store);
  const trained = await trainModel(loaded.spec, snapshot.uri, prepared.pipelineUri, store, { checkpointKey: 'once', profileUri: prepared.profileUri });
  process.stdout.write(`${JSON.stringify({ dataset: snapshot.sha256, pipeline: prepared.pipelineUri.split('/').pop(), artifactSha256: trained.artifactSha256 })}\n`);
})();
