/** A rule the data broke. Not worth retrying: the same data breaks it again. */
export class DataValidationError extends Error {
  constructor(
    readonly column: string,
    readonly rule: string,
    message: string,
  ) {
    super(`column "${column}" breaks rule "${rule}": ${message}`);
    this.name = 'DataValidationError';
  }
}

/**
 * The data source cannot be read as the spec says: no file at the path, a glob matching
 * nothing, a file that is not Parquet, a CSV that does not parse. Not worth retrying: the
 * same source fails the same way again.
 */
export class DataSourceError extends Error {
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(`cannot read the data source ${source}: ${message}`);
    this.name = 'DataSourceError';
  }
}

/** DuckDB's answers that mean the source itself is wrong (never a passing fault). */
const PERMANENT_SOURCE_ERRORS = [/No files found that match the pattern/, /No magic bytes found/, /is not a parquet file/i, /CSV Error/, /Could not convert/, /Conversion Error/, /not utf-8 encoded/];

/** `err` as a DataSourceError when it says the source cannot be read; otherwise unchanged. */
export function asSourceError(err: unknown, source: string): unknown {
  const message = err instanceof Error ? err.message : String(err);
  if (!PERMANENT_SOURCE_ERRORS.some((p) => p.test(message))) return err;
  return new DataSourceError(source, message.split('\n')[0]);
}
