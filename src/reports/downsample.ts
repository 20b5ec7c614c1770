/**
 * At most `max` items for a chart, in order: every item `keep` marks (a breach is not thinned
 * away) and evenly spaced others in the room left. Should the marked items alone be more than
 * `max`, they are thinned evenly too: the chart stays bounded.
 */
export function downsample<T>(items: readonly T[], max: number, keep: (item: T) => boolean): T[] {
  if (items.length <= max) return [...items];
  const marked: number[] = [];
  const others: number[] = [];
  items.forEach((item, i) => (keep(item) ? marked : others).push(i));
  const chosen = marked.length >= max ? evenly(marked, max) : [...marked, ...evenly(others, max - marked.length)];
  return chosen.sort((a, b) => a - b).map((i) => items[i]);
}

/** `n` of `xs`, evenly spaced, the last one included. */
function evenly(xs: number[], n: number): number[] {
  if (n <= 0) return [];
  if (xs.length <= n) return xs;
  const step = (xs.length - 1) / Math.max(1, n - 1);
  return Array.from({ length: n }, (_, k) => xs[Math.round(k * step)]);
}
