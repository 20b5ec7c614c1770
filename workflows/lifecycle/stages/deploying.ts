import { ActivityFailure, ApplicationFailure, CancellationScope, patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../../activities';
import { durationMs } from '../../../src/util/duration';
import { record } from '../ledger';
import type { LifecycleState } from '../state';

/**
 * DEPLOYING: the champion alias moves to the target and the deploy waits until the model
 * server serves it. A deploy that fails leaves the previous champion in force.
 */
export async function deployTargetVersion(s: LifecycleState): Promise<void> {
  const target = s.deployTarget!;
  const model = s.model;
  s.versionMetrics.set(target.version, target.metrics);
  const previous = s.champion?.version ?? null;
  const timeoutMs = durationMs(s.spec.rollout.deployTimeout);
  const { deploy } = proxyActivities<Activities>({
    startToCloseTimeout: timeoutMs + 60_000,
    heartbeatTimeout: '30 seconds',
    retry: { maximumAttempts: 3, nonRetryableErrorTypes: ['DeployFailed'] },
    summary: `move champion to v${target.version} and wait until it is served`,
  });
  try {
    await deploy({ model, version: target.version, previous, timeoutMs });
    s.champion = { version: target.version, metrics: target.metrics, since: new Date().toISOString() };
    // A new champion starts a fresh watch: its own traffic, from the next interval.
    s.monitor.consecutiveBreaches = 0;
    s.monitor.nextCheckAt = null;
    // The score shown is the champion's: the previous one's (a breach, say) goes with it; lastBreach names its version.
    if (s.keepsLastScored) s.monitor.lastScored = null;
    if (!s.approvedVersions.includes(target.version)) s.approvedVersions.push(target.version);
    await record(s, 'deployed', { version: target.version, by: 'perennial', reason: target.reason, details: { previous } });
  } catch (err) {
    const reason = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause.message : String(err);
    // Only a timed-out wait restores the alias inside `deploy`; attempts lost to a crashed
    // worker, a registry failing mid-way or a cancelled workflow may leave it at the failed version.
    // Lifecycles that failed a deploy before this change did not restore: patched().
    if (patched('restore-champion-after-failed-deploy')) {
      const { restoreChampion } = proxyActivities<Activities>({
        startToCloseTimeout: '30 seconds',
        retry: { maximumInterval: '1 minute' },
        summary: `move champion back to ${previous === null ? 'none' : `v${previous}`} if it still names v${target.version}`,
      });
      // Even when the workflow itself is being cancelled: never leave the alias promoted.
      await CancellationScope.nonCancellable(() => restoreChampion({ model, failed: target.version, previous }));
    }
    await CancellationScope.nonCancellable(() => record(s, 'deploy-failed', { version: target.version, by: 'perennial', reason, details: { previous } }));
  }
  s.deployTarget = null;
  s.backToRest();
}
