/**
 * The model server as a user meets it: a real `scripts/serve.ts` process (in a non-UTC
 * time zone) over HTTP on 127.0.0.1, real SQLite, real model versions trained on small
 * data by the library's training steps. Tests run in order and share one server: the
 * state each leaves (champions, logged predictions) is what the next one starts from.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import Database from 'better-sqlite3';
import { readJsonArtifact } from '../../src/artifacts/read';
import { featureRow } from '../../src/features/pipeline';
import { ModelArtifact } from '../../src/ml/modelArtifact';
import { openRegistry } from '../../src/registry/open';
import { parsePrometheusText } from '../helpers/prometheusText';
import { PredictionLog } from '../../src/serving/predictionLog';
import { splitTarget } from '../../src/serving/app';
import { waitUntilServing, type ModelStatus } from '../../src/serving/client';
import { validateInstances } from '../../src/serving/validateInstances';
import { freePort } from '../../src/util/net';
import { churnSpec, smallFlightsSpec, writeChurnCsv } from '../helpers/specs';
import { killServer, startServerProcess, trainVersions, windowRows, type ServerProcess, type TrainedVersion } from './fixtures';

const FLIGHTS = 'flight-delays';
const CHURN = 'customer-churn';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let home: string;
let flights: TrainedVersion[];
const artifacts = new Map<string, ModelArtifact>();
let server: ServerProcess | undefined;
let holdout: Record<string, unknown>[];
/** Request ids returned by the predict test, with the instances they scored. */
const served: { requestId: string; instance: Record<string, unknown>; score: number }[] = [];

async function artifactOf(v: TrainedVersion): Promise<ModelArtifact> {
  const key = `${v.version.model}/${v.version.version}`;
  let a = artifacts.get(key);
  if (!a) {
    a = ModelArtifact.fromJSON(await readJsonArtifact(v.version.artifactUri));
    artifacts.set(key, a);
  }
  return a;
}

async function setChampion(model: string, version: number): Promise<void> {
  const registry = openRegistry({ home });
  try {
    await registry.setAlias(model, 'champion', version);
  } finally {
    await registry.close();
  }
}

interface Response<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

async function request<T = any>(method: string, urlPath: string, body?: unknown, o: { raw?: string; contentType?: string | null } = {}): Promise<Response<T>> {
  const headers: Record<string, string> = {};
  const contentType = o.contentType === undefined ? 'application/json' : o.contentType;
  const payload = o.raw ?? (body === undefined ? undefined : JSON.stringify(body));
  if (payload !== undefined && contentType !== null) headers['content-type'] = contentType;
  const res = payload !== undefined && payload.length > EARLY_ANSWER_BYTES ? await answeredEarly(method, urlPath, headers, payload) : await fetch(`${server!.url}${urlPath}`, { method, headers, body: payload });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').startsWith('application/json')) parsed = JSON.parse(text);
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** Bodies past the server's limit may be answered (413, 404) and the connection closed before they are all sent. */
const EARLY_ANSWER_BYTES = 512 * 1024;

/**
 * Sends a large body with node:http, which keeps the answer that arrives before the server
 * closes the connection on the rest of the upload; fetch throws it away (EPIPE) when the
 * close wins the race with the last write.
 */
function answeredEarly(method: string, urlPath: string, headers: Record<string, string>, payload: string): Promise<globalThis.Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${server!.url}${urlPath}`, { method, headers: { ...headers, 'content-length': String(Buffer.byteLength(payload)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const answer = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') answer.set(k, v);
        resolve(new Response(Buffer.concat(chunks), { status: res.statusCode, headers: answer }));
      });
      res.on('error', reject);
    });
    // A write that fails after the answer came is the early close; without an answer it is a failure.
    req.on('error', (err) => setTimeout(() => reject(err), 1000));
    req.end(payload);
  });
}

const predict = (model: string, instances: unknown) => request('POST', `/v1/models/${model}:predict`, { instances });

/** A raw flights row as a client sends it: the input columns without the target, the date as ISO 8601. */
function flightInstance(row: Record<string, unknown>, style: 'Z' | 'noZone' | 'offset' | 'epoch' = 'Z'): Record<string, unknown> {
  const ms = row.date as number;
  const iso = new Date(ms).toISOString();
  let date: string | number;
  if (style === 'Z') date = iso;
  else if (style === 'noZone') date = iso.slice(0, 19); // no zone: UTC, whatever the server's time zone
  else if (style === 'epoch') date = ms;
  else date = `${new Date(ms + 5.5 * 3_600_000).toISOString().slice(0, 19)}+05:30`; // the same instant in IST
  return { date, distance: row.distance, origin: row.origin, destination: row.destination };
}

function logDb(): Database.Database {
  return new Database(path.join(home, 'predictions.sqlite'), { readonly: true, fileMustExist: true });
}

function loggedCount(): number {
  const db = logDb();
  try {
    return (db.prepare('SELECT count(*) AS n FROM predictions').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** Waits until every id is in the prediction log (batched writes land within flushMs). */
async function waitLogged(ids: string[], timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const db = logDb();
    let missing: number;
    try {
      const stmt = db.prepare('SELECT 1 FROM predictions WHERE request_id = ?');
      missing = ids.filter((id) => !stmt.get(id)).length;
    } finally {
      db.close();
    }
    if (missing === 0) return;
    if (Date.now() > deadline) assert.fail(`${missing} of ${ids.length} predictions are not in the log after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startServer(): Promise<ServerProcess> {
  return startServerProcess({ PERENNIAL_HOME: home, TZ: 'Asia/Kolkata', LOG_LEVEL: 'warn' }, await freePort());
}

before(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), 'perennial-serving-'));
  const flightsSpec = smallFlightsSpec();
  flights = await trainVersions(home, flightsSpec, [
    { rounds: 20, maxDepth: 4 },
    { rounds: 8, maxDepth: 3 },
  ]);
  const csv = path.join(home, 'churn.csv');
  writeChurnCsv(csv);
  await trainVersions(home, churnSpec(csv), [{ rounds: 10, maxDepth: 3 }]);
  holdout = await windowRows(flightsSpec, flights[0].snapshotUri, 'holdout');
  await setChampion(FLIGHTS, 1); // customer-churn has versions but no champion yet
  server = await startServer();
});

after(async () => {
  await killServer(server);
  if (home) rmSync(home, { recursive: true, force: true });
});

