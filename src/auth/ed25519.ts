import { ed25519 } from '@noble/curves/ed25519';
import { sha256 } from '@noble/hashes/sha256';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils';

/**
 * Ed25519 through @noble/curves: audited, pure JS, deterministic — so the same check runs
 * in workflow code and update validators (which cannot call activities) as in the CLI.
 */

export const PUBLIC_KEY_PATTERN = /^[0-9a-f]{64}$/;
export const FINGERPRINT_PATTERN = /^[0-9a-f]{32}$/;
export const SIGNATURE_PATTERN = /^[0-9a-f]{128}$/;

/** A key's name in specs, signatures and the ledger: the first 128 bits of sha256(public key), hex. */
export function fingerprintOf(publicKeyHex: string): string {
  return bytesToHex(sha256(hexToBytes(publicKeyHex))).slice(0, 32);
}

export function verifySignature(publicKeyHex: string, message: string, signatureHex: string): boolean {
  if (!PUBLIC_KEY_PATTERN.test(publicKeyHex) || !SIGNATURE_PATTERN.test(signatureHex)) return false;
  try {
    return ed25519.verify(hexToBytes(signatureHex), utf8ToBytes(message), hexToBytes(publicKeyHex), { zip215: false });
  } catch {
    return false;
  }
}

export function signMessage(privateKeyHex: string, message: string): string {
  return bytesToHex(ed25519.sign(utf8ToBytes(message), hexToBytes(privateKeyHex)));
}

export function publicKeyOf(privateKeyHex: string): string {
  return bytesToHex(ed25519.getPublicKey(hexToBytes(privateKeyHex)));
}

export function newPrivateKey(): string {
  return bytesToHex(ed25519.utils.randomPrivateKey());
}
