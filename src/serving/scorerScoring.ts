import type { Scorer } from '../ml/scorer';
import type { FillFeatures, ScoredCallback, ScoredRows } from './scoringThread';

interface Job {
  rows: number;
  width: number;
  fill: FillFeatures;
  done: ScoredCallback;
}

/** Rows per scorer call when a turn's jobs are scored together. */
const MAX_BATCH_ROWS = 4096;

/**
 * Scores jobs through a model's Scorer (an ONNX model on onnxruntime-node), with the same
 * callback as the scoring thread's. The jobs read in one event-loop turn are scored together,
 * one scorer call for all their rows: a call costs far more than a row (onnxruntime's
 * per-run overhead), and the answers then go out — and to the prediction log — together.
 * Features are computed here, on the request thread, by the same code as training.
 */
export class ScorerBatches {
  private readonly pending = new Map<Scorer, Job[]>();
  private turnEnding = false;

  score(scorer: Scorer, rows: number, width: number, fill: FillFeatures, done: ScoredCallback): void {
    const jobs = this.pending.get(scorer) ?? [];
    jobs.push({ rows, width, fill, done });
    this.pending.set(scorer, jobs);
    if (!this.turnEnding) {
      this.turnEnding = true;
      setImmediate(this.endTurn);
    }
  }

  private readonly endTurn = (): void => {
    this.turnEnding = false;
    const turn = [...this.pending];
    this.pending.clear();
    for (const [scorer, jobs] of turn) {
      for (let from = 0; from < jobs.length; ) {
        let rows = 0;
        let to = from;
        // At least one job per call, however large; more while they fit.
        while (to < jobs.length && (to === from || rows + jobs[to].rows <= MAX_BATCH_ROWS)) rows += jobs[to++].rows;
        void scoreTogether(scorer, jobs.slice(from, to), rows);
        from = to;
      }
    }
  };
}

async function scoreTogether(scorer: Scorer, jobs: Job[], totalRows: number): Promise<void> {
  const width = scorer.featureCount;
  const data = new Float64Array(totalRows * width);
  const ready: { job: Job; at: number }[] = [];
  let at = 0;
  for (const job of jobs) {
    try {
      if (job.width !== width) throw new Error(`the model takes ${width} features, the job has ${job.width}`);
      for (let r = 0; r < job.rows; r++) job.fill(data, (at + r) * width, r);
      ready.push({ job, at });
      at += job.rows;
    } catch (err) {
      answer(job, err instanceof Error ? err : new Error(String(err)));
    }
  }
  if (ready.length === 0) return;
  let scores: Float64Array;
  try {
    scores = await scorer.scoreRows(data, at);
  } catch (err) {
    for (const { job } of ready) answer(job, err instanceof Error ? err : new Error(String(err)));
    return;
  }
  for (const { job, at: first } of ready) {
    answer(job, null, {
      rows: job.rows,
      score: (r) => scores[first + r],
      features: (r) => data.subarray((first + r) * width, (first + r + 1) * width),
    });
  }
}

/** One job's answer; what its callback throws stays with it (the others are still answered). */
function answer(job: Job, error: Error | null, scored: ScoredRows | null = null): void {
  try {
    job.done(error, scored);
  } catch (err) {
    process.emitWarning(`a scoring callback threw: ${(err as Error).message}`);
  }
}
