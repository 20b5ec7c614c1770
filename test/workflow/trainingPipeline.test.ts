import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import Database from 'better-sqlite3';
import { startTestStack, workflowBundle, type TestStack } from '../helpers/temporalServer';
import { churnSpec, smallFlightsSpec, writeChurnCsv } from '../helpers/specs';
import { createWorker, type PerennialWorker } from '../../src/worker/createWorker';
import { startTraining } from '../../src/client/startTraining';
import { registeredVersions } from '../helpers/registry';
import { filePath } from '../../src/artifacts/fileStore';
import { readJsonArtifact } from '../../src/artifacts/read';
import { sha256File } from '../../src/util/hash';
import { ModelArtifact } from '../../src/ml/modelArtifact';
import { withDuckDb, literal, resolveSource } from '../../src/data/duckdb';
import type { LoadedSpec } from '../../src/spec/load';
import type { DataProfile } from '../../src/data/profile';

let stack: TestStack;
let worker: PerennialWorker;
let running: Promise<void>;

before(async () => {
  stack = await startTestStack();
  worker = await createWorker({ config: stack.config, connection: stack.workerConnection, workflowBundle: await workflowBundle() });
  running = worker.run();
});

after(async () => {
  worker.shutdown();
  await running;
  await stack.stop();
});

const versionsOf = (model: string) => registeredVersions(stack.home, model);

async function train(loaded: LoadedSpec, by = 'alice') {
  const handle = await startTraining(stack.client, stack.config, loaded, by);
  return { handle, result: await handle.result() };
}

