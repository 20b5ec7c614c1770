import type { ActivityDeps } from './deps';
import { ingestActivity } from './ingest';
import { validateDataActivity } from './validateData';
import { trainActivity } from './train';
import { evaluateActivity } from './evaluate';
import { registerActivity } from './register';

export { activityDeps, type ActivityDeps } from './deps';

/** Every activity the worker registers, bound to one state folder. */
export function createActivities(d: ActivityDeps) {
  return {
    ingest: ingestActivity(d),
    validateData: validateDataActivity(d),
    train: trainActivity(d),
    evaluate: evaluateActivity(),
    register: registerActivity(d),
  };
}

export type Activities = ReturnType<typeof createActivities>;
