import type { ModelSpec } from '../spec/modelSpec';
import { verifyAction, type Signature, type Signer, type VerifyContext } from '../auth/signature';
import { ActorRequest, Decision, RollbackRequest, type Stage } from './contract';
import { roleRefusal, type LifecycleAction } from './actions';
import { retrainHeldBack } from './retrainPolicy';
import { SCHEDULE_ACTOR } from './names';

/**
 * The rules for human actions on a lifecycle — the same for an update's validator and a
 * signal — as pure functions of what the lifecycle looks like now. A refusal names why.
 */

/** What the rules need to know of a lifecycle at the moment an action arrives. */
export interface LifecycleView {
  model: string;
  stage: Stage;
  spec: ModelSpec;
  champion: { version: number } | null;
  candidate: { version: number; trainedBy: string } | null;
  approvedVersions: readonly number[];
  paused: { by: string; at: string } | null;
  /** Retrain start times within the budget period. */
  retrainStarts: readonly string[];
  /** Actions accepted and not yet carried out. */
  pending: { decision: { kind: 'approve' | 'reject'; by: string } | null; rollbackTo: number | null; retire: boolean; retrain: boolean };
  /** The workflow's clock. */
  nowMs: number;
  /**
   * Whether a rollback may come while a candidate awaits approval (withdrawing it). False
   * in lifecycles started before this rule, whose histories refused it.
   */
  rollbackWithdrawsCandidate: boolean;
  /**
   * Who may act and how it is proven: null in lifecycles started before signed actions
   * (their histories accepted any `by`); otherwise roles always, and signatures unless the
   * spec turns them off.
   */
  auth: VerifyContext | null;
}

export type Check<T> =
  | { ok: true; value: T; signer: Signer | null }
  | { ok: false; reason: string; by?: string; unknownKey?: true };

interface Schema<T> {
  safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
}

function parsed<T>(schema: Schema<T>, raw: unknown): Check<T> {
  const r = schema.safeParse(raw);
  if (r.success) return { ok: true, value: r.data, signer: null };
  const by = typeof raw === 'object' && raw && typeof (raw as { by?: unknown }).by === 'string' ? (raw as { by: string }).by : undefined;
  return { ok: false, by, reason: `malformed payload: ${r.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ')}` };
}

/**
 * Parses the payload, checks who sent it (role, then signature), then applies `rule`: a
 * string from it is the reason for a refusal.
 */
function checked<T extends { by: string; signature?: Signature }>(v: LifecycleView, action: LifecycleAction, schema: Schema<T>, raw: unknown, rule: (value: T) => string | null): Check<T> {
  const p = parsed(schema, raw);
  if (!p.ok) return p;
  const who = authorize(v, action, raw as Record<string, unknown>, p.value.by, p.value.signature);
  if (!who.ok) return { ...who, by: p.value.by };
  const reason = rule(p.value);
  return reason === null ? { ok: true, value: p.value, signer: who.signer } : { ok: false, reason, by: p.value.by };
}


/** The role and the signature of `by` for `action`: the same rules for every action, update or signal. */
export function authorize(v: LifecycleView, action: LifecycleAction, raw: Record<string, unknown>, by: string, signature: Signature | undefined): { ok: true; signer: Signer | null } | { ok: false; reason: string; unknownKey?: true } {
  if (!v.auth) return { ok: true, signer: null };
  // The spec's schedule asks for what the spec already orders (one retrain at a time, within
  // cooldown and budget); a retrain promotes nothing without a signed approval. Without a
  // schedule in the spec, nobody may act in its name.
  if (action === 'retrainNow' && by === SCHEDULE_ACTOR && v.spec.retrain?.schedule) return { ok: true, signer: null };
  const role = roleRefusal(v.spec, action, by);
  if (role) return { ok: false, reason: role };
  if (v.spec.approval.signatures === 'off') return { ok: true, signer: null };
  const verified = verifyAction(v.auth, action, raw, by, signature);
  return verified.ok ? { ok: true, signer: verified.signer } : verified;
}

