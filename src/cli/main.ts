import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../config';
import { actionCommand, type ActionName } from './actions';
import { actorOrDefault, isUnavailable, modelName, rootMessage, unreachable, type Ctx } from './context';
import { listCommand } from './list';
import { CliError, errorJson, errorText, exitCodeOf, EXIT, type CommandResult } from './output';
import { startLifecycleCommand } from './startLifecycle';
import { statusCommand } from './status';
import { versionsCommand } from './versions';
import { explainCommand } from './explain';
import { checksCommand } from './checks';
import { trafficCommand } from './traffic';
import { USAGE } from './usage';
import { keysCommand } from './keys';
import { validateCommand } from './validate';
import { updateSpecCommand } from './updateSpec';
import { DURATION_PATTERN, durationMs } from '../util/duration';
import { MAX_SIGNATURE_LIFETIME_MS } from '../auth/signature';

type Flag =
  | 'by'
  | 'reason'
  | 'version'
  | 'to'
  | 'json'
  | 'no-wait'
  | 'scenario'
  | 'rows'
  | 'rate'
  | 'label-delay'
  | 'no-labels'
  | 'from'
  | 'batch'
  | 'seed'
  | 'max-seconds'
  | 'print-signal'
  | 'expires'
  | 'as'
  | 'replace'
  | 'key'
  | 'cosign'
  | 'print-cosign';

/** Every action command signs with the local key of --by; these say how. */
const SIGNING: Flag[] = ['print-signal', 'expires'];

const COMMANDS: Record<string, { args: string; flags: Flag[]; required: Flag[] }> = {
  list: { args: '', flags: ['json'], required: [] },
  'start-lifecycle': { args: '<model|spec file>', flags: ['by', 'json'], required: [] },
  status: { args: '<model>', flags: ['json'], required: [] },
  versions: { args: '<model>', flags: ['json'], required: [] },
  explain: { args: '<model> <request_id>', flags: ['json'], required: [] },
  checks: { args: '<model>', flags: ['json'], required: [] },
  approve: { args: '<model>', flags: ['version', 'by', 'reason', 'json', 'no-wait', ...SIGNING], required: ['version', 'by', 'reason'] },
  reject: { args: '<model>', flags: ['version', 'by', 'reason', 'json', ...SIGNING], required: ['version', 'by', 'reason'] },
  rollback: { args: '<model>', flags: ['to', 'by', 'reason', 'json', 'no-wait', ...SIGNING], required: ['to', 'by', 'reason'] },
  retire: { args: '<model>', flags: ['by', 'reason', 'json', 'no-wait', ...SIGNING], required: ['by', 'reason'] },
  retrain: { args: '<model>', flags: ['by', 'reason', 'json', ...SIGNING], required: ['by', 'reason'] },
  pause: { args: '<model>', flags: ['by', 'reason', 'json', ...SIGNING], required: ['by', 'reason'] },
  resume: { args: '<model>', flags: ['by', 'reason', 'json', ...SIGNING], required: ['by', 'reason'] },
  'update-spec': { args: '<model> <spec file>', flags: ['by', 'reason', 'json', 'cosign', 'print-cosign', 'expires'], required: ['by', 'reason'] },
  validate: { args: '<spec file>', flags: ['json'], required: [] },
  keys: { args: '<create|list|revoke>', flags: ['as', 'replace', 'key', 'json'], required: [] },
  traffic: {
    args: '<model|spec file>',
    flags: ['scenario', 'rows', 'rate', 'label-delay', 'no-labels', 'from', 'to', 'batch', 'seed', 'max-seconds', 'json'],
    required: ['scenario', 'rows', 'rate'],
  },
};

const OPTIONS = {
  by: { type: 'string' },
  reason: { type: 'string' },
  version: { type: 'string' },
  to: { type: 'string' },
  json: { type: 'boolean', default: false },
  'no-wait': { type: 'boolean', default: false },
  scenario: { type: 'string' },
  rows: { type: 'string' },
  rate: { type: 'string' },
  'label-delay': { type: 'string' },
  'no-labels': { type: 'boolean', default: false },
  from: { type: 'string' },
  batch: { type: 'string' },
  seed: { type: 'string' },
  'max-seconds': { type: 'string' },
  'print-signal': { type: 'boolean', default: false },
  expires: { type: 'string' },
  as: { type: 'string' },
  replace: { type: 'boolean', default: false },
  key: { type: 'string' },
  cosign: { type: 'string' },
  'print-cosign': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** `--label-delay -1`: parseArgs takes a value that starts with a dash only as `--label-delay=-1`. */
function joinNegativeValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : '';
    const option = (OPTIONS as Record<string, { type: string }>)[name];
    if (option?.type === 'string' && /^-\d/.test(argv[i + 1] ?? '')) out.push(`${argv[i]}=${argv[++i]}`);
    else out.push(argv[i]);
  }
  return out;
}

