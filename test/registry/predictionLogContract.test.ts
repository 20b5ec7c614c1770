/**
 * The prediction log's contract, on both databases: what the model server writes (the
 * sink: a prediction is answered once its row is committed) is what monitoring and the
 * CLI read (the reader), with the same cursor, label and event-time rules.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { openPredictionReader, openPredictionSink } from '../../src/serving/openPredictions';
import type { ServedPrediction } from '../../src/serving/predictionLogThread';
import { startLocalPostgres } from '../../src/cluster/postgres';
import { freePort } from '../../src/util/net';
import { uuidv7 } from '../../src/util/uuidv7';
import { freshDatabase } from '../helpers/postgres';
import { tempHome } from '../helpers/temporalServer';

const COLUMNS = ['date', 'distance', 'origin'] as const;

function served(model: string, version: number, i: number, over: Partial<ServedPrediction> = {}): ServedPrediction {
  return {
    requestId: uuidv7(),
    atMs: Date.parse('2026-12-01T00:00:00Z') + i * 1000,
    model,
    modelVersion: version,
    columns: COLUMNS,
    instance: { date: new Date(Date.parse('2001-02-01T00:00:00Z') + i * 3_600_000).toISOString(), distance: 100 + i, origin: i % 2 ? 'ORD' : 'ATL' },
    features: Float64Array.of(i, i % 2 ? NaN : 1, 0.5),
    score: i / 1000,
    ...over,
  };
}

const places = [
  { name: 'SQLite', place: async () => ({ home: tempHome(), registryUrl: null }) },
  { name: 'PostgreSQL', place: async () => ({ home: tempHome(), registryUrl: await freshDatabase() }) },
];

for (const { name, place } of places) {
  describe(`the prediction log on ${name}`, () => {
    test('what the server commits, monitoring reads by cursor: the newest rows of a version, each row once', async () => {
      const where = await place();
      const sink = await openPredictionSink(where, { flushMs: 10 });
      const reader = openPredictionReader(where);
      try {
        // One turn's appends share a commit; every answer waits for its own row.
        await Promise.all(Array.from({ length: 30 }, (_, i) => sink.append(served('churn', i < 20 ? 1 : 2, i))));
        await Promise.all(Array.from({ length: 5 }, (_, i) => sink.append(served('fraud', 1, i))));
        assert.equal(sink.pending, 0);
        const w1 = await reader.window({ model: 'churn', version: 1, afterId: 0, limit: 8 });
        assert.equal(w1.available, 20, 'rows of v1 since the cursor');
        assert.equal(w1.features.length, 8, 'at most `limit`');
        assert.deepEqual(w1.scores, [19, 18, 17, 16, 15, 14, 13, 12].map((i) => i / 1000), 'the newest first');
        assert.deepEqual(w1.features[0], [19, null, 0.5], 'features as logged, NaN read back as missing');
        const all = await reader.read({ model: 'churn' });
        assert.equal(all.length, 30);
        assert.equal(w1.to, all.at(-1)!.id, "the cursor moves past every row of the model, v2's too");
        const w2 = await reader.window({ model: 'churn', version: 1, afterId: w1.to, limit: 8 });
        assert.deepEqual([w2.available, w2.from, w2.to], [0, w1.to, w1.to], 'nothing is read twice');
        await sink.append(served('churn', 1, 99));
        assert.equal((await reader.window({ model: 'churn', version: 1, afterId: w1.to, limit: 8 })).available, 1);
        const one = (await reader.find(all[3].requestId))!;
        assert.deepEqual(one.instance, { date: '2001-02-01T03:00:00.000Z', distance: 103, origin: 'ORD' });
        assert.equal(one.at, '2026-12-01T00:00:03.000Z');
        assert.equal(await reader.find(uuidv7()), undefined);
      } finally {
        await sink.close();
        await reader.close();
      }
    });

    test('labels: once per prediction, repeats harmless, conflicts and unknown ids reported; performance reads labeled rows with their event times', async () => {
      const where = await place();
      const sink = await openPredictionSink(where, { flushMs: 10 });
      const reader = openPredictionReader(where);
      try {
        const rows = Array.from({ length: 6 }, (_, i) => served('churn', 1, i));
        rows.push(served('churn', 1, 6, { instance: { date: 978_307_200_000 as never, distance: 1, origin: 'ORD' } }));
        rows.push(served('other', 1, 7));
        await Promise.all(rows.map((r) => sink.append(r)));
        const unknown = uuidv7();
        const result = await sink.applyLabels('churn', [
          { requestId: rows[0].requestId, label: 1 },
          { requestId: rows[1].requestId, label: 0 },
          { requestId: rows[1].requestId, label: 1 },
          { requestId: rows[2].requestId, label: 1 },
          { requestId: rows[6].requestId, label: 0 },
          { requestId: rows[7].requestId, label: 1 },
          { requestId: unknown, label: 1 },
        ]);
        assert.equal(result.accepted, 4);
        assert.deepEqual(result.unknown, [rows[7].requestId, unknown], "another model's prediction is unknown to this one");
        assert.deepEqual(result.conflicts, [{ requestId: rows[1].requestId, label: 1, existing: 0 }]);
        const again = await sink.applyLabels('churn', [{ requestId: rows[0].requestId, label: 1 }, { requestId: rows[0].requestId, label: 0 }]);
        assert.deepEqual(again, { accepted: 1, unknown: [], conflicts: [{ requestId: rows[0].requestId, label: 0, existing: 1 }] });
        assert.equal((await reader.find(rows[1].requestId))!.label, 0, 'the first label stays');
        assert.ok((await reader.find(rows[0].requestId))!.labeledAt);

        const last = (await reader.read({ model: 'churn' })).at(-1)!.id;
        assert.deepEqual(await reader.labeled({ model: 'churn', version: 1, upToId: last, limit: 10 }), { scores: [0.006, 0.002, 0.001, 0], labels: [0, 1, 0, 1] });
        const timed = await reader.labeledWithEventTime({ model: 'churn', version: 1, upToId: last, timeColumn: 'date', limit: 10 });
        assert.deepEqual(timed.times, [978_307_200_000, '2001-02-01T02:00:00.000Z', '2001-02-01T01:00:00.000Z', '2001-02-01T00:00:00.000Z'], 'ISO text and epoch numbers as logged');
        assert.equal(await reader.latestLabeledEventTime('churn', 'date'), '2001-02-01T02:00:00.000Z');
        assert.equal(await reader.latestLabeledEventTime('churn', 'no_such_column'), null);
        assert.equal(await reader.latestLabeledEventTime('nobody', 'date'), null);
      } finally {
        await sink.close();
        await reader.close();
      }
    });

    test('pruning deletes one model’s rows older than retention, nothing else', async () => {
      const where = await place();
      const sink = await openPredictionSink(where, { flushMs: 10 });
      const reader = openPredictionReader(where);
      try {
        await Promise.all([...Array.from({ length: 10 }, (_, i) => sink.append(served('churn', 1, i))), sink.append(served('fraud', 1, 0))]);
        assert.equal(await reader.prune('churn', '2026-12-01T00:00:04.000Z'), 4);
        assert.equal((await reader.read({ model: 'churn' })).length, 6);
        assert.equal((await reader.read({ model: 'fraud' })).length, 1);
      } finally {
        await sink.close();
        await reader.close();
      }
    });
  });
}

test('PostgreSQL: model servers writing at once never let the monitor cursor skip a row', async () => {
  const where = { home: tempHome(), registryUrl: await freshDatabase() };
  const sinks = await Promise.all(Array.from({ length: 4 }, () => openPredictionSink(where, { flushMs: 1, flushRows: 10_000 })));
  const reader = openPredictionReader(where);
  const ROUNDS = 15;
  const PER_APPEND = 200;
  try {
    let cursor = 0;
    let seen = 0;
    let writing = true;
    const written = (async () => {
      for (let round = 0; round < ROUNDS; round++) {
        await Promise.all(sinks.flatMap((s, k) => Array.from({ length: PER_APPEND }, (_, i) => s.append(served('churn', 1, (round * sinks.length + k) * PER_APPEND + i)))));
      }
      writing = false;
    })();
    // Checks while all write: a row committed after a check must still lie after its cursor.
    while (writing) {
      const w = await reader.window({ model: 'churn', version: 1, afterId: cursor, limit: 1_000_000 });
      seen += w.available;
      cursor = w.to;
    }
    await written;
    seen += (await reader.window({ model: 'churn', version: 1, afterId: cursor, limit: 1_000_000 })).available;
    assert.equal(seen, ROUNDS * sinks.length * PER_APPEND, 'every row was read by exactly one check');
  } finally {
    await Promise.all(sinks.map((s) => s.close()));
    await reader.close();
  }
});

test('PostgreSQL restarted under load: appends wait, nothing answered is lost, the log recovers by itself', async () => {
  const port = await freePort();
  const server = await startLocalPostgres({ port });
  let restarted: Awaited<ReturnType<typeof startLocalPostgres>> | undefined;
  const where = { home: tempHome(), registryUrl: server.url };
  const sink = await openPredictionSink(where, { flushMs: 5, retryMs: 100 });
  try {
    const acknowledged: string[] = [];
    const failed: unknown[] = [];
    let stop = false;
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const p = served('churn', 1, i);
        await sink.append(p).then(() => acknowledged.push(p.requestId), (err: unknown) => failed.push(err));
      }
    })();
    const warmup = Date.now() + 60_000;
    while (acknowledged.length < 50) {
      assert.ok(Date.now() < warmup, `answers before the stop (${acknowledged.length})`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await server.stop();
    const beforeRestart = acknowledged.length;
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(sink.pending > 0, 'appends wait while the database is down');
    restarted = await startLocalPostgres({ port, dataDir: server.dataDir });
    const deadline = Date.now() + 60_000;
    while (acknowledged.length < beforeRestart + 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    stop = true;
    await load;
    assert.ok(acknowledged.length >= beforeRestart + 50, `appends resumed after the restart (${acknowledged.length - beforeRestart} since)`);
    assert.deepEqual(failed, []);
    const reader = openPredictionReader(where);
    try {
      const logged = new Set((await reader.read({ model: 'churn' })).map((r) => r.requestId));
      assert.deepEqual(acknowledged.filter((id) => !logged.has(id)), [], 'every acknowledged prediction is in the log');
    } finally {
      await reader.close();
    }
  } finally {
    await sink.close();
    await (restarted ?? server).stop();
    rmSync(path.dirname(server.dataDir), { recursive: true, force: true });
  }
});
