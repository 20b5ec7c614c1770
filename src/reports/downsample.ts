/**
 * At most `max` items for a chart, in order: every item `keep` marks (a breach is never
 * thinned away), and evenly spaced others in the room left.
 */
export function downsample<T>(items: readonly T[], max: number, keep: (item: T) => boolean): T[] {
  if (items.length <= max) return [...items];
  const kept = new Set<number>();
  items.forEach((item, i) => keep(item) && kept.add(i));
  const room = Math.max(0, max - kept.size);
  const step = items.length / Math.max(1, room);
  for (let k = 0; k < room; k++) kept.add(Math.min(items.length - 1, Math.floor(k * step)));
  kept.add(items.length - 1);
  return [...kept].sort((a, b) => a - b).map((i) => items[i]);
}
