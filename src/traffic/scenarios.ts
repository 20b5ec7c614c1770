import type { DuckDBConnection } from '@duckdb/node-api';
import type { ColumnSpec, ModelSpec, Window } from '../spec/modelSpec';
import { ident, normalizedColumnSql, sourceRelation, windowPredicate, withDuckDb } from '../data/duckdb';
import { checkSchema, describeRelation } from '../data/schema';
import { targetSql } from '../data/targetSql';
import { TrafficError } from './errors';
import { utcMs, type Scenario } from './options';
import { describeRareKeys, rareKeyCtes, rareKeysPredicate, shiftKeyColumns, RARE_SHARE, type ShiftKeys } from './rareKeys';

/** One source row as the model server takes it, with what only the simulator knows about it. */
export interface TrafficRow {
  /** The model's input columns (the target left out); timestamps as ISO-8601 UTC strings. */
  instance: Record<string, unknown>;
  /** The spec's target of this row: the ground truth posted later. */
  label: 0 | 1;
  /** The row's event time (epoch ms). */
  eventMs: number;
}

export interface Selection {
  /** In sending order. */
  rows: TrafficRow[];
  /** The period the rows were drawn from, [from, to). */
  window: { from: string; to: string };
  shift?: ShiftKeys;
}

export interface SelectionRequest {
  spec: ModelSpec;
  scenario: Scenario;
  rows: number;
  from?: string;
  to?: string;
  seed: number;
}

/** The rows a scenario sends, read from the spec's source with DuckDB. */
export function selectRows(r: SelectionRequest): Promise<Selection> {
  return withDuckDb(async (db) => {
    checkSchema(await describeRelation(db, sourceRelation(r.spec)), r.spec);
    if (r.scenario === 'same') return sameAsTraining(db, r);
    const window = await laterPeriod(db, r);
    if (r.scenario === 'later-months') return { rows: await chronological(db, r, window, [], ''), window: isoWindow(window) };
    return shifted(db, r, window);
  });
}

/** A seeded uniform sample of the training window, in sampled (not time) order. */
async function sameAsTraining(db: DuckDBConnection, r: SelectionRequest): Promise<Selection> {
  const window = r.spec.data.training;
  const sql = candidates(r, window, [], '');
  await ensureEnough(db, sql, r, `the training window ${window.start} → ${window.end}`);
  const order = `ORDER BY hash(rn, ${Math.trunc(r.seed)}), rn LIMIT ${r.rows}`;
  return { rows: await read(db, r.spec, sql, order), window: isoWindow(window) };
}

/** Rows of a period in event-time order: all of them, or an evenly spaced subset from its first row to its last. */
async function chronological(db: DuckDBConnection, r: SelectionRequest, window: Window, ctes: string[], predicate: string, what = describePeriod(window)): Promise<TrafficRow[]> {
  const sql = candidates(r, window, ctes, predicate);
  const available = await ensureEnough(db, sql, r, what);
  const step = r.rows === 1 ? 0 : (available - 1) / (r.rows - 1);
  // available ≥ rows, so the step is at least 1 and the picked row numbers are distinct.
  const picked = `SELECT (floor(i * ${step}::DOUBLE) + 1)::BIGINT FROM range(${r.rows}) AS t(i)`;
  return read(db, r.spec, sql, `WHERE rn IN (${picked}) ORDER BY rn`);
}

async function shifted(db: DuckDBConnection, r: SelectionRequest, window: Window): Promise<Selection> {
  const columns = shiftKeyColumns(r.spec);
  if (columns.length === 0) {
    throw new TrafficError('bad_input', `${r.spec.name} has no categorical key columns (string lookup keys or category features) to shift; use later-months`);
  }
  const shift = await describeRareKeys(db, r.spec, columns);
  const what = `${describePeriod(window)} with values the training window rarely or never saw in every one of ${columns.join(', ')} (rare: the least frequent values making up ${RARE_SHARE * 100}% of its rows)`;
  const rows = await chronological(db, r, window, rareKeyCtes(r.spec, columns), rareKeysPredicate(columns), what);
  return { rows, window: isoWindow(window), shift };
}

/** later-months and shift: `from`/`to`, by default from the end of the holdout window to the end of the source. */
async function laterPeriod(db: DuckDBConnection, r: SelectionRequest): Promise<Window> {
  const from = r.from ?? r.spec.data.holdout.end;
  const to = r.to ?? (await endOfSource(db, r.spec));
  if (to === null) throw new TrafficError('bad_input', `the source of ${r.spec.name} has no rows`);
  if (utcMs(from) >= utcMs(to)) {
    const why = r.to === undefined ? `the source has no rows after ${from}` : `${from}${r.from === undefined ? ' (the end of the holdout window)' : ''} is not before ${to}`;
    throw new TrafficError('bad_input', `the period ${from} → ${to} is empty: ${why}`, { from, to });
  }
  return { start: from, end: to };
}

