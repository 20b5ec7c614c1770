/**
 * One lifecycle across model formats, on real parts: a Temporal dev server, perennial's
 * worker, the Python worker and the model server over HTTP. A built-in GBDT champion, a
 * LightGBM challenger trained in Python and gated against it on the same holdout, served
 * as ONNX from Node, and a rollback to the GBDT.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { startServingStack, type ServingStack } from '../helpers/temporalServer';
import { startTestPythonWorker, type RunningPythonWorker } from '../helpers/pythonWorker';
import { smallFlightsSpec } from '../helpers/specs';
import { waitForStatus } from '../helpers/lifecycle';
import { signers, type Signers } from '../helpers/signing';
import { signedSpecUpdate } from '../helpers/signedActions';
import { startLifecycle } from '../../src/client/startLifecycle';
import { openRegistry } from '../../src/registry/open';
import { filePath } from '../../src/artifacts/fileStore';
import { readJsonArtifact } from '../../src/artifacts/read';
import { ModelArtifact } from '../../src/ml/modelArtifact';
import { pythonExecutable } from '../../src/python/environment';
import { approveUpdate, retrainNowUpdate, rollbackUpdate, updateSpecUpdate, type lifecycle } from '../../workflows';
import type { LoadedSpec } from '../../src/spec/load';

let stack: ServingStack;
let python: RunningPythonWorker;
let people: Signers;
const WF = 'lifecycle/flight-delays';
const STARTER = 'alice';
const OPERATOR = 'bob';

function gbdtSpec(): LoadedSpec {
  return smallFlightsSpec((raw) => {
    raw.approval = { approvers: ['ml-lead', 'ops-lead'], operators: ['ml-lead', 'ops-lead', OPERATOR], separationOfDuties: true, timeout: '72h' };
    // A candidate of another format is held to the champion on the same holdout like any other.
    raw.evaluation = { gates: { min: { auc: 0.55 }, maxRegression: { auc: 0.05 } } };
    raw.rollout = { deployTimeout: '30s' };
  });
}

before(async () => {
  stack = await startServingStack();
  python = await startTestPythonWorker(stack);
  people = await signers(stack.config, ['ml-lead', 'ops-lead', STARTER, OPERATOR]);
});

after(async () => {
  await python?.stop();
  await stack?.stop();
});

/** Holdout-day flights as a client sends them, a few hundred of them. */
function instances(): Record<string, unknown>[] {
  const origins = ['ORD', 'ATL', 'DFW', 'LAX', 'DEN', 'SFO', 'PHX', 'IAH'];
  return Array.from({ length: 300 }, (_, i) => ({
    date: new Date(Date.UTC(2001, 0, 4, 6 + (i % 16), (i * 7) % 60)).toISOString().slice(0, 19),
    distance: 150 + ((i * 37) % 2400),
    origin: origins[i % origins.length],
    destination: origins[(i * 3 + 1) % origins.length],
  }));
}

