import { z } from 'zod';
import { Signature } from '../auth/signature';

/**
 * The lifecycle's public contract: stages, the payloads of human actions, and the
 * shape of the `status` query. One place, used by the workflow, the CLI and tests.
 * Pure (zod only), so workflow code can import it.
 */

export const Stage = z.enum(['TRAINING', 'AWAITING_APPROVAL', 'DEPLOYING', 'SERVING', 'IDLE', 'PAUSED', 'RETIRED']);
export type Stage = z.infer<typeof Stage>;

/** Who acts: a name in the spec's approvers or operators, proven by a signature with that name's key. */
export const Actor = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'expected an id of letters, digits and . _ @ - (at most 64)');

export const Reason = z.string().trim().min(1, 'a reason is required').max(2000);

/** Payload of `approve` and `reject`, by update or signal. */
export const Decision = z.strictObject({
  version: z.number().int().positive(),
  by: Actor,
  reason: Reason,
  signature: Signature.optional(),
});
export type Decision = z.infer<typeof Decision>;

export const RollbackRequest = z.strictObject({
  toVersion: z.number().int().positive(),
  by: Actor,
  reason: Reason,
  signature: Signature.optional(),
});
export type RollbackRequest = z.infer<typeof RollbackRequest>;

/** Payload of `retire`, `retrainNow`, `pause` and `resume`. */
export const ActorRequest = z.strictObject({ by: Actor, reason: Reason, signature: Signature.optional() });
export type ActorRequest = z.infer<typeof ActorRequest>;

/** A second approver's signature over the same spec change (`--print-cosign`). */
export const Cosign = z.strictObject({ by: Actor, reason: Reason, signature: Signature });
export type Cosign = z.infer<typeof Cosign>;

/** Payload of `updateSpec`: the new spec (validated as a ModelSpec), signed; a policy change with separation of duties also co-signed. */
export const UpdateSpecRequest = z.strictObject({
  spec: z.unknown(),
  by: Actor,
  reason: Reason,
  signature: Signature.optional(),
  cosign: Cosign.optional(),
});
export type UpdateSpecRequest = z.infer<typeof UpdateSpecRequest>;

export const Metrics = z.object({ auc: z.number(), logLoss: z.number(), accuracy: z.number(), brier: z.number() });
export type Metrics = z.infer<typeof Metrics>;

export const GateResult = z.object({
  passed: z.boolean(),
  /** Why it failed (empty when it passed). */
  reasons: z.array(z.string()),
  /** Every check, passed or not, in words. */
  checks: z.array(z.object({ rule: z.string(), passed: z.boolean(), detail: z.string() })),
});
export type GateResult = z.infer<typeof GateResult>;

export const HistoryEntry = z.object({
  at: z.string(),
  event: z.string(),
  version: z.number().optional(),
  by: z.string().optional(),
  reason: z.string().optional(),
});
export type HistoryEntry = z.infer<typeof HistoryEntry>;

export const Refusal = z.object({
  at: z.string(),
  action: z.string(),
  via: z.enum(['signal', 'update']),
  by: z.string().optional(),
  reason: z.string(),
});
export type Refusal = z.infer<typeof Refusal>;

/** The latest monitor check, as the lifecycle keeps it (the full report is at `reportUri`). */
export const CheckSummary = z.object({
  at: z.string(),
  version: z.number(),
  rows: z.number(),
  enoughData: z.boolean(),
  breached: z.boolean(),
  /** Largest PSI over the tested features: comparable between checks. */
  score: z.number(),
  breachedFeatures: z.array(z.string()),
  performance: z.object({ labeled: z.number(), auc: z.number().nullable(), logLoss: z.number().nullable(), belowFloor: z.boolean().nullable() }),
  reportUri: z.string(),
});
export type CheckSummary = z.infer<typeof CheckSummary>;

export const MonitorState = z.object({
  /** Prediction-log row id the last check read up to: monitoring reads by cursor, never by wall clock. */
  cursor: z.number(),
  nextCheckAt: z.string().nullable(),
  checks: z.number(),
  consecutiveBreaches: z.number(),
  lastCheck: CheckSummary.nullable(),
  /** The latest check with a drift score (enough data): a check with too little data after it does not erase it. Absent in runs before it was kept. */
  lastScored: CheckSummary.nullable().optional(),
  /** The latest breached check. Absent in runs before it was kept. */
  lastBreach: CheckSummary.nullable().optional(),
  /** Latest event time labeled traffic reached: where a retrain's window ends. */
  labeledUntil: z.string().nullable(),
});
export type MonitorState = z.infer<typeof MonitorState>;

export const Paused = z.object({ at: z.string(), by: z.string(), reason: z.string() });

export const LifecycleStatus = z.object({
  model: z.string(),
  stage: Stage,
  champion: z.object({ version: z.number(), metrics: Metrics, since: z.string() }).nullable(),
  candidate: z
    .object({
      version: z.number(),
      metrics: Metrics,
      baseRate: Metrics,
      /** The champion scored on the candidate's holdout, when there is a champion. */
      championOnSameHoldout: Metrics.nullable(),
      gate: GateResult,
      trainedBy: z.string(),
      trainingWorkflowId: z.string(),
      /** ISO time after which the candidate is rejected if nobody decided. */
      approvalDeadline: z.string().nullable(),
    })
    .nullable(),
  /** What the lifecycle waits for, in words. */
  waitingFor: z.string(),
  specVersion: z.number(),
  specHash: z.string(),
  /** The last decisions and events (bounded); the registry's ledger has all of them. */
  history: z.array(HistoryEntry),
  /** Refused signals and updates with their reasons (bounded). */
  refused: z.array(Refusal),
  /** Monitoring of the champion's traffic: off when the spec has none. */
  monitoring: MonitorState.extend({ state: z.enum(['off', 'watching', 'paused', 'idle']), interval: z.string().nullable() }),
  paused: Paused.nullable(),
  retrain: z.object({
    /** Retrains started (after the first training), newest last, within the budget period. */
    recent: z.array(z.string()),
    /** Why an automatic or requested retrain cannot start now, if it cannot. */
    blockedBy: z.string().nullable(),
  }),
  /** Runs of this lifecycle so far (continue-as-new starts a new run in the same chain). */
  run: z.number(),
  /**
   * Who may sign: `required` checks every human action's signature, `off` (a sandbox's
   * spec) does not, `legacy` is a lifecycle started before signatures (until it continues as new).
   */
  auth: z
    .object({
      signatures: z.enum(['required', 'off', 'legacy']),
      keys: z.array(z.object({ name: z.string(), fingerprint: z.string(), trust: z.enum(['first-registered', 'endorsed', 'pinned']) })),
      /** Key records in the registry the lifecycle did not honour, and why. */
      ignored: z.array(z.string()),
      /** Key reloads in this run so far (the CLI waits for it to grow after `refreshKeys`). */
      loads: z.number(),
    })
    .optional(),
});
export type LifecycleStatus = z.infer<typeof LifecycleStatus>;


/**
 * A refused sender's `by` as status keeps it: as sent when it is a well-formed actor id,
 * otherwise escaped (no control characters reach a terminal) and cut to 64 characters.
 */
export function refusedBy(by: unknown): string | undefined {
  if (typeof by !== 'string') return undefined;
  if (Actor.safeParse(by).success) return by;
  const escaped = JSON.stringify(by.slice(0, 64)).slice(1, -1).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped.length > 64 ? `${escaped.slice(0, 63)}…` : escaped;
}
