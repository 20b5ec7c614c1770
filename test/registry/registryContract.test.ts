/**
 * The registry's contract, run against both stores: the SQLite file of one machine and a
 * real PostgreSQL server (started by the test). Whatever a worker, the CLI or the model
 * server relies on must hold the same way in each.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { KeyRecord } from '../../src/auth/keyring';
import { openRegistry } from '../../src/registry/open';
import type { MonitorCheckRecord, NewVersion, Registry } from '../../src/registry/registry';
import { REGISTRY_FILE } from '../../src/registry/sqliteRegistry';
import { freshDatabase } from '../helpers/postgres';
import { tempHome } from '../helpers/temporalServer';

/** One store under test: how to open it (several times: several processes share it) and how to run raw SQL at it. */
interface Store {
  name: string;
  place(): Promise<{ home: string; registryUrl: string | null }>;
  /** Raw SQL straight at the database, as anyone holding its credentials could. */
  raw(where: { home: string; registryUrl: string | null }, sql: string): Promise<unknown[]>;
}

const stores: Store[] = [
  {
    name: 'SQLite',
    place: async () => ({ home: tempHome(), registryUrl: null }),
    raw: async (where, sql) => {
      const db = new Database(path.join(where.home, REGISTRY_FILE));
      try {
        const statement = db.prepare(sql);
        return statement.reader ? statement.all() : [statement.run()];
      } finally {
        db.close();
      }
    },
  },
  {
    name: 'PostgreSQL',
    place: async () => ({ home: tempHome(), registryUrl: await freshDatabase() }),
    raw: async (where, sql) => {
      const client = new pg.Client({ connectionString: where.registryUrl! });
      await client.connect();
      try {
        return (await client.query(sql)).rows;
      } finally {
        await client.end();
      }
    },
  },
];

function newVersion(model: string, workflowId: string, over: Partial<NewVersion> = {}): NewVersion {
  return {
    model,
    artifactUri: `file:///artifacts/${workflowId}.json`,
    artifactSha256: 'ab'.repeat(32),
    metrics: { auc: 0.65, holdout: { auc: 0.65, logLoss: 0.44 } },
    lineage: {
      datasetUri: 'file:///snapshots/s.parquet', datasetSha256: 'cd'.repeat(32), specHash: 'ef'.repeat(32), codeVersion: 'test',
      profileUri: 'file:///profiles/p.json', pipelineUri: 'file:///pipelines/p.json', workflowId, runId: `run-of-${workflowId}`,
      trainedBy: 'alice', trainedAt: '2026-12-01T00:00:00.000Z',
    },
    specJson: '{"name":"m"}',
    ...over,
  };
}

function check(model: string, n: number, over: Partial<MonitorCheckRecord> = {}): MonitorCheckRecord {
  return {
    model, version: 1, at: new Date(Date.parse('2026-12-01T00:00:00Z') + n * 60_000).toISOString(), rows: 1_200, enoughData: true, breached: false,
    score: 0.01 * n, performanceOk: null, cursorFrom: (n - 1) * 1_200, cursorTo: n * 1_200, reportUri: `file:///reports/${model}/${n}.json`,
    summary: { breachedFeatures: [], performance: null }, dedupeKey: `${model}/check/${n}`, ...over,
  };
}

function keyRecord(name: string, n: number): Omit<KeyRecord, 'seq'> {
  return { name, op: 'add', publicKey: `${n}`.padStart(64, '0'), fingerprint: `fp-${name}-${n}`, at: '2026-12-01T00:00:00.000Z', endorsedBy: null, endorsement: null };
}

async function using<T>(where: { home: string; registryUrl: string | null }, work: (r: Registry) => Promise<T>): Promise<T> {
  const registry = openRegistry(where);
  try {
    return await work(registry);
  } finally {
    await registry.close();
  }
}

