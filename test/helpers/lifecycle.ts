import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { statusQuery } from '../../workflows';
import type { LifecycleStatus } from '../../src/lifecycle/contract';

/** Polls the `status` query until `done` holds; fails with the last status after `timeoutMs`. */
export async function waitForStatus(
  handle: WorkflowHandle,
  done: (s: LifecycleStatus) => boolean,
  what: string,
  timeoutMs = 180_000,
): Promise<LifecycleStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: LifecycleStatus | undefined;
  for (;;) {
    last = await handle.query(statusQuery);
    if (done(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last status: ${JSON.stringify(last, null, 2)}`);
    await sleep(200);
  }
}
