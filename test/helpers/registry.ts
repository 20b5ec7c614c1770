import { Registry } from '../../src/registry/registry';

/** The versions of `model` in a state folder's registry, read with a connection of their own. */
export function registeredVersions(home: string, model: string) {
  const registry = Registry.forHome(home);
  try {
    return registry.versions(model);
  } finally {
    registry.close();
  }
}
