/**
 * How a served prediction travels from the request thread to the log's writer thread: a
 * flat run of plain values appended to the batch's array. Copying a few numbers and
 * strings is all the request thread does per row; structured clone sends the batch's one
 * `columns` array once, however many rows refer to it.
 *
 * Layout per row: requestId, atMs, model, modelVersion, score, columns, one value per
 * column (undefined when absent), the feature count, the features.
 */
import type { ServedPrediction } from './predictionLogThread';
import { serializePrediction } from './predictionLog';

export function encodePrediction(out: unknown[], p: ServedPrediction): void {
  const { columns, instance, features } = p;
  out.push(p.requestId, p.atMs, p.model, p.modelVersion, p.score, columns);
  for (let c = 0; c < columns.length; c++) out.push(instance[columns[c]]);
  out.push(features.length);
  for (let f = 0; f < features.length; f++) out.push(features[f]);
}

/** `new Date(ms).toISOString()`, reused while the millisecond lasts (rows come in bursts). */
let isoMs = Number.NaN;
let isoText = '';
function isoAt(ms: number): string {
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

/** The encoded rows as the log's INSERT values, serialized as the synchronous log serializes its own. */
export function decodePredictions(encoded: readonly unknown[]): unknown[] {
  const out: unknown[] = [];
  let i = 0;
  while (i < encoded.length) {
    const requestId = encoded[i] as string;
    const at = isoAt(encoded[i + 1] as number);
    const model = encoded[i + 2] as string;
    const modelVersion = encoded[i + 3] as number;
    const score = encoded[i + 4] as number;
    const columns = encoded[i + 5] as readonly string[];
    i += 6;
    const instance: Record<string, unknown> = {};
    for (let c = 0; c < columns.length; c++, i++) if (encoded[i] !== undefined) instance[columns[c]] = encoded[i];
    const width = encoded[i++] as number;
    const features = encoded.slice(i, i + width) as number[];
    i += width;
    serializePrediction(out, { requestId, at, model, modelVersion, instance, features, score });
  }
  return out;
}
