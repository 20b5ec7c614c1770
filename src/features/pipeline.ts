import type { ColumnSpec, DatePart, FeatureSpec, TargetSpec } from '../spec/modelSpec';
import type { FeatureMatrix } from '../ml/gbdt';
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
    let iso = value.trim().replace(' ', 'T');
    if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) iso += 'T00:00:00';
    if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(iso)) iso += 'Z';
    return Date.parse(iso);
  }
  return NaN;
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

type FeatureFn = (get: ColumnGetter) => number;

function lookupFn(l: FittedLookup, statIndex: number): FeatureFn {
  const fallback = l.defaults[statIndex];
  if (l.keys.length === 1) {
    const [k] = l.keys;
    return (get) => {
      const v = get(k);
      const row = v === null || v === undefined ? undefined : l.rows[String(v)];
      return row ? row[statIndex] : fallback;
    };
  }
  return (get) => {
    const parts: string[] = [];
    for (const k of l.keys) {
      const v = get(k);
      if (v === null || v === undefined) return fallback;
      parts.push(String(v));
    }
    const row = l.rows[parts.join(LOOKUP_KEY_SEPARATOR)];
    return row ? row[statIndex] : fallback;
  };
}

function featureFn(p: FittedPipeline, f: FeatureSpec): FeatureFn {
  const t = f.transform;
  switch (t.from) {
    case 'column':
      if (f.kind === 'numeric') return (get) => toNumber(get(t.column));
      return categoryFn(p.vocabularies[f.name] ?? [], t.column);
    case 'datePart':
      return (get) => datePart(toNumber(get(t.column)), t.part);
    case 'category':
      return categoryFn(p.vocabularies[f.name] ?? [], t.column);
    case 'lookup': {
      const l = p.lookups[t.table];
      return lookupFn(l, l.stats.indexOf(t.stat));
    }
  }
}

function categoryFn(vocabulary: string[], column: string): FeatureFn {
  const codes = new Map(vocabulary.map((v, i) => [v, i]));
  return (get) => {
    const v = get(column);
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
  computeRawRow(raw: Record<string, unknown>, out: Float64Array): void;
}

export function compilePipeline(p: FittedPipeline): CompiledPipeline {
  const fns = p.features.map((f) => featureFn(p, f));
  const computeRow = (get: ColumnGetter, out: Float64Array, offset = 0) => {
    for (let j = 0; j < fns.length; j++) out[offset + j] = fns[j](get);
  };
  // Serving: each input is normalized once per row, not once per feature reading it (a
  // timestamp feeds several date parts, and parsing ISO text is the costly part). The
  // buffer is reused: computeRawRow is synchronous, one row at a time.
  const inputs = Object.keys(p.inputs);
  const slot = new Map(inputs.map((c, i) => [c, i]));
  const values: (number | string | null)[] = new Array(inputs.length).fill(null);
  const normalized: ColumnGetter = (c) => {
    const i = slot.get(c);
    return i === undefined ? undefined : values[i];
  };
  return {
    names: p.features.map((f) => f.name),
    kinds: p.features.map((f) => f.kind),
    computeRow,
    computeRawRow: (raw, out) => {
      for (let i = 0; i < inputs.length; i++) values[i] = normalizeInput(p.inputs[inputs[i]], raw[inputs[i]]);
      computeRow(normalized, out);
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
