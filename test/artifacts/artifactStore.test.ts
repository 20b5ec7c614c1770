/**
 * The artifact store's contract, on a folder and on a real S3-compatible server (gofakes3,
 * built and started by the test): content-addressed writes happen once, every read checks
 * the bytes against their hash, named files are replaced whole, and the Python worker reads
 * and writes the same URIs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { openArtifactStore } from '../../src/artifacts/open';
import { filePath } from '../../src/artifacts/fileStore';
import { localArtifactPath, readArtifactBytes, readJsonArtifact } from '../../src/artifacts/read';
import type { ArtifactStore } from '../../src/artifacts/store';
import { startLocalS3, type LocalS3 } from '../../src/cluster/s3';
import { ensurePythonEnv, PYTHON_SOURCE_DIR } from '../../src/python/environment';
import { freePort } from '../../src/util/net';
import { tempHome } from '../helpers/temporalServer';

let s3: LocalS3;
const home = tempHome();

before(async () => {
  s3 = await startLocalS3({ port: await freePort(), dataDir: path.join(tempHome('perennial-s3-'), 's3'), bucket: 'perennial-test' });
  Object.assign(process.env, s3.env);
});

after(async () => {
  await s3?.stop();
  rmSync(path.dirname(s3.dataDir), { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

/** Overwrites what a URI names, behind the store's back (as a broken disk or a hostile writer could). */
async function tamper(uri: string, bytes: string): Promise<void> {
  if (uri.startsWith('file:')) return writeFileSync(filePath(uri), bytes);
  const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri)!;
  await new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true }).send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
}

const stores: { name: string; open: () => ArtifactStore }[] = [
  { name: 'a folder (file:)', open: () => openArtifactStore({ home: tempHome() }) },
  { name: 'S3 (s3://bucket/prefix)', open: () => openArtifactStore({ home, artifactsUrl: `s3://perennial-test/run-${Date.now()}` }) },
];

