import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logging';
import type { Registry, ServedModel } from '../registry/registry';
import type { Champions } from './champions';

/**
 * A model server's presence in the registry: a heartbeat with what it serves, every
 * `heartbeatMs` and at once when that changes, so a deploy (on any worker) sees every live
 * server and waits for each. Removed on a clean stop; a server that dies stops beating and
 * drops out of deploys once the worker's liveness window passes.
 */
export class ServerPresence {
  readonly id = `${hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 60)}-${process.pid}-${randomUUID().slice(0, 8)}`;
  private timer: NodeJS.Timeout | undefined;
  private lastReported = '';
  private reporting: Promise<void> | undefined;
  private pending = false;
  private stopped = false;
  /** When a report last reached the registry (0: never). */
  private lastSuccessMs = 0;

  constructor(
    private readonly registry: Registry,
    private readonly champions: Champions,
    private url: string,
    private readonly heartbeatMs: number,
    private readonly logger?: Logger,
  ) {}

  start(): Promise<void> {
    this.timer = setInterval(() => void this.report(true), this.heartbeatMs);
    this.timer.unref();
    return this.report(true);
  }

  /** The URL other machines reach this server at (known once it listens). */
  advertise(url: string): Promise<void> {
    this.url = url;
    return this.report(true);
  }

  /** What is served may have changed: report now if it did. */
  changed(): void {
    void this.report(false);
  }

  private serving(): ServedModel[] {
    return this.champions.all().map((s) => ({ model: s.model, version: s.champion?.version ?? null, aliasVersion: s.alias?.version ?? null, loadError: s.loadError }));
  }

  /** One report at a time; one asked for meanwhile follows it. */
  private report(heartbeat: boolean): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.reporting) {
      this.pending ||= heartbeat || this.current() !== this.lastReported;
      return this.reporting;
    }
    const serving = this.current();
    if (!heartbeat && serving === this.lastReported) return Promise.resolve();
    this.reporting = this.registry
      .reportServer({ id: this.id, url: this.url, serving: JSON.parse(serving) as ServedModel[] })
      .then(
        () => {
          this.lastReported = serving;
          this.lastSuccessMs = Date.now();
        },
        (err: unknown) => this.logger?.warn({ err }, 'could not report to the registry what this server serves; deploys may wait for it'),
      )
      .finally(() => {
        this.reporting = undefined;
        if (this.pending) {
          this.pending = false;
          void this.report(true);
        }
      });
    return this.reporting;
  }

  /** How long since a report last reached the registry (Infinity before the first). */
  silentFor(): number {
    return this.lastSuccessMs === 0 ? Infinity : Date.now() - this.lastSuccessMs;
  }

  private current(): string {
    return JSON.stringify(this.serving());
  }

  /** Out of the registry: deploys stop waiting for this server at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.reporting;
    await this.registry.removeServer(this.id).catch((err: unknown) => this.logger?.warn({ err }, 'could not remove this server from the registry; it drops out when its heartbeat is missed'));
  }
}