/** The typed failure a pipeline run ended with. */
async function trainingFailure(loaded: LoadedSpec): Promise<ApplicationFailure> {
  const handle = await startTraining(stack.client, stack.config, loaded, 'alice');
  const err = await handle.result().then(
    () => assert.fail('the pipeline should have failed'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError, `expected WorkflowFailedError, got ${String(err)}`);
  let cause: unknown = err.cause;
  while (cause && !(cause instanceof ApplicationFailure)) cause = (cause as { cause?: unknown }).cause;
  assert.ok(cause instanceof ApplicationFailure, 'the failure carries an ApplicationFailure');
  return cause;
}

/** `npm run train -- <spec file> --by dana [--json]` as a child process, the spec written to the stack's home first. */
function trainScript(spec: object, fileName: string, json: boolean): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = path.join(stack.home, fileName);
  writeFileSync(file, JSON.stringify(spec));
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/train.ts', file, '--by', 'dana', ...(json ? ['--json'] : [])], {
    cwd: path.resolve(__dirname, '../..'),
    env: { ...process.env, ...stack.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('training pipeline on a real Temporal dev server', () => {
  test('registers exactly one version with full lineage, and reuses the snapshot on the same input', async () => {
    const loaded = smallFlightsSpec();
    const { handle, result } = await train(loaded, 'alice');
    assert.equal(handle.workflowId, 'train/flight-delays/1');
    assert.equal(result.version, 1);
    assert.equal(result.created, true);

    const versions = await versionsOf('flight-delays');
    assert.equal(versions.length, 1);
    const v = versions[0];
    const l = v.lineage;
    assert.equal(l.workflowId, handle.workflowId);
    assert.equal(l.runId, handle.firstExecutionRunId);
    assert.equal(l.trainedBy, 'alice');
    assert.equal(l.specHash, loaded.specHash);
    assert.match(l.codeVersion, /^(git:[0-9a-f]{40}(\+dirty)?|package:)/);
    assert.equal(await sha256File(filePath(l.datasetUri)), l.datasetSha256, 'the dataset hash is the snapshot file content hash');
    assert.equal(await sha256File(filePath(v.artifactUri)), v.artifactSha256);
    // The spec's text is stored with the version; its hash is the lineage's spec hash.
    assert.deepEqual(JSON.parse(v.specJson!), JSON.parse(JSON.stringify(loaded.spec)));
    assert.equal(createHash('sha256').update(v.specJson!).digest('hex'), l.specHash);

    const profile = (await readJsonArtifact(l.profileUri)) as DataProfile;
    assert.deepEqual(profile.features.map((f) => f.name), loaded.spec.features.map((f) => f.name));
    assert.ok(profile.labelRate > 0.05 && profile.labelRate < 0.5);

    // The registered artifact scores holdout rows exactly as evaluation did.
    const model = ModelArtifact.fromJSON(await readJsonArtifact(v.artifactUri));
    assert.equal(model.gbdt!.rounds, 20);
    const holdout = result.evaluation.model;
    assert.ok(holdout.auc > 0.55, `holdout AUC ${holdout.auc}`);
    assert.ok(result.evaluation.baseRate.auc === 0.5);

    // Every step ran as an activity visible in the history.
    const history = await handle.fetchHistory();
    const scheduled = (history.events ?? [])
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
      .filter((n): n is string => !!n);
    assert.deepEqual(scheduled, ['ingest', 'validateData', 'train', 'evaluate', 'register']);

    // Same input → same snapshot, not rewritten; a new run number and a new version.
    const mtime = statSync(filePath(l.datasetUri)).mtimeMs;
    const second = await train(loaded, 'bob');
    assert.equal(second.handle.workflowId, 'train/flight-delays/2');
    assert.equal(second.result.version, 2);
    assert.equal(second.result.registered.lineage.datasetSha256, l.datasetSha256);
    assert.equal(statSync(filePath(l.datasetUri)).mtimeMs, mtime);
    assert.equal((await versionsOf('flight-delays')).length, 2);
  });

  describe('bad data fails with a typed error naming the problem, and registers nothing', () => {
    let before: number;
    const dataDir = () => path.join(stack.home, 'bad-data');

    async function parquetFrom(name: string, select: string): Promise<string> {
      const file = path.join(dataDir(), `${name}.parquet`);
      const { mkdirSync } = await import('node:fs');
      mkdirSync(dataDir(), { recursive: true });
      const source = resolveSource(smallFlightsSpec().spec.data.source);
      await withDuckDb((db) =>
        db.run(`COPY (SELECT ${select} FROM read_parquet(${literal(source)}) WHERE date < '2001-01-06') TO ${literal(file)} (FORMAT parquet)`),
      );
      return file;
    }

    async function expectDataError(source: string, column: string, rule: string, tweak: (raw: any) => void = () => undefined) {
      before = (await versionsOf('flight-delays')).length;
      const loaded = smallFlightsSpec((raw) => {
        raw.data.source = source;
        tweak(raw);
      });
      const failure = await trainingFailure(loaded);
      assert.equal(failure.type, 'DataValidationError', failure.message);
      assert.equal(failure.nonRetryable, true);
      assert.deepEqual(failure.details?.[0], { column, rule });
      assert.match(failure.message, new RegExp(column));
      assert.equal((await versionsOf('flight-delays')).length, before, 'no version registered');
    }

    test('a source missing a feature column', async () => {
      await expectDataError(await parquetFrom('no-distance', 'date, delay, origin, destination'), 'distance', 'present');
    });

    test('a column of the wrong type', async () => {
      await expectDataError(await parquetFrom('distance-as-text', "date, delay, 'far'::VARCHAR AS distance, origin, destination"), 'distance', 'type');
    });

    test('an empty training window', async () => {
      await expectDataError(smallFlightsSpec().spec.data.source, 'date', 'minRows', (raw) => {
        raw.data.training = { start: '1999-01-01', end: '1999-01-04' };
        raw.data.holdout = { start: '2001-01-04', end: '2001-01-05' };
      });
    });

    test('NaN and Infinity in a numeric feature', async () => {
      const nan = await parquetFrom('distance-nan', "date, delay, CASE WHEN origin = 'ATL' THEN 'NaN'::DOUBLE ELSE distance::DOUBLE END AS distance, origin, destination");
      await expectDataError(nan, 'distance', 'finite');
      const inf = await parquetFrom('distance-inf', "date, delay, CASE WHEN origin = 'ORD' THEN 'Infinity'::DOUBLE ELSE distance::DOUBLE END AS distance, origin, destination");
      await expectDataError(inf, 'distance', 'finite');
    });

    test('nothing under PERENNIAL_HOME is corrupted by the failures', async () => {
      const db = new Database(path.join(stack.home, 'registry.sqlite'), { readonly: true });
      try {
        assert.equal((db.pragma('integrity_check', { simple: true }) as string), 'ok');
      } finally {
        db.close();
      }
      const tmp = path.join(stack.home, 'artifacts', 'tmp');
      assert.deepEqual(existsSync(tmp) ? readdirSync(tmp) : [], [], 'no half-written files left behind');
      for (const v of await versionsOf('flight-delays')) {
        assert.ok(existsSync(filePath(v.artifactUri)), `v${v.version} artifact still there`);
        assert.doesNotThrow(() => JSON.parse(readFileSync(filePath(v.artifactUri), 'utf8')));
      }
    });
  });

  test('npm run train -- <spec> --by ID --json prints one JSON object: version, metrics, lineage, ids', async () => {
    const { code, stdout, stderr } = await trainScript(smallFlightsSpec().spec, 'small-flights.json', true);
    assert.equal(code, 0, stderr);
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 1, 'exactly one line on stdout');
    const out = JSON.parse(lines[0]);
    assert.equal(out.model, 'flight-delays');
    assert.equal(out.version, (await versionsOf('flight-delays')).length);
    assert.equal(out.lineage.trainedBy, 'dana');
    assert.match(out.workflowId, /^train\/flight-delays\/\d+$/);
    assert.equal(typeof out.runId, 'string');
    assert.ok(out.metrics.model.auc > 0.5 && out.metrics.baseRate.auc === 0.5);
    assert.equal(out.webUi, `${stack.config.uiUrl}/namespaces/default/workflows/${encodeURIComponent(out.workflowId)}/${out.runId}/history`);
  });

  test('a source that cannot be read fails at once (not retried), and npm run train prints the activity\'s reason in both forms', async () => {
    const notParquet = path.join(stack.home, 'not-a.parquet');
    writeFileSync(notParquet, 'this is not parquet');
    const cases = [
      { source: path.join(stack.home, 'no-such-file.parquet'), reason: /No files found that match the pattern/ },
      { source: path.join(stack.home, '*.nothing-matches.parquet'), reason: /No files found that match the pattern/ },
      { source: notParquet, reason: /No magic bytes found/ },
    ];
    for (const [i, c] of cases.entries()) {
      const spec = smallFlightsSpec().spec;
      spec.data.source = c.source;
      const out = await trainScript(spec, `broken-${i}.json`, i % 2 === 0);
      assert.equal(out.code, 1, out.stderr);
      if (i % 2 === 0) {
        const line = JSON.parse(out.stdout.trim()) as { ok: boolean; error: string; type: string; workflowId: string };
        assert.equal(line.ok, false);
        assert.equal(line.type, 'DataSourceError');
        assert.match(line.error, c.reason);
        // One attempt: the history has a single ingest attempt, no retry after it.
        const history = await stack.client.workflow.getHandle(line.workflowId).fetchHistory();
        const attempts = (history.events ?? []).flatMap((e) => (e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt ?? 1] : []));
        assert.deepEqual(attempts, [1], 'not retried');
      } else {
        assert.match(out.stderr, /training train\/flight-delays\/\d+ failed \(DataSourceError\): cannot read the data source/);
        assert.match(out.stderr, c.reason);
      }
    }
  });

  test('a second dataset needs only a second spec: CSV source, other columns, a categorical feature', async () => {
    const csv = path.join(stack.home, 'churn.csv');
    writeChurnCsv(csv);
    const loaded = churnSpec(csv);
    const { handle, result } = await train(loaded, 'carol');
    assert.equal(handle.workflowId, 'train/customer-churn/1');
    assert.equal(result.version, 1);
    const [v] = await versionsOf('customer-churn');
    const artifact = ModelArtifact.fromJSON(await readJsonArtifact(v.artifactUri));
    assert.deepEqual(artifact.pipeline.vocabularies.channel.slice().sort(), ['app', 'partner', 'phone', 'store', 'web']);
    assert.ok(result.evaluation.model.auc > 0.7, `churn AUC ${result.evaluation.model.auc}: the categorical signal is learned`);
    assert.ok(result.evaluation.model.logLoss < result.evaluation.baseRate.logLoss);
  });
});