for (const { name, open } of stores) {
  describe(`the artifact store on ${name}`, () => {
    test('content-addressed writes: stored once under their sha256, reused after, read back verified', async () => {
      const store = open();
      const first = await store.putJson('profiles', { a: 1, b: [1, 2, 3] });
      assert.equal(first.reused, false);
      assert.match(first.uri, new RegExp(`^${store.rootUri}/profiles/${first.sha256}\\.json$`));
      const again = await store.putJson('profiles', { a: 1, b: [1, 2, 3] });
      assert.deepEqual({ ...again, reused: false }, first);
      assert.equal(again.reused, true, 'the second write found it there (If-None-Match on S3)');
      assert.deepEqual(await readJsonArtifact(first.uri), { a: 1, b: [1, 2, 3] });
      assert.equal(await store.find('profiles', first.sha256, 'json'), first.uri);
      assert.equal(await store.find('profiles', 'f'.repeat(64), 'json'), undefined);
      assert.ok(store.holds(first.uri));
      assert.ok(!store.holds(first.uri.replace(/\/profiles\//, '/../../elsewhere/')));
      assert.ok(!store.holds('file:///etc/passwd'));

      const bytes = await store.putBytes('onnx', Buffer.from('not really onnx'), 'onnx');
      assert.equal((await readArtifactBytes(bytes.uri, bytes.sha256)).toString(), 'not really onnx');
      await assert.rejects(() => readArtifactBytes(bytes.uri, '0'.repeat(64)), /has sha256 [0-9a-f]{64}, expected 0{64}/);

      await tamper(first.uri, '{"a":2}');
      await assert.rejects(() => readJsonArtifact(first.uri), /has sha256 [0-9a-f]{64}, expected/, 'a changed artifact is refused by the hash in its name');
    });

    test('a scratch file is adopted under its hash, and DuckDB-style readers get a local path with the same bytes', async () => {
      const store = open();
      const scratch = store.tempPath('parquet');
      writeFileSync(scratch, 'PAR1 pretend parquet');
      const adopted = await store.adoptFile('datasets', scratch, 'parquet');
      assert.throws(() => readFileSync(scratch), /ENOENT/, 'the scratch file is gone');
      assert.equal(readFileSync(await localArtifactPath(adopted.uri)).toString(), 'PAR1 pretend parquet');
      const same = store.tempPath('parquet');
      writeFileSync(same, 'PAR1 pretend parquet');
      assert.equal((await store.adoptFile('datasets', same, 'parquet')).reused, true);
    });

    test('named files are replaced whole, read back, and removed; a missing one is null', async () => {
      const store = open();
      assert.equal(await store.namedJson('checkpoints/run-1.json'), null);
      const uri = await store.putNamedJson('checkpoints/run-1.json', { round: 10 });
      assert.equal(uri, store.namedUri('checkpoints/run-1.json'));
      await store.putNamedJson('checkpoints/run-1.json', { round: 20 });
      assert.deepEqual(await store.namedJson('checkpoints/run-1.json'), { uri, value: { round: 20 } });
      await store.removeNamed('checkpoints/run-1.json');
      await store.removeNamed('checkpoints/run-1.json');
      assert.equal(await store.namedJson('checkpoints/run-1.json'), null);
      const report = await store.putNamedJson('monitor-reports/m/check-1.json', { ok: true });
      await store.remove(report);
      assert.equal(await store.namedJson('monitor-reports/m/check-1.json'), null);
      await assert.rejects(() => store.remove('file:///etc/hostname'), /is not in the artifact store/);
    });
  });
}

test('an unreachable S3 fails with what, where and why, after bounded retries', async () => {
  const port = await freePort();
  const saved = process.env.AWS_ENDPOINT_URL;
  process.env.AWS_ENDPOINT_URL = `http://127.0.0.1:${port}`;
  try {
    const store = openArtifactStore({ home, artifactsUrl: 's3://perennial-test/unreachable' });
    const started = Date.now();
    await assert.rejects(() => store.putJson('models', { v: 1 }), /cannot write s3:\/\/perennial-test\/unreachable\/models\/[0-9a-f]{64}\.json: .*ECONNREFUSED/);
    assert.ok(Date.now() - started < 60_000);
    await assert.rejects(() => readJsonArtifact(`s3://perennial-test/unreachable/models/${'a'.repeat(64)}.json`), /cannot read s3:\/\/perennial-test\/unreachable\/models\/a{64}\.json/);
  } finally {
    process.env.AWS_ENDPOINT_URL = saved;
  }
});

test("the Python worker's store writes and reads the same s3: URIs as Node's, with the same checks", async () => {
  const python = await ensurePythonEnv();
  const store = openArtifactStore({ home, artifactsUrl: 's3://perennial-test/python' });
  const fromNode = await store.putBytes('code', Buffer.from('def train(ctx):\n    pass\n'), 'py');
  const script = `
import json, sys
from perennial_worker import store
from temporalio.exceptions import ApplicationError
node = json.loads(sys.argv[1])
out = {"read": store.read_bytes(node["uri"], node["sha256"]).decode()}
out["put"] = store.put(node["root"], "onnx", b"onnx bytes from python", "onnx")
out["again"] = store.put(node["root"], "onnx", b"onnx bytes from python", "onnx")
store.put_named(node["root"] + "/checkpoints/py.lightgbm", b"tree 1")
out["named"] = store.read_named(node["root"] + "/checkpoints/py.lightgbm").decode()
store.remove_named(node["root"] + "/checkpoints/py.lightgbm")
out["removed"] = store.read_named(node["root"] + "/checkpoints/py.lightgbm")
try:
    store.read_bytes(node["uri"], "0" * 64)
except ApplicationError as err:
    out["refused"] = str(err)
print(json.dumps(out))
`;
  const run = spawnSync(python, ['-c', script, JSON.stringify({ uri: fromNode.uri, sha256: fromNode.sha256, root: store.rootUri })], {
    cwd: PYTHON_SOURCE_DIR,
    env: { ...process.env, PYTHONPATH: PYTHON_SOURCE_DIR },
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout) as { read: string; put: { uri: string; sha256: string }; again: { uri: string }; named: string; removed: null; refused: string };
  assert.equal(out.read, 'def train(ctx):\n    pass\n');
  assert.equal(out.again.uri, out.put.uri);
  assert.ok(store.holds(out.put.uri), 'Python wrote inside the store');
  assert.equal((await readArtifactBytes(out.put.uri, out.put.sha256)).toString(), 'onnx bytes from python', 'Node reads what Python wrote');
  assert.equal(out.named, 'tree 1');
  assert.equal(out.removed, null);
  assert.match(out.refused, /has sha256 [0-9a-f]{64}, expected 0{64}/);
});
