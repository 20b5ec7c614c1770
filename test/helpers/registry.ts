import { openRegistry } from '../../src/registry/open';

/** The versions of `model` in a state folder's registry, read with a connection of their own. */
export async function registeredVersions(home: string, model: string) {
  const registry = openRegistry({ home });
  try {
    return await registry.versions(model);
  } finally {
    await registry.close();
  }
}
