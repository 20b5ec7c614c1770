/**
 * Trains the shipped flight-delays spec (its month of data, few rounds) in a fresh state
 * folder with the library's steps and prints what the version depends on: one process, one
 * training, for the test that two processes give the same bytes.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findSpec } from '../../src/spec/load';
import { gbdtTrainer } from '../../src/spec/modelSpec';
import { trainVersions } from '../../src/training/trainVersions';

(async () => {
  const home = mkdtempSync(path.join(tmpdir(), 'perennial-train-once-'));
  const loaded = findSpec('flight-delays', home);
  const [{ version }] = await trainVersions(home, loaded, [{ rounds: 25, maxDepth: gbdtTrainer(loaded.spec).params.maxDepth }]);
  process.stdout.write(`${JSON.stringify({ dataset: version.lineage.datasetSha256, pipeline: path.basename(version.lineage.pipelineUri), artifactSha256: version.artifactSha256 })}\n`);
})();
