/**
 * The model server's Prometheus metrics, in the text exposition format (version 0.0.4),
 * written by hand: a few counters, one histogram and gauges need no client library.
 */

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Request latency buckets, seconds. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Labels = Record<string, string>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

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

export class ServerMetrics {
  /** Request counters in the order first seen (the exposition order). */
  private readonly requests: Counter[] = [];
  /** Series by route, then method: found without building a key string per request. */
  private readonly series = new Map<string, Map<string, RequestSeries>>();
  private readonly latency: Histogram[] = [];
  /** Counters in the order first seen (the exposition order), and by model, then version. */
  private readonly predictions: Counter[] = [];
  private readonly predictionsByModel = new Map<string, Map<number, Counter>>();

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

  /** The exposition text; gauges are read at scrape time from the server's state. */
  render(gauges: { served: GaugeSample[]; ready: GaugeSample[]; pendingLogRows: number; scoredRows: { thread: number; request: number } }): string {
    const out: string[] = [];
    out.push('# HELP perennial_http_requests_total HTTP requests by route, method and status code.');
    out.push('# TYPE perennial_http_requests_total counter');
    for (const c of this.requests) out.push(`perennial_http_requests_total${labelText(c.labels)} ${num(c.value)}`);

    out.push('# HELP perennial_http_request_duration_seconds HTTP request latency by route and method.');
    out.push('# TYPE perennial_http_request_duration_seconds histogram');
    for (const h of this.latency) {
      LATENCY_BUCKETS.forEach((le, i) => {
        out.push(`perennial_http_request_duration_seconds_bucket${labelText({ ...h.labels, le: num(le) })} ${h.counts[i]}`);
      });
      out.push(`perennial_http_request_duration_seconds_bucket${labelText({ ...h.labels, le: '+Inf' })} ${h.count}`);
      out.push(`perennial_http_request_duration_seconds_sum${labelText(h.labels)} ${num(h.sum)}`);
      out.push(`perennial_http_request_duration_seconds_count${labelText(h.labels)} ${h.count}`);
    }

    out.push('# HELP perennial_predictions_total Instances scored, by model and version.');
    out.push('# TYPE perennial_predictions_total counter');
    for (const c of this.predictions) out.push(`perennial_predictions_total${labelText(c.labels)} ${num(c.value)}`);

    out.push('# HELP perennial_served_version The model version this server scores with (0: none loaded).');
    out.push('# TYPE perennial_served_version gauge');
    for (const g of gauges.served) out.push(`perennial_served_version${labelText(g.labels)} ${num(g.value)}`);

    out.push('# HELP perennial_model_ready 1 when a champion is loaded for the model, else 0.');
    out.push('# TYPE perennial_model_ready gauge');
    for (const g of gauges.ready) out.push(`perennial_model_ready${labelText(g.labels)} ${num(g.value)}`);

    out.push('# HELP perennial_prediction_log_pending Predictions waiting to be committed to the prediction log (their requests are not answered yet).');
    out.push('# TYPE perennial_prediction_log_pending gauge');
    out.push(`perennial_prediction_log_pending ${gauges.pendingLogRows}`);

    out.push('# HELP perennial_scored_rows_total Rows scored, by thread: the scoring thread (large jobs), or the request thread (small jobs, and any the scoring thread could not take: a model still loading on it, a full ring, a thread that died).');
    out.push('# TYPE perennial_scored_rows_total counter');
    out.push(`perennial_scored_rows_total{thread="scoring"} ${num(gauges.scoredRows.thread)}`);
    out.push(`perennial_scored_rows_total{thread="request"} ${num(gauges.scoredRows.request)}`);
    return out.join('\n') + '\n';
  }
}
