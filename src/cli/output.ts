/**
 * What every `perennial` command hands back, and how it is printed: text for people
 * (results on stdout, problems on stderr), or with `--json` exactly one JSON object on
 * stdout whatever happened.
 */

/** Exit codes: 0 done, 1 failed (e.g. a deployment failed, no worker answered), 2 refused or bad input, 3 not found, 4 Temporal (for traffic: the model server) unreachable. */
export const EXIT = { ok: 0, failed: 1, refused: 2, notFound: 3, unreachable: 4 } as const;

/** The `code` of `{ ok: false, error, code }`. */
export type ErrorCode =
  | 'usage' // unknown command, missing or unknown flag
  | 'bad_input' // malformed flag value, invalid spec or configuration
  | 'refused' // the lifecycle's validator said no
  | 'not_found' // no such model spec, or no lifecycle for the model
  | 'unreachable' // Temporal (for traffic: the model server) did not answer
  | 'no_worker' // Temporal answered, but no worker handled the query/update in time
  | 'deploy_failed' // an accepted approve/rollback whose deployment failed
  | 'timeout' // an accepted action whose outcome did not show up in the time waited
  | 'failed'; // anything else

const EXIT_OF: Record<ErrorCode, number> = {
  usage: EXIT.refused,
  bad_input: EXIT.refused,
  refused: EXIT.refused,
  not_found: EXIT.notFound,
  unreachable: EXIT.unreachable,
  no_worker: EXIT.failed,
  deploy_failed: EXIT.failed,
  timeout: EXIT.failed,
  failed: EXIT.failed,
};

export function exitCodeOf(code: ErrorCode): number {
  return EXIT_OF[code];
}

/** A failure a command reports as such: message for people, code for scripts, extra fields for `--json`. */
export class CliError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra fields of the JSON object (model, webUi, …). */
    readonly details: Record<string, unknown> = {},
    /** Extra lines after the message in text mode (e.g. a hint, the Web UI link). */
    readonly hint: string[] = [],
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A command's successful (or reported) result. */
export interface CommandResult {
  exitCode: number;
  /** Printed with `--json`, as is. */
  json: unknown;
  /** Printed without `--json`. */
  text: string;
}

export function ok(json: Record<string, unknown>, text: string): CommandResult {
  return { exitCode: EXIT.ok, json: { ok: true, ...json }, text };
}

export function errorJson(err: CliError): Record<string, unknown> {
  return { ok: false, error: err.message, code: err.code, exitCode: exitCodeOf(err.code), ...err.details };
}

export function errorText(err: CliError): string {
  const lead = err.code === 'refused' ? 'refused: ' : err.code === 'usage' ? '' : 'error: ';
  return [`${lead}${err.message}`, ...err.hint].join('\n');
}

/** Progress for people (stderr, text mode only): never mixed into `--json` output. */
export function progress(json: boolean, line: string): void {
  if (!json) process.stderr.write(`${line}\n`);
}

// ---- formatting helpers shared by the commands -----------------------------------------

export const f4 = (x: number) => x.toFixed(4);

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** `in 3h 12m` / `4m ago` relative to now. */
export function relative(iso: string, now = Date.now()): string {
  const ms = Date.parse(iso) - now;
  if (!Number.isFinite(ms)) return iso;
  const abs = Math.abs(ms);
  const d = Math.floor(abs / 86_400_000);
  const h = Math.floor((abs % 86_400_000) / 3_600_000);
  const m = Math.floor((abs % 3_600_000) / 60_000);
  const s = Math.floor((abs % 60_000) / 1000);
  const span = d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s}s` : `${s}s`;
  return ms >= 0 ? `in ${span}` : `${span} ago`;
}
