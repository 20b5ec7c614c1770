import { recentRetrains } from '../../../src/lifecycle/retrainPolicy';
import { record } from '../ledger';
import { countRetrain } from '../metrics';
import { waitWatching } from '../monitoring';
import type { LifecycleState } from '../state';

/**
 * SERVING, PAUSED or IDLE: watching the champion until someone (or the monitor) asks for a
 * retrain, a rollback or retirement. A rollback asked beside a retrain goes first: an
 * incident does not wait for a training (runs started before decide as they always did:
 * retrain first).
 */
export async function rest(s: LifecycleState): Promise<void> {
  const outcome = await waitWatching(s, () => s.rollback !== null || s.retire !== null || s.retrain !== null);
  if (outcome !== 'done' || s.retire) return;
  if (s.retrain && !(s.rollbackWithdrawsCandidate && s.rollback)) {
    const t = s.retrain;
    await record(s, 'retrain-requested', { by: t.payload.by, reason: t.payload.reason }, t.source, t.signer);
    s.retrainStarts = [...recentRetrains(s.spec.retrain, s.retrainStarts, Date.now()), new Date().toISOString()];
    s.monitor.consecutiveBreaches = 0;
    s.blockedBy = null;
    s.trainingFor = t.payload.by;
    countRetrain(s.model, t.payload.by);
    s.retrain = null;
    s.stage = 'TRAINING';
    return;
  }
  const r = s.rollback!;
  await record(s, 'rollback-requested', { version: r.payload.toVersion, by: r.payload.by, reason: r.payload.reason }, r.source, r.signer);
  const metrics = s.versionMetrics.get(r.payload.toVersion)!;
  s.deployTarget = { version: r.payload.toVersion, metrics, reason: `rollback by ${r.payload.by}: ${r.payload.reason}` };
  s.rollback = null;
  s.stage = 'DEPLOYING';
}