/** Polls `done` until it holds; fails naming `what` after `timeoutMs`. */
async function waitFor(done: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One unlabelled sample of the model server's /metrics. */
async function metricValue(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : NaN;
}

describe('model server (child process, TZ=Asia/Kolkata)', () => {
  test('health, model status, 404 for an unknown model, 503 before a champion', async () => {
    const health = await request('GET', '/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(health.body, { status: 'ok' });

    const status = await request<ModelStatus>('GET', `/v1/models/${FLIGHTS}`);
    assert.equal(status.status, 200);
    assert.equal(status.body.name, FLIGHTS);
    assert.equal(status.body.ready, true);
    assert.equal(status.body.champion?.version, 1);
    assert.deepEqual(status.body.champion?.lineage, flights[0].version.lineage);
    assert.equal(status.body.champion?.artifactSha256, flights[0].version.artifactSha256);
    assert.equal(typeof status.body.champion?.since, 'string');
    assert.equal(status.body.loadError, null);

    for (const [method, p] of [['GET', '/v1/models/no-such-model'], ['POST', '/v1/models/no-such-model:predict']] as const) {
      const r = await request(method, p, method === 'POST' ? { instances: [{}] } : undefined);
      assert.equal(r.status, 404, `${method} ${p}`);
      assert.match(r.body.error, /no-such-model/);
    }

    const noChampion = await request<ModelStatus>('GET', `/v1/models/${CHURN}`);
    assert.equal(noChampion.status, 200);
    assert.equal(noChampion.body.ready, false);
    assert.equal(noChampion.body.champion, null);
    const unavailable = await predict(CHURN, [{ signup_at: '2024-02-20T10:00:00Z', monthly_spend: 10, channel: 'web', region: 'north' }]);
    assert.equal(unavailable.status, 503);
    assert.match(unavailable.body.error, /no champion/);
    assert.equal(unavailable.headers.get('retry-after'), '1');

    // A model whose first training has only begun (its run numbered, nothing registered
    // yet) is known: 503 until a champion serves, not 404.
    const registry = openRegistry({ home });
    try {
      await registry.next('fraud-scores', 'training-run');
    } finally {
      await registry.close();
    }
    let training = await predict('fraud-scores', [{ amount: 1 }]);
    for (const deadline = Date.now() + 10_000; training.status === 404 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 100));
      training = await predict('fraud-scores', [{ amount: 1 }]);
    }
    assert.equal(training.status, 503);
    assert.match(training.body.error, /model "fraud-scores" has no champion loaded yet/);

    const list = await request<{ models: ModelStatus[] }>('GET', '/v1/models');
    assert.deepEqual(list.body.models.map((m) => [m.name, m.ready]).sort(), [[CHURN, false], [FLIGHTS, true], ['fraud-scores', false]]);
  });

  test('scores over HTTP equal the training path exactly on 1,200 holdout rows, unseen routes included', async () => {
    const artifact = await artifactOf(flights[0]);
    const step = Math.floor(holdout.length / 1200);
    const styles = ['Z', 'noZone', 'offset', 'epoch'] as const;
    const instances: Record<string, unknown>[] = [];
    const columns: Record<'date' | 'distance' | 'origin' | 'destination', unknown[]> = { date: [], distance: [], origin: [], destination: [] };
    for (let k = 0; k < 1200; k++) {
      const row = holdout[k * step];
      const instance = flightInstance(row, styles[k % styles.length]);
      if (k % 10 === 3) instance.origin = 'ZZZ'; // an airport the training window never saw
      if (k % 10 === 7) [instance.origin, instance.destination] = [instance.destination, 'QQQ']; // an unseen route
      instances.push(instance);
      // The row as training and evaluation read a snapshot: by column, the time as epoch
      // milliseconds (independent of any time zone).
      columns.date.push(row.date);
      columns.distance.push(instance.distance);
      columns.origin.push(instance.origin);
      columns.destination.push(instance.destination);
    }
    // Expected from the training path (a feature matrix by column, then the whole forest
    // over it, as evaluation scores a holdout), not from the server's row-at-a-time path.
    const expected = Array.from(await artifact.predictColumns({ nRows: instances.length, columns }));
    assert.deepEqual(expected.slice(0, 50), instances.slice(0, 50).map((instance, k) => artifact.predictRow({ ...instance, date: columns.date[k] })), 'both paths of the artifact agree');
    const unseen = instances.filter((i) => i.origin === 'ZZZ' || i.destination === 'QQQ').length;
    assert.ok(unseen >= 200, `${unseen} unseen routes`);
    assert.ok(new Set(expected).size > 50, 'the model separates rows');

    for (let start = 0; start < instances.length; start += 400) {
      const batch = instances.slice(start, start + 400);
      const r = await predict(FLIGHTS, batch);
      assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 500));
      assert.equal(r.body.model_version, 1);
      assert.equal(r.body.model_name, FLIGHTS);
      assert.equal(r.body.predictions.length, batch.length);
      r.body.predictions.forEach((p: { score: number; label: number; request_id: string }, i: number) => {
        const want = expected[start + i];
        assert.equal(p.score, want, `row ${start + i}: ${JSON.stringify(batch[i])}`);
        assert.equal(p.label, want >= 0.5 ? 1 : 0);
        assert.match(p.request_id, UUID);
        served.push({ requestId: p.request_id, instance: batch[i], score: p.score });
      });
    }
    assert.equal(new Set(served.map((s) => s.requestId)).size, 1200, 'a fresh request id per instance');
    // Scored on the scoring thread (the champion went there as it loaded): at the least every
    // batch after the first, whatever the machine's speed.
    const metricsText = await (await fetch(`${server!.url}/metrics`)).text();
    const scoredOn = (thread: string) => Number(new RegExp(`^perennial_scored_rows_total\\{thread="${thread}"\\} (\\d+)$`, 'm').exec(metricsText)?.[1]);
    assert.equal(scoredOn('scoring') + scoredOn('request'), 1200, metricsText);
    assert.ok(scoredOn('scoring') >= 800, `${scoredOn('scoring')} of 1200 rows scored on the scoring thread`);

    // Every prediction is in the log with its version, raw instance, features and score.
    await waitLogged(served.map((s) => s.requestId));
    const db = logDb();
    try {
      const stmt = db.prepare('SELECT * FROM predictions WHERE request_id = ?');
      for (const s of served.filter((_, i) => i % 97 === 0 || i === 3)) {
        const row = stmt.get(s.requestId) as Record<string, unknown>;
        assert.equal(row.model, FLIGHTS);
        assert.equal(row.model_version, 1);
        assert.equal(row.score, s.score);
        assert.deepEqual(JSON.parse(row.instance as string), s.instance);
        const features = Array.from(featureRow(artifact.pipeline, s.instance), (v) => (Number.isNaN(v) ? null : v));
        // Stored as little-endian float64s (NaN for missing), read here without the log's decoder.
        const blob = row.features as Buffer;
        assert.ok(Buffer.isBuffer(blob), 'features are a BLOB');
        assert.deepEqual(Array.from({ length: blob.length / 8 }, (_, k) => blob.readDoubleLE(8 * k)).map((v) => (Number.isNaN(v) ? null : v)), features);
        assert.equal(row.label, null);
        assert.equal(row.labeled_at, null);
        assert.ok(Math.abs(Date.parse(row.at as string) - Date.now()) < 120_000);
      }
      const ids = (db.prepare('SELECT id FROM predictions ORDER BY id').all() as { id: number }[]).map((r) => r.id);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
      assert.equal(ids.length, 1200);
    } finally {
      db.close();
    }
  });

  test('47 kinds of bad request get the right 4xx naming the problem, and none is logged', async () => {
    await setChampion(CHURN, 1);
    assert.equal((await waitUntilServing(server!.url, CHURN, 1, { timeoutMs: 10_000 })).serving, true);
    const before = loggedCount();
    const ok = flightInstance(holdout[0]);
    const okChurn = { signup_at: '2024-02-20 10:00:00', monthly_spend: 12.5, channel: 'web', region: 'north' };
    const withFlight = (patch: Record<string, unknown>, drop: string[] = []) => {
      const i: Record<string, unknown> = { ...ok, ...patch };
      for (const d of drop) delete i[d];
      return i;
    };
    const predictPath = `/v1/models/${FLIGHTS}:predict`;
    const rawInstance = (distance: string) => `{"instances":[{"date":"2001-01-04T10:00:00Z","distance":${distance},"origin":"LAS","destination":"ATL"}]}`;

    interface Case {
      name: string;
      method?: string;
      path?: string;
      body?: unknown;
      raw?: string;
      contentType?: string | null;
      status: number;
      error?: RegExp;
      details?: { row: number; field?: string; message?: RegExp }[];
    }
    const cases: Case[] = [
      { name: 'missing field', body: { instances: [withFlight({}, ['distance'])] }, status: 400, details: [{ row: 0, field: 'distance', message: /required/ }] },
      { name: 'unknown field', body: { instances: [withFlight({ carrier: 'AA' })] }, status: 400, details: [{ row: 0, field: 'carrier', message: /unknown field/ }] },
      { name: 'target column sent', body: { instances: [withFlight({ delay: 20 })] }, status: 400, details: [{ row: 0, field: 'delay', message: /target/ }] },
      { name: 'number as a string', body: { instances: [withFlight({ distance: '500' })] }, status: 400, details: [{ row: 0, field: 'distance', message: /expected a number, got string/ }] },
      { name: 'NaN as a string', body: { instances: [withFlight({ distance: 'NaN' })] }, status: 400, details: [{ row: 0, field: 'distance', message: /got string/ }] },
      { name: 'NaN literal (bad JSON)', raw: rawInstance('NaN'), status: 400, error: /malformed JSON/ },
      { name: '1e999 (Infinity)', raw: rawInstance('1e999'), status: 400, details: [{ row: 0, field: 'distance', message: /finite/ }] },
      { name: '-1e999', raw: rawInstance('-1e999'), status: 400, details: [{ row: 0, field: 'distance', message: /finite/ }] },
      { name: 'null in a non-nullable column', body: { instances: [withFlight({ distance: null })] }, status: 400, details: [{ row: 0, field: 'distance', message: /not nullable/ }] },
      { name: 'below min', body: { instances: [withFlight({ distance: -5 })] }, status: 400, details: [{ row: 0, field: 'distance', message: /minimum 0/ }] },
      { name: 'above max', body: { instances: [withFlight({ distance: 7000 })] }, status: 400, details: [{ row: 0, field: 'distance', message: /maximum 6000/ }] },
      { name: 'boolean for a number', body: { instances: [withFlight({ distance: true })] }, status: 400, details: [{ row: 0, field: 'distance', message: /got boolean/ }] },
      { name: 'unparseable timestamp', body: { instances: [withFlight({ date: 'yesterday' })] }, status: 400, details: [{ row: 0, field: 'date', message: /ISO-8601/ }] },
      { name: 'impossible date', body: { instances: [withFlight({ date: '2001-02-30T10:00:00Z' })] }, status: 400, details: [{ row: 0, field: 'date', message: /calendar date/ }] },
      { name: 'impossible time', body: { instances: [withFlight({ date: '2001-01-04T24:00:00Z' })] }, status: 400, details: [{ row: 0, field: 'date', message: /time of day/ }] },
      { name: 'timestamp as an object', body: { instances: [withFlight({ date: {} })] }, status: 400, details: [{ row: 0, field: 'date', message: /got an object/ }] },
      { name: 'timestamp null', body: { instances: [withFlight({ date: null })] }, status: 400, details: [{ row: 0, field: 'date', message: /not nullable/ }] },
      { name: 'string column as a number', body: { instances: [withFlight({ origin: 123 })] }, status: 400, details: [{ row: 0, field: 'origin', message: /expected a string/ }] },
      { name: 'string column as an array', body: { instances: [withFlight({ destination: ['ATL'] })] }, status: 400, details: [{ row: 0, field: 'destination', message: /got an array/ }] },
      { name: 'instance not an object', body: { instances: ['LAS-ATL'] }, status: 400, details: [{ row: 0, message: /expected an object/ }] },
      { name: 'instance null', body: { instances: [ok, null] }, status: 400, details: [{ row: 1, message: /got null/ }] },
      {
        name: 'every problem of every row, valid rows beside them not logged',
        body: { instances: [ok, withFlight({ distance: '9' }), withFlight({ origin: 1, extra: 2 }, ['date'])] },
        status: 400,
        details: [{ row: 1, field: 'distance' }, { row: 2, field: 'date' }, { row: 2, field: 'origin' }, { row: 2, field: 'extra' }],
      },
      { name: 'instances not an array', body: { instances: ok }, status: 400, error: /must be an array/ },
      { name: 'instances missing', body: { inputs: [ok] }, status: 400, error: /unknown top-level field/ },
      { name: 'instances missing (empty object)', body: {}, status: 400, error: /"instances" is required/ },
      { name: 'empty instances', body: { instances: [] }, status: 400, error: /empty/ },
      { name: 'body is an array', body: [ok], status: 400, error: /expected a JSON object/ },
      { name: 'body is JSON null', raw: 'null', status: 400, error: /got null/ },
      { name: 'malformed JSON', raw: '{"instances": [', status: 400, error: /malformed JSON/ },
      { name: 'empty body with a JSON content type', raw: '', status: 400, error: /empty body|expected a JSON body/ },
      { name: 'no body at all', contentType: null, status: 400, error: /expected a JSON body/ },
      { name: 'not JSON (text/plain)', raw: 'distance=5', contentType: 'text/plain', status: 415, error: /application\/json/ },
      { name: 'body over 1 MiB', body: { instances: [withFlight({ origin: 'x'.repeat(1_100_000) })] }, status: 413, error: /limit/ },
      { name: 'too many instances', body: { instances: Array.from({ length: 1001 }, () => ok) }, status: 413, error: /too many instances: 1001/ },
      { name: 'unknown model', path: '/v1/models/nope:predict', body: { instances: [ok] }, status: 404, error: /not found/ },
      { name: 'unknown verb', path: `/v1/models/${FLIGHTS}:explain`, body: { instances: [ok] }, status: 404, error: /unknown verb/ },
      // A refusal wins over a body that cannot be read: the request was wrong before its body.
      { name: 'unknown model, malformed JSON', path: '/v1/models/nope:predict', raw: '{"instances": [', status: 404, error: /not found/ },
      { name: 'unknown verb, body over 1 MiB', path: `/v1/models/${FLIGHTS}:explain`, body: { instances: [withFlight({ origin: 'x'.repeat(1_100_000) })] }, status: 404, error: /unknown verb/ },
      { name: 'PUT on :predict, not JSON', method: 'PUT', raw: 'distance=5', contentType: 'text/plain', status: 405, error: /not allowed/ },
      { name: 'GET on :predict', method: 'GET', status: 405, error: /not allowed/ },
      { name: 'PUT on a model', method: 'PUT', path: `/v1/models/${FLIGHTS}`, body: { instances: [ok] }, status: 405, error: /not allowed/ },
      { name: 'POST on /healthz', method: 'POST', path: '/healthz', body: {}, status: 405 },
      { name: 'unknown path', method: 'GET', path: '/v2/models/x/infer', status: 404 },
      { name: '__proto__ field', raw: `{"instances":[{"date":"2001-01-04","distance":5,"origin":"LAS","destination":"ATL","__proto__":{"x":1}}]}`, status: 400, details: [{ row: 0, field: '__proto__' }] },
      { name: 'category outside the declared domain', path: `/v1/models/${CHURN}:predict`, body: { instances: [{ ...okChurn, channel: 'fax' }] }, status: 400, details: [{ row: 0, field: 'channel', message: /categories/ }] },
      { name: 'churn: below min and wrong types', path: `/v1/models/${CHURN}:predict`, body: { instances: [okChurn, { ...okChurn, monthly_spend: -1, region: 5, signup_at: 'soon' }] }, status: 400, details: [{ row: 1, field: 'signup_at' }, { row: 1, field: 'monthly_spend' }, { row: 1, field: 'region' }] },
      { name: 'labels: bad items', path: `/v1/models/${FLIGHTS}:labels`, body: { labels: [{ request_id: 'x', label: 2 }, { label: 1 }] }, status: 400, details: [{ row: 0, field: 'label' }, { row: 1, field: 'request_id' }] },
    ];
    assert.equal(cases.length, 47);
    for (const c of cases) {
      const r = await request(c.method ?? 'POST', c.path ?? predictPath, c.body, { raw: c.raw, contentType: c.contentType });
      const where = `${c.name}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`;
      assert.equal(r.status, c.status, where);
      assert.equal(typeof r.body.error, 'string', where);
      if (c.error) assert.match(r.body.error, c.error, where);
      if (r.status === 405) assert.ok(r.headers.get('allow'), `${where}: an Allow header`);
      if (c.details) {
        assert.ok(Array.isArray(r.body.details), where);
        assert.equal(r.body.details.length, c.details.length, where);
        c.details.forEach((d, i) => {
          const got = r.body.details[i];
          assert.equal(got.row, d.row, where);
          assert.equal(got.field, d.field, where);
          if (d.message) assert.match(got.message, d.message, where);
        });
      }
    }
    // The server is still healthy, and after more than a flush interval nothing new is in the log.
    assert.equal((await predict(FLIGHTS, [ok])).status, 200);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(loggedCount(), before + 1);
  });

  test('a client still uploading a body over the limit reads the 413, and its connection stays usable; a body far over the limit is cut off', async () => {
    const MIB = 1024 * 1024;
    const { port } = new URL(server!.url);
    const open = async () => {
      const socket = net.connect(Number(port), '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      const s = { socket, answer: '', closed: false };
      socket.on('data', (d: Buffer) => (s.answer += d));
      socket.on('error', () => undefined); // a write after the server's close: the test looks at `closed`
      socket.once('close', () => (s.closed = true));
      return s;
    };
    const head = (length: number) => `POST /v1/models/${FLIGHTS}:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

    // 2 MiB announced, 64 KiB sent: the answer comes before the body is done, without a close.
    const c = await open();
    c.socket.write(head(2 * MIB) + 'x'.repeat(64 * 1024));
    await waitFor(() => /\r\n\r\n\{[^}]*\}/.test(c.answer), 'the answer to the unfinished upload');
    assert.match(c.answer, /^HTTP\/1\.1 413/, c.answer);
    assert.match(c.answer, /over the limit of 1048576 bytes/);
    assert.doesNotMatch(c.answer, /connection: close/i);
    // The rest of the body is read and discarded; the next request on the connection is answered.
    c.socket.write('x'.repeat(2 * MIB - 64 * 1024));
    c.answer = '';
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => /"status":"ok"/.test(c.answer), 'healthz on the same connection');
    assert.equal(c.closed, false);
    c.socket.destroy();

    // 64 MiB announced: the server discards 8 MiB at most, then closes the connection — long
    // before the 32 MiB this client would send (the request timeout would let it send them all).
    const far = await open();
    far.socket.write(head(64 * MIB));
    const chunk = 'x'.repeat(MIB);
    far.socket.write(chunk);
    // Read before uploading on: the server's close resets the connection, and a reset drops
    // whatever the client's kernel still held unread, the 413 included, on a busy machine.
    await waitFor(() => /\r\n\r\n\{[^}]*\}/.test(far.answer), 'the answer to the upload far over the limit');
    let sent = 1;
    for (; sent < 32 && !far.closed; sent++) {
      if (!far.socket.write(chunk)) await new Promise((r) => { far.socket.once('drain', r); far.socket.once('close', r); });
    }
    await waitFor(() => far.closed, 'the connection of a body far over the limit closed', 60_000);
    assert.ok(sent < 32, `closed after ${sent} MiB were written, not at the end of the upload`);
    assert.match(far.answer, /^HTTP\/1\.1 413/, 'its client was told why first');
  });

  test('labels: accepted, unknown ids reported, idempotent repeat, conflicts kept, buffered rows reached', async () => {
    const known = served.slice(0, 5).map((s, i) => ({ request_id: s.requestId, label: i % 2 }));
    const strangers = [randomUUID(), randomUUID()];
    const first = await request('POST', `/v1/models/${FLIGHTS}:labels`, { labels: [...known, ...strangers.map((id) => ({ request_id: id, label: 1 }))] });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body, { accepted: 5, unknown: strangers, conflicts: [] });

    const labeledAt = () => {
      const db = logDb();
      try {
        return known.map((k) => db.prepare('SELECT label, labeled_at FROM predictions WHERE request_id = ?').get(k.request_id) as { label: number; labeled_at: string });
      } finally {
        db.close();
      }
    };
    const once = labeledAt();
    assert.deepEqual(once.map((r) => r.label), known.map((k) => k.label));

    const again = await request('POST', `/v1/models/${FLIGHTS}:labels`, { labels: known });
    assert.deepEqual(again.body, { accepted: 5, unknown: [], conflicts: [] });
    assert.deepEqual(labeledAt(), once, 'a repeated label changes nothing');

    const flip = await request('POST', `/v1/models/${FLIGHTS}:labels`, { labels: [{ request_id: known[0].request_id, label: 1 - known[0].label }] });
    assert.deepEqual(flip.body, { accepted: 0, unknown: [], conflicts: [{ request_id: known[0].request_id, label: 1 - known[0].label, existing: known[0].label }] });
    assert.deepEqual(labeledAt(), once, 'a conflicting label does not overwrite');

    // Another model's ids are unknown to this one.
    const wrongModel = await request('POST', `/v1/models/${CHURN}:labels`, { labels: [known[1]] });
    assert.deepEqual(wrongModel.body, { accepted: 0, unknown: [known[1].request_id], conflicts: [] });

    // A label right after its prediction, while the row may still sit in the write buffer.
    const fresh = await predict(FLIGHTS, [flightInstance(holdout[1])]);
    const id = fresh.body.predictions[0].request_id as string;
    const labeled = await request('POST', `/v1/models/${FLIGHTS}:labels`, { labels: [{ request_id: id, label: 1 }] });
    assert.deepEqual(labeled.body, { accepted: 1, unknown: [], conflicts: [] });
  });

  test('promotion and rollback are picked up without a restart; every response is scored by the version it names', async () => {
    const instances = holdout.slice(2000, 2200).map((r) => flightInstance(r));
    const expected = new Map(await Promise.all([1, 2].map(async (v) => { const artifact = await artifactOf(flights[v - 1]); return [v, instances.map((i) => artifact.predictRow(i))] as const; })));
    assert.notDeepEqual(expected.get(1), expected.get(2), 'the two versions score differently');

    // Traffic during the switches: each response must match exactly the version it reports.
    let traffic = true;
    const seen = new Set<number>();
    const load = (async () => {
      let n = 0;
      while (traffic && n < 500) {
        n++;
        const r = await predict(FLIGHTS, instances);
        assert.equal(r.status, 200);
        const want = expected.get(r.body.model_version)!;
        seen.add(r.body.model_version);
        r.body.predictions.forEach((p: { score: number }, i: number) => assert.equal(p.score, want[i]));
      }
    })();

    try {
      for (const version of [2, 1]) {
        const t0 = Date.now();
        await setChampion(FLIGHTS, version);
        const outcome = await waitUntilServing(server!.url, FLIGHTS, version, { timeoutMs: 5000, intervalMs: 50 });
        const took = Date.now() - t0;
        assert.equal(outcome.serving, true, JSON.stringify(outcome));
        assert.ok(took < 3000, `picked up v${version} in ${took} ms`);
        const status = await request<ModelStatus>('GET', `/v1/models/${FLIGHTS}`);
        assert.equal(status.body.champion?.version, version);
        assert.deepEqual(status.body.champion?.lineage, flights[version - 1].version.lineage);
        const r = await predict(FLIGHTS, instances);
        assert.equal(r.body.model_version, version);
        assert.deepEqual(r.body.predictions.map((p: { score: number }) => p.score), expected.get(version));
        await new Promise((res) => setTimeout(res, 300));
      }
    } finally {
      traffic = false;
      await load;
    }
    assert.deepEqual([...seen].sort(), [1, 2]);
  });

  test('/metrics: request counters, latency histogram, served-version gauge', async () => {
    const r = await request('GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = r.body as string;
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      assert.ok(line, `${series} in\n${text.slice(0, 2000)}`);
      return Number(line.slice(series.length + 1));
    };
    assert.ok(value('perennial_http_requests_total{route="/v1/models/{name}:predict",method="POST",status="200"}') >= 4);
    assert.ok(value('perennial_http_requests_total{route="/v1/models/{name}:predict",method="POST",status="400"}') >= 25);
    assert.ok(value('perennial_http_requests_total{route="/v1/models/{name}:predict",method="POST",status="413"}') >= 2);
    assert.ok(value('perennial_http_requests_total{route="/v1/models/{name}:labels",method="POST",status="200"}') >= 4);
    assert.ok(value('perennial_http_requests_total{route="unmatched",method="GET",status="404"}') >= 1);
    assert.match(text, /# TYPE perennial_http_request_duration_seconds histogram/);
    const count = value('perennial_http_request_duration_seconds_count{route="/v1/models/{name}:predict",method="POST"}');
    assert.equal(value('perennial_http_request_duration_seconds_bucket{route="/v1/models/{name}:predict",method="POST",le="+Inf"}'), count);
    assert.equal(value('perennial_served_version{model="flight-delays"}'), 1);
    assert.equal(value('perennial_served_version{model="customer-churn"}'), 1);
    assert.equal(value('perennial_model_ready{model="flight-delays"}'), 1);
    assert.ok(value('perennial_predictions_total{model="flight-delays",version="2"}') > 0);
  });

  test('/metrics parses as Prometheus text: every family typed, histograms whole, drift and live AUC of the stored checks', async () => {
    // A monitor check as the check activity stores it, in the registry the server reads.
    const registry = openRegistry({ home });
    try {
      const at = new Date().toISOString();
      await registry.recordCheck({ model: FLIGHTS, version: 1, at, rows: 900, enoughData: true, breached: true, score: 0.42, performanceOk: true, cursorFrom: 0, cursorTo: 900, reportUri: 'file:///report.json', summary: { breachedFeatures: ['distance'], performance: { auc: 0.661, logLoss: 0.44 } }, dedupeKey: 'metrics-test/1' });
      await registry.recordCheck({ model: FLIGHTS, version: 1, at, rows: 3, enoughData: false, breached: false, score: 0, performanceOk: null, cursorFrom: 900, cursorTo: 903, reportUri: 'file:///report2.json', summary: { breachedFeatures: [], performance: null }, dedupeKey: 'metrics-test/2' });
    } finally {
      await registry.close();
    }
    const families = parsePrometheusText((await request('GET', '/metrics')).body as string);
    const family = (name: string) => {
      const f = families.find((x) => x.name === name);
      assert.ok(f, `${name} among ${families.map((x) => x.name).join(', ')}`);
      return f;
    };
    const value = (name: string, model: string) => family(name).samples.find((x) => x.labels.model === model)?.value;
    assert.equal(family('perennial_http_requests').type, 'counter');
    const latency = family('perennial_http_request_duration_seconds');
    assert.equal(latency.type, 'histogram');
    const series = new Set(latency.samples.map((x) => `${x.labels.route} ${x.labels.method}`));
    for (const key of series) {
      const mine = latency.samples.filter((x) => `${x.labels.route} ${x.labels.method}` === key);
      const buckets = mine.filter((x) => x.name.endsWith('_bucket')).map((x) => x.value);
      assert.deepEqual(buckets, [...buckets].sort((a, b) => a - b), `${key}: buckets are cumulative`);
      assert.equal(mine.find((x) => x.name.endsWith('_count'))?.value, buckets.at(-1), `${key}: +Inf bucket = count`);
    }
    assert.equal(family('perennial_predictions').type, 'counter');
    assert.equal(family('perennial_served_version').type, 'gauge');
    // The drift gauges show the latest check with a score: the one with too little data after it does not erase it.
    assert.equal(value('perennial_drift_score', FLIGHTS), 0.42);
    assert.equal(value('perennial_drift_breached', FLIGHTS), 1);
    assert.equal(value('perennial_live_auc', FLIGHTS), 0.661);
    assert.equal(value('perennial_drift_score', CHURN), undefined, 'no checks stored, no gauge');
    assert.ok(family('process_cpu_seconds'), "the process's default metrics");
  });

  test('verbs named like built-in object members are unknown verbs, and /metrics keeps answering', async () => {
    for (const verb of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
      for (const method of ['POST', 'GET']) {
        const r = await request(method, `/v1/models/${FLIGHTS}:${verb}`, method === 'POST' ? { instances: [] } : undefined);
        assert.equal(r.status, 404, `${method} :${verb}`);
        assert.equal(r.body.error, `unknown verb ":${verb}" (known: :predict, :labels)`);
        assert.equal(r.headers.get('allow'), null);
      }
    }
    const metrics = await request('GET', '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.body as string, /^perennial_http_requests_total\{route="\/v1\/models\/\{name\}:\{verb\}",method="GET",status="404"\} \d+$/m);
  });

  test('/metrics counts every answer once, with its latency, on every kind of route', async () => {
    const scrape = async () => {
      const text = (await request('GET', '/metrics')).body as string;
      return (series: string) => Number(text.split('\n').find((l) => l.startsWith(`${series} `))?.slice(series.length + 1) ?? 0);
    };
    const series = (route: string, method: string) => `{route="${route}",method="${method}"`;
    const watched = [
      [series('/v1/models/{name}:predict', 'POST'), '200'],
      [series('/v1/models/{name}:predict', 'POST'), '400'],
      [series('/v1/models/{name}:predict', 'GET'), '405'],
      [series('/v1/models/{name}:{verb}', 'POST'), '404'],
      [series('/v1/models/{name}', 'GET'), '200'],
      [series('/v1/models/{name}:labels', 'POST'), '200'],
      [series('/healthz', 'GET'), '200'],
      [series('/healthz', 'POST'), '405'],
      [series('unmatched', 'GET'), '404'],
      [series('unmatched', 'POST'), '400'],
    ] as const;
    const counts = (value: (s: string) => number) => watched.map(([s, status]) => value(`perennial_http_requests_total${s},status="${status}"}`));
    const durations = (value: (s: string) => number) => [...new Set(watched.map(([s]) => s))].map((s) => [value(`perennial_http_request_duration_seconds_count${s}}`), value(`perennial_http_request_duration_seconds_sum${s}}`)]);
    const before = await scrape();

    const ok = await predict(FLIGHTS, [flightInstance(holdout[0])]);
    assert.equal(ok.status, 200);
    await predict(FLIGHTS, [flightInstance(holdout[1])]);
    assert.equal((await predict(FLIGHTS, [{ ...flightInstance(holdout[0]), distance: 'far' }])).status, 400);
    assert.equal((await request('POST', `/v1/models/${FLIGHTS}:predict`, undefined, { raw: '{"instances": [' })).status, 400);
    assert.equal((await request('GET', `/v1/models/${FLIGHTS}:predict`)).status, 405);
    assert.equal((await request('POST', `/v1/models/${FLIGHTS}:explain`, { instances: [] })).status, 404);
    assert.equal((await request('GET', `/v1/models/${FLIGHTS}`)).status, 200);
    assert.equal((await request('POST', `/v1/models/${FLIGHTS}:labels`, { labels: [{ request_id: ok.body.predictions[0].request_id, label: 1 }] })).status, 200);
    assert.equal((await request('GET', '/healthz')).status, 200);
    assert.equal((await request('POST', '/healthz', {})).status, 405);
    assert.equal((await request('GET', '/no/such/route')).status, 404);
    assert.equal((await request('POST', '/no/such/route', undefined, { raw: '{"instances": [' })).status, 400);

    const after = await scrape();
    const delta = counts(after).map((n, i) => n - counts(before)[i]);
    assert.deepEqual(delta, [2, 2, 1, 1, 1, 1, 1, 1, 1, 1], watched.map(([s, status], i) => `${s},status=${status}: ${delta[i]}`).join('\n'));
    // Every answer also lands in its series' latency histogram, with a time it took.
    const d0 = durations(before);
    const d1 = durations(after);
    d1.forEach(([count, sum], i) => {
      assert.equal(count - d0[i][0], [4, 1, 1, 1, 1, 1, 1, 1, 1][i], `histogram count of series ${i}`);
      assert.ok(sum > d0[i][1] && sum - d0[i][1] < 5, `histogram sum of series ${i} grew by ${sum - d0[i][1]} s`);
    });
  });

  test('past PERENNIAL_SERVER_LOG_MAX_PENDING rows waiting for the disk, predictions get 503 and are not logged; the waiting ones are answered once written', async () => {
    const p = await startServerProcess({ PERENNIAL_HOME: home, LOG_LEVEL: 'warn', PERENNIAL_SERVER_LOG_MAX_PENDING: '250' }, await freePort());
    const holder = new Database(path.join(home, 'predictions.sqlite'));
    try {
      const send = (n: number, from: number) =>
        fetch(`${p.url}/v1/models/${FLIGHTS}:predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ instances: holdout.slice(from, from + n).map((r) => flightInstance(r)) }),
        });
      const before = loggedCount();
      // Another writer holds the log: nothing can be committed, so nothing is answered yet.
      holder.exec('BEGIN IMMEDIATE');
      const waiting = [send(100, 3200), send(100, 3300)];
      let early = false;
      void Promise.race(waiting).then(() => (early = true));
      await waitFor(async () => (await metricValue(p.url, 'perennial_prediction_log_pending')) >= 200, 'the 200 rows to wait for the disk');
      // 200 rows wait; 100 more would pass 250.
      const refused = await send(100, 3400);
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.match(((await refused.json()) as { error: string }).error, /prediction log is not keeping up/);
      const fits = send(50, 3500);
      assert.equal(early, false, 'no 200 before the rows are on disk');
      holder.exec('ROLLBACK');
      const answered = await Promise.all([...waiting, fits]);
      const ids: string[] = [];
      for (const r of answered) {
        assert.equal(r.status, 200, 'up to the limit is served once written');
        ids.push(...((await r.json()) as { predictions: { request_id: string }[] }).predictions.map((x) => x.request_id));
      }
      await waitLogged(ids, 0);
      assert.equal(loggedCount() - before, 250, 'the served rows, and not one of the refused');
    } finally {
      holder.close();
      await killServer(p);
    }
  });

  test('the edges: a body it would not decode is 415, an overlong string 400, a stalled body is cut off after the request timeout', async () => {
    const p = await startServerProcess({ PERENNIAL_HOME: home, LOG_LEVEL: 'warn', PERENNIAL_SERVER_REQUEST_TIMEOUT_MS: '1500' }, await freePort());
    try {
      const body = JSON.stringify({ instances: [flightInstance(holdout[0])] });
      const post = (headers: Record<string, string>, b: string = body) => fetch(`${p.url}/v1/models/${FLIGHTS}:predict`, { method: 'POST', headers, body: b });
      const gz = await post({ 'content-type': 'application/json', 'content-encoding': 'gzip' });
      assert.equal(gz.status, 415);
      assert.match(((await gz.json()) as { error: string }).error, /content-encoding "gzip" is not supported/);
      const latin = await post({ 'content-type': 'application/json; charset=iso-8859-1' });
      assert.equal(latin.status, 415);
      assert.match(((await latin.json()) as { error: string }).error, /charset "iso-8859-1" is not supported: send UTF-8/);
      assert.equal((await post({ 'content-type': 'application/json; charset=UTF-8' })).status, 200, 'UTF-8 said outright is fine');
      const long = await post({ 'content-type': 'application/json' }, JSON.stringify({ instances: [{ ...flightInstance(holdout[0]), origin: 'X'.repeat(10_000) }] }));
      assert.equal(long.status, 400);
      assert.match(JSON.stringify(await long.json()), /a string of 10000 characters: at most 256/);
      // Escapes JSON allows but no database keeps as JSON text: refused at the edge, never logged.
      for (const notText of ['OR\\u0000D', 'O\\ud800RD', 'OR\\udc00D']) {
        const bad = await post({ 'content-type': 'application/json' }, `{"instances":[{"date":"2001-01-04T10:00:00Z","distance":600,"origin":"${notText}","destination":"ATL"}]}`);
        assert.equal(bad.status, 400, notText);
        assert.match(JSON.stringify(await bad.json()), /a string with a NUL character or an unpaired surrogate: not text/);
      }
      // Half a body, then silence: the server cuts the connection off after its request timeout.
      const { port } = new URL(p.url);
      const socket = net.connect(Number(port), '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      socket.write(`POST /v1/models/${FLIGHTS}:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"instances": [`);
      let answer = '';
      socket.on('data', (d: Buffer) => (answer += d));
      await new Promise((resolve, reject) => {
        const limit = setTimeout(() => reject(new Error('the stalled connection was still open after 60 s')), 60_000);
        socket.once('close', () => {
          clearTimeout(limit);
          resolve(undefined);
        });
      });
      // Node's request timeout answers 408 when it can, else it just closes: either way the connection is not held.
      assert.ok(answer === '' || /^HTTP\/1\.1 408/.test(answer), answer);
    } finally {
      await killServer(p);
    }
  });

  test('kill -9 under load: every prediction answered 200 is in the log', async () => {
    const p = await startServerProcess({ PERENNIAL_HOME: home, LOG_LEVEL: 'warn' }, await freePort());
    const answered: string[] = [];
    let stop = false;
    const client = async (k: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const r = await fetch(`${p.url}/v1/models/${FLIGHTS}:predict`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ instances: [flightInstance(holdout[(k * 97 + i) % holdout.length])] }),
          });
          if (r.status === 200) answered.push(...((await r.json()) as { predictions: { request_id: string }[] }).predictions.map((x) => x.request_id));
        } catch {
          return; // the server is gone: requests in flight never got an answer
        }
      }
    };
    const clients = Array.from({ length: 16 }, (_, k) => client(k));
    // Load until a good number is answered (bounded in count and time), then SIGKILL mid-stream.
    await waitFor(async () => answered.length >= 2000, '2,000 answered predictions', 120_000);
    p.child.kill('SIGKILL');
    await p.exited;
    stop = true;
    await Promise.all(clients);
    const db = logDb();
    try {
      const stmt = db.prepare('SELECT 1 FROM predictions WHERE request_id = ?');
      const missing = answered.filter((id) => !stmt.get(id));
      assert.deepEqual(missing.length, 0, `${missing.length} of ${answered.length} answered predictions are not in the log`);
    } finally {
      db.close();
    }
  });

  test('SIGTERM right after a burst loses no prediction; a restart serves the champion again', async () => {
    const instances = holdout.slice(3000, 3100).map((r) => flightInstance(r));
    const idsOf = (results: PromiseSettledResult<Response>[]) => {
      const ids: string[] = [];
      for (const r of results) {
        if (r.status === 'fulfilled' && r.value.status === 200) ids.push(...r.value.body.predictions.map((x: { request_id: string }) => x.request_id));
        // Requests caught by the stop are refused (503) or their idle connection is closed; never half-served.
        else if (r.status === 'fulfilled') assert.equal(r.value.status, 503, 'a request refused while closing says so');
      }
      return ids;
    };
    const stopDuringBurst = async (p: ServerProcess, requests: number) => {
      const burst = Array.from({ length: requests }, () => predict(FLIGHTS, instances));
      await Promise.race(burst); // stop while the rest are still in flight
      p.child.kill('SIGTERM');
      const ids = idsOf(await Promise.allSettled(burst));
      assert.equal(await p.exited, 0, p.output());
      return ids;
    };

    let ids = await stopDuringBurst(server!, 12);
    assert.ok(ids.length >= 100, `${ids.length} predictions returned before the stop`);
    await waitLogged(ids, 0);

    // An answered prediction is on disk when it is answered, not only after a stop.
    server = await startServer();
    const answered = idsOf(await Promise.allSettled(Array.from({ length: 5 }, () => predict(FLIGHTS, instances))));
    assert.equal(answered.length, 500);
    const db = logDb();
    try {
      const stmt = db.prepare('SELECT 1 FROM predictions WHERE request_id = ?');
      assert.equal(answered.filter((id) => stmt.get(id)).length, 500, 'every answered prediction is on disk before any stop');
    } finally {
      db.close();
    }
    ids = [...answered, ...(await stopDuringBurst(server, 6))];
    assert.ok(ids.length >= 600, `${ids.length} predictions returned before the stop`);
    await waitLogged(ids, 0);

    server = await startServer();
    const status = await request<ModelStatus>('GET', `/v1/models/${FLIGHTS}`);
    assert.equal(status.body.ready, true);
    assert.equal(status.body.champion?.version, 1);
    const r = await predict(FLIGHTS, instances.slice(0, 3));
    assert.equal(r.status, 200);
    assert.equal(r.body.model_version, 1);
  });
});

