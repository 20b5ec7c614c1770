import type { ColumnSpec, DatePart, FeatureSpec, TargetSpec } from '../spec/modelSpec';
import type { FeatureMatrix } from '../ml/gbdt';
import { daysInMonth } from '../util/calendar';
import { labelOf } from './target';

/**
 * The fitted feature pipeline: the spec's transforms plus everything learned from the
 * training window (lookup tables, category vocabularies). It is saved inside the model
 * artifact, and training, evaluation and serving all compute features through
 * `compilePipeline`, so they cannot disagree.
 */
export interface FittedPipeline {
  format: 'perennial.pipeline/1';
  inputs: Record<string, ColumnSpec>;
  timeColumn: string;
  target: TargetSpec;
  features: FeatureSpec[];
  lookups: Record<string, FittedLookup>;
  /** Category vocabularies by feature name: code = index. */
  vocabularies: Record<string, string[]>;
  trainRows: number;
  trainBaseRate: number;
}

export interface FittedLookup {
  keys: string[];
  stats: string[];
  /** Values for keys never seen in the training window, in `stats` order. */
  defaults: number[];
  /** Key (values joined by LOOKUP_KEY_SEPARATOR) → values in `stats` order. */
  rows: Record<string, number[]>;
}

export const LOOKUP_KEY_SEPARATOR = '\u001f';

/** Reads one input column of one row, already normalized by `normalizeInput`. */
export type ColumnGetter = (column: string) => unknown;

const MS_PER_MINUTE = 60_000;
const MS_PER_DAY = 86_400_000;

/** UTC calendar parts by arithmetic on epoch milliseconds: independent of the process time zone. */
export function datePart(epochMs: number, part: DatePart): number {
  if (!Number.isFinite(epochMs)) return NaN;
  const day = Math.floor(epochMs / MS_PER_DAY);
  const minuteOfDay = Math.floor((epochMs - day * MS_PER_DAY) / MS_PER_MINUTE);
  switch (part) {
    case 'hour':
      return Math.floor(minuteOfDay / 60);
    case 'minuteOfDay':
      return minuteOfDay;
    case 'dayOfWeek':
      return (((day + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday; 0 = Sunday
    case 'dayOfMonth':
      return new Date(day * MS_PER_DAY).getUTCDate();
    case 'month':
      return new Date(day * MS_PER_DAY).getUTCMonth() + 1;
  }
}

/** Parses a timestamp: epoch milliseconds, a Date, or ISO 8601 (no zone means UTC). */
export function parseTimestamp(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string') {
    const fast = parseIsoUtc(value);
    if (fast !== undefined) return fast;
    let iso = value.trim().replace(' ', 'T');
    if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) iso += 'T00:00:00';
    if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(iso)) iso += 'Z';
    return Date.parse(iso);
  }
  return NaN;
}

/**
 * Days from 1970-01-01 to a proleptic Gregorian date, for years ≥ 0 (H. Hinnant's
 * days_from_civil): what Date.UTC gives, by arithmetic, without a call into the runtime.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** The digits of `s` from `from` to `to` as a number, or -1 if any is not a digit. */
function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) return -1; // NaN past the end too
    n = n * 10 + d;
  }
  return n;
}

/**
 * The shapes clients send most, read by arithmetic instead of regular expressions and
 * Date.parse (this runs for every timestamp the model server scores):
 * `YYYY-MM-DD`, or that, `T` or one space, `HH:MM`, optionally `:SS` and `.mmm`, optionally `Z`.
 * Only real calendar dates and times of day, years 1000–9999. Anything else (other zones,
 * other fraction lengths, whitespace, out-of-range parts) is undefined, and callers fall
 * back to the general parser — which gives the same number for every string read here.
 */
export function parseIsoUtc(s: string): number | undefined {
  // The model server reads each timestamp twice, validating then computing features: the
  // second read of the same string is a comparison.
  if (s === lastIsoText) return lastIsoMs;
  lastIsoMs = readIsoUtc(s);
  lastIsoText = s;
  return lastIsoMs;
}

let lastIsoText = '';
let lastIsoMs: number | undefined;

