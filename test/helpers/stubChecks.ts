import type { MonitorCheckInput, MonitorCheckSummary } from '../../src/monitoring/check';

/**
 * What a scripted stub `checkChampion` answers: a check of `rows` new rows with the given
 * drift score (a breach names `origin_flights`), its performance not judged.
 */
export function stubCheck(input: MonitorCheckInput, o: { rows: number; score: number; breached: boolean; enoughData: boolean }): MonitorCheckSummary {
  return {
    at: input.asOf,
    version: input.version,
    cursor: { from: input.cursor, to: input.cursor + o.rows },
    available: o.rows,
    rows: o.rows,
    enoughData: o.enoughData,
    drift: { excluded: [], breached: o.breached, score: o.score, breachedFeatures: o.breached ? ['origin_flights'] : [], perTestAlpha: 0.01, reasons: o.breached ? ['origin_flights: PSI 0.61 > 0.2'] : [] },
    performance: { labeled: 0, metrics: null, belowFloor: null, reasons: ['not judged'] },
    labeledUntil: null,
    reportUri: `stub://report/${input.checkKey}`,
    checkId: 0,
    pruned: { predictions: 0, checks: 0 },
    finishedAt: new Date().toISOString(),
  };
}