describe('serving library', () => {
  test('a model route target splits on its last colon', () => {
    assert.deepEqual(splitTarget('flight-delays:predict'), { name: 'flight-delays', verb: 'predict' });
    assert.deepEqual(splitTarget('flight-delays'), { name: 'flight-delays', verb: undefined });
    assert.deepEqual(splitTarget('a:b:labels'), { name: 'a:b', verb: 'labels' });
    assert.deepEqual(splitTarget(':predict'), { name: '', verb: 'predict' });
    assert.deepEqual(splitTarget('m:'), { name: 'm', verb: '' });
    assert.deepEqual(splitTarget(''), { name: '', verb: undefined });
  });

  test('the prediction log batches writes: by row count, by time, and on flush and close', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'perennial-plog-'));
    try {
      const log = new PredictionLog(path.join(dir, 'p.sqlite'), { flushMs: 100, flushRows: 3 });
      const rec = (n: number) => ({ requestId: `r${n}`, at: new Date().toISOString(), model: 'm', modelVersion: 1, instance: { x: n }, features: [n, NaN], score: 0.5 });
      const count = () => {
        const db = new Database(path.join(dir, 'p.sqlite'), { readonly: true });
        try {
          return (db.prepare('SELECT count(*) AS n FROM predictions').get() as { n: number }).n;
        } finally {
          db.close();
        }
      };
      log.append([rec(1), rec(2)]);
      assert.equal(count(), 0);
      assert.equal(log.pending, 2);
      log.append([rec(3)]); // reaches flushRows
      assert.equal(count(), 3);
      log.append([rec(4)]);
      await new Promise((r) => setTimeout(r, 250)); // flushMs
      assert.equal(count(), 4);
      log.append([rec(5)]);
      log.close();
      assert.equal(count(), 5);
      const again = new PredictionLog(path.join(dir, 'p.sqlite'));
      const rows = again.read({ model: 'm', afterId: 2 });
      assert.deepEqual(rows.map((r) => r.requestId), ['r3', 'r4', 'r5']);
      assert.deepEqual(rows[0].features, [3, null]);
      again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('validateInstances: nullable columns may be null or omitted; epoch milliseconds are timestamps', () => {
    const schema = {
      inputs: {
        at: { type: 'timestamp' as const, nullable: false },
        amount: { type: 'number' as const, nullable: true, min: 0 },
        kind: { type: 'string' as const, nullable: true, categories: ['a', 'b'] },
        y: { type: 'number' as const, nullable: false },
      },
      target: 'y',
    };
    assert.deepEqual(validateInstances([{ at: 978_000_000_000, amount: null }, { at: '2001-01-04', kind: 'a' }, { at: '2001-01-04 10:00:00.123+0530' }], schema), []);
    assert.deepEqual(
      validateInstances([{ at: 1e300 }, { at: '2001-01-04', amount: -1, kind: 'c' }], schema).map((i) => `${i.row}.${i.field}`),
      ['0.at', '1.amount', '1.kind'],
    );
  });
});
