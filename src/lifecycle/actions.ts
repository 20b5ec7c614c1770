import type { ModelSpec } from '../spec/modelSpec';
import { canonicalJson } from '../util/canonicalJson';

/**
 * Every human action on a lifecycle, in one table: its name as update and signal, who may
 * take it, and the CLI command that sends it. The workflow's rules, the CLI's signing and
 * `--print-signal` all read it.
 */
export const ACTIONS = {
  approve: { role: 'approvers', command: 'approve' },
  reject: { role: 'approvers', command: 'reject' },
  rollback: { role: 'approvers', command: 'rollback' },
  retire: { role: 'approvers', command: 'retire' },
  updateSpec: { role: 'approvers', command: 'update-spec' },
  retrainNow: { role: 'operators', command: 'retrain' },
  pause: { role: 'operators', command: 'pause' },
  resume: { role: 'operators', command: 'resume' },
} as const;

export type LifecycleAction = keyof typeof ACTIONS;

/** Who may take `action` under `spec`: approvers, or operators (the approvers when the spec names none). */
export function allowedActors(spec: ModelSpec, action: LifecycleAction): readonly string[] {
  return ACTIONS[action].role === 'approvers' ? spec.approval.approvers : (spec.approval.operators ?? spec.approval.approvers);
}

/** Null when `by` may take `action`, else the reason. */
export function roleRefusal(spec: ModelSpec, action: LifecycleAction, by: string): string | null {
  const allowed = allowedActors(spec, action);
  if (allowed.includes(by)) return null;
  const role = ACTIONS[action].role === 'approvers' ? 'approver' : 'operator';
  return `${by} is not an allowed ${role} of ${spec.name}, so may not ${action} (allowed: ${allowed.join(', ')})`;
}

/** Whether `next` changes who decides or what passes: approval, gates, retrain policy or trainer. */
export function policyChanged(before: ModelSpec, next: ModelSpec): boolean {
  const policy = (s: ModelSpec) => canonicalJson({ approval: s.approval, gates: s.evaluation.gates, retrain: s.retrain ?? null, trainer: s.trainer });
  return policy(before) !== policy(next);
}