function readIsoUtc(s: string): number | undefined {
  const n = s.length;
  if (n < 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return undefined;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 7);
  const day = digits(s, 8, 10);
  if (year < 1000 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (n === 10) return daysFromCivil(year, month, day) * MS_PER_DAY;
  const sep = s.charCodeAt(10);
  if ((sep !== 84 && sep !== 32) || n < 16 || s.charCodeAt(13) !== 58) return undefined;
  const hour = digits(s, 11, 13);
  const minute = digits(s, 14, 16);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59) return undefined;
  let second = 0;
  let ms = 0;
  let i = 16;
  if (i < n && s.charCodeAt(i) === 58) {
    second = digits(s, 17, 19);
    if (second < 0 || second > 59) return undefined;
    i = 19;
    if (i < n && s.charCodeAt(i) === 46) {
      ms = digits(s, 20, 23);
      if (ms < 0) return undefined;
      i = 23;
    }
  }
  if (i < n && s.charCodeAt(i) === 90) i++;
  return i === n ? daysFromCivil(year, month, day) * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + ms : undefined;
}

/** One raw input value in the canonical form the transforms read. */
export function normalizeInput(column: ColumnSpec, value: unknown): number | string | null {
  if (value === null || value === undefined) return null;
  switch (column.type) {
    case 'timestamp':
      return parseTimestamp(value);
    case 'number':
      return typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : NaN;
    case 'string':
      return typeof value === 'string' ? value : String(value);
  }
}

/**
 * One feature of one row, from the row's input values (in the plan's column order) and
 * the row's entry of each lookup table (undefined: key missing or never seen).
 */
type FeatureFn = (values: readonly unknown[], tableRows: readonly (readonly number[] | undefined)[]) => number;

/** One lookup table as a row reads it: a Map, found once per row whatever the number of its stats. */
interface TablePlan {
  keySlots: number[];
  rows: Map<string, number[]>;
}

/** How a row becomes features: the input columns read (once each), the tables looked up, the features. */
interface RowPlan {
  columns: string[];
  tables: TablePlan[];
  fns: FeatureFn[];
}

function planRow(p: FittedPipeline): RowPlan {
  const columns: string[] = [];
  const slot = (c: string): number => {
    const i = columns.indexOf(c);
    return i >= 0 ? i : columns.push(c) - 1;
  };
  const tables: TablePlan[] = [];
  const tableSlots = new Map<string, number>();
  const table = (name: string): number => {
    let t = tableSlots.get(name);
    if (t === undefined) {
      const l = p.lookups[name];
      t = tables.push({ keySlots: l.keys.map(slot), rows: new Map(Object.entries(l.rows)) }) - 1;
      tableSlots.set(name, t);
    }
    return t;
  };
  const fns = p.features.map((f): FeatureFn => {
    const t = f.transform;
    switch (t.from) {
      case 'column': {
        const s = slot(t.column);
        if (f.kind === 'numeric') return (values) => toNumber(values[s]);
        return categoryFn(p.vocabularies[f.name] ?? [], s);
      }
      case 'datePart': {
        const s = slot(t.column);
        const part = t.part;
        return (values) => datePart(toNumber(values[s]), part);
      }
      case 'category':
        return categoryFn(p.vocabularies[f.name] ?? [], slot(t.column));
      case 'lookup': {
        const l = p.lookups[t.table];
        const ti = table(t.table);
        const stat = l.stats.indexOf(t.stat);
        const fallback = l.defaults[stat];
        return (_values, tableRows) => {
          const row = tableRows[ti];
          return row ? row[stat] : fallback;
        };
      }
    }
  });
  return { columns, tables, fns };
}

/** A table's entry for a row: its key is the key columns' values as text, joined; any null means none. */
function tableRow(t: TablePlan, values: readonly unknown[]): number[] | undefined {
  const slots = t.keySlots;
  const first = values[slots[0]];
  if (first === null || first === undefined) return undefined;
  let key = String(first);
  for (let k = 1; k < slots.length; k++) {
    const v = values[slots[k]];
    if (v === null || v === undefined) return undefined;
    key += LOOKUP_KEY_SEPARATOR + String(v);
  }
  return t.rows.get(key);
}

