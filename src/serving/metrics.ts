/**
 * The model server's Prometheus metrics, exposed through prom-client (its text format,
 * escaping, and the process's default metrics). Request and prediction counts are kept in
 * plain fields bound once per route, method and model version — the request path adds to
 * them and builds no label objects — and handed to prom-client as collected families at
 * scrape time, beside gauges read from the server's state and the registry's stored checks.
 */
import { Registry, collectDefaultMetrics, type Metric, type MetricValue } from 'prom-client';

export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** Request latency buckets, seconds. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Labels = Record<string, string>;

interface Histogram {
  labels: Labels;
  counts: number[];
  sum: number;
  count: number;
}

export interface GaugeSample {
  labels: Labels;
  value: number;
}

interface Counter {
  labels: Labels;
  value: number;
}

/** One model's latest monitoring figures, as the registry's stored checks have them. */
export interface ModelMonitoring {
  model: string;
  /** The latest check with a drift score (null: none yet). */
  scored: { score: number; breached: boolean; atMs: number } | null;
  /** The latest judged live AUC (null: never judged). */
  liveAuc: number | null;
}

/** What the gauges read at scrape time. */
export interface ScrapeState {
  served: GaugeSample[];
  ready: GaugeSample[];
  pendingLogRows: number;
  scoredRows: { thread: number; request: number };
  monitoring: ModelMonitoring[];
}

/**
 * The request metrics of one route and method, bound once: observing a request is then a
 * few additions, with no label objects or key strings built per request.
 */
export class RequestSeries {
  /** Request counters by status code (a handful per series). */
  private readonly byStatus = new Map<number, Counter>();

  constructor(
    private readonly route: string,
    private readonly method: string,
    private readonly counters: Counter[],
    private readonly histogram: Histogram,
  ) {}

  observe(status: number, seconds: number): void {
    let c = this.byStatus.get(status);
    if (!c) {
      c = { labels: { route: this.route, method: this.method, status: String(status) }, value: 0 };
      this.byStatus.set(status, c);
      this.counters.push(c);
    }
    c.value++;
    const h = this.histogram;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) if (seconds <= LATENCY_BUCKETS[i]) h.counts[i]++;
    h.sum += seconds;
    h.count++;
  }
}

/** A metric family whose samples are computed when Prometheus scrapes. */
function collected(name: string, help: string, type: 'counter' | 'gauge' | 'histogram', samples: () => MetricValue<string>[]): Metric<string> {
  return { name, help, type, aggregator: 'sum', get: async () => ({ name, help, type, aggregator: 'sum', values: samples() }) } as unknown as Metric<string>;
}

const gauge = (samples: GaugeSample[]): MetricValue<string>[] => samples.map((g) => ({ labels: g.labels, value: g.value }));

export class ServerMetrics {
  /** Request counters in the order first seen (the exposition order). */
  private readonly requests: Counter[] = [];
  /** Series by route, then method: found without building a key string per request. */
  private readonly series = new Map<string, Map<string, RequestSeries>>();
  private readonly latency: Histogram[] = [];
  /** Counters in the order first seen (the exposition order), and by model, then version. */
  private readonly predictions: Counter[] = [];
  private readonly predictionsByModel = new Map<string, Map<number, Counter>>();
  private readonly registry = new Registry();
  private state: ScrapeState = { served: [], ready: [], pendingLogRows: 0, scoredRows: { thread: 0, request: 0 }, monitoring: [] };

