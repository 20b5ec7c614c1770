import { postLabels } from './http';
import { now, type Bounds } from './bounds';
import type { ErrorCounts } from './errorCounts';

/** The server takes up to 10,000 labels per request; smaller requests keep each transaction short. */
const LABELS_PER_REQUEST = 500;

export interface PendingLabel {
  requestId: string;
  label: 0 | 1;
  eventMs: number;
}

export interface LabelStats {
  delayMs: number;
  /** Labels in requests the server answered. */
  posted: number;
  /** Of those, recorded by the server (new, or a repeat of the same value). */
  accepted: number;
  /** Request ids the server did not know. */
  unknown: number;
  /** Ids the server already had with the other label (it keeps the first). */
  conflicts: number;
  /** Labels in requests that failed (HTTP error or no answer). */
  failed: number;
  /** Not posted: not yet due when the run was stopped. */
  notLabeled: number;
  /** The latest event time among rows whose label the server accepted (epoch ms). */
  latestEventMs: number | null;
}

/**
 * Posts each prediction's true label `delayMs` after the prediction was answered, as
 * ground truth arrives in production: later. Labels become due in the order they are
 * added, so the queue is ordered by due time and one timer suffices.
 */
export class LabelPoster {
  private readonly queue: (PendingLabel & { dueAt: number })[] = [];
  private timer: NodeJS.Timeout | undefined;
  private posting: Promise<void> = Promise.resolve();
  private closed = false;
  readonly stats: LabelStats;

  constructor(
    private readonly serverUrl: string,
    private readonly model: string,
    delayMs: number,
    private readonly errors: ErrorCounts,
  ) {
    this.stats = { delayMs, posted: 0, accepted: 0, unknown: 0, conflicts: 0, failed: 0, notLabeled: 0, latestEventMs: null };
  }

  add(labels: PendingLabel[]): void {
    const dueAt = now() + this.stats.delayMs;
    for (const l of labels) this.queue.push({ ...l, dueAt });
    this.schedule();
  }

  /**
   * Waits until every label is due (or a bound ends the wait), posts what is due, and
   * counts the rest as not labeled.
   */
  async finish(bounds: Bounds): Promise<LabelStats> {
    const last = this.queue.at(-1);
    if (last) await bounds.waitUntil(last.dueAt);
    this.closed = true;
    clearTimeout(this.timer);
    await this.posting;
    await this.postDue();
    this.stats.notLabeled = this.queue.length;
    return this.stats;
  }

  private schedule(): void {
    if (this.closed || this.timer || this.queue.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.posting = this.posting.then(() => this.postDue()).then(() => this.schedule());
    }, Math.max(0, this.queue[0].dueAt - now()));
  }

  private async postDue(): Promise<void> {
    const t = now();
    let due = 0;
    while (due < this.queue.length && this.queue[due].dueAt <= t) due++;
    const batch = this.queue.splice(0, due);
    for (let i = 0; i < batch.length; i += LABELS_PER_REQUEST) await this.post(batch.slice(i, i + LABELS_PER_REQUEST));
  }

  private async post(labels: PendingLabel[]): Promise<void> {
    const answer = await postLabels(this.serverUrl, this.model, labels.map((l) => ({ request_id: l.requestId, label: l.label })));
    if (!answer.ok) {
      this.stats.failed += labels.length;
      this.errors.count(answer.status, answer.error);
      return;
    }
    const { unknown, conflicts } = answer.body;
    this.stats.posted += labels.length;
    this.stats.accepted += answer.body.accepted;
    this.stats.unknown += unknown.length;
    this.stats.conflicts += conflicts.length;
    const refused = new Set([...unknown, ...conflicts.map((c) => c.request_id)]);
    for (const l of labels) {
      if (refused.has(l.requestId)) continue;
      if (this.stats.latestEventMs === null || l.eventMs > this.stats.latestEventMs) this.stats.latestEventMs = l.eventMs;
    }
  }
}
