import { condition, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { refreshKeysSignal } from './definitions';
import type { ActionHandlers } from './actions';
import { publish } from './details';
import type { LifecycleState } from './state';
import { keyRecordSchema } from './validation';

/** Key records a lifecycle keeps (and carries); more is refused by the registry's reader long before. */
const KEY_RECORDS_LIMIT = 1000;
/** The shortest time between two key reloads. */
const KEY_RELOAD_GAP = '5 seconds';

export function registerKeyRefresh(s: LifecycleState): void {
  setHandler(refreshKeysSignal, () => {
    s.keysWanted = true;
  });
}

/**
 * Beside the main loop for the whole run: reloads key records when asked (at the run's start,
 * on `refreshKeys`, or when a signal came signed by an unknown key), then decides the held signals.
 */
export async function keyLoader(s: LifecycleState, actions: ActionHandlers): Promise<void> {
  const keys = proxyActivities<Activities>({
    startToCloseTimeout: '30 seconds',
    retry: { maximumInterval: '1 minute' },
    summary: 'load the approvers\' and operators\' keys',
  });
  for (;;) {
    await condition(() => s.keysWanted);
    s.keysWanted = false;
    s.keysLoading = true;
    try {
      // Validated here too: a malformed record in the registry must not stop the lifecycle.
      const loaded = (await keys.loadKeyRecords({ names: s.keyNames() })).flatMap((r) => {
        const ok = keyRecordSchema().safeParse(r);
        return ok.success ? [ok.data] : [];
      });
      s.setKeys(loaded.slice(0, KEY_RECORDS_LIMIT));
    } finally {
      s.keysLoading = false;
    }
    actions.decideParked();
    publish(s);
    // At most one reload every few seconds, however many ask: asking costs the asker, not the lifecycle.
    await sleep(KEY_RELOAD_GAP);
  }
}
