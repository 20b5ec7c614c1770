import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils';

/**
 * Ed25519 through @noble/curves: audited, pure JS, deterministic — so the same check runs
 * in workflow code and update validators (which cannot call activities) as in the CLI.
 */

interface Noble {
  ed25519: (typeof import('@noble/curves/ed25519'))['ed25519'];
  sha256: (typeof import('@noble/hashes/sha256'))['sha256'];
}
let loaded: Noble | undefined;
/**
 * The curve and the hash, loaded on first use: the curve builds its tables as it loads, and
 * workflow code imports this file (workflows/lifecycle/validation.ts says why that matters).
 */
const noble = (): Noble =>
  (loaded ??= {
    ed25519: (require('@noble/curves/ed25519') as typeof import('@noble/curves/ed25519')).ed25519,
    sha256: (require('@noble/hashes/sha256') as typeof import('@noble/hashes/sha256')).sha256,
  });

export const PUBLIC_KEY_PATTERN = /^[0-9a-f]{64}$/;
export const FINGERPRINT_PATTERN = /^[0-9a-f]{32}$/;
export const SIGNATURE_PATTERN = /^[0-9a-f]{128}$/;

/** A key's name in specs, signatures and the ledger: the first 128 bits of sha256(public key), hex. */
export function fingerprintOf(publicKeyHex: string): string {
  return bytesToHex(noble().sha256(hexToBytes(publicKeyHex))).slice(0, 32);
}

export function verifySignature(publicKeyHex: string, message: string, signatureHex: string): boolean {
  if (!PUBLIC_KEY_PATTERN.test(publicKeyHex) || !SIGNATURE_PATTERN.test(signatureHex)) return false;
  try {
    return noble().ed25519.verify(hexToBytes(signatureHex), utf8ToBytes(message), hexToBytes(publicKeyHex), { zip215: false });
  } catch {
    return false;
  }
}

export function signMessage(privateKeyHex: string, message: string): string {
  return bytesToHex(noble().ed25519.sign(utf8ToBytes(message), hexToBytes(privateKeyHex)));
}

export function publicKeyOf(privateKeyHex: string): string {
  return bytesToHex(noble().ed25519.getPublicKey(hexToBytes(privateKeyHex)));
}

export function newPrivateKey(): string {
  return bytesToHex(noble().ed25519.utils.randomPrivateKey());
}