/** Runs one `perennial` command line; prints its result; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  let result: CommandResult;
  try {
    result = await run(argv, json);
  } catch (err) {
    const e = asCliError(err);
    result = { exitCode: exitCodeOf(e.code), json: errorJson(e), text: '' };
    if (!json) process.stderr.write(`${errorText(e)}${e.code === 'usage' ? `\n\n${USAGE}` : ''}\n`);
  }
  if (json) process.stdout.write(`${JSON.stringify(result.json)}\n`);
  else if (result.text) process.stdout.write(`${result.text}\n`);
  return result.exitCode;
}

let config: Config | undefined;

function asCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof ConfigError) return new CliError('bad_input', err.message, { problems: err.problems });
  if (config && isUnavailable(err)) return unreachable(config, err);
  return new CliError('failed', rootMessage(err));
}

async function run(argv: string[], json: boolean): Promise<CommandResult> {
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv), allowPositionals: true, strict: true, options: OPTIONS });
  } catch (err) {
    throw new CliError('usage', (err as Error).message.split('\n')[0]);
  }
  const { positionals, values } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === 'help' || command === undefined) {
    if (command === undefined && !values.help) throw new CliError('usage', 'no command given');
    return { exitCode: EXIT.ok, json: { ok: true, usage: USAGE }, text: USAGE };
  }
  const shape = COMMANDS[command];
  if (!shape) throw new CliError('usage', `unknown command ${JSON.stringify(command)} (commands: ${Object.keys(COMMANDS).join(', ')}, help)`);
  const given = (Object.keys(values) as (Flag | 'help')[]).filter((k) => k !== 'help' && values[k] !== undefined && values[k] !== false);
  const stray = given.filter((k) => !shape.flags.includes(k as Flag));
  if (stray.length) throw new CliError('usage', `${command} takes no ${stray.map((s) => `--${s}`).join(', ')} (usage: npx perennial ${command} ${shape.args} ${shape.flags.map((f) => `--${f}`).join(' ')})`);
  const missing = shape.required.filter((k) => values[k] === undefined);
  if (missing.length) throw new CliError('usage', `${command} needs ${missing.map((s) => `--${s}`).join(', ')}`);
  const wantArgs = (shape.args.match(/</g) ?? []).length;
  if (rest.length !== wantArgs) throw new CliError('usage', `${command} takes ${wantArgs ? `${wantArgs === 1 ? 'one argument' : `${wantArgs} arguments`}, ${shape.args}` : 'no arguments'} (got ${rest.length})`);
  const lifetimeMs = values.expires === undefined ? undefined : expiresArg(values.expires);

  config = loadConfig();
  const ctx: Ctx = { config, json };
  const target = rest[0];
  switch (command) {
    case 'list':
      return listCommand(ctx);
    case 'start-lifecycle':
      return startLifecycleCommand(ctx, target, actorOrDefault(values.by));
    case 'status':
      return statusCommand(ctx, modelName(target));
    case 'versions':
      return versionsCommand(ctx, modelName(target));
    case 'explain':
      return explainCommand(ctx, modelName(target), rest[1]);
    case 'checks':
      return checksCommand(ctx, modelName(target));
    case 'traffic':
      return trafficCommand(ctx, target, values);
    case 'validate':
      return validateCommand(ctx, target);
    case 'keys':
      return keysCommand(ctx, target, { as: values.as, replace: values.replace, key: values.key });
    case 'update-spec':
      return updateSpecCommand(ctx, { model: modelName(target), specFile: rest[1], by: values.by!, reason: values.reason!, cosignFile: values.cosign, printCosign: values['print-cosign'], lifetimeMs });
    default: {
      const action = command as ActionName;
      const raw = action === 'rollback' ? values.to : values.version;
      return actionCommand(ctx, {
        action,
        model: modelName(target),
        by: values.by!,
        reason: values.reason!,
        version: raw === undefined ? undefined : versionArg(action === 'rollback' ? '--to' : '--version', raw),
        wait: !values['no-wait'],
        printSignal: values['print-signal'],
        lifetimeMs,
      });
    }
  }
}

/** `--expires 7d`: how long a signature stays valid (at most 31 days: the lifecycle refuses longer). */
function expiresArg(raw: string): number {
  if (!DURATION_PATTERN.test(raw)) throw new CliError('bad_input', `malformed --expires ${JSON.stringify(raw)}: expected a duration such as 30m, 24h or 7d`);
  const ms = durationMs(raw);
  if (ms <= 0 || ms > MAX_SIGNATURE_LIFETIME_MS) throw new CliError('bad_input', `--expires ${raw}: a signature may be valid for at most 31 days`);
  return ms;
}

/** `--version 3` / `--version v3`: a positive whole number, or bad input (exit 2). */
function versionArg(flag: string, raw: string): number {
  const m = /^v?(\d{1,9})$/.exec(raw.trim());
  const n = m ? Number(m[1]) : NaN;
  if (!Number.isInteger(n) || n < 1) throw new CliError('bad_input', `malformed ${flag} ${JSON.stringify(raw)}: expected a version number such as 3`);
  return n;
}
