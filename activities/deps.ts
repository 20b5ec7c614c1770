import { ArtifactStore } from '../src/artifacts/store';
import { Registry } from '../src/registry/registry';

/** What activities share on one worker: the state folder's artifact store and registry. */
export interface ActivityDeps {
  store: ArtifactStore;
  registry: Registry;
}

export function activityDeps(home: string): ActivityDeps {
  return { store: ArtifactStore.forHome(home), registry: Registry.forHome(home) };
}