/** Just after the last event time in the source (windows end exclusively). */
async function endOfSource(db: DuckDBConnection, spec: ModelSpec): Promise<string | null> {
  const time = `${ident(spec.data.timeColumn)}::TIMESTAMPTZ`;
  const reader = await db.runAndReadAll(`SELECT epoch_ms(max(${time}))::DOUBLE AS t FROM ${sourceRelation(spec)}`);
  const t = reader.getRowObjectsJS()[0].t;
  return t === null ? null : new Date(Number(t) + 1).toISOString();
}

/**
 * The rows a scenario may choose from (`chosen`), and the same numbered `rn` in event-time
 * order with ties broken by the row's content (`numbered`), so a choice by number is the same
 * on every run. Complete rows only — no missing value where the spec allows none, and a known
 * target — since the server would refuse the first and the second has no label to post.
 */
function candidates(r: SelectionRequest, window: Window, ctes: string[], predicate: string): string {
  const { spec } = r;
  const time = spec.data.timeColumn;
  const complete = Object.entries(spec.data.columns)
    .filter(([name, c]) => name === spec.target.column || !c.nullable)
    .map(([name]) => `${ident(name)} IS NOT NULL`);
  const where = [windowPredicate(time, window), ...complete, ...(predicate ? [predicate] : [])].join(' AND ');
  // Ties in time are broken by a hash of the whole row: two fixed-width sort keys sort millions
  // of rows several times faster than the columns themselves, and rows with equal hashes are
  // (but for a 2^-64 chance) equal rows, interchangeable.
  const order = `${ident(time)}::TIMESTAMPTZ NULLS FIRST, hash(${Object.keys(spec.data.columns).map(ident).join(', ')})`;
  return `WITH ${[
    ...ctes,
    `chosen AS (SELECT *, ${targetSql(spec.target)} AS label__, epoch_ms(${ident(time)}::TIMESTAMPTZ)::DOUBLE AS event_ms__ FROM ${sourceRelation(spec)} WHERE ${where})`,
    `numbered AS (SELECT *, row_number() OVER (ORDER BY ${order}) AS rn FROM chosen)`,
  ].join(',\n')}`;
}

async function ensureEnough(db: DuckDBConnection, sql: string, r: SelectionRequest, what: string): Promise<number> {
  const reader = await db.runAndReadAll(`${sql} SELECT count(*)::DOUBLE AS n FROM chosen`);
  const available = Number(reader.getRowObjectsJS()[0].n);
  if (available < r.rows) {
    throw new TrafficError('bad_input', `asked for ${r.rows} rows, but the source of ${r.spec.name} has only ${available} complete rows in ${what}; ask for at most ${available}`, { available });
  }
  return available;
}

async function read(db: DuckDBConnection, spec: ModelSpec, sql: string, tail: string): Promise<TrafficRow[]> {
  const inputs = inputColumns(spec);
  const select = [...inputs.map(([name, c]) => normalizedColumnSql(name, c)), 'label__', 'event_ms__'].join(', ');
  const reader = await db.runAndReadAll(`${sql} SELECT ${select} FROM numbered ${tail}`);
  return reader.getRowObjectsJS().map((row): TrafficRow => ({
    instance: Object.fromEntries(inputs.map(([name, c]) => [name, wireValue(c, row[name])])),
    label: Number(row.label__) === 1 ? 1 : 0,
    eventMs: Number(row.event_ms__),
  }));
}

/** The columns the model server expects in an instance: the declared ones except the target. */
export function inputColumns(spec: ModelSpec): [string, ColumnSpec][] {
  return Object.entries(spec.data.columns).filter(([name]) => name !== spec.target.column);
}

/** Timestamps go out as ISO-8601 UTC: one format, so their text order is their time order in the prediction log. */
function wireValue(column: ColumnSpec, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  return column.type === 'timestamp' ? new Date(Number(value)).toISOString() : value;
}

function isoWindow(w: Window): { from: string; to: string } {
  return { from: new Date(utcMs(w.start)).toISOString(), to: new Date(utcMs(w.end)).toISOString() };
}

function describePeriod(w: Window): string {
  return `the period ${w.start} → ${w.end}`;
}