export function checkDecision(v: LifecycleView, kind: 'approve' | 'reject', raw: unknown): Check<Decision> {
  return checked(v, kind, Decision, raw, (d) => {
    const c = v.candidate;
    if (v.stage !== 'AWAITING_APPROVAL' || !c) return `no candidate is awaiting approval (stage ${v.stage})`;
    const decided = v.pending.decision;
    if (decided) return `v${c.version} was already ${decided.kind === 'approve' ? 'approved' : 'rejected'} by ${decided.by}`;
    if (v.rollbackWithdrawsCandidate && v.pending.rollbackTo !== null) return `a rollback to v${v.pending.rollbackTo} is under way: v${c.version} is withdrawn`;
    if (d.version !== c.version) return `v${d.version} is ${d.version < c.version ? 'stale' : 'unknown'}: the pending candidate is v${c.version}`;
    const approvers = v.spec.approval.approvers;
    if (!approvers.includes(d.by)) return `${d.by} is not an allowed approver (allowed: ${approvers.join(', ')})`;
    if (kind === 'approve' && v.spec.approval.separationOfDuties && d.by === c.trainedBy) {
      return `${d.by} started the training of v${c.version}; separation of duties needs another approver`;
    }
    return null;
  });
}

export function checkRollback(v: LifecycleView, raw: unknown): Check<RollbackRequest> {
  return checked(v, 'rollback', RollbackRequest, raw, (r) => {
    // An incident does not wait for a pending approval: the rollback withdraws the candidate
    // (its gate judged it against the champion being rolled away from).
    const awaiting = v.stage === 'AWAITING_APPROVAL' && v.rollbackWithdrawsCandidate;
    if (v.stage !== 'SERVING' && v.stage !== 'IDLE' && v.stage !== 'PAUSED' && !awaiting) return `cannot roll back while ${v.stage}; wait until the lifecycle is SERVING or IDLE`;
    if (awaiting && v.pending.decision) {
      return `v${v.candidate?.version} was just ${v.pending.decision.kind === 'approve' ? 'approved' : 'rejected'} by ${v.pending.decision.by}; roll back once that is carried out`;
    }
    if (v.pending.rollbackTo !== null) return `a rollback to v${v.pending.rollbackTo} is already in progress`;
    if (!v.approvedVersions.includes(r.toVersion)) {
      return `v${r.toVersion} was never approved and served here (approved: ${v.approvedVersions.map((x) => `v${x}`).join(', ') || 'none'})`;
    }
    if (v.champion?.version === r.toVersion) return `v${r.toVersion} is already the champion`;
    return null;
  });
}

export function checkRetire(v: LifecycleView, raw: unknown): Check<ActorRequest> {
  return checked(v, 'retire', ActorRequest, raw, () => {
    if (v.stage === 'RETIRED' || v.pending.retire) return 'the lifecycle is already retired or retiring';
    if (v.stage === 'TRAINING' || v.stage === 'DEPLOYING') return `cannot retire while ${v.stage}; try again when it is done`;
    return null;
  });
}

/** One retrain at a time, none while a candidate awaits, none within the cooldown or past the budget. */
export function checkRetrain(v: LifecycleView, raw: unknown): Check<ActorRequest> {
  return checked(v, 'retrainNow', ActorRequest, raw, () => {
    if (v.pending.retrain || v.stage === 'TRAINING') return 'a training is already in progress';
    if (v.stage === 'AWAITING_APPROVAL') return `cannot retrain while v${v.candidate?.version} awaits a decision; approve or reject it first`;
    if (v.stage !== 'SERVING' && v.stage !== 'IDLE' && v.stage !== 'PAUSED') return `cannot retrain while ${v.stage}; try again when it is done`;
    return retrainHeldBack(v.spec.retrain, v.retrainStarts, v.nowMs);
  });
}

export function checkPause(v: LifecycleView, raw: unknown): Check<ActorRequest> {
  return checked(v, 'pause', ActorRequest, raw, () => {
    if (v.paused) return `monitoring is already paused (by ${v.paused.by} at ${v.paused.at})`;
    if (v.stage === 'RETIRED' || v.pending.retire) return 'the lifecycle is retired or retiring';
    if (!v.spec.monitoring) return `${v.model}'s spec has no monitoring section: nothing to pause`;
    return null;
  });
}

export function checkResume(v: LifecycleView, raw: unknown): Check<ActorRequest> {
  return checked(v, 'resume', ActorRequest, raw, () => (v.paused ? null : 'monitoring is not paused'));
}
