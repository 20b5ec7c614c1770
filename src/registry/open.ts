import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Registry } from './registry';
import { PostgresRegistry } from './postgresRegistry';
import { REGISTRY_FILE, SqliteRegistry } from './sqliteRegistry';

/** Where the registry is: PostgreSQL at `registryUrl`, else the SQLite file in `home`. */
export interface RegistryPlace {
  home: string;
  registryUrl?: string | null;
}

export function openRegistry(where: RegistryPlace): Registry {
  return where.registryUrl ? new PostgresRegistry(where.registryUrl) : new SqliteRegistry(path.join(where.home, REGISTRY_FILE));
}

/** The registry, or undefined when a local one was never made (nothing registered yet): never creates a SQLite file. */
export function openExistingRegistry(where: RegistryPlace): Registry | undefined {
  if (!where.registryUrl && !existsSync(path.join(where.home, REGISTRY_FILE))) return undefined;
  return openRegistry(where);
}

/** Opens the registry, runs `work` with it, and closes it. */
export async function withRegistry<T>(where: RegistryPlace, work: (r: Registry) => Promise<T>): Promise<T> {
  const registry = openRegistry(where);
  try {
    return await work(registry);
  } finally {
    await registry.close();
  }
}
