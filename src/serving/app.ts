import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { uuidv7 } from '../util/uuidv7';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from '../logging';
import type { Lineage } from '../registry/registry';
import { explainRequest, versionOf } from '../lineage/lineage';
import { predictedLabel } from '../ml/metrics';
import { registerReportPages } from '../reports/routes';
import { Champions, type ChampionState } from './champions';
import type { LabelInput } from './predictionLog';
import { openPredictionSink } from './openPredictions';
import { cacheArtifactsIn } from '../artifacts/open';
import { ServerPresence } from './presence';
import { drainRefusedBody } from './refusedBody';
import type { PredictionSink } from './predictionStore';
import { validateInstances, type ValidationIssue } from './validateInstances';
import { PROMETHEUS_CONTENT_TYPE, ServerMetrics } from './metrics';
import { ScorerBatches } from './scorerScoring';
import { ScoringThread, type FillFeatures, type ScoredCallback } from './scoringThread';

export interface ModelServerOptions {
  /** The state folder: registry, artifacts, and the prediction log `predictions.sqlite`. */
  home: string;
  /** PostgreSQL registry; unset: the SQLite registry in `home`. */
  registryUrl?: string | null;
  logger?: Logger;
  /** How often the registry's `champion` aliases are polled (ms). Default 250. */
  pollMs?: number;
  /** Largest request body (bytes); larger is 413. Default 1 MiB. */
  maxBodyBytes?: number;
  /** A request must arrive whole (headers and body) within this many ms, else 408. Default 30 s. */
  requestTimeoutMs?: number;
  /** Most instances in one predict request; more is 413. Default 1000. */
  maxInstances?: number;
  /** Most labels in one labels request; more is 413. Default 10,000. */
  maxLabels?: number;
  /** Prediction log: flush every this many ms. Default 200. */
  flushMs?: number;
  /** Prediction log: flush once this many rows are buffered. Default 500. */
  flushRows?: number;
  /**
   * Prediction log: refuse predictions (503, `retry-after: 1`) while this many rows wait
   * for the disk — a prediction that cannot be logged is not served. Default 50,000.
   */
  logMaxPending?: number;
  /** How often this server tells the registry what it serves (ms). Default 2,000. */
  heartbeatMs?: number;
  /** The URL other machines reach this server at (`presence.advertise` sets it once listening). */
  url?: string;
  /** Deploys count a server heard from within this (ms); silent longer, this server stops answering predictions. Default 10,000. */
  livenessMs?: number;
}

export interface ModelServer {
  app: FastifyInstance;
  champions: Champions;
  predictionLog: PredictionSink;
  /** Where predictions are scored: a thread of their own (the request thread when it cannot). */
  scoring: ScoringThread;
  metrics: ServerMetrics;
  /** This server in the registry: what it serves, for deploys on any worker to wait on. */
  presence: ServerPresence;
  /** Stops accepting requests, lets those in flight finish, flushes the prediction log, closes. Idempotent. */
  close(): Promise<void>;
}

/** `GET /v1/models/{name}`: what this server serves for one model. */
export interface ModelStatus {
  name: string;
  /** True when a champion is loaded and predictions are served. */
  ready: boolean;
  /** The version predictions are scored with right now; null before any champion loads or after the alias is cleared. */
  champion: {
    version: number;
    /** When the registry's champion alias was set to this version. */
    since: string;
    /** When this server loaded it. */
    loadedAt: string;
    artifactSha256: string;
    lineage: Lineage;
  } | null;
  /** The registry's champion alias as of the server's last poll (null: none). */
  alias: { version: number; updatedAt: string } | null;
  /** Why the alias's version could not be loaded (the previous champion keeps serving), else null. */
  loadError: string | null;
}

/** `POST /v1/models/{name}:predict` response. */
export interface PredictResponse {
  predictions: { score: number; label: 0 | 1; request_id: string }[];
  model_name: string;
  model_version: number;
}

/** `POST /v1/models/{name}:labels` response. */
export interface LabelsResponse {
  accepted: number;
  unknown: string[];
  conflicts: { request_id: string; label: 0 | 1; existing: 0 | 1 }[];
}

