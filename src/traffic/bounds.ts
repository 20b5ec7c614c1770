import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export type StopReason = 'max-time' | 'aborted';

/** Monotonic milliseconds: pacing must not jump with the wall clock. */
export const now = () => performance.now();

/** The limits every wait of a run honours: a deadline and the caller's AbortSignal. */
export class Bounds {
  constructor(
    readonly deadline: number,
    readonly signal?: AbortSignal,
  ) {}

  stopped(): StopReason | undefined {
    if (this.signal?.aborted) return 'aborted';
    return now() >= this.deadline ? 'max-time' : undefined;
  }

  /** Waits until monotonic time `t`; says why if a bound ended the wait first. */
  async waitUntil(t: number): Promise<StopReason | undefined> {
    for (;;) {
      if (this.signal?.aborted) return 'aborted';
      const current = now();
      if (current >= t) return undefined;
      if (current >= this.deadline) return 'max-time';
      // Timers may fire a fraction of a millisecond early: loop until the time has really come.
      await sleep(Math.max(1, Math.ceil(Math.min(t, this.deadline) - current)), undefined, { signal: this.signal }).catch(() => undefined);
    }
  }
}
