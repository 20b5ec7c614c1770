import type { Metric, TrainerSpec, Window } from './modelSpec';

/*
 * What code reads from a parsed spec, with no schema in sight, for workflow code to import
 * (why a workflow's imports must be cheap: workflows/lifecycle/validation.ts).
 */

/** The default queue of trainers in Python (the repository's `python/` worker polls it). */
export const PYTHON_TASK_QUEUE = 'perennial-python';

/** The seed every trainer takes (the GBDT's lives in its params). */
export function trainerSeed(trainer: TrainerSpec): number {
  return trainer.type === 'gbdt' ? trainer.params.seed : trainer.seed;
}

/** A line naming the trainer and its size, for summaries. */
export function describeTrainer(trainer: TrainerSpec): string {
  if (trainer.type === 'gbdt') return `gbdt, ${trainer.params.rounds} rounds`;
  if (trainer.type === 'lightgbm') return `lightgbm, ${trainer.params.num_boost_round} rounds`;
  return `python ${trainer.entrypoint}`;
}

/** Which way each metric improves: gates and the performance floor read it the same way. */
export const HIGHER_IS_BETTER: Readonly<Record<Metric, boolean>> = { auc: true, accuracy: true, logLoss: false, brier: false };

/** ISO dates without a zone are UTC in perennial, whatever the process time zone. */
export function asUtc(iso: string): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) return `${iso}T00:00:00Z`;
  return /(Z|[+-]\d{2}:?\d{2})$/.test(iso) ? iso : `${iso}Z`;
}

export function windowMs(w: Window): { start: number; end: number } {
  return { start: Date.parse(asUtc(w.start)), end: Date.parse(asUtc(w.end)) };
}
