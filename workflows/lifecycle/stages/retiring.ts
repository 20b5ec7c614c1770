import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../../activities';
import { record } from '../ledger';
import { syncSchedule } from '../schedule';
import type { LifecycleState } from '../state';

/** RETIRED: the model stops being served, its retrain schedule goes; the lifecycle ends. */
export async function retireNow(s: LifecycleState): Promise<void> {
  const r = s.retire!;
  const { retireModel } = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 10 }, summary: 'stop serving' });
  await retireModel({ model: s.model });
  if (s.spec.retrain?.schedule) await syncSchedule(s.model, null);
  await record(s, 'retired', { version: s.champion?.version, by: r.payload.by, reason: r.payload.reason }, r.source, r.signer);
  s.candidate = null;
  s.champion = null;
  s.stage = 'RETIRED';
}
