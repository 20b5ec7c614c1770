/** Names a lifecycle is known by, for clients and for workflow code alike. */

export function lifecycleWorkflowId(model: string): string {
  return `lifecycle/${model}`;
}

/** Who the spec's own retrain schedule (workflows/scheduledRetrain.ts) acts as. */
export const SCHEDULE_ACTOR = 'perennial-schedule';
