import { record } from '../ledger';
import { waitWatching } from '../monitoring';
import type { LifecycleState } from '../state';

/**
 * AWAITING_APPROVAL: the candidate waits for an approver's decision until its deadline. The
 * champion keeps serving meanwhile, so monitoring goes on (it triggers no retrain: one
 * candidate at a time). A rollback withdraws the candidate; retiring ends the wait.
 */
export async function awaitDecision(s: LifecycleState): Promise<void> {
  const c = s.candidate!;
  const rollbackAsked = () => s.rollbackWithdrawsCandidate && s.rollback !== null;
  const decided = await waitWatching(s, () => s.decision !== null || s.retire !== null || rollbackAsked(), Date.parse(c.approvalDeadline));
  if (s.retire) return;
  if (decided === 'continue-as-new') return;
  if (!s.decision && rollbackAsked()) {
    const r = s.rollback!;
    // Withdrawn, then rolled back from the resting stage like any rollback.
    await record(s, 'withdrawn', {
      version: c.version,
      by: r.payload.by,
      reason: `rollback to v${r.payload.toVersion} asked while v${c.version} awaited approval (its gate compared it with v${s.champion?.version}): ${r.payload.reason}`,
    }, r.source, r.signer);
    s.backToRest();
    return;
  }
  if (decided === 'deadline' || !s.decision) {
    await record(s, 'expired', { version: c.version, by: 'perennial', reason: `no decision before ${c.approvalDeadline}; rejected` });
    s.backToRest();
    return;
  }
  const d = s.decision;
  if (d.kind === 'reject') {
    await record(s, 'rejected', { version: c.version, by: d.payload.by, reason: d.payload.reason }, d.source, d.signer);
    s.backToRest();
    return;
  }
  await record(s, 'approved', { version: c.version, by: d.payload.by, reason: d.payload.reason }, d.source, d.signer);
  s.deployTarget = { version: c.version, metrics: c.metrics, reason: `approved by ${d.payload.by}` };
  s.stage = 'DEPLOYING';
}
