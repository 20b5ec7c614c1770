/**
 * The queue of the data-heavy training steps (snapshot, validate, train, evaluate), beside
 * the queue of the workflows and their quick steps, so training scales apart from
 * orchestration. Derived from the main queue, so workflow code and workers agree on it
 * without another setting.
 */
export function trainingTaskQueue(taskQueue: string): string {
  return `${taskQueue}-training`;
}
