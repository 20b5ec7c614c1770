/**
 * How served predictions travel from the request thread to the log's writer thread: a
 * batch of two runs. Numbers go into one Float64Array (structured clone copies it in one
 * piece); strings and the instance's values go into a plain array, a few per row. Copying
 * them is all the request thread does per row; the writer thread formats the log's row.
 *
 * Per row, `values`: requestId, model, columns, then one value per column (undefined when
 * absent). `numbers`: atMs, modelVersion, score, the feature count, the features.
 * Structured clone sends the batch's one `columns` array once, however many rows refer to it.
 */
import type { ServedPrediction } from './predictionLogThread';
import { serializeRow, storedFeatures } from './predictionLog';

export interface EncodedBatch {
  values: unknown[];
  numbers: Float64Array;
  rows: number;
}

/** Numbers per row besides the features. */
const NUMBERS_PER_ROW = 4;

export class BatchEncoder {
  private values: unknown[] = [];
  private numbers = new Float64Array(8192);
  private used = 0;
  rows = 0;

  add(p: ServedPrediction): void {
    const { columns, instance, features } = p;
    const values = this.values;
    values.push(p.requestId, p.model, columns);
    for (let c = 0; c < columns.length; c++) values.push(instance[columns[c]]);
    const width = features.length;
    if (this.used + NUMBERS_PER_ROW + width > this.numbers.length) this.grow(NUMBERS_PER_ROW + width);
    const n = this.numbers;
    let i = this.used;
    n[i++] = p.atMs;
    n[i++] = p.modelVersion;
    n[i++] = p.score;
    n[i++] = width;
    for (let f = 0; f < width; f++) n[i++] = features[f];
    this.used = i;
    this.rows++;
  }

  /** The rows added since the last take, as one batch; the encoder starts empty again. */
  take(): EncodedBatch {
    const batch = { values: this.values, numbers: this.numbers.slice(0, this.used), rows: this.rows };
    this.values = [];
    this.used = 0;
    this.rows = 0;
    return batch;
  }

  private grow(atLeast: number): void {
    const bigger = new Float64Array(Math.max(2 * this.numbers.length, this.used + atLeast));
    bigger.set(this.numbers.subarray(0, this.used));
    this.numbers = bigger;
  }
}

const MS_PER_DAY = 86_400_000;
/** 10000-01-01T00:00:00Z: before it, toISOString's year has four digits. */
const YEAR_10000_MS = 253_402_300_800_000;
const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

let isoMs = Number.NaN;
let isoText = '';
let isoDay = Number.NaN;
let isoDayPrefix = '';

/**
 * `new Date(ms).toISOString()` for the writer thread, which formats one per row: the
 * last one is reused while the millisecond lasts (rows come in bursts), and the date part
 * while the day lasts; the time of day is arithmetic. Outside whole milliseconds of years
 * 1970–9999 it is toISOString itself.
 */
function isoAt(ms: number): string {
  if (ms === isoMs) return isoText;
  isoMs = ms;
  if (!(Number.isInteger(ms) && ms >= 0 && ms < YEAR_10000_MS)) return (isoText = new Date(ms).toISOString());
  const day = ms - (ms % MS_PER_DAY);
  if (day !== isoDay) {
    isoDay = day;
    isoDayPrefix = new Date(day).toISOString().slice(0, 11); // YYYY-MM-DDT
  }
  const inDay = ms - day;
  const seconds = Math.floor(inDay / 1000);
  isoText = `${isoDayPrefix}${TWO_DIGITS[Math.floor(seconds / 3600)]}:${TWO_DIGITS[Math.floor(seconds / 60) % 60]}:${TWO_DIGITS[seconds % 60]}.${THREE_DIGITS[inDay % 1000]}Z`;
  return isoText;
}

/**
 * The instance's JSON as JSON.stringify writes the object built from `columns` (keys in
 * column order, absent ones left out): validated values are strings, finite numbers or null,
 * so each is written as JSON.stringify writes it.
 */
function instanceJson(keys: readonly string[], values: readonly unknown[], from: number): string {
  let out = '{';
  for (let c = 0; c < keys.length; c++) {
    const v = values[from + c];
    if (v === undefined) continue;
    out += (out.length > 1 ? ',' : '') + keys[c] + JSON.stringify(v);
  }
  return out + '}';
}

/** The batch's rows as the log's INSERT values (`serializeRow`). */
export function decodePredictions(batch: Pick<EncodedBatch, 'values' | 'numbers'>): unknown[] {
  const { values, numbers } = batch;
  const out: unknown[] = [];
  // `"column":` per columns array: one array per model in a batch.
  const keysOf = new Map<readonly string[], string[]>();
  let v = 0;
  let n = 0;
  while (v < values.length) {
    const requestId = values[v] as string;
    const model = values[v + 1] as string;
    const columns = values[v + 2] as readonly string[];
    let keys = keysOf.get(columns);
    if (!keys) keysOf.set(columns, (keys = columns.map((c) => `${JSON.stringify(c)}:`)));
    const instance = instanceJson(keys, values, v + 3);
    v += 3 + columns.length;
    const width = numbers[n + 3];
    serializeRow(out, requestId, isoAt(numbers[n]), model, numbers[n + 1], instance, storedFeatures(numbers, n + NUMBERS_PER_ROW, width), numbers[n + 2]);
    n += NUMBERS_PER_ROW + width;
  }
  return out;
}
