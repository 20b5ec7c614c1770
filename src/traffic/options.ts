import { z } from 'zod';
import type { ModelSpec } from '../spec/modelSpec';
import { ISO_DATE_PATTERN } from '../spec/modelSpec';
import { asUtc } from '../spec/specValues';
import { isCalendarDateTime } from '../util/calendar';
import { TrafficError } from './errors';

export const SCENARIOS = ['same', 'later-months', 'shift'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** What one progress report says; `runTraffic` reports after every answered batch. */
export interface TrafficProgress {
  rowsSent: number;
  rowsTotal: number;
  predictions: number;
  labelsPosted: number;
  elapsedMs: number;
}

export interface TrafficOptions {
  spec: ModelSpec;
  /** Base URL of the model server, e.g. http://127.0.0.1:8080. */
  serverUrl: string;
  scenario: Scenario;
  /** How many rows to send; a scenario with fewer matching rows is refused before anything is sent. */
  rows: number;
  /** Rows per second. */
  rate: number;
  /** Instances per predict request (default 1). */
  batch?: number;
  /** How long after its prediction a row's true label is posted; null or negative: no labels. */
  labelDelayMs: number | null;
  /** later-months and shift: the period rows come from, [from, to) (ISO, no zone = UTC). */
  from?: string;
  to?: string;
  /** Seeds `same`'s sample; default: a random seed, reported in the summary. */
  seed?: number;
  /** Stop sending after this long (default 10 minutes); labels due by then are still posted. */
  maxMs?: number;
  signal?: AbortSignal;
  onProgress?: (p: TrafficProgress) => void;
}

export const DEFAULT_MAX_MS = 10 * 60_000;
/** A larger batch would be refused by a model server with the default PERENNIAL_SERVER_MAX_INSTANCES. */
export const MAX_BATCH = 1000;


const isoTime = z
  .string()
  .refine((s) => ISO_DATE_PATTERN.test(s) && isCalendarDateTime(s) && Number.isFinite(utcMs(s)), 'must be an ISO date or date-time, e.g. 2001-03-01 or 2001-03-01T06:00:00Z')
  .optional();

const Settings = z
  .object({
    serverUrl: z.url('must be an http(s) URL'),
    scenario: z.enum(SCENARIOS, `must be one of ${SCENARIOS.join(', ')}`),
    rows: z.number('must be a number').int('must be a whole number').min(1, 'must be at least 1').max(10_000_000, 'must be at most 10,000,000'),
    rate: z.number('must be a number of rows per second').positive('must be above 0 rows per second').max(100_000, 'must be at most 100,000 rows per second'),
    batch: z.number('must be a number').int('must be a whole number').min(1, 'must be at least 1').max(MAX_BATCH, `must be at most ${MAX_BATCH}`).default(1),
    labelDelayMs: z.number('must be a number, or null for no labels').nullable(),
    from: isoTime,
    to: isoTime,
    seed: z.number('must be a number').int('must be a whole number').optional(),
    maxMs: z.number('must be a number').positive('must be above 0').default(DEFAULT_MAX_MS),
  })
  .superRefine((o, ctx) => {
    if (o.scenario === 'same') {
      for (const key of ['from', 'to'] as const) {
        if (o[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'only later-months and shift take a period; same samples the training window' });
      }
    } else if (o.from !== undefined && o.to !== undefined && utcMs(o.from) >= utcMs(o.to)) {
      ctx.addIssue({ code: 'custom', path: ['from'], message: `the period must start before it ends (to is ${o.to})` });
    }
  });

/** Everything but the spec and the callbacks: what can be checked before anything is read. */
export type TrafficSettings = Omit<TrafficOptions, 'spec' | 'signal' | 'onProgress'>;

export type CheckedOptions = Omit<TrafficOptions, 'batch' | 'maxMs' | 'labelDelayMs' | 'seed'> & {
  batch: number;
  maxMs: number;
  /** null: no labels. */
  labelDelayMs: number | null;
  seed: number;
};

export function utcMs(iso: string): number {
  return Date.parse(asUtc(iso.replace(' ', 'T')));
}

/** Checks the settings alone; a bad one is a `bad_input` TrafficError naming the option (`details.option`). */
export function checkSettings(settings: TrafficSettings): z.output<typeof Settings> {
  const parsed = Settings.safeParse(settings);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const option = String(issue.path[0] ?? '');
  throw new TrafficError('bad_input', `${option}: ${issue.message}`, { option, reason: issue.message });
}

/** Every option checked before anything is read or sent. */
export function checkOptions(o: TrafficOptions): CheckedOptions {
  const { spec, signal, onProgress, ...settings } = o;
  const v = checkSettings(settings);
  return {
    ...v,
    spec,
    signal,
    onProgress,
    labelDelayMs: v.labelDelayMs === null || v.labelDelayMs < 0 ? null : v.labelDelayMs,
    seed: v.seed ?? Math.floor(Math.random() * 2 ** 31),
  };
}