/** A 4xx/5xx body: `details` lists every problem with the instances or labels sent. */
export interface ErrorResponse {
  error: string;
  details?: ValidationIssue[];
}

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly details?: ValidationIssue[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const MODEL_ROUTE = '/v1/models/:target';
const ALL_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;
/**
 * Records looked up by a name from the request path have no prototype: `:toString` or
 * `:__proto__` must find nothing, not Object.prototype's members.
 */
function lookupTable(entries: Record<string, string>): Record<string, string> {
  return Object.assign(Object.create(null) as Record<string, string>, entries);
}

const VERBS = lookupTable({ predict: 'POST', labels: 'POST' });

/**
 * `{name}` or `{name}:{verb}`, split on the last colon (model names have none). Routing
 * with one parameter per path segment sidesteps find-my-way's treatment of `:` inside a
 * segment, and lets unknown verbs and wrong methods get their own answers.
 */
export function splitTarget(target: string): { name: string; verb: string | undefined } {
  // A loop, not lastIndexOf: V8 runs that in the runtime, ~0.5 µs per request here.
  let i = target.length - 1;
  while (i >= 0 && target.charCodeAt(i) !== 58) i--;
  return i < 0 ? { name: target, verb: undefined } : { name: target.slice(0, i), verb: target.slice(i + 1) };
}

/** A model route's target: the model, the verb, and the route's metrics label. */
interface ModelTarget {
  name: string;
  verb: string | undefined;
  /** The metrics label: the route template, never the raw path. */
  route: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set on the model route by its handler (or the error handler); null elsewhere. */
    modelTarget: ModelTarget | null;
    /** Set when the request has been counted in the metrics: a path that answers twice (a send whose serializer throws goes on to the error handler) counts once. */
    metricsObserved: boolean;
  }
}

/** Metrics labels of the known verbs, built once: the same string each request hashes quickly as a map key. */
const VERB_ROUTES = lookupTable(Object.fromEntries(Object.keys(VERBS).map((v) => [v, `/v1/models/{name}:${v}`])));

const PREDICT_SUFFIX = ':predict';

function modelTarget(target: string): ModelTarget {
  // Predictions first, with the verb as a constant: a verb sliced from the path is a new
  // string each request, and every comparison and lookup of it compares characters.
  if (target.endsWith(PREDICT_SUFFIX)) return { name: target.slice(0, -PREDICT_SUFFIX.length), verb: 'predict', route: VERB_ROUTES.predict };
  const { name, verb } = splitTarget(target);
  const route = verb === undefined ? '/v1/models/{name}' : (VERB_ROUTES[verb] ?? '/v1/models/{name}:{verb}');
  return { name, verb, route };
}

/** The metrics label of a request: its route template, never the raw path. */
function routeLabel(request: FastifyRequest): string {
  return request.modelTarget?.route ?? request.routeOptions.url ?? 'unmatched';
}

/** An HTTP request with the time it reached the server (`performance.now()`). */
type StampedMessage = IncomingMessage & { perennialReceivedAt?: number };

/** The HTTP server's first 'request' listener: a request's latency counts from here. */
function stampArrival(message: StampedMessage): void {
  message.perennialReceivedAt = performance.now();
}

/** Seconds since the request reached the server (since now, for an injected request that never went through it). */
function secondsSince(message: StampedMessage): number {
  const at = message.perennialReceivedAt;
  return at === undefined ? 0 : (performance.now() - at) / 1000;
}

/**
 * The predict response's JSON schema: fastify compiles it (fast-json-stringify) once,
 * several times faster than JSON.stringify on this hot path. Scores are finite (a
 * sigmoid), so `number` never meets NaN here.
 */
const PREDICT_RESPONSE_SCHEMA = {
  type: 'object',
  properties: {
    predictions: {
      type: 'array',
      items: {
        type: 'object',
        properties: { score: { type: 'number' }, label: { type: 'integer' }, request_id: { type: 'string' } },
        required: ['score', 'label', 'request_id'],
      },
    },
    model_name: { type: 'string' },
    model_version: { type: 'integer' },
  },
  required: ['predictions', 'model_name', 'model_version'],
} as const;

