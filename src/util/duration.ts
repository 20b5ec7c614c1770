/** Durations in specs read like `90s`, `15m`, `72h`, `7d`. Pure: usable in workflow code. */
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function durationMs(text: string): number {
  const m = DURATION_PATTERN.exec(text);
  if (!m) throw new Error(`not a duration: ${JSON.stringify(text)} (expected e.g. 90s, 15m, 72h, 7d)`);
  return Number(m[1]) * UNIT_MS[m[2]];
}