  constructor() {
    const r = this.registry;
    r.registerMetric(collected('perennial_http_requests_total', 'HTTP requests by route, method and status code.', 'counter', () => this.requests.map((c) => ({ labels: c.labels, value: c.value }))));
    r.registerMetric(
      collected('perennial_http_request_duration_seconds', 'HTTP request latency by route and method, from the request reaching the server to its response being written.', 'histogram', () =>
        this.latency.flatMap((h) => [
          ...LATENCY_BUCKETS.map((le, i) => ({ metricName: 'perennial_http_request_duration_seconds_bucket', labels: { ...h.labels, le: String(le) }, value: h.counts[i] })),
          { metricName: 'perennial_http_request_duration_seconds_bucket', labels: { ...h.labels, le: '+Inf' }, value: h.count },
          { metricName: 'perennial_http_request_duration_seconds_sum', labels: h.labels, value: h.sum },
          { metricName: 'perennial_http_request_duration_seconds_count', labels: h.labels, value: h.count },
        ]),
      ),
    );
    r.registerMetric(collected('perennial_predictions_total', 'Instances scored, by model and version.', 'counter', () => this.predictions.map((c) => ({ labels: c.labels, value: c.value }))));
    r.registerMetric(collected('perennial_served_version', 'The model version this server scores with (0: none loaded).', 'gauge', () => gauge(this.state.served)));
    r.registerMetric(collected('perennial_model_ready', '1 when a champion is loaded for the model, else 0.', 'gauge', () => gauge(this.state.ready)));
    r.registerMetric(
      collected('perennial_prediction_log_pending', 'Predictions waiting to be committed to the prediction log (their requests are not answered yet).', 'gauge', () => [{ labels: {}, value: this.state.pendingLogRows }]),
    );
    r.registerMetric(
      collected(
        'perennial_scored_rows_total',
        'Rows scored, by thread: the scoring thread (large jobs), or the request thread (small jobs, and any the scoring thread could not take: a model still loading on it, a full ring, a thread that died).',
        'counter',
        () => [
          { labels: { thread: 'scoring' }, value: this.state.scoredRows.thread },
          { labels: { thread: 'request' }, value: this.state.scoredRows.request },
        ],
      ),
    );
    const scored = () => this.state.monitoring.flatMap((m) => (m.scored ? [{ model: m.model, ...m.scored }] : []));
    r.registerMetric(collected('perennial_drift_score', "The drift score (largest PSI) of the model's latest monitor check with enough data.", 'gauge', () => scored().map((m) => ({ labels: { model: m.model }, value: m.score }))));
    r.registerMetric(collected('perennial_drift_breached', "1 when the model's latest monitor check with enough data breached, else 0.", 'gauge', () => scored().map((m) => ({ labels: { model: m.model }, value: m.breached ? 1 : 0 }))));
    r.registerMetric(collected('perennial_drift_checked_timestamp_seconds', 'When that check ran (Unix seconds).', 'gauge', () => scored().map((m) => ({ labels: { model: m.model }, value: m.atMs / 1000 }))));
    r.registerMetric(
      collected('perennial_live_auc', "The model's AUC on labeled live traffic at its latest judged monitor check.", 'gauge', () =>
        this.state.monitoring.flatMap((m) => (m.liveAuc === null ? [] : [{ labels: { model: m.model }, value: m.liveAuc }])),
      ),
    );
    collectDefaultMetrics({ register: r });
  }

  /**
   * The series of a route template and method, created on first use. `route` is a route
   * template, never a raw path (bounded cardinality); callers may keep the result.
   */
  requestSeries(route: string, method: string): RequestSeries {
    let byMethod = this.series.get(route);
    if (!byMethod) {
      byMethod = new Map();
      this.series.set(route, byMethod);
    }
    let s = byMethod.get(method);
    if (!s) {
      const h: Histogram = { labels: { route, method }, counts: LATENCY_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.latency.push(h);
      s = new RequestSeries(route, method, this.requests, h);
      byMethod.set(method, s);
    }
    return s;
  }

  /** A counter of instances scored by one model version; callers may keep it and add to `value`. */
  predictionCounter(model: string, version: number): Counter {
    let byVersion = this.predictionsByModel.get(model);
    if (!byVersion) {
      byVersion = new Map();
      this.predictionsByModel.set(model, byVersion);
    }
    let c = byVersion.get(version);
    if (!c) {
      c = { labels: { model, version: String(version) }, value: 0 };
      byVersion.set(version, c);
      this.predictions.push(c);
    }
    return c;
  }

  /** Instances scored by one model version. */
  countPredictions(model: string, version: number, n: number): void {
    this.predictionCounter(model, version).value += n;
  }

  /** The exposition text; gauges read `state`, taken at scrape time from the server. */
  render(state: ScrapeState): Promise<string> {
    this.state = state;
    return this.registry.metrics();
  }
}