const JSON_UTF8 = 'application/json; charset=utf-8';

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** The body as a JSON object with exactly the allowed keys, or a 400. */
function objectBody(body: unknown, key: string): Record<string, unknown> {
  if (body === undefined) throw new HttpError(400, `expected a JSON body {"${key}": [...]} with Content-Type: application/json`);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, `expected a JSON object {"${key}": [...]}, got ${describe(body)}`);
  }
  // Checked without building a key list on the common path: one key, the right one.
  const keys = Object.keys(body);
  if (keys.length === 1 && keys[0] === key) return body as Record<string, unknown>;
  const extra = keys.filter((k) => k !== key);
  if (extra.length) throw new HttpError(400, `unknown top-level field(s) ${extra.map((k) => JSON.stringify(k)).join(', ')}; expected only "${key}"`);
  return body as Record<string, unknown>;
}

/** `body[key]` as a non-empty array of at most `max` items. */
function listOf(body: Record<string, unknown>, key: string, max: number): unknown[] {
  const list = body[key];
  if (list === undefined) throw new HttpError(400, `"${key}" is required`);
  if (!Array.isArray(list)) throw new HttpError(400, `"${key}" must be an array, got ${describe(list)}`);
  if (list.length === 0) throw new HttpError(400, `"${key}" is empty`);
  if (list.length > max) throw new HttpError(413, `too many ${key}: ${list.length} (at most ${max} per request)`);
  return list;
}

function problems(kind: string, issues: ValidationIssue[]): HttpError {
  const rows = new Set(issues.map((i) => i.row)).size;
  return new HttpError(400, `invalid ${kind}: ${issues.length} problem${issues.length === 1 ? '' : 's'} in ${rows} row${rows === 1 ? '' : 's'}`, issues);
}

function validateLabels(labels: unknown[]): { items: LabelInput[]; issues: ValidationIssue[] } {
  const issues: ValidationIssue[] = [];
  const items: LabelInput[] = [];
  labels.forEach((l, row) => {
    if (l === null || typeof l !== 'object' || Array.isArray(l)) {
      issues.push({ row, message: `expected an object {"request_id", "label"}, got ${describe(l)}` });
      return;
    }
    const o = l as Record<string, unknown>;
    const id = o.request_id;
    const label = o.label;
    if (typeof id !== 'string' || id.length === 0 || id.length > 200) {
      issues.push({ row, field: 'request_id', message: id === undefined ? 'is required' : `expected a request id string, got ${describe(id)}` });
    }
    if (label !== 0 && label !== 1) {
      issues.push({ row, field: 'label', message: label === undefined ? 'is required' : `expected 0 or 1, got ${typeof label === 'number' ? label : describe(label)}` });
    }
    for (const k of Object.keys(o)) if (k !== 'request_id' && k !== 'label') issues.push({ row, field: k, message: 'unknown field (expected: request_id, label)' });
    if (typeof id === 'string' && (label === 0 || label === 1)) items.push({ requestId: id, label });
  });
  return { items, issues };
}

/** How much of a refused body is read and discarded so its client hears the answer, in body limits. */
const DRAINED_BODY_FACTOR = 8;

/**
 * The model server: KServe V1 / TF Serving REST conventions over the registry's
 * champions, every prediction logged, delayed labels taken. Loads each model's champion
 * before it returns; call `app.listen({ host, port })` to serve.
 *
 * - `POST /v1/models/{name}:predict` `{instances: [...]}` → `{predictions: [{score, label, request_id}], model_name, model_version}`
 * - `POST /v1/models/{name}:labels` `{labels: [{request_id, label}]}` → `{accepted, unknown, conflicts}`
 * - `GET /v1/models/{name}` → ModelStatus; `GET /v1/models` → `{models: ModelStatus[]}`
 * - `GET /v1/models/{name}/versions/{v}` → the version's lineage and decisions (src/lineage/lineage.ts)
 * - `GET /v1/models/{name}/predictions/{request_id}` → the logged prediction, its features, and its version's lineage
 * - `GET /ui/models/{name}`, `GET /ui/models/{name}/checks/{id}`: the report pages (src/reports)
 * - `GET /healthz`, `GET /metrics` (Prometheus text)
 */
