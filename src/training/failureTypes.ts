/** Failure types a retry cannot fix: the same data or spec fails the same way again. Shared by activities and workflows. */
export const NON_RETRYABLE_FAILURES = ['DataValidationError', 'DataSourceError', 'SpecError'];
