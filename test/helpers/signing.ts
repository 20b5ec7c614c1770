import type { Config } from '../../src/config';
import { openRegistry } from '../../src/registry/open';
import { ensureKey, signAction, type LocalKey } from '../../src/auth/keyStore';
import type { Signature } from '../../src/auth/signature';

/**
 * People with keys, as `npx perennial keys create --as NAME` makes them: private keys in the
 * config's keys folder, public keys in its registry. `sign` signs an action's payload the
 * way the CLI does, for updates and signals sent from tests.
 */
export type SignClock = number | { nowMs: number; lifetimeMs?: number };

export interface Signers {
  key(name: string): LocalKey;
  /** `when`: a lifetime in ms from now, or the clock to sign by (a time-skipping server's) and a lifetime. */
  sign<T extends Record<string, unknown>>(workflowId: string, action: string, args: T & { by: string }, when?: SignClock): T & { signature: Signature };
}

/**
 * Keys for `names` are made at once: a lifecycle loads keys when it starts, so make them
 * before starting it (a key made later reaches it on the refreshKeys signal).
 */
export async function signers(config: Pick<Config, 'home' | 'registryUrl' | 'keysDir'>, names: readonly string[] = []): Promise<Signers> {
  const keys = new Map<string, LocalKey>();
  const registry = openRegistry(config);
  try {
    for (const n of names) if (!keys.has(n)) keys.set(n, await ensureKey(config.keysDir, registry, n));
  } finally {
    await registry.close();
  }
  const key = (name: string): LocalKey => {
    const k = keys.get(name);
    if (!k) throw new Error(`no key of ${name} was made: name it in signers(…)`);
    return k;
  };
  return {
    key,
    sign: (workflowId, action, args, when) =>
      typeof when === 'object' ? signAction(key(args.by), workflowId, action, args, when.lifetimeMs, when.nowMs) : signAction(key(args.by), workflowId, action, args, when),
  };
}
