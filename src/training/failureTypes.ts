/** Failure types a retry cannot fix: the same data or spec fails the same way again. Shared by activities and workflows. */
export const NON_RETRYABLE_FAILURES = [
  'DataValidationError',
  'DataSourceError',
  'SpecError',
  // A trainer on another queue (python/perennial_worker/errors.py) and the model it hands back.
  'TrainerFailed',
  'TrainerParamsError',
  'ModelNotServable',
  'TrainRequestInvalid',
  'ParityError',
  'TrainerCodeMissing',
];
