import { z } from 'zod';
import { FINGERPRINT_PATTERN, SIGNATURE_PATTERN, verifySignature } from './ed25519';
import { keyFor, type Keyring } from './keyring';
import { actionMessage, signedArgs } from './messages';

/** The `signature` field of a signed action. */
export const Signature = z.strictObject({
  /** Fingerprint of the signing key. */
  key: z.string().regex(FINGERPRINT_PATTERN, 'expected a key fingerprint (32 hex digits)'),
  /** Single use: the lifecycle refuses a signature it has already accepted. */
  nonce: z.string().regex(/^[0-9a-f]{32}$/, 'expected 32 hex digits'),
  // A plain pattern rather than z.iso, which misjudged dates inside the workflow sandbox.
  /** When it was signed: a lifecycle refuses signatures made before it began (a payload from an earlier one of the same model). */
  issuedAt: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/, 'expected a UTC time such as 2026-12-03T10:00:00.000Z')
    .refine((s) => !Number.isNaN(Date.parse(s)), 'not a real time'),
  expiresAt: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/, 'expected a UTC time such as 2026-12-03T10:00:00.000Z')
    .refine((s) => !Number.isNaN(Date.parse(s)), 'not a real time'),
  sig: z.string().regex(SIGNATURE_PATTERN, 'expected an Ed25519 signature (128 hex digits)'),
});
export type Signature = z.infer<typeof Signature>;

/** How far the signer's clock may be behind the lifecycle's when it signs just as the lifecycle starts. */
export const CLOCK_SKEW_MS = 5 * 60_000;

/** The longest a signature may stay valid: a leaked one is useless after this at the latest. */
export const MAX_SIGNATURE_LIFETIME_MS = 31 * 86_400_000;

export interface Signer {
  name: string;
  fingerprint: string;
  trust: 'first-registered' | 'endorsed' | 'pinned';
  nonce: string;
  expiresAt: string;
}

export type Verification = { ok: true; signer: Signer } | { ok: false; reason: string; unknownKey?: true };

export interface VerifyContext {
  workflowId: string;
  nowMs: number;
  keyring: Keyring;
  /** The spec's pinned fingerprints by name. */
  pins: Readonly<Record<string, string>>;
  /** When this lifecycle (its chain of runs) began: signatures issued well before are for another lifecycle of the same name. */
  chainStartedMs: number;
  /** Nonces this lifecycle already accepted (and whose signatures have not expired). */
  isUsed(nonce: string): boolean;
  /** True when the lifecycle remembers as many unexpired signatures of this name as it can: it takes no new one of theirs until some expire. */
  full(name: string): boolean;
}

/**
 * Whether `payload` (an action's payload as sent) carries a valid signature by `by`'s key
 * over this workflow, this action, these arguments. Pure and deterministic (the workflow's
 * clock): the same answer in a signal handler, an update validator and on replay.
 */
export function verifyAction(ctx: VerifyContext, action: string, payload: Record<string, unknown>, by: string, signature: Signature | undefined): Verification {
  if (!signature) return { ok: false, reason: `unsigned: ${action} needs a signature by ${by}'s key (npx perennial ${action === 'retrainNow' ? 'retrain' : action} … --by ${by}, or --print-signal for a signal)` };
  const expires = Date.parse(signature.expiresAt);
  if (expires <= ctx.nowMs) return { ok: false, reason: `the signature expired at ${signature.expiresAt}` };
  if (expires - ctx.nowMs > MAX_SIGNATURE_LIFETIME_MS) return { ok: false, reason: `the signature is valid until ${signature.expiresAt}: more than 31 days ahead is refused` };
  if (Date.parse(signature.issuedAt) < ctx.chainStartedMs - CLOCK_SKEW_MS) {
    return { ok: false, reason: `the signature was made at ${signature.issuedAt}, before this lifecycle began at ${new Date(ctx.chainStartedMs).toISOString()}: it is for an earlier lifecycle of the same model` };
  }
  if (ctx.isUsed(signature.nonce)) return { ok: false, reason: `replayed: this signature (nonce ${signature.nonce}) was already used here` };
  if (ctx.full(by)) return { ok: false, reason: 'too many unexpired signatures were accepted here recently: sign with a shorter --expires, or wait until some expire' };
  const pinned = ctx.pins[by];
  const key = keyFor(ctx.keyring, by, signature.key, pinned);
  if (!key) {
    if (pinned !== undefined && pinned !== signature.key) return { ok: false, reason: `the spec pins ${by}'s key to ${pinned}; signed with ${signature.key}` };
    return { ok: false, unknownKey: true, reason: `key ${signature.key} is not a current key of ${by} known to this lifecycle (it reloads keys from the registry on the refreshKeys signal; the CLI sends it and retries)` };
  }
  const message = actionMessage({ workflowId: ctx.workflowId, action, args: signedArgs(payload), nonce: signature.nonce, issuedAt: signature.issuedAt, expiresAt: signature.expiresAt });
  if (!verifySignature(key.publicKey, message, signature.sig)) {
    return { ok: false, reason: `bad signature: not ${by}'s signature over this ${action} for ${ctx.workflowId} (a signature for another lifecycle, action or payload does not carry over)` };
  }
  return { ok: true, signer: { name: by, fingerprint: key.fingerprint, trust: key.trust, nonce: signature.nonce, expiresAt: signature.expiresAt } };
}
