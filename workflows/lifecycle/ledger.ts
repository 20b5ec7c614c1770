import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { ActionSource } from '../../src/lifecycle/identity';
import type { Signer } from '../../src/auth/signature';
import { countDecision } from './metrics';
import type { LifecycleState } from './state';

const ledgerStep = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumAttempts: 20 },
  summary: 'record the decision in the promotion ledger',
});

export interface LedgerEntry {
  version?: number;
  by: string;
  reason: string;
  details?: Record<string, unknown>;
}

/**
 * Records a decision in the promotion ledger, then notes it in the history: the code after a
 * decision (e.g. leaving TRAINING after a failed gate) then runs in the same activation, so
 * `status` never shows the decision beside the stage it ends. History is workflow state
 * only: no command moves.
 */
export async function record(s: LifecycleState, decision: string, e: LedgerEntry, source?: ActionSource, signer?: Signer | null): Promise<void> {
  await ledgerStep.recordDecision({
    entry: { model: s.model, decision, workflowId: s.workflowId, runId: s.runId, ...e, ...(signer ? { signer: { name: signer.name, fingerprint: signer.fingerprint } } : {}) },
    dedupeKey: `${s.workflowId}:${s.runId}:${++s.ledgerSeq}`,
    source,
  });
  s.note(decision, { version: e.version, by: e.by, reason: e.reason });
  countDecision(s.model, decision);
}

/** Pauses and resumes the handlers accepted, into the ledger in the order they came. */
export async function recordPendingNotes(s: LifecycleState): Promise<void> {
  while (s.pendingNotes.length) {
    const n = s.pendingNotes.shift()!;
    await record(s, n.name, { by: n.by, reason: n.reason }, n.source, n.signer);
  }
}
