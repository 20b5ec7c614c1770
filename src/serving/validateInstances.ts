import type { ColumnSpec } from '../spec/modelSpec';
import { parseIsoUtc, parseTimestamp } from '../features/pipeline';
import { calendarProblem } from '../util/calendar';

/** One problem with one field of one instance; `field` is absent when the whole instance is wrong. */
export interface ValidationIssue {
  row: number;
  field?: string;
  message: string;
}

/** What an instance must look like: the model's input columns and its target column. */
export interface InstanceSchema {
  inputs: Record<string, ColumnSpec>;
  /** The target column: declared among the inputs, but never sent at prediction time. */
  target: string;
}

/** Dates a JS Date can hold: ±8.64e15 ms around the epoch. */
const MAX_EPOCH_MS = 8.64e15;

/**
 * ISO 8601 as clients send it: a date, optionally a time (`T` or one space), optionally
 * fractional seconds and a zone (`Z` or ±hh:mm / ±hhmm). No zone means UTC, as everywhere
 * in perennial.
 */
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'object') return 'an object';
  return typeof value;
}

/** Why a timestamp value is unusable, or undefined when it is fine. */
function timestampProblem(value: unknown): string | undefined {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return `expected an ISO-8601 string or epoch milliseconds, got ${describe(value)}`;
    if (Math.abs(value) > MAX_EPOCH_MS) return `epoch milliseconds out of range: ${value}`;
    return undefined;
  }
  if (typeof value !== 'string') return `expected an ISO-8601 string or epoch milliseconds, got ${describe(value)}`;
  // The common shapes, already checked as real dates and times by the fast parser.
  if (parseIsoUtc(value) !== undefined) return undefined;
  const text = value.trim();
  if (!ISO_8601.test(text)) return `expected an ISO-8601 timestamp (e.g. 2001-01-04T10:35:00Z), got ${JSON.stringify(value.slice(0, 40))}`;
  // Date.parse rolls 2001-02-30 over to March and accepts 24:00; a client sending either has a bug.
  const problem = calendarProblem(text);
  if (problem === 'date') return `not a calendar date: ${JSON.stringify(value)}`;
  if (problem === 'time') return `not a time of day: ${JSON.stringify(value)}`;
  if (!Number.isFinite(parseTimestamp(value))) return `unparseable timestamp ${JSON.stringify(value)}`;
  return undefined;
}

/** Why a value does not fit its column, or undefined when it does (null handled by the caller). */
/** Longest string value an instance may carry. */
export const MAX_STRING_LENGTH = 256;

export function valueProblem(column: ColumnSpec, value: unknown): string | undefined {
  switch (column.type) {
    case 'timestamp':
      return timestampProblem(value);
    case 'number':
      if (typeof value !== 'number') return `expected a number, got ${describe(value)}`;
      // JSON has no NaN or Infinity; `1e999` parses to Infinity and lands here.
      if (!Number.isFinite(value)) return `expected a finite number, got ${describe(value)}`;
      if (column.min !== undefined && value < column.min) return `${value} is below the minimum ${column.min}`;
      if (column.max !== undefined && value > column.max) return `${value} is above the maximum ${column.max}`;
      return undefined;
    case 'string':
      if (typeof value !== 'string') return `expected a string, got ${describe(value)}`;
      // Every string from outside is bounded: it is logged, and a lookup key of it is hashed.
      if (value.length > MAX_STRING_LENGTH) return `a string of ${value.length} characters: at most ${MAX_STRING_LENGTH}`;
      // Not text any database keeps as JSON (PostgreSQL's jsonb refuses both): it could never be monitored.
      if (/\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(value)) return 'a string with a NUL character or an unpaired surrogate: not text';
      if (column.categories && !column.categories.includes(value)) {
        return `${JSON.stringify(value.slice(0, 40))} is not one of the declared categories (${column.categories.join(', ')})`;
      }
      return undefined;
  }
}

/**
 * Checks every instance against the model's input columns and returns every problem
 * (all rows, all fields), in row order. An instance is one raw source row:
 *
 * - every input column except the target is a key of the instance; a nullable column may
 *   be omitted (it means null), a non-nullable one may not;
 * - the target column must be absent: it is not known at prediction time, no feature
 *   reads it, and sending it is a client bug (labels arrive later through `:labels`);
 * - no other keys: a misspelt column name would otherwise silently become a missing value;
 * - values have their column's type (a timestamp is an ISO-8601 string or finite epoch
 *   milliseconds; a number is a finite JSON number, never a string; a string is a
 *   string), respect min/max and categories, and are null only where the column is nullable.
 */
export function validateInstances(instances: readonly unknown[], schema: InstanceSchema): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const { columns, known } = compiled(schema);
  for (let row = 0; row < instances.length; row++) {
    const instance = instances[row];
    if (instance === null || typeof instance !== 'object' || Array.isArray(instance)) {
      issues.push({ row, message: `expected an object of column values, got ${describe(instance)}` });
      continue;
    }
    const values = instance as Record<string, unknown>;
    for (const [field, column] of columns) {
      const present = Object.prototype.hasOwnProperty.call(values, field);
      const value = values[field];
      if (!present || value === null) {
        if (!column.nullable) issues.push({ row, field, message: present ? 'is not nullable, got null' : 'is required' });
        continue;
      }
      const problem = valueProblem(column, value);
      if (problem) issues.push({ row, field, message: problem });
    }
    for (const field in values) {
      if (known.has(field) || !Object.prototype.hasOwnProperty.call(values, field)) continue;
      issues.push({
        row,
        field,
        message:
          field === schema.target
            ? `is the target column: it is not sent for a prediction (send it later to :labels)`
            : `unknown field (expected: ${[...known].join(', ')})`,
      });
    }
  }
  return issues;
}

interface CompiledSchema {
  target: string;
  columns: [string, ColumnSpec][];
  known: Set<string>;
}

/** Per input-columns object (one per loaded champion): the columns to check, derived once, not per request. */
const compiledSchemas = new WeakMap<Record<string, ColumnSpec>, CompiledSchema>();

function compiled(schema: InstanceSchema): CompiledSchema {
  const hit = compiledSchemas.get(schema.inputs);
  if (hit && hit.target === schema.target) return hit;
  const columns = Object.entries(schema.inputs).filter(([name]) => name !== schema.target);
  const c: CompiledSchema = { target: schema.target, columns, known: new Set(columns.map(([name]) => name)) };
  compiledSchemas.set(schema.inputs, c);
  return c;
}
