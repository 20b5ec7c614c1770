import { canonicalJson } from '../util/canonicalJson';

/**
 * The exact bytes a signature covers. Domain-separated, so a signed action can never pass
 * for a key record or the other way round; canonical JSON, so signer and verifier agree.
 */

export interface SignedActionFields {
  /** The lifecycle the action is for: a signature for one model's lifecycle is refused by every other. */
  workflowId: string;
  action: string;
  /** The payload as sent, without its signature fields. */
  args: Record<string, unknown>;
  nonce: string;
  issuedAt: string;
  expiresAt: string;
}

export function actionMessage(f: SignedActionFields): string {
  return `perennial-action/v1\n${canonicalJson({ workflowId: f.workflowId, action: f.action, args: f.args, nonce: f.nonce, issuedAt: f.issuedAt, expiresAt: f.expiresAt })}`;
}

export interface KeyRecordFields {
  name: string;
  op: 'add' | 'revoke';
  publicKey: string;
  at: string;
}

export function keyRecordMessage(f: KeyRecordFields): string {
  return `perennial-key/v1\n${canonicalJson({ name: f.name, op: f.op, publicKey: f.publicKey, at: f.at })}`;
}

/** The payload's own fields: what its signature covers (the signature and a co-signature carry their own). */
export function signedArgs(payload: Record<string, unknown>): Record<string, unknown> {
  const { signature: _s, cosign: _c, ...args } = payload;
  return args;
}
