import { z } from 'zod';
import { KeyRecord } from '../auth/keyring';
import { HistoryEntry, LifecycleStatus, Metrics, MonitorState, Paused, Refusal } from './contract';

/**
 * What one run of `lifecycle/<model>` hands the next when it continues as new: versioned
 * and validated with zod, so a run never starts from a state it does not understand.
 * Only taken between stages: never while a training child runs or a deploy is under way.
 */
export const CarriedState = z.object({
  format: z.literal(1),
  specVersion: z.number().int().positive(),
  stage: z.enum(['AWAITING_APPROVAL', 'SERVING', 'IDLE', 'PAUSED']),
  champion: LifecycleStatus.shape.champion,
  /** A candidate awaiting approval keeps its absolute deadline. */
  candidate: LifecycleStatus.shape.candidate,
  approvedVersions: z.array(z.number()),
  /** Metrics of every version this lifecycle deployed, for rollbacks. */
  versionMetrics: z.record(z.string(), Metrics),
  history: z.array(HistoryEntry),
  refused: z.array(Refusal),
  trainingFor: z.string(),
  paused: Paused.nullable(),
  monitor: MonitorState,
  retrainStarts: z.array(z.string()),
  run: z.number().int().positive(),
  /** Key records the lifecycle last loaded (absent from runs before signed actions: then it loads them). */
  keyRecords: z.array(KeyRecord).max(2000).optional(),
  /** Accepted signatures not yet expired: a replay of one is refused in the next run too. */
  /** When the chain of runs began (signatures issued well before it are refused). */
  chainStartedAt: z.string().optional(),
  usedNonces: z.array(z.object({ nonce: z.string(), expiresAt: z.string(), name: z.string().optional() })).max(512).optional(),
});
export type CarriedState = z.infer<typeof CarriedState>;

export const CARRIED_FORMAT = 1;

/** Reads a carried state, naming what is wrong if it is not one this code understands. */
export function readCarriedState(raw: unknown): CarriedState {
  const r = CarriedState.safeParse(raw);
  if (r.success) return r.data;
  const format = typeof raw === 'object' && raw ? (raw as { format?: unknown }).format : undefined;
  throw new Error(
    `cannot continue from carried state format ${String(format)} (this code reads format ${CARRIED_FORMAT}): ` +
      r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
  );
}
