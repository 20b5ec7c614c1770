import { Context } from '@temporalio/activity';

/** How often a long step tells Temporal it is alive; the workflow's heartbeat timeout is a multiple of it. */
const BEAT_MS = 5_000;

/**
 * Runs `step`, heartbeating while it runs: a worker killed mid-step is noticed within the
 * activity's heartbeat timeout, and the retry starts then — not after its start-to-close
 * timeout (minutes).
 */
export async function heartbeating<T>(step: () => Promise<T> | T): Promise<T> {
  const ctx = Context.current();
  // A local activity has no heartbeat: the worker keeps its workflow task alive instead.
  if (ctx.info.isLocal) return step();
  ctx.heartbeat();
  const beat = setInterval(() => ctx.heartbeat(), BEAT_MS);
  try {
    return await step();
  } finally {
    clearInterval(beat);
  }
}
