import type { LabelInput, LabelResult, MonitorWindow, PredictionRow } from './predictionLog';
import type { ServedPrediction } from './predictionLogThread';

/** A value now (SQLite reads are synchronous) or later (PostgreSQL): callers await either. */
type Answer<T> = T | Promise<T>;

/**
 * The prediction log as monitoring and the CLI read it, whichever database holds it
 * (src/serving/openPredictions.ts chooses by `PERENNIAL_REGISTRY_URL`).
 */
export interface PredictionReader {
  /** The newest `limit` rows of one model version after the cursor, and where the cursor goes next (see `PredictionLog.window`). */
  window(q: { model: string; version: number; afterId: number; limit: number }): Answer<MonitorWindow>;
  /** The newest `limit` labeled predictions of a version at or before row `upToId`. */
  labeled(q: { model: string; version: number; upToId: number; limit: number }): Answer<{ scores: number[]; labels: (0 | 1)[] }>;
  /** The same, with each one's logged event time (the instance's `timeColumn`). */
  labeledWithEventTime(q: { model: string; version: number; upToId: number; timeColumn: string; limit: number }): Answer<{ scores: number[]; labels: (0 | 1)[]; times: (string | number | null)[] }>;
  /** The latest event time labeled traffic of a model has reached. */
  latestLabeledEventTime(model: string, timeColumn: string): Answer<string | number | null>;
  /** Deletes a model's rows logged before `before` (ISO time); returns how many. */
  prune(model: string, before: string): Answer<number>;
  find(requestId: string): Answer<PredictionRow | undefined>;
  read(q?: { model?: string; afterId?: number; limit?: number }): Answer<PredictionRow[]>;
  close(): Answer<void>;
}

/**
 * The prediction log as the model server writes it: a prediction is answered only once
 * `append` has resolved, i.e. once its row is committed.
 */
export interface PredictionSink {
  /** Resolves once the row is committed. */
  append(p: ServedPrediction): Promise<void>;
  /** Whether `n` more predictions may be served (and so logged) now. */
  canAccept(n: number): boolean;
  /** Rows appended and not yet committed. */
  readonly pending: number;
  /** Resolves once everything appended so far is committed. */
  flush(): Promise<void>;
  /** Delayed labels, applied after every prediction appended before them. */
  applyLabels(model: string, labels: readonly LabelInput[], at?: string): Promise<LabelResult>;
  /** A logged prediction, found after every prediction appended before the call. */
  find(requestId: string): Promise<PredictionRow | undefined>;
  read(q?: { model?: string; afterId?: number; limit?: number }): Promise<PredictionRow[]>;
  /** Commits everything appended; later appends are refused. */
  close(): Promise<void>;
}
