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
