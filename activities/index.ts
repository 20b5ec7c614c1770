import type { ActivityDeps } from './deps';
import { ingestActivity } from './ingest';
import { validateDataActivity } from './validateData';
import { trainActivity } from './train';
import { evaluateActivity } from './evaluate';
import { registerActivity } from './register';
import { packageModelActivity, prepareMatricesActivity } from './externalTraining';
import {
  deployActivity,
  evaluateVersionActivity,
  hashSpecActivity,
  loadKeyRecordsActivity,
  nextTrainingRunActivity,
  recordDecisionActivity,
  restoreChampionActivity,
  retireModelActivity,
} from './lifecycleSteps';
import { checkChampionActivity } from './monitor';
import { syncRetrainScheduleActivity } from './schedule';

export { activityDeps, type ActivityDeps } from './deps';

/** Every activity the worker registers, bound to one state folder. */
export function createActivities(d: ActivityDeps) {
  return {
    // training pipeline
    ingest: ingestActivity(d),
    validateData: validateDataActivity(d),
    train: trainActivity(d),
    evaluate: evaluateActivity(),
    register: registerActivity(d),
    // around a trainer on another task queue (the Python worker's `train`)
    prepareMatrices: prepareMatricesActivity(d),
    packageModel: packageModelActivity(d),
    // lifecycle
    nextTrainingRun: nextTrainingRunActivity(d),
    evaluateVersion: evaluateVersionActivity(d),
    recordDecision: recordDecisionActivity(d),
    deploy: deployActivity(d),
    restoreChampion: restoreChampionActivity(d),
    retireModel: retireModelActivity(d),
    hashSpec: hashSpecActivity(),
    loadKeyRecords: loadKeyRecordsActivity(d),
    // monitoring and retrain
    checkChampion: checkChampionActivity(d),
    syncRetrainSchedule: syncRetrainScheduleActivity(d),
  };
}

export type Activities = ReturnType<typeof createActivities>;
