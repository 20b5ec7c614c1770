import { checkSettings, problemsOf, runTraffic, summaryText, TrafficError, type TrafficSettings, type TrafficSummary } from '../traffic';
import { loadSpec, type Ctx } from './context';
import { CliError, ok, progress, type CommandResult, type ErrorCode } from './output';

/** The command line's flags as parseArgs gives them: strings, checked here. */
export interface TrafficFlags {
  scenario?: string;
  rows?: string;
  rate?: string;
  'label-delay'?: string;
  'no-labels'?: boolean;
  from?: string;
  to?: string;
  batch?: string;
  seed?: string;
  'max-seconds'?: string;
}

const FLAG_OF: Record<string, string> = {
  scenario: '--scenario',
  rows: '--rows',
  rate: '--rate',
  batch: '--batch',
  labelDelayMs: '--label-delay',
  from: '--from',
  to: '--to',
  seed: '--seed',
  maxMs: '--max-seconds',
};

const PROGRESS_EVERY_MS = 2_000;

/**
 * `traffic <model> --scenario S --rows N --rate R --label-delay S|--no-labels …`: replays
 * rows of the model's data source to the model server and posts their true labels later.
 * Ctrl-C stops sending; labels due by then are still posted.
 */
export async function trafficCommand(ctx: Ctx, target: string, flags: TrafficFlags): Promise<CommandResult> {
  const settings = settingsOf(flags, ctx.config.server.url);
  const { spec } = loadSpec(target, ctx.config.home);
  const interrupt = new AbortController();
  // `on`, not `once`: under npx one Ctrl-C arrives twice, and the repeat must not kill the
  // labels still due.
  const onSigint = () => interrupt.abort();
  process.on('SIGINT', onSigint);
  let lastProgress = 0;
  progress(ctx.json, `${spec.name}: choosing ${settings.rows} rows (${settings.scenario}) from ${spec.data.source}...`);
  let summary: TrafficSummary;
  try {
    summary = await runTraffic({
      ...settings,
      spec,
      signal: interrupt.signal,
      onProgress: (p) => {
        if (p.elapsedMs - lastProgress < PROGRESS_EVERY_MS) return;
        lastProgress = p.elapsedMs;
        progress(ctx.json, `  sent ${p.rowsSent}/${p.rowsTotal} rows, ${p.predictions} predictions, ${p.labelsPosted} labels posted (${(p.elapsedMs / 1000).toFixed(0)}s)`);
      },
    });
  } catch (err) {
    throw err instanceof TrafficError ? cliErrorOf(err, flags) : err;
  } finally {
    process.off('SIGINT', onSigint);
  }
  return outcome(summary);
}

function outcome(summary: TrafficSummary): CommandResult {
  const text = summaryText(summary);
  if (summary.stoppedBy === 'unreachable') {
    throw new CliError('unreachable', `the model server at ${summary.serverUrl} stopped answering after ${summary.rowsSent} rows`, { ...summary }, [text]);
  }
  const problems = problemsOf(summary);
  if (problems.length) throw new CliError('failed', `traffic to ${summary.model} had problems: ${problems.join('; ')}`, { ...summary }, [text]);
  return ok({ ...summary }, text);
}

/** Flags to library settings; every value is checked here, before the spec is read or anything sent. */
function settingsOf(flags: TrafficFlags, serverUrl: string): TrafficSettings {
  const settings: TrafficSettings = {
    serverUrl,
    scenario: flags.scenario as TrafficSettings['scenario'],
    rows: number(flags.rows),
    rate: number(flags.rate),
    labelDelayMs: labelDelayMs(flags),
    ...(flags.batch !== undefined ? { batch: number(flags.batch) } : {}),
    ...(flags.from !== undefined ? { from: flags.from } : {}),
    ...(flags.to !== undefined ? { to: flags.to } : {}),
    ...(flags.seed !== undefined ? { seed: number(flags.seed) } : {}),
    ...(flags['max-seconds'] !== undefined ? { maxMs: number(flags['max-seconds']) * 1000 } : {}),
  };
  try {
    checkSettings(settings);
  } catch (err) {
    throw err instanceof TrafficError ? cliErrorOf(err, flags) : err;
  }
  return settings;
}

/** `--label-delay S` seconds (0: right after each batch), `--label-delay -1` or `--no-labels`: none. */
function labelDelayMs(flags: TrafficFlags): number | null {
  const raw = flags['label-delay'];
  if (flags['no-labels']) {
    if (raw !== undefined) throw new CliError('usage', 'give --label-delay or --no-labels, not both');
    return null;
  }
  if (raw === undefined) throw new CliError('usage', 'traffic needs --label-delay S (seconds after each prediction; 0: right away; -1: none) or --no-labels');
  if (raw.trim() === '-1') return null;
  const seconds = number(raw);
  if (!(seconds >= 0)) throw new CliError('bad_input', `--label-delay ${JSON.stringify(raw)}: expected seconds ≥ 0, or -1 for no labels`, { flag: '--label-delay' });
  return seconds * 1000;
}

/** A flag's number; a malformed one becomes NaN, which the settings check names. */
function number(raw: string | undefined): number {
  return raw === undefined || raw.trim() === '' ? NaN : Number(raw);
}

const CODE_OF: Record<TrafficError['kind'], ErrorCode> = {
  bad_input: 'bad_input',
  not_found: 'not_found',
  no_champion: 'refused',
  unreachable: 'unreachable',
};

function cliErrorOf(err: TrafficError, flags: TrafficFlags): CliError {
  const option = typeof err.details.option === 'string' ? err.details.option : undefined;
  const flag = option ? FLAG_OF[option] : undefined;
  const message = flag ? `${flag}${rawOf(flags, flag)}: ${String(err.details.reason ?? err.message)}` : err.message;
  const hint =
    err.kind === 'unreachable'
      ? ['start it with: npm start (or npm run serve), or point PERENNIAL_SERVER_URL at it']
      : err.kind === 'no_champion'
        ? [`see its lifecycle with: npx perennial status ${String(err.details.model)}`]
        : [];
  return new CliError(CODE_OF[err.kind], message, flag ? { flag } : { ...err.details }, hint);
}

function rawOf(flags: TrafficFlags, flag: string): string {
  const raw = (flags as Record<string, unknown>)[flag.slice(2)];
  return typeof raw === 'string' ? ` ${JSON.stringify(raw)}` : '';
}