async function predict(rows: Record<string, unknown>[]): Promise<{ model_version: number; predictions: { score: number }[] }> {
  const res = await fetch(`${stack.config.server.url}/v1/models/flight-delays:predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: rows }) });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as { model_version: number; predictions: { score: number }[] };
}

async function version(n: number) {
  const registry = openRegistry({ home: stack.home });
  try {
    return (await registry.get('flight-delays', n))!;
  } finally {
    await registry.close();
  }
}

/** LightGBM's own `predict` (its native model file, in the Python environment) on the rows' features as perennial computes them. */
function lightgbmPredict(nativeUri: string, features: Float64Array, width: number): number[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'perennial-lgb-'));
  try {
    const file = path.join(dir, 'x.f64');
    writeFileSync(file, Buffer.from(features.buffer, features.byteOffset, features.byteLength));
    const script = 'import sys, json, numpy as np, lightgbm as lgb\n' +
      'x = np.fromfile(sys.argv[2], dtype="<f8").reshape(-1, int(sys.argv[3]))\n' +
      'print(json.dumps(lgb.Booster(model_file=sys.argv[1]).predict(x).tolist()))\n';
    const run = spawnSync(pythonExecutable(), ['-c', script, filePath(nativeUri), file, String(width)], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    return JSON.parse(run.stdout) as number[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('a GBDT champion, a LightGBM challenger, a rollback across formats', () => {
  let handle: WorkflowHandle<typeof lifecycle>;

  test('the GBDT v1 is approved and served', async () => {
    handle = (await startLifecycle(stack.client, stack.config, gbdtSpec(), STARTER)).handle;
    await waitForStatus(handle, (s) => s.stage === 'AWAITING_APPROVAL' && s.candidate?.version === 1, 'candidate v1');
    await handle.executeUpdate(approveUpdate, { args: [people.sign(WF, 'approve', { version: 1, by: 'ml-lead', reason: 'first model' })] });
    await waitForStatus(handle, (s) => s.stage === 'SERVING' && s.champion?.version === 1, 'v1 served');
    assert.equal((await predict(instances().slice(0, 1))).model_version, 1);
  });

  test('a signed, co-signed switch to lightgbm; the retrain is gated against the GBDT on the same holdout, approved and served as ONNX', async () => {
    const next = gbdtSpec().spec;
    next.trainer = { type: 'lightgbm', params: { num_leaves: 15, learning_rate: 0.1, num_boost_round: 40 }, seed: 42, taskQueue: 'perennial-python' };
    await handle.executeUpdate(updateSpecUpdate, { args: [signedSpecUpdate(people, WF, { spec: next, by: 'ml-lead', reason: 'try LightGBM' }, { by: 'ops-lead', reason: 'agreed' })] });
    await handle.executeUpdate(retrainNowUpdate, { args: [people.sign(WF, 'retrainNow', { by: OPERATOR, reason: 'LightGBM challenger' })] });
    const s = await waitForStatus(handle, (st) => st.stage === 'AWAITING_APPROVAL' && st.candidate?.version === 2, 'candidate v2', 240_000);
    assert.ok(s.candidate?.championOnSameHoldout, 'the GBDT champion was scored on the LightGBM candidate holdout');
    assert.ok(s.candidate.gate.checks.some((c) => /champion/.test(c.detail) && c.passed), JSON.stringify(s.candidate.gate.checks));
    const v2 = await version(2);
    const artifact = (await readJsonArtifact(v2.artifactUri)) as { trainer: { type: string; native: { uri: string } } };
    assert.equal(artifact.trainer.type, 'onnx');

    await handle.executeUpdate(approveUpdate, { args: [people.sign(WF, 'approve', { version: 2, by: 'ml-lead', reason: 'LightGBM holds up' })] });
    await waitForStatus(handle, (st) => st.stage === 'SERVING' && st.champion?.version === 2, 'v2 served');
    const rows = instances();
    const answer = await predict(rows);
    assert.equal(answer.model_version, 2);
    // LightGBM's own predict on the same rows, from the features perennial computes for them.
    const loaded = await ModelArtifact.load(await readJsonArtifact(v2.artifactUri));
    const width = loaded.pipeline.features.length;
    const features = new Float64Array(rows.length * width);
    rows.forEach((row, i) => loaded.computeFeatures(row, features, i * width));
    const expected = lightgbmPredict(artifact.trainer.native.uri, features, width);
    let worst = 0;
    answer.predictions.forEach((p, i) => (worst = Math.max(worst, Math.abs(p.score - expected[i]))));
    assert.ok(worst <= 1e-5, `served scores differ from LightGBM's predict by up to ${worst}`);
    assert.ok(new Set(answer.predictions.map((p) => p.score)).size > 10, 'the rows get different scores');
  });

  test('a rollback to the GBDT v1 serves it again, scored by the built-in forest', async () => {
    await handle.executeUpdate(rollbackUpdate, { args: [people.sign(WF, 'rollback', { toVersion: 1, by: 'ops-lead', reason: 'back to the GBDT' })] });
    await waitForStatus(handle, (s) => s.stage === 'SERVING' && s.champion?.version === 1, 'v1 served again');
    const rows = instances().slice(0, 50);
    const answer = await predict(rows);
    assert.equal(answer.model_version, 1);
    const gbdt = ModelArtifact.fromJSON(await readJsonArtifact((await version(1)).artifactUri));
    answer.predictions.forEach((p, i) => assert.ok(Object.is(p.score, gbdt.predictRow(rows[i])), `row ${i}`));
  });
});
