/** A monitor check may run this long (its start-to-close timeout). */
export const CHECK_TIMEOUT_MS = 10 * 60_000;
/** Left of the lag for clocks that differ between worker and server: a timer that fires before the check is due costs a wake-up. */
export const CLOCK_SKEW_MS = 50;

/**
 * How far the last check's end lies past the workflow's clock `now`, in ms: never negative,
 * never more than a check may run. A check runs inside its workflow task, where the
 * workflow's clock stands still; the next wait is measured from the check's end instead.
 */
export function checkClockLag(checkEndedAt: number | null, now: number): number {
  const lag = checkEndedAt === null ? NaN : checkEndedAt - now - CLOCK_SKEW_MS;
  return Number.isFinite(lag) ? Math.min(Math.max(lag, 0), CHECK_TIMEOUT_MS) : 0;
}
