import { Bounds, now } from './bounds';
import { ErrorCounts } from './errorCounts';
import { LabelPoster } from './labels';
import { checkOptions, type TrafficOptions } from './options';
import { ensureServed } from './preflight';
import { replay } from './replay';
import { selectRows } from './scenarios';
import { summarize, type TrafficSummary } from './summary';

export { TrafficError, type TrafficErrorKind } from './errors';
export { checkSettings, SCENARIOS, DEFAULT_MAX_MS, MAX_BATCH, type Scenario, type TrafficOptions, type TrafficProgress, type TrafficSettings } from './options';
export { problemsOf, summaryText, type TrafficSummary } from './summary';
export { RARE_SHARE, shiftKeyColumns } from './rareKeys';

/**
 * Replays rows of a model's data source to the model server at `rate` rows per second
 * and posts each row's true label `labelDelayMs` after its prediction. Resolves once
 * every label due has been posted, or when `maxMs` or the signal ends the run (labels
 * due by then are posted; the rest are counted as not labeled). Bad options, an
 * unreachable server, an unknown model, a model without a champion and too few matching
 * rows reject with a TrafficError before anything is sent.
 */
export async function runTraffic(options: TrafficOptions): Promise<TrafficSummary> {
  const o = checkOptions(options);
  const model = o.spec.name;
  await ensureServed(o.serverUrl, model);
  const selection = await selectRows(o);

  const startedAt = now();
  const bounds = new Bounds(startedAt + o.maxMs, o.signal);
  const labelErrors = new ErrorCounts();
  const labels = o.labelDelayMs === null ? null : new LabelPoster(o.serverUrl, model, o.labelDelayMs, labelErrors);
  const sent = await replay({
    serverUrl: o.serverUrl,
    model,
    rows: selection.rows,
    batch: o.batch,
    rate: o.rate,
    // same is a random sample: its order carries nothing; the others replay time.
    ordered: o.scenario !== 'same',
    bounds,
    onPredicted: (rows, answered) => {
      labels?.add(rows.map((row, i) => ({ requestId: answered[i].request_id, label: row.label, eventMs: row.eventMs })));
    },
    onAnswered: (s) => {
      o.onProgress?.({ rowsSent: s.rowsSent, rowsTotal: selection.rows.length, predictions: s.predictions, labelsPosted: labels?.stats.posted ?? 0, elapsedMs: now() - startedAt });
    },
  });
  const labelStats = labels ? await labels.finish(bounds) : null;
  return summarize({
    model,
    serverUrl: o.serverUrl,
    scenario: o.scenario,
    seed: o.seed,
    rowsRequested: o.rows,
    rate: o.rate,
    batch: o.batch,
    window: selection.window,
    shift: selection.shift,
    sent,
    labels: labelStats,
    labelErrors,
    elapsedMs: now() - startedAt,
  });
}
