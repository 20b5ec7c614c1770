/** Why traffic could not be sent; the CLI maps `kind` to its exit code. */
export type TrafficErrorKind =
  | 'bad_input' // an option out of range, or fewer matching rows than asked for
  | 'not_found' // the model server does not know the model
  | 'no_champion' // the model server knows the model but serves no version yet (503)
  | 'unreachable'; // the model server did not answer

export class TrafficError extends Error {
  constructor(
    readonly kind: TrafficErrorKind,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'TrafficError';
  }
}
