import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { statusQuery } from '../../workflows';
import { LifecycleStatus } from '../../src/lifecycle/contract';

/**
 * Polls the `status` query until `done` holds; fails with the last status after `timeoutMs`.
 * Every answer is checked against the exported zod schema (strictly: no field it does not
 * declare), so the schema README shows stays the shape the query returns.
 */
export async function waitForStatus(
  handle: WorkflowHandle,
  done: (s: LifecycleStatus) => boolean,
  what: string,
  timeoutMs = 180_000,
): Promise<LifecycleStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: LifecycleStatus | undefined;
  for (;;) {
    let raw: unknown;
    try {
      raw = await handle.query(statusQuery);
    } catch (err) {
      // A Temporal server restarting (the fault tests) answers UNAVAILABLE for a while: wait on, up to the deadline.
      if (!unavailable(err) || Date.now() > deadline) throw err;
      await sleep(500);
      continue;
    }
    last = checkedStatus(raw);
    if (done(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last status: ${JSON.stringify(last, null, 2)}`);
    await sleep(200);
  }
}

function unavailable(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) if (e.code === 14) return true;
  return false;
}

function checkedStatus(raw: unknown): LifecycleStatus {
  const parsed = LifecycleStatus.strict().safeParse(raw);
  if (!parsed.success) throw new Error(`the status query does not match the LifecycleStatus schema: ${parsed.error.message}\n${JSON.stringify(raw, null, 2)}`);
  return raw as LifecycleStatus;
}

/** An update the lifecycle refuses: its validator's reason matches `reason`, and nothing ran. */
export async function refusedUpdate(p: Promise<unknown>, reason: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
    assert.match(String((err.cause as Error | undefined)?.message ?? err.message), reason);
    return true;
  });
}
