import { z } from 'zod';
import { FINGERPRINT_PATTERN, PUBLIC_KEY_PATTERN, SIGNATURE_PATTERN, fingerprintOf, verifySignature } from './ed25519';
import { keyRecordMessage } from './messages';

/**
 * Whose key is whose, rebuilt from the registry's append-only key records. The first key
 * registered for a name is trusted as it is (trust on first use: status says so); every
 * later record for that name — another key, a revocation — counts only when a key current
 * for the name at that point endorsed it. A record that fails that check changes nothing,
 * whoever managed to write it into the registry.
 */

export const KeyRecord = z.strictObject({
  seq: z.number().int().nonnegative(),
  name: z.string().max(64),
  op: z.enum(['add', 'revoke']),
  publicKey: z.string().regex(PUBLIC_KEY_PATTERN),
  fingerprint: z.string().regex(FINGERPRINT_PATTERN),
  at: z.string().max(40),
  /** Fingerprint of the current key that endorsed this record (none for a name's first key). */
  endorsedBy: z.string().regex(FINGERPRINT_PATTERN).nullable(),
  endorsement: z.string().regex(SIGNATURE_PATTERN).nullable(),
});
export type KeyRecord = z.infer<typeof KeyRecord>;

export interface TrustedKey {
  name: string;
  fingerprint: string;
  publicKey: string;
  trust: 'first-registered' | 'endorsed' | 'pinned';
}

export interface Keyring {
  /** Current keys per name. */
  current: Map<string, TrustedKey[]>;
  /** Every key ever added (for a spec that pins one), with whether it was revoked. */
  known: Map<string, { name: string; publicKey: string; revoked: boolean }>;
  /** Records that were not honoured, and why. */
  ignored: string[];
}

export function buildKeyring(records: readonly KeyRecord[]): Keyring {
  const current = new Map<string, TrustedKey[]>();
  const known = new Map<string, { name: string; publicKey: string; revoked: boolean }>();
  const hadKeys = new Set<string>();
  // A key once revoked for a name stays revoked: a copy of its old `add` record brings nothing back.
  const revoked = new Set<string>();
  const ignored: string[] = [];
  for (const raw of [...records].sort((a, b) => a.seq - b.seq)) {
    const parsed = KeyRecord.safeParse(raw);
    if (!parsed.success) {
      ignored.push(`record ${String(raw.seq)}: malformed (${parsed.error.issues[0]?.message})`);
      continue;
    }
    const r = parsed.data;
    if (fingerprintOf(r.publicKey) !== r.fingerprint) {
      ignored.push(`record ${r.seq} of ${r.name}: fingerprint does not match its key`);
      continue;
    }
    const keys = current.get(r.name) ?? [];
    const endorser = keys.find((k) => k.fingerprint === r.endorsedBy);
    const endorsed = endorser !== undefined && r.endorsement !== null && verifySignature(endorser.publicKey, keyRecordMessage(r), r.endorsement);
    if (r.op === 'add') {
      if (!known.has(r.fingerprint)) known.set(r.fingerprint, { name: r.name, publicKey: r.publicKey, revoked: false });
      if (keys.some((k) => k.fingerprint === r.fingerprint)) continue;
      if (revoked.has(`${r.name}/${r.fingerprint}`)) {
        ignored.push(`record ${r.seq}: ${r.fingerprint} was revoked for ${r.name} and stays revoked`);
        continue;
      }
      if (!hadKeys.has(r.name)) {
        current.set(r.name, [{ name: r.name, fingerprint: r.fingerprint, publicKey: r.publicKey, trust: 'first-registered' }]);
        hadKeys.add(r.name);
      } else if (endorsed) {
        current.set(r.name, [...keys, { name: r.name, fingerprint: r.fingerprint, publicKey: r.publicKey, trust: 'endorsed' }]);
      } else {
        ignored.push(`record ${r.seq}: a new key for ${r.name} not endorsed by a current key of ${r.name}`);
      }
      continue;
    }
    if (!endorsed) {
      ignored.push(`record ${r.seq}: a revocation for ${r.name} not endorsed by a current key of ${r.name}`);
      continue;
    }
    current.set(r.name, keys.filter((k) => k.fingerprint !== r.fingerprint));
    revoked.add(`${r.name}/${r.fingerprint}`);
    const k = known.get(r.fingerprint);
    if (k && k.name === r.name) k.revoked = true;
  }
  return { current, known, ignored };
}

/**
 * The key `name` may sign with under `fingerprint`: pinned in the spec (then only that
 * one, unless revoked), else one of the name's current keys. Null when there is none.
 */
export function keyFor(keyring: Keyring, name: string, fingerprint: string, pinned: string | undefined): TrustedKey | null {
  if (pinned !== undefined) {
    if (fingerprint !== pinned) return null;
    const k = keyring.known.get(pinned);
    return k && k.name === name && !k.revoked ? { name, fingerprint, publicKey: k.publicKey, trust: 'pinned' } : null;
  }
  return keyring.current.get(name)?.find((k) => k.fingerprint === fingerprint) ?? null;
}
