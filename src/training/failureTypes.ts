/** Failure types a retry cannot fix: the same data or spec fails the same way again. Shared by activities and workflows. */
export const NON_RETRYABLE_FAILURES = ['DataValidationError', 'DataSourceError', 'SpecError'];

/**
 * Besides those, what a trainer on another queue (python/perennial_worker/errors.py) and
 * the packaging of its model fail with. Their failures are marked non-retryable where they
 * are raised too; a separate list keeps the built-in trainer's retry policies as they were.
 */
export const EXTERNAL_TRAINING_FAILURES = [
  ...NON_RETRYABLE_FAILURES,
  'TrainerFailed',
  'TrainerParamsError',
  'ModelNotServable',
  'TrainRequestInvalid',
  'ParityError',
  'TrainerCodeMissing',
];