for (const store of stores) {
  describe(`the registry on ${store.name}`, () => {
    test('sequences number training runs without gaps or repeats, across connections racing each other', async () => {
      const where = await store.place();
      const registries = [openRegistry(where), openRegistry(where), openRegistry(where)];
      try {
        const got = await Promise.all(Array.from({ length: 60 }, (_, i) => registries[i % 3].next('churn', 'training-run')));
        assert.deepEqual([...got].sort((a, b) => a - b), Array.from({ length: 60 }, (_, i) => i + 1));
        assert.equal(await registries[0].next('fraud', 'training-run'), 1, 'each model has its own sequence');
        assert.deepEqual(await registries[1].knownModels(), ['churn', 'fraud'], 'a model with a numbered run is known before it has a version');
        assert.deepEqual(await registries[1].models(), [], 'but has no versions');
      } finally {
        await Promise.all(registries.map((r) => r.close()));
      }
    });

    test('versions are immutable, numbered per model, and registered once per training workflow even when retried concurrently', async () => {
      const where = await store.place();
      const registries = [openRegistry(where), openRegistry(where)];
      try {
        // Two attempts of the same run (a retried activity) and three other runs, all at once.
        const results = await Promise.all([
          registries[0].register(newVersion('churn', 'train/churn/1')),
          registries[1].register(newVersion('churn', 'train/churn/1')),
          ...['2', '3', '4'].map((n, i) => registries[i % 2].register(newVersion('churn', `train/churn/${n}`))),
        ]);
        const [a, b] = results;
        assert.equal(a.version.version, b.version.version, 'the retried registration got the same version');
        assert.equal([a, b].filter((r) => r.created).length, 1, 'only one of the two created it');
        const versions = await registries[0].versions('churn');
        assert.deepEqual(versions.map((v) => v.version), [1, 2, 3, 4]);
        assert.equal(new Set(versions.map((v) => v.lineage.workflowId)).size, 4);
        const one = (await registries[1].get('churn', a.version.version))!;
        assert.deepEqual(one, { ...newVersion('churn', 'train/churn/1'), version: a.version.version }, 'read back exactly as registered, lineage and spec included');
        assert.equal(await registries[1].get('churn', 99), undefined);
        assert.equal((await registries[0].register(newVersion('fraud', 'train/fraud/1'))).version.version, 1, 'numbers are per model');
        assert.deepEqual(await registries[0].models(), ['churn', 'fraud']);
      } finally {
        await Promise.all(registries.map((r) => r.close()));
      }
    });

    test('aliases point at registered versions only, move, and clear', async () => {
      const where = await store.place();
      await using(where, async (r) => {
        await r.register(newVersion('churn', 'train/churn/1'));
        await r.register(newVersion('churn', 'train/churn/2'));
        await assert.rejects(() => r.setAlias('churn', 'champion', 7), /churn has no version 7/);
        assert.equal(await r.alias('churn', 'champion'), undefined, 'a refused alias changed nothing');
        await r.setAlias('churn', 'champion', 1);
        const first = (await r.alias('churn', 'champion'))!;
        assert.equal(first.version, 1);
        assert.ok(Date.parse(first.updatedAt) > 0);
        await r.setAlias('churn', 'champion', 2);
        assert.equal((await r.alias('churn', 'champion'))?.version, 2);
        await r.clearAlias('churn', 'champion');
        assert.equal(await r.alias('churn', 'champion'), undefined);
      });
    });

    test('the promotion ledger is append-only, enforced by the database itself; a retried append keeps one row', async () => {
      const where = await store.place();
      await using(where, async (r) => {
        const entry = { model: 'churn', version: 3, decision: 'approved', by: 'ml-lead', identity: 'perennial-cli:ml-lead@host', reason: 'beats v2' };
        const first = await r.appendLedger({ ...entry, dedupeKey: 'wf:run:1', signer: { name: 'ml-lead', fingerprint: 'fp1' } });
        const again = await r.appendLedger({ ...entry, dedupeKey: 'wf:run:1', signer: { name: 'ml-lead', fingerprint: 'fp1' } });
        assert.equal(again.id, first.id, 'an activity retried: the same row');
        await r.appendLedger({ model: 'churn', version: 4, decision: 'deployed', by: 'perennial', reason: 'served', details: { previous: 3 }, dedupeKey: 'wf:run:2' });
        await r.appendLedger({ model: 'churn', decision: 'paused', by: 'ops-lead', reason: 'incident' });
        await r.appendLedger({ model: 'churn', decision: 'paused', by: 'ops-lead', reason: 'incident' });
        assert.deepEqual((await r.ledger('churn')).map((e) => e.decision), ['approved', 'deployed', 'paused', 'paused'], 'without a dedupe key every append is a row');
        assert.deepEqual(first.signer, { name: 'ml-lead', fingerprint: 'fp1' });
        assert.deepEqual((await r.ledgerOf('churn', 3)).map((e) => e.decision), ['approved', 'deployed'], "v3's own entries and the deploy that replaced it");
        assert.deepEqual((await r.ledgerOf('churn', 4)).map((e) => e.decision), ['deployed']);
        await r.appendKeyRecord(keyRecord('ml-lead', 1));
      });
      for (const sql of ["UPDATE ledger SET by = 'mallory' WHERE decision = 'approved'", 'DELETE FROM ledger', ...(store.name === 'PostgreSQL' ? ['TRUNCATE ledger'] : [])]) {
        await assert.rejects(() => store.raw(where, sql), /the promotion ledger is append-only/, sql);
      }
      await assert.rejects(() => store.raw(where, 'DELETE FROM actor_keys'), /key records are append-only/);
      assert.deepEqual(
        (await store.raw(where, "SELECT decision, by FROM ledger WHERE decision <> 'paused' ORDER BY id")).map((row) => ({ ...(row as object) })),
        [{ decision: 'approved', by: 'ml-lead' }, { decision: 'deployed', by: 'perennial' }],
      );
    });

    test('monitor checks: stored once per key, read back exactly, pruned by time with their report URIs', async () => {
      const where = await store.place();
      await using(where, async (r) => {
        const marks = [await r.changeMark('churn')];
        const c1 = await r.recordCheck(check('churn', 1, { cursorTo: 2 ** 40 }));
        assert.equal((await r.recordCheck(check('churn', 1, { cursorTo: 2 ** 40 }))).id, c1.id, 'a retried check is the same row');
        marks.push(await r.changeMark('churn'));
        const judged = check('churn', 2, { breached: true, score: 8.3, performanceOk: false, summary: { breachedFeatures: ['distance'], performance: { auc: 0.61 } } });
        const c2 = await r.recordCheck(judged);
        await r.recordCheck(check('churn', 3, { enoughData: false, score: 0 }));
        await r.recordCheck(check('fraud', 1));
        marks.push(await r.changeMark('churn'));
        assert.deepEqual(await r.check('churn', c2.id), { ...judged, id: c2.id });
        assert.equal((await r.check('churn', c1.id))?.cursorTo, 2 ** 40, 'prediction-log cursors beyond 32 bits survive');
        assert.equal(await r.check('fraud', c2.id), undefined, "another model's check is not found by this model's name");
        assert.equal(await r.check('churn', 2 ** 40), undefined);
        assert.deepEqual((await r.checks('churn')).map((c) => c.dedupeKey), ['churn/check/1', 'churn/check/2', 'churn/check/3']);
        assert.deepEqual(await r.latestMonitoring(), [
          { model: 'churn', scored: { score: 8.3, breached: true, atMs: Date.parse(judged.at) }, liveAuc: 0.61 },
          { model: 'fraud', scored: { score: 0.01, breached: false, atMs: Date.parse(check('fraud', 1).at) }, liveAuc: null },
        ], 'the latest check with a score (not the newest, which had no data) and the latest judged AUC');

        await r.register(newVersion('churn', 'train/churn/1'));
        await r.setAlias('churn', 'champion', 1);
        marks.push(await r.changeMark('churn'));
        await r.appendLedger({ model: 'churn', decision: 'paused', by: 'ops-lead', reason: 'x' });
        marks.push(await r.changeMark('churn'));
        assert.deepEqual(await r.pruneChecks('churn', check('churn', 3).at), ['file:///reports/churn/1.json', 'file:///reports/churn/2.json']);
        marks.push(await r.changeMark('churn'));
        assert.equal(new Set(marks).size, marks.length, `every change moves the mark: ${marks.join(' | ')}`);
        assert.equal(await r.changeMark('churn'), marks.at(-1), 'and nothing else does');
        assert.deepEqual((await r.checks('churn')).map((c) => c.dedupeKey), ['churn/check/3']);
        assert.equal((await r.checks('fraud')).length, 1, "other models' checks are kept");
      });
    });

    test('key records: append-only, oldest first, at most `limit` per name, filtered by name', async () => {
      const where = await store.place();
      await using(where, async (r) => {
        const added = [];
        for (let i = 1; i <= 4; i++) added.push(await r.appendKeyRecord(keyRecord('ml-lead', i)));
        added.push(await r.appendKeyRecord(keyRecord('ops-lead', 1)));
        assert.deepEqual(added.map((k) => k.seq), [...added.map((k) => k.seq)].sort((a, b) => a - b), 'sequence numbers grow');
        assert.deepEqual((await r.keyRecords(['ml-lead'], 2)).map((k) => k.fingerprint), ['fp-ml-lead-1', 'fp-ml-lead-2'], 'the oldest: a chain of trust starts with the first key');
        assert.deepEqual((await r.keyRecords()).map((k) => k.name), ['ml-lead', 'ml-lead', 'ml-lead', 'ml-lead', 'ops-lead']);
        assert.deepEqual(await r.keyRecords([]), []);
        assert.deepEqual(await r.keyRecords(['ops-lead']), [added[4]]);
        assert.deepEqual(await r.keyRecords(["nobody' OR '1'='1"]), [], 'names are values, never SQL');
      });
    });
  });
}

