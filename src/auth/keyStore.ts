import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import type { Registry } from '../registry/registry';
import { Actor } from '../lifecycle/contract';
import { fingerprintOf, newPrivateKey, publicKeyOf, signMessage } from './ed25519';
import { buildKeyring, type KeyRecord } from './keyring';
import { actionMessage, keyRecordMessage } from './messages';
import type { Signature } from './signature';

/**
 * An actor's private key on this machine: `<keys dir>/<name>.key`, mode 0600, and its public
 * half in the registry, where every worker reads it. The CLI signs with it.
 */

const KeyFile = z.strictObject({
  name: Actor,
  fingerprint: z.string(),
  publicKey: z.string(),
  privateKey: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.string(),
});
export type LocalKey = z.infer<typeof KeyFile>;

export class KeyError extends Error {}

export function keyFile(dir: string, name: string): string {
  return path.join(dir, `${name}.key`);
}

export function readLocalKey(dir: string, name: string): LocalKey | null {
  const file = keyFile(dir, name);
  if (!existsSync(file)) return null;
  const mode = statSync(file).mode & 0o077;
  if (mode !== 0) throw new KeyError(`${file} is readable by others (mode ${(statSync(file).mode & 0o777).toString(8)}): chmod 600 it`);
  const parsed = KeyFile.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success || parsed.data.name !== name || publicKeyOf(parsed.data.privateKey) !== parsed.data.publicKey) throw new KeyError(`${file} is not a perennial key of ${name}`);
  return parsed.data;
}

export function requireLocalKey(dir: string, name: string): LocalKey {
  const k = readLocalKey(dir, name);
  if (!k) throw new KeyError(`no key of ${name} in ${dir}: create one with npx perennial keys create --as ${name} (or set PERENNIAL_KEYS_DIR)`);
  return k;
}

function writeLocalKey(dir: string, key: LocalKey): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${key.name}.${process.pid}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(key, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, keyFile(dir, key.name));
}

function endorsed(by: LocalKey, r: Omit<KeyRecord, 'seq' | 'endorsedBy' | 'endorsement'>): Omit<KeyRecord, 'seq'> {
  return { ...r, endorsedBy: by.fingerprint, endorsement: signMessage(by.privateKey, keyRecordMessage(r)) };
}

/** The name's current keys as a lifecycle would see them from this registry. */
export async function currentKeys(registry: Registry, name: string): Promise<{ fingerprint: string; trust: string }[]> {
  return (buildKeyring(await registry.keyRecords([name])).current.get(name) ?? []).map((k) => ({ fingerprint: k.fingerprint, trust: k.trust }));
}

/**
 * A new key for `name`: written locally (0600) and registered. A name that already has a
 * key needs it here to endorse the new one; `replace` then revokes the old one.
 */
export async function createKey(dir: string, registry: Registry, name: string, opts: { replace?: boolean } = {}): Promise<{ key: LocalKey; records: KeyRecord[] }> {
  if (!Actor.safeParse(name).success) throw new KeyError(`malformed name ${JSON.stringify(name)}: letters, digits and . _ @ - (at most 64)`);
  const current = await currentKeys(registry, name);
  const local = readLocalKey(dir, name);
  const localIsCurrent = local !== null && current.some((k) => k.fingerprint === local.fingerprint);
  if (current.length > 0 && !localIsCurrent) {
    throw new KeyError(
      `${name} already has a key (${current.map((k) => k.fingerprint).join(', ')}); a new one needs a signature by a current key of ${name}, and none is in ${dir}`,
    );
  }
  if (opts.replace && !localIsCurrent) throw new KeyError(`${name} has no current key in ${dir} to replace`);
  const privateKey = newPrivateKey();
  const publicKey = publicKeyOf(privateKey);
  const at = new Date().toISOString();
  const key: LocalKey = { name, fingerprint: fingerprintOf(publicKey), publicKey, privateKey, createdAt: at };
  const add = { name, op: 'add' as const, publicKey, fingerprint: key.fingerprint, at };
  const records = [await registry.appendKeyRecord(localIsCurrent ? endorsed(local!, add) : { ...add, endorsedBy: null, endorsement: null })];
  if (opts.replace) {
    records.push(await registry.appendKeyRecord(endorsed(key, { name, op: 'revoke', publicKey: local!.publicKey, fingerprint: local!.fingerprint, at })));
  }
  // Someone may have registered a first key for the name meanwhile: then ours is not trusted, and we say so.
  if (!(await currentKeys(registry, name)).some((k) => k.fingerprint === key.fingerprint)) {
    throw new KeyError(`the key made for ${name} is not trusted: another first key of ${name} was registered at the same time`);
  }
  if (local && !opts.replace) renameSync(keyFile(dir, name), path.join(dir, `${name}.${local.fingerprint}.key`));
  writeLocalKey(dir, key);
  return { key, records };
}

/** Revokes one of `name`'s keys, endorsed by the local current key of `name`. */
export async function revokeKey(dir: string, registry: Registry, name: string, fingerprint: string): Promise<KeyRecord> {
  const local = requireLocalKey(dir, name);
  const current = await currentKeys(registry, name);
  if (!current.some((k) => k.fingerprint === local.fingerprint)) throw new KeyError(`the key of ${name} in ${dir} (${local.fingerprint}) is not current: it cannot endorse a revocation`);
  const target = (await registry.keyRecords([name])).find((r) => r.op === 'add' && r.fingerprint === fingerprint);
  if (!target || !current.some((k) => k.fingerprint === fingerprint)) throw new KeyError(`${fingerprint} is not a current key of ${name}`);
  // A name left without a key could never get a trusted one again (only a current key endorses the next).
  if (current.length === 1) throw new KeyError(`${fingerprint} is ${name}'s only current key: make its successor first (keys create --as ${name} --replace)`);
  return registry.appendKeyRecord(endorsed(local, { name, op: 'revoke', publicKey: target.publicKey, fingerprint, at: new Date().toISOString() }));
}

/** Default lifetime of a signature the CLI makes. */
export const DEFAULT_SIGNATURE_LIFETIME_MS = 24 * 3_600_000;

/** `args` signed by `key` for `action` on `workflowId`: the payload to send, its signature beside the arguments. */
export function signAction<T extends Record<string, unknown>>(key: LocalKey, workflowId: string, action: string, args: T, lifetimeMs = DEFAULT_SIGNATURE_LIFETIME_MS, nowMs = Date.now()): T & { signature: Signature } {
  const nonce = randomBytes(16).toString('hex');
  const issuedAt = new Date(nowMs).toISOString();
  const expiresAt = new Date(nowMs + lifetimeMs).toISOString();
  const sig = signMessage(key.privateKey, actionMessage({ workflowId, action, args, nonce, issuedAt, expiresAt }));
  return { ...args, signature: { key: key.fingerprint, nonce, issuedAt, expiresAt, sig } };
}

/** The local key of `name`, made and registered first if there is none (benches, tests and npm start's demo keys). */
export async function ensureKey(dir: string, registry: Registry, name: string): Promise<LocalKey> {
  return readLocalKey(dir, name) ?? (await createKey(dir, registry, name)).key;
}
