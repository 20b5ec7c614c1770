import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Signature } from '../../src/auth/signature';
import type { UpdateSpecRequest } from '../../src/lifecycle/contract';
import type { SignClock, Signers } from './signing';

const DAY_MS = 86_400_000;

/**
 * Signing by the time-skipping server's clock: a lifecycle judges a signature's issue and
 * expiry times by its own (workflow) time, which `env.sleep` moves ahead of the wall clock.
 * Pass it to `people.sign` just before sending.
 */
export async function lifetimeOnServerClock(env: Pick<TestWorkflowEnvironment, 'currentTimeMs'>, ms = DAY_MS): Promise<SignClock> {
  return { nowMs: await env.currentTimeMs(), lifetimeMs: ms };
}

/**
 * An updateSpec payload as `perennial update-spec … --cosign FILE` sends it: signed by
 * `args.by` and, for a policy change under separation of duties, co-signed by a second
 * approver over the same spec (`--print-cosign`).
 */
export function signedSpecUpdate(
  people: Signers,
  workflowId: string,
  args: { spec: unknown; by: string; reason: string },
  cosigner?: { by: string; reason: string },
  when?: SignClock,
): UpdateSpecRequest {
  const signed = people.sign(workflowId, 'updateSpec', args, when);
  if (!cosigner) return signed;
  const co = people.sign(workflowId, 'updateSpec', { spec: args.spec, ...cosigner }, when) as unknown as { by: string; reason: string; signature: Signature };
  return { ...signed, cosign: { by: co.by, reason: co.reason, signature: co.signature } };
}
