import { ApplicationFailure, condition, patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { ModelSpec } from '../../src/spec/modelSpec';
import { allowedActors, policyChanged } from '../../src/lifecycle/actions';
import type { Signer } from '../../src/auth/signature';
import { canonicalJson } from '../../src/util/canonicalJson';
import { updateSpecUpdate } from './definitions';
import { updateSource } from './actions';
import { publish } from './details';
import { record } from './ledger';
import { syncSchedule } from './schedule';
import type { LifecycleState } from './state';
import { actorRequestSchema, authorize, specSchema, updateSpecRequestSchema } from './validation';

/** The largest spec `updateSpec` takes, as canonical JSON. */
const SPEC_LIMIT_BYTES = 64 * 1024;

const hashing = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 10 },
  summary: 'hash the updated spec',
});

const issues = (e: { issues: { path: PropertyKey[]; message: string }[] }) => e.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');

/** `updateSpec`: a new spec in force from the next stage on, recorded in the ledger with who signed it. */
export function registerSpecUpdate(s: LifecycleState): void {
  setHandler(
    updateSpecUpdate,
    async (req) => {
      let signers: Signer[] = [];
      if (s.signedActions) {
        await condition(() => !s.specUpdating);
        // Checked again at the handler, against the spec now in force: a signature may have
        // been spent, or another update put a new policy in force, since the validator ran.
        const c = checkSpecUpdate(s, req);
        if (!c.ok) throw ApplicationFailure.nonRetryable(c.reason, 'ActionRefused');
        signers = c.signers;
        for (const sg of signers) s.spend(sg);
        s.specUpdating = true;
      }
      try {
        // Runs before signed actions accepted specs the schema now refuses (strict keys): their
        // replays must take what they took then.
        const parsed = specSchema().safeParse(req.spec);
        if (!parsed.success && s.signedActions) throw ApplicationFailure.nonRetryable(`invalid spec: ${parsed.error.issues[0]?.message}`, 'ActionRefused');
        const next = parsed.success ? parsed.data : (req.spec as ModelSpec);
        // The sha256 of the new spec, as lineage records it. Lifecycles started before this
        // change recorded `v<N>` instead: patched() keeps their histories replayable.
        const nextHash = patched('spec-hash-by-activity') ? await hashing.hashSpec({ spec: next }) : `v${s.specVersion + 1}`;
        const previousSchedule = JSON.stringify(s.spec.retrain?.schedule ?? null);
        s.spec = next;
        s.specVersion++;
        s.specHash = nextHash;
        publish(s);
        const cosigner = signers[1] ? { cosignedBy: { name: signers[1].name, fingerprint: signers[1].fingerprint, reason: req.cosign?.reason } } : {};
        await record(s, 'spec-updated', { by: req.by, reason: req.reason, details: { specVersion: s.specVersion, spec: next, ...cosigner } }, updateSource(), signers[0] ?? null);
        if (JSON.stringify(next.retrain?.schedule ?? null) !== previousSchedule) await syncSchedule(s.model, next.retrain?.schedule ?? null);
        return { accepted: true, message: `spec version ${s.specVersion} in force` };
      } finally {
        s.specUpdating = false;
      }
    },
    {
      validator: (req) => {
        if (s.signedActions) {
          const c = checkSpecUpdate(s, req);
          if (!c.ok) throw new Error(c.reason);
          return;
        }
        const actor = actorRequestSchema().safeParse({ by: req?.by, reason: req?.reason });
        if (!actor.success) throw new Error(`malformed payload: ${issues(actor.error)}`);
        const next = specSchema().safeParse(req.spec);
        if (!next.success) throw new Error(`invalid spec: ${issues(next.error)}`);
        if (next.data.name !== s.model) throw new Error(`the spec is for ${next.data.name}, this lifecycle runs ${s.model}`);
      },
    },
  );
}

/**
 * updateSpec under signed actions: a bounded, valid spec for this model, signed by a current
 * approver; a change to who decides or what passes (approval, gates, retrain, trainer)
 * also co-signed by a second approver when the spec separates duties.
 */
function checkSpecUpdate(s: LifecycleState, raw: unknown): { ok: true; signers: Signer[] } | { ok: false; reason: string } {
  const p = updateSpecRequestSchema().safeParse(raw);
  if (!p.success) return { ok: false, reason: `malformed payload: ${p.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ')}` };
  const req = p.data;
  const size = canonicalJson(req.spec ?? null).length;
  if (size > SPEC_LIMIT_BYTES) return { ok: false, reason: `the spec is ${size} bytes as JSON; at most ${SPEC_LIMIT_BYTES} are taken` };
  const next = specSchema().safeParse(req.spec);
  if (!next.success) return { ok: false, reason: `invalid spec: ${issues(next.error)}` };
  if (next.data.name !== s.model) return { ok: false, reason: `the spec is for ${next.data.name}, this lifecycle runs ${s.model}` };
  const v = s.view();
  const main = authorize(v, 'updateSpec', raw as Record<string, unknown>, req.by, req.signature);
  if (!main.ok) return main;
  const signers = main.signer ? [main.signer] : [];
  // Compared with defaults filled in: a spec carried from before a field existed is not "changed" by it.
  const current = specSchema().safeParse(s.spec);
  if (!policyChanged(current.success ? current.data : s.spec, next.data) || !s.spec.approval.separationOfDuties) return { ok: true, signers };
  if (!req.cosign) return { ok: false, reason: `the change touches approval, gates, retrain or trainer: with separation of duties it needs a second approver's co-signature (--cosign FILE, made by another of ${allowedActors(s.spec, 'updateSpec').join(', ')} with --print-cosign)` };
  if (req.cosign.by === req.by) return { ok: false, reason: `${req.by} cannot co-sign their own spec change: a second approver must` };
  // Over the co-signature as sent (the parsed one has its reason trimmed).
  const sent = (raw as { cosign: Record<string, unknown> }).cosign;
  const co = authorize(v, 'updateSpec', { spec: (raw as { spec: unknown }).spec, by: sent.by, reason: sent.reason }, req.cosign.by, req.cosign.signature);
  if (!co.ok) return { ok: false, reason: `co-signature: ${co.reason}` };
  if (co.signer && main.signer && co.signer.nonce === main.signer.nonce) return { ok: false, reason: 'co-signature: the same signature twice' };
  return { ok: true, signers: co.signer ? [...signers, co.signer] : signers };
}
