/**
 * A home whose champion is the shipped spec's model as `npm start` trains it (its own
 * trainer parameters: 100 trees of depth 6), on the bench's data windows: the serving
 * benchmark's second model, beside the lifecycle bench's small one.
 */
import { withRegistry } from '../../src/registry/open';
import type { LoadedSpec } from '../../src/spec/load';
import { gbdtTrainer } from '../../src/spec/modelSpec';
import { trainVersions } from '../../src/training/trainVersions';

export async function homeWithChampion(home: string, loaded: LoadedSpec): Promise<void> {
  const { rounds, maxDepth } = gbdtTrainer(loaded.spec).params;
  const [trained] = await trainVersions(home, loaded, [{ rounds, maxDepth }], 'bench');
  await withRegistry({ home }, (registry) => registry.setAlias(loaded.spec.name, 'champion', trained.version.version));
}