function categoryFn(vocabulary: string[], s: number): FeatureFn {
  const codes = new Map(vocabulary.map((v, i) => [v, i]));
  return (values) => {
    const v = values[s];
    const code = v === null || v === undefined ? undefined : codes.get(String(v));
    return code === undefined ? NaN : code;
  };
}

function toNumber(v: unknown): number {
  return typeof v === 'number' ? v : NaN;
}

export interface CompiledPipeline {
  names: string[];
  kinds: FeatureMatrix['kinds'];
  /** Writes the row's features into `out` starting at `offset`. */
  computeRow(get: ColumnGetter, out: Float64Array, offset?: number): void;
  /** The same for one raw row as a client sends it (e.g. JSON with an ISO date): the serving path. */
  computeRawRow(raw: Record<string, unknown>, out: Float64Array, offset?: number): void;
}

/**
 * Training, evaluation and serving share one plan: each column a feature reads is read
 * (and, when serving, normalized) once per row, each lookup table is looked up once per
 * row, then every feature is computed from those. The row buffers are reused: both entry
 * points are synchronous, one row at a time.
 */
export function compilePipeline(p: FittedPipeline): CompiledPipeline {
  const { columns, tables, fns } = planRow(p);
  const values: unknown[] = new Array(columns.length).fill(undefined);
  const tableRows: (number[] | undefined)[] = new Array(tables.length).fill(undefined);
  const specs = columns.map((c) => (Object.prototype.hasOwnProperty.call(p.inputs, c) ? p.inputs[c] : undefined));
  const features = (out: Float64Array, offset: number) => {
    for (let t = 0; t < tables.length; t++) tableRows[t] = tableRow(tables[t], values);
    for (let j = 0; j < fns.length; j++) out[offset + j] = fns[j](values, tableRows);
  };
  return {
    names: p.features.map((f) => f.name),
    kinds: p.features.map((f) => f.kind),
    computeRow: (get, out, offset = 0) => {
      for (let k = 0; k < columns.length; k++) values[k] = get(columns[k]);
      features(out, offset);
    },
    computeRawRow: (raw, out, offset = 0) => {
      for (let k = 0; k < columns.length; k++) {
        const spec = specs[k];
        values[k] = spec === undefined ? undefined : normalizeInput(spec, raw[columns[k]]);
      }
      features(out, offset);
    },
  };
}

/** Raw rows by column (values already normalized), as read from a snapshot. */
export interface RawColumns {
  nRows: number;
  columns: Record<string, ArrayLike<unknown>>;
}

/** Features for many rows at once: the same per-row code as serving, laid out by column for the trainer. */
export function featureMatrix(p: FittedPipeline, raw: RawColumns): FeatureMatrix {
  const compiled = compilePipeline(p);
  const width = compiled.names.length;
  const columns = compiled.names.map(() => new Float64Array(raw.nRows));
  const row = new Float64Array(width);
  let i = 0;
  const get: ColumnGetter = (c) => raw.columns[c]?.[i];
  for (; i < raw.nRows; i++) {
    compiled.computeRow(get, row);
    for (let j = 0; j < width; j++) columns[j][i] = row[j];
  }
  return { names: compiled.names, kinds: compiled.kinds, columns, nRows: raw.nRows };
}

/** Features of one raw row, as the model server computes them. */
export function featureRow(p: FittedPipeline, raw: Record<string, unknown>): Float64Array {
  const compiled = compilePipeline(p);
  const out = new Float64Array(compiled.names.length);
  compiled.computeRawRow(raw, out);
  return out;
}

/** 0/1 labels of raw rows; rows whose target is missing get NaN. */
export function labels(p: FittedPipeline, raw: RawColumns): Float64Array {
  const values = raw.columns[p.target.column];
  const y = new Float64Array(raw.nRows);
  for (let i = 0; i < raw.nRows; i++) {
    const l = labelOf(p.target, values[i]);
    y[i] = l === null ? NaN : l;
  }
  return y;
}