export async function buildModelServer(o: ModelServerOptions): Promise<ModelServer> {
  const maxBodyBytes = o.maxBodyBytes ?? 1024 * 1024;
  const maxInstances = o.maxInstances ?? 1000;
  const maxLabels = o.maxLabels ?? 10_000;
  const livenessMs = o.livenessMs ?? 10_000;
  const log = o.logger;
  const metrics = new ServerMetrics();
  // The champions' artifacts, when they live in a bucket, are cached in this server's own home.
  cacheArtifactsIn(o.home);
  const predictionLog = await openPredictionSink(o, {
    flushMs: o.flushMs,
    flushRows: o.flushRows,
    maxPending: o.logMaxPending,
    onError: (err) => log?.error({ err }, 'prediction log write failed; retrying'),
  });
  const scoring = new ScoringThread((err) => log?.error({ err }, 'scoring thread'));
  // Models of other formats (ONNX) are scored through their Scorer, a turn's jobs at once.
  const batches = new ScorerBatches();
  // Each champion goes to the scoring thread as it loads, so its first large jobs are scored there too.
  let presence: ServerPresence | undefined;
  const champions = new Champions({
    home: o.home,
    registryUrl: o.registryUrl,
    pollMs: o.pollMs,
    logger: log?.child({ component: 'champions' }),
    onLoaded: (c) => c.artifact.gbdt && scoring.prepare(c.artifact.gbdt),
    onRefreshed: () => presence?.changed(),
  });
  presence = new ServerPresence(champions.registry, champions, o.url ?? '', o.heartbeatMs ?? 2_000, log?.child({ component: 'presence' }));
  try {
    await champions.start();
    await presence.start();
  } catch (err) {
    await presence.stop();
    await champions.stop();
    await scoring.close();
    await predictionLog.close();
    throw err;
  }

  const httpLog = log?.child({ component: 'http' });
  /** Rows admitted to scoring and not yet appended to the prediction log. */
  let rowsBeingScored = 0;
  const app = Fastify({
    // No per-request logger: a pino child per request costs more than scoring a row.
    // Failures are logged by the error handler below.
    logger: false,
    bodyLimit: maxBodyBytes,
    // A client that sends half a body and waits holds a connection no longer than this.
    requestTimeout: o.requestTimeoutMs ?? 30_000,
    connectionTimeout: (o.requestTimeoutMs ?? 30_000) * 2,
    keepAliveTimeout: 5_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  }) as unknown as FastifyInstance;
  // Node enforces the longer of the two on a body still arriving; Fastify leaves headers at 60 s.
  app.server.headersTimeout = Math.min(app.server.headersTimeout, o.requestTimeoutMs ?? 30_000);

  // JSON only, parsed by JSON.parse so a syntax error names its position; `1e999` becomes
  // Infinity and is rejected by validation. Other media types are 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: maxBodyBytes }, (req, body, done) => {
    // Bytes this server would not decode are refused, never read as if they were plain UTF-8.
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      return done(new HttpError(415, `content-encoding ${JSON.stringify(encoding.slice(0, 40))} is not supported: send the JSON body uncompressed`), undefined);
    }
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1];
    if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
      return done(new HttpError(415, `charset ${JSON.stringify(charset.slice(0, 40))} is not supported: send UTF-8 JSON`), undefined);
    }
    const text = body as string;
    if (text.trim().length === 0) return done(new HttpError(400, 'empty body: expected a JSON object'), undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(new HttpError(400, `malformed JSON: ${(err as Error).message}`), undefined);
    }
  });

  /**
   * Why a model route request is refused (unknown verb 404, wrong method 405, unknown model
   * 404), or undefined to go on. Decided in the handler, and in the error handler when the
   * body could not be read (malformed, too large, not JSON): the refusal wins there too, as
   * if it had been decided before the body — without a hook on every request.
   */
  const refuse = ({ name, verb }: ModelTarget, method: string): { status: number; error: string; headers: Record<string, string> } | undefined => {
    const allowed = verb === undefined ? 'GET' : VERBS[verb];
    if (allowed === undefined) return { status: 404, error: `unknown verb ":${verb}" (known: ${Object.keys(VERBS).map((v) => `:${v}`).join(', ')})`, headers: {} };
    if (method !== allowed && !(allowed === 'GET' && method === 'HEAD')) {
      const allow = allowed === 'GET' ? 'GET, HEAD' : allowed;
      return { status: 405, error: `method ${method} not allowed (allowed: ${allow})`, headers: { allow } };
    }
    if (!champions.isKnown(name)) return { status: 404, error: `model ${JSON.stringify(name)} not found`, headers: {} };
    return undefined;
  };

  /** The model route's `{name}:{verb}`, split once per request. */
  const targetOf = (request: FastifyRequest): ModelTarget => (request.modelTarget ??= modelTarget((request.params as { target: string }).target));
  const sendRefusal = (reply: FastifyReply, r: NonNullable<ReturnType<typeof refuse>>) => {
    drainRefusedBody(reply.request, reply, DRAINED_BODY_FACTOR * maxBodyBytes);
    return reply.code(r.status).headers(r.headers).send({ error: r.error });
  };

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; details?: ValidationIssue[]; headers?: Record<string, string> }, request, reply) => {
    if (request.routeOptions.url === MODEL_ROUTE) {
      const refusal = refuse(targetOf(request), request.method);
      if (refusal) {
        sendRefusal(reply, refusal);
        observe(request, reply);
        return;
      }
    }
    drainRefusedBody(request, reply, DRAINED_BODY_FACTOR * maxBodyBytes);
    let status = err.statusCode ?? 500;
    let message = err.message;
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') message = `request body over the limit of ${maxBodyBytes} bytes`;
    else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') message = `unsupported Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')}: expected application/json`;
    if (status < 400 || status > 599) status = 500;
    if (status >= 500 && !(err instanceof HttpError)) {
      httpLog?.error({ err, method: request.method, url: request.url }, 'request failed');
      message = 'internal server error';
    }
    if (err instanceof HttpError) for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
    const body: ErrorResponse = err.details ? { error: message, details: err.details } : { error: message };
    reply.code(status).send(body);
    if (observedByHand(request)) observe(request, reply);
  });

  app.setNotFoundHandler((request, reply) => {
    drainRefusedBody(request, reply, DRAINED_BODY_FACTOR * maxBodyBytes);
    reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` });
    observe(request, reply);
  });

  app.decorateRequest('modelTarget', null);
  app.decorateRequest('metricsObserved', false);

  /*
   * Request metrics. The model route and unmatched requests are observed where they are
   * answered, right after reply.send (which writes the response before it returns); the
   * other routes by an onResponse hook of their own. Not one global hook: an onResponse
   * hook on the model route makes fastify listen for every response's 'finish' event:
   * 4–7 µs of a batch-1 prediction's ~135 µs of CPU, measured on this machine. Requests
   * in the 404 context come to the error handler with no route url. Latency counts from
   * the request reaching the HTTP server.
   */
  app.server.prependListener('request', stampArrival);
  const observe = (request: FastifyRequest, reply: FastifyReply): void => {
    if (request.metricsObserved) return;
    request.metricsObserved = true;
    metrics.requestSeries(routeLabel(request), request.method).observe(reply.statusCode, secondsSince(request.raw));
  };
  /** Route options for the routes observed by hook. */
  const observedByHook = {
    onResponse: (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      observe(request, reply);
      done();
    },
  };
  /** Whether the error handler's request is one no hook observes. */
  const observedByHand = (request: FastifyRequest): boolean => request.routeOptions.url === MODEL_ROUTE || request.routeOptions.url === undefined;

  const methodNotAllowed = (allow: string) => async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.code(405).header('allow', allow).send({ error: `method not allowed (allowed: ${allow})` });

  app.get('/healthz', observedByHook, async () => ({ status: 'ok' }));
  app.route({ method: ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'], url: '/healthz', ...observedByHook, handler: methodNotAllowed('GET, HEAD') });

  app.get('/metrics', observedByHook, async (_request, reply) => {
    const states = champions.all();
    const text = await metrics.render({
      served: states.map((s) => ({ labels: { model: s.model }, value: s.champion?.version ?? 0 })),
      ready: states.map((s) => ({ labels: { model: s.model }, value: s.champion ? 1 : 0 })),
      pendingLogRows: predictionLog.pending,
      scoredRows: { thread: scoring.stats.rowsOnThread, request: scoring.stats.rowsHere },
      monitoring: await champions.registry.latestMonitoring(),
    });
    return reply.type(PROMETHEUS_CONTENT_TYPE).send(text);
  });
  app.route({ method: ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'], url: '/metrics', ...observedByHook, handler: methodNotAllowed('GET, HEAD') });

  const status = (s: ChampionState): ModelStatus => ({
    name: s.model,
    ready: s.champion !== null,
    champion: s.champion
      ? {
          version: s.champion.version,
          since: s.champion.since,
          loadedAt: s.champion.loadedAt,
          artifactSha256: s.champion.registered.artifactSha256,
          lineage: s.champion.registered.lineage,
        }
      : null,
    alias: s.alias,
    loadError: s.loadError,
  });

  app.get('/v1/models', observedByHook, async () => ({ models: champions.all().map(status) }));

  app.get('/v1/models/:name/versions/:version', observedByHook, async (request, reply) => {
    const { name, version } = request.params as { name: string; version: string };
    const m = /^v?(\d{1,9})$/.exec(version);
    if (!m) return reply.code(400).send({ error: `malformed version ${JSON.stringify(version.slice(0, 40))}: expected a number such as 3` });
    const lineage = await versionOf(champions.registry, name, Number(m[1]));
    if (!lineage) return reply.code(404).send({ error: `${JSON.stringify(name)} has no version ${m[1]}` });
    return lineage;
  });
  app.get('/v1/models/:name/predictions/:requestId', observedByHook, async (request, reply) => {
    const { name, requestId } = request.params as { name: string; requestId: string };
    // Behind every prediction already answered (the writer thread's order): an id just returned is found.
    const r = await explainRequest(champions.registry, name, requestId, (id) => predictionLog.find(id));
    if (!r.ok) return reply.code(r.code === 'bad_input' ? 400 : 404).send({ error: r.message });
    return r.explanation;
  });
  registerReportPages(app, champions.registry, observedByHook);
  for (const url of ['/v1/models/:name/versions/:version', '/v1/models/:name/predictions/:requestId']) {
    app.route({ method: ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'], url, ...observedByHook, handler: methodNotAllowed('GET, HEAD') });
  }
  app.route({ method: ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'], url: '/v1/models', ...observedByHook, handler: methodNotAllowed('GET, HEAD') });

  app.route({
    method: [...ALL_METHODS],
    url: MODEL_ROUTE,
    // Synchronous: a throw goes to the error handler all the same, and no promise is made
    // and awaited per request. Every path calls reply.send and returns nothing.
    handler: (request, reply) => {
      const target = targetOf(request);
      const refusal = refuse(target, request.method);
      if (refusal) {
        sendRefusal(reply, refusal);
        observe(request, reply);
        return;
      }
      const { name, verb } = target;
      if (verb === undefined) {
        reply.send(status(champions.state(name)!));
        observe(request, reply);
        return;
      }
      if (verb === 'labels') {
        const { items, issues } = validateLabels(listOf(objectBody(request.body, 'labels'), 'labels', maxLabels));
        if (issues.length) throw problems('labels', issues);
        // Answered when the writer thread has applied them: after every prediction logged before.
        predictionLog.applyLabels(name, items).then(
          (r) => {
            const body: LabelsResponse = {
              accepted: r.accepted,
              unknown: r.unknown,
              conflicts: r.conflicts.map((c) => ({ request_id: c.requestId, label: c.label, existing: c.existing })),
            };
            reply.send(body);
            observe(request, reply);
          },
          // Answered (and observed) by the error handler.
          (err: Error) => reply.send(new HttpError(503, `labels not recorded: ${err.message}`, undefined, { 'retry-after': '1' })),
        );
        return;
      }
      // :predict. One champion for the whole request, even if a promotion lands meanwhile.
      const champion = champions.get(name);
      if (!champion) {
        const s = champions.state(name);
        const why = s?.loadError ? ` (${s.loadError})` : '';
        throw new HttpError(503, `model ${JSON.stringify(name)} has no champion loaded yet${why}`, undefined, { 'retry-after': '1' });
      }
      const instances = listOf(objectBody(request.body, 'instances'), 'instances', maxInstances);
      const issues = validateInstances(instances, { inputs: champion.artifact.pipeline.inputs, target: champion.artifact.pipeline.target.column });
      if (issues.length) throw problems('instances', issues);
      // Rows being scored count against the log's limit too: they are logged once scored.
      if (!predictionLog.canAccept(rowsBeingScored + instances.length)) {
        throw new HttpError(503, 'the prediction log is not keeping up; try again shortly', undefined, { 'retry-after': '1' });
      }
      // A server the registry has not heard from is out of the deploys' count: it may be serving a replaced version.
      if (presence.silentFor() > livenessMs) {
        throw new HttpError(503, `this server has not reached the registry for ${Math.round(presence.silentFor() / 1000)} s: it may serve a replaced version; try another server`, undefined, { 'retry-after': '1' });
      }
      const { artifact } = champion;
      rowsBeingScored += instances.length;
      // The built-in GBDT on the scoring threads; any other format through its Scorer.
      const { gbdt } = artifact;
      const score = (rows: number, width: number, fill: FillFeatures, done: ScoredCallback) =>
        gbdt ? scoring.score(gbdt, rows, width, fill, done) : batches.score(artifact.scorer, rows, width, fill, done);
      score(
        instances.length,
        champion.featureNames.length,
        (out, offset, row) => artifact.computeFeatures(instances[row] as Record<string, unknown>, out, offset),
        (error, scored) => {
          rowsBeingScored -= instances.length;
          try {
            if (error || !scored) throw error ?? new Error('no scores');
            const now = Date.now();
            const predictions: PredictResponse['predictions'] = [];
            let written: Promise<void> = Promise.resolve();
            for (let row = 0; row < scored.rows; row++) {
              const score = scored.score(row);
              const requestId = uuidv7(now);
              const instance = instances[row] as Record<string, unknown>;
              // Rows of one request go to the log in order, so the last one's commit covers them all.
              written = predictionLog.append({ requestId, atMs: now, model: name, modelVersion: champion.version, columns: champion.inputColumns, instance, features: scored.features(row), score });
              predictions.push({ score, label: predictedLabel(score), request_id: requestId });
            }
            const body: PredictResponse = { predictions, model_name: name, model_version: champion.version };
            // A 200 only once every prediction in it is committed to the log: an answer is never lost.
            written.then(
              () => {
                metrics.countPredictions(name, champion.version, scored.rows);
                // compileSerializationSchema compiles once per route and then answers from its cache.
                reply.header('content-type', JSON_UTF8).serializer(reply.compileSerializationSchema(PREDICT_RESPONSE_SCHEMA)).send(body);
                observe(request, reply);
              },
              (err: unknown) => reply.send(new HttpError(503, `the prediction could not be logged: ${(err as Error).message}`, undefined, { 'retry-after': '1' })),
            );
          } catch (err) {
            // Answered (and observed) by the error handler.
            reply.send(err);
          }
        },
      );
    },
  });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      try {
        // Out of the registry first: a deploy under way stops waiting for this server.
        await presence.stop();
        await app.close();
      } finally {
        await scoring.close();
        await champions.stop();
        await predictionLog.close();
      }
    })());

  return { app, champions, predictionLog, scoring, metrics, presence, close };
}
