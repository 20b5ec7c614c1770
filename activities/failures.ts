import { ApplicationFailure } from '@temporalio/activity';
import { DataSourceError, DataValidationError } from '../src/data/errors';
import { SpecError } from '../src/spec/load';

/** Runs a step and turns known, permanent errors into typed, non-retryable failures. */
export async function asActivity<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (err instanceof DataValidationError) {
      throw ApplicationFailure.create({
        type: 'DataValidationError',
        message: err.message,
        nonRetryable: true,
        details: [{ column: err.column, rule: err.rule }],
      });
    }
    if (err instanceof DataSourceError) {
      throw ApplicationFailure.create({ type: 'DataSourceError', message: err.message, nonRetryable: true, details: [{ source: err.source }] });
    }
    if (err instanceof SpecError) {
      throw ApplicationFailure.create({ type: 'SpecError', message: err.message, nonRetryable: true, details: [{ problems: err.problems }] });
    }
    throw err;
  }
}