test('PostgreSQL announces alias moves (LISTEN/NOTIFY) to watchers, and a watch whose connection is killed reconnects; SQLite says it cannot', async () => {
  const until = async (what: string, done: () => boolean) => {
    const deadline = Date.now() + 20_000;
    while (!done()) {
      assert.ok(Date.now() < deadline, `${what} within 20 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const where = await stores[1].place();
  const registry = openRegistry(where);
  const seen: (string | null)[] = [];
  const stop = (await registry.watchAliases((model) => seen.push(model)))!;
  try {
    await until('the first "read everything"', () => seen.includes(null));
    await registry.register(newVersion('churn', 'train/churn/1'));
    await registry.setAlias('churn', 'champion', 1);
    await until('the promotion announced', () => seen.includes('churn'));
    seen.length = 0;
    await store(1).raw(where, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'perennial-alias-watch'");
    await until('a reconnect, with a "read everything"', () => seen.includes(null));
    await registry.clearAlias('churn', 'champion');
    await until('the next move announced on the new connection', () => seen.includes('churn'));
  } finally {
    await stop();
    await registry.close();
  }
  const sqlite = openRegistry(await stores[0].place());
  try {
    assert.equal(await sqlite.watchAliases(() => undefined), null, 'SQLite cannot announce: its servers poll');
  } finally {
    await sqlite.close();
  }
});

const store = (i: number) => stores[i];

test('a PostgreSQL registry that cannot be reached fails each call with the reason, and never with the password', async () => {
  const registry = openRegistry({ home: tempHome(), registryUrl: 'postgres://perennial:s3cret@127.0.0.1:1/perennial' });
  try {
    assert.doesNotMatch(registry.location, /s3cret/);
    await assert.rejects(() => registry.next('m', 'training-run'), (err: Error) => /ECONNREFUSED|connect/.test(err.message) && !err.message.includes('s3cret'));
  } finally {
    await registry.close();
  }
});
