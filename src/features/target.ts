import type { TargetSpec } from '../spec/modelSpec';

/** The 0/1 label of a raw target value; null when the value is missing. */
export function labelOf(target: TargetSpec, value: unknown): 0 | 1 | null {
  if (value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value))) return null;
  const w = target.positiveWhen;
  let positive: boolean;
  if ('gt' in w) positive = Number(value) > w.gt;
  else if ('gte' in w) positive = Number(value) >= w.gte;
  else if ('lt' in w) positive = Number(value) < w.lt;
  else if ('lte' in w) positive = Number(value) <= w.lte;
  else if ('equals' in w) positive = value === w.equals || String(value) === String(w.equals);
  else positive = w.in.some((v) => value === v || String(value) === String(v));
  return positive ? 1 : 0;
}
