/**
 * Trainers in Python on their own task queue, really run: a Temporal dev server, perennial's
 * TypeScript worker, and the repository's Python worker (its environment made on demand,
 * as `npm run setup` makes it). The models come back as ONNX and are scored in Node.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { startTestStack, workflowBundle, type TestStack } from '../helpers/temporalServer';
import { startTestPythonWorker, type RunningPythonWorker } from '../helpers/pythonWorker';
import { flightsSpecRaw } from '../helpers/specs';
import { createWorker, type PerennialWorker } from '../../src/worker/createWorker';
import { startTraining } from '../../src/client/startTraining';
import { parseSpec, type LoadedSpec } from '../../src/spec/load';
import type { ModelSpecInput } from '../../src/spec/modelSpec';
import { registeredVersions } from '../helpers/registry';
import { FileArtifactStore, filePath } from '../../src/artifacts/fileStore';
import { readJsonArtifact } from '../../src/artifacts/read';
import type { ModelArtifactJson } from '../../src/ml/modelArtifact';

let stack: TestStack;
let worker: PerennialWorker;
let running: Promise<void>;
let python: RunningPythonWorker;
/** Where the tests' spec files and trainer files live (a user's project folder). */
let project: string;

before(async () => {
  stack = await startTestStack();
  worker = await createWorker({ config: stack.config, connection: stack.workerConnection, workflowBundle: await workflowBundle() });
  running = worker.run();
  python = await startTestPythonWorker(stack);
  project = mkdtempSync(path.join(tmpdir(), 'perennial-py-project-'));
  mkdirSync(path.join(project, 'trainers'));
});

after(async () => {
  await python?.stop();
  worker?.shutdown();
  await running;
  await stack?.stop();
});

/** The shipped flights spec on a few days, with `trainer`, loaded from a spec file in the project folder (as `npm run train` loads it). */
function specWith(name: string, trainer: unknown): { loaded: LoadedSpec; file: string } {
  const raw = flightsSpecRaw() as ModelSpecInput & Record<string, unknown>;
  delete raw.monitoring;
  delete raw.retrain;
  raw.name = name;
  raw.data.training = { start: '2001-01-01', end: '2001-01-04' };
  raw.data.holdout = { start: '2001-01-04', end: '2001-01-05' };
  (raw as { trainer: unknown }).trainer = trainer;
  const file = path.join(project, `${name}.json`);
  writeFileSync(file, JSON.stringify(raw));
  return { loaded: parseSpec(raw, file, project), file };
}

function trainerFile(name: string, code: string): string {
  writeFileSync(path.join(project, 'trainers', name), code);
  return `trainers/${name}`;
}

const versionsOf = (model: string) => registeredVersions(stack.home, model);

async function failureOf(loaded: LoadedSpec): Promise<{ failure: ApplicationFailure; workflowId: string }> {
  const handle = await startTraining(stack.client, stack.config, loaded, 'alice');
  const err = await handle.result().then(
    () => assert.fail('the training should have failed'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError, String(err));
  let cause: unknown = err.cause;
  while (cause && !(cause instanceof ApplicationFailure)) cause = (cause as { cause?: unknown }).cause;
  assert.ok(cause instanceof ApplicationFailure, 'an ApplicationFailure is the cause');
  return { failure: cause, workflowId: handle.workflowId };
}

/** Attempts of the Python `train` activity in a run's history. */
async function trainAttempts(workflowId: string): Promise<number[]> {
  const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, string>();
  const attempts: number[] = [];
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), `${s.activityType?.name}@${s.taskQueue?.name}`);
    const started = e.activityTaskStartedEventAttributes;
    if (started && scheduled.get(String(started.scheduledEventId)) === 'train@perennial-python') attempts.push(started.attempt ?? 1);
  }
  return attempts;
}

const artifactOf = async (uri: string) => (await readJsonArtifact(uri)) as ModelArtifactJson;

/** Every process under `pid`, from Linux's /proc (children of each of its threads). */
function descendants(pid: number): number[] {
  const children = (p: number): number[] => {
    try {
      return readdirSync(`/proc/${p}/task`).flatMap((t) => readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    } catch {
      return [];
    }
  };
  const out: number[] = [];
  for (let queue = children(pid); queue.length; ) {
    const next = queue.shift()!;
    out.push(next);
    queue.push(...children(next));
  }
  return out;
}

/** Alive and not a zombie waiting for its parent. */
function alive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('trainers in Python on the perennial-python task queue', () => {
  test('lightgbm: trained by the Python worker, its ONNX scored in Node agrees with LightGBM on every holdout row', async () => {
    const { loaded } = specWith('py-lightgbm', { type: 'lightgbm', params: { num_leaves: 15, learning_rate: 0.1, num_boost_round: 40 } });
    const handle = await startTraining(stack.client, stack.config, loaded, 'alice');
    const result = await handle.result();
    assert.equal(result.version, 1);
    assert.ok(result.parity, 'the result carries the parity check');
    assert.equal(result.parity.rows, result.evaluation.holdoutRows, 'every holdout row compared');
    assert.ok(result.parity.maxAbsDiff <= 1e-5, `max abs difference ${result.parity.maxAbsDiff}`);
    assert.equal(result.training.rounds, 40);
    assert.ok(result.evaluation.model.auc > 0.6, `AUC ${result.evaluation.model.auc}`);

    const [v] = await versionsOf('py-lightgbm');
    const artifact = await artifactOf(v.artifactUri);
    assert.equal(artifact.trainer.type, 'onnx');
    if (artifact.trainer.type !== 'onnx') return;
    assert.deepEqual(artifact.trainer.framework, { name: 'lightgbm', version: '4.7.0' });
    assert.equal(artifact.trainer.trainer, 'lightgbm');
    for (const file of [artifact.trainer.onnx, artifact.trainer.native]) {
      assert.equal(createHash('sha256').update(readFileSync(filePath(file.uri))).digest('hex'), file.sha256, `${file.uri} is content-addressed`);
    }
    assert.equal(artifact.trainer.native.format, 'lightgbm-text');
    assert.match(readFileSync(filePath(artifact.trainer.native.uri), 'utf8'), /^tree\nversion=v4/, "LightGBM's own text model");
    // The stored spec names the trainer; the version's profile has the model's prediction reference.
    assert.equal(JSON.parse(v.specJson!).trainer.type, 'lightgbm');
    assert.ok(((await readJsonArtifact(v.lineage.profileUri!)) as { prediction?: unknown }).prediction, 'prediction drift reference from the ONNX model');
  });

  test('a user trainer from a file (sklearn, no heartbeat calls, longer than the heartbeat timeout) runs the stored copy of its file, in one attempt', async () => {
    const code = [
      'import time',
      'from sklearn.ensemble import HistGradientBoostingClassifier',
      '',
      'def train(ctx):',
      '    # Longer than the 20 s heartbeat timeout, and never calls ctx.heartbeat: the worker heartbeats for it.',
      '    time.sleep(ctx.params["sleep_seconds"])',
      '    model = HistGradientBoostingClassifier(max_iter=ctx.params["max_iter"], random_state=ctx.seed)',
      '    return model.fit(ctx.X_train, ctx.y_train)',
      '',
    ].join('\n');
    const entry = trainerFile('hgb.py', code);
    const { loaded } = specWith('py-sklearn', { type: 'python', entrypoint: `${entry}:train`, params: { sleep_seconds: 25, max_iter: 30 }, seed: 7 });
    const sha = createHash('sha256').update(code).digest('hex');
    assert.equal(loaded.spec.trainer.type === 'python' && loaded.spec.trainer.code?.sha256, sha, 'the spec names the file by its sha256');
    const handle = await startTraining(stack.client, stack.config, loaded, 'alice');
    // Changing the file after the training started changes nothing: the worker runs the stored copy.
    trainerFile('hgb.py', 'raise RuntimeError("not this copy")\n');
    const result = await handle.result();
    assert.ok(result.parity && result.parity.maxAbsDiff <= 1e-5, `parity ${JSON.stringify(result.parity)}`);
    assert.deepEqual(await trainAttempts(handle.workflowId), [1], 'no heartbeat timeout, no retry');
    const [v] = await versionsOf('py-sklearn');
    const artifact = await artifactOf(v.artifactUri);
    assert.ok(artifact.trainer.type === 'onnx' && artifact.trainer.framework.name === 'scikit-learn' && artifact.trainer.trainer === 'python');
    assert.ok(await new FileArtifactStore(path.join(stack.home, 'artifacts')).find('code', sha, 'py'), 'the trainer file is in the artifact store');
    assert.equal(JSON.parse(v.specJson!).trainer.code.sha256, sha, "the version's lineage names the code");
  });

  test('a trainer that raises fails once, typed, with its message through npm run train; nothing is registered', async () => {
    const entry = trainerFile('raises.py', ['def train(ctx):', '    raise ValueError("the labels look wrong: " + str(len(ctx.y_train)) + " rows")', ''].join('\n'));
    const { file } = specWith('py-raises', { type: 'python', entrypoint: `${entry}:train` });
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/train.ts', file, '--by', 'dana', '--json'], { cwd: path.resolve(__dirname, '../..'), env: { ...process.env, ...stack.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 1, stderr);
    const out = JSON.parse(stdout.trim()) as { ok: boolean; type: string; error: string; workflowId: string };
    assert.equal(out.ok, false);
    assert.equal(out.type, 'TrainerFailed');
    assert.match(out.error, /trainers\/raises\.py:train raised ValueError: the labels look wrong: \d+ rows \(at trainers\/raises\.py line 2\)/);
    assert.deepEqual(await trainAttempts(out.workflowId), [1], 'not retried');
    assert.equal((await versionsOf('py-raises')).length, 0, 'nothing registered');
  });

  test("params the trainer refuses fail as TrainerParamsError with the framework's message; nothing is registered", async () => {
    const entry = trainerFile('params.py', [
      'from sklearn.ensemble import HistGradientBoostingClassifier',
      'def train(ctx):',
      '    return HistGradientBoostingClassifier(**ctx.params).fit(ctx.X_train, ctx.y_train)',
      '',
    ].join('\n'));
    const { loaded } = specWith('py-params', { type: 'python', entrypoint: `${entry}:train`, params: { max_iter: -3 } });
    const { failure, workflowId } = await failureOf(loaded);
    assert.equal(failure.type, 'TrainerParamsError');
    assert.match(failure.message, /max_iter/);
    assert.equal(failure.nonRetryable, true);
    assert.deepEqual(await trainAttempts(workflowId), [1]);
    assert.equal((await versionsOf('py-params')).length, 0);
  });

  test('a model the trainer returns that is not a classifier fails as ModelNotServable', async () => {
    const entry = trainerFile('nothing.py', ['def train(ctx):', '    return {"not": "a model"}', ''].join('\n'));
    const { loaded } = specWith('py-not-a-model', { type: 'python', entrypoint: `${entry}:train` });
    const { failure } = await failureOf(loaded);
    assert.equal(failure.type, 'ModelNotServable');
    assert.match(failure.message, /returned a builtins\.dict; expected a fitted LightGBM Booster, an sklearn-compatible classifier/);
    assert.equal((await versionsOf('py-not-a-model')).length, 0);
  });

  test('a trainer may return an ONNX ModelProto: normalized to perennial\'s input and output, judged against onnx\'s reference evaluator', async () => {
    const entry = trainerFile('onnx_model.py', [
      'from skl2onnx import convert_sklearn',
      'from skl2onnx.common.data_types import FloatTensorType',
      'from sklearn.impute import SimpleImputer',
      'from sklearn.linear_model import LogisticRegression',
      'from sklearn.pipeline import make_pipeline',
      'def train(ctx):',
      '    model = make_pipeline(SimpleImputer(), LogisticRegression(max_iter=500)).fit(ctx.X_train, ctx.y_train)',
      '    return convert_sklearn(model, initial_types=[("x", FloatTensorType([None, len(ctx.feature_names)]))], options={"zipmap": False})',
      '',
    ].join('\n'));
    const { loaded } = specWith('py-onnx', { type: 'python', entrypoint: `${entry}:train` });
    const result = await (await startTraining(stack.client, stack.config, loaded, 'alice')).result();
    assert.ok(result.parity && result.parity.maxAbsDiff <= 1e-5, JSON.stringify(result.parity));
    const artifact = await artifactOf((await versionsOf('py-onnx'))[0].artifactUri);
    assert.ok(artifact.trainer.type === 'onnx' && artifact.trainer.framework.name === 'onnx' && artifact.trainer.native.format === 'onnx');
  });

  test('a model whose ONNX disagrees with its framework on the holdout is never registered: ParityError names the worst row', async () => {
    // skl2onnx writes a HistGradientBoosting inside a Pipeline with float32 thresholds: on these
    // features some holdout rows fall between a threshold and its float32 rounding.
    const entry = trainerFile('lossy.py', [
      'from sklearn.ensemble import HistGradientBoostingClassifier',
      'from sklearn.pipeline import make_pipeline',
      'from sklearn.preprocessing import FunctionTransformer',
      'def train(ctx):',
      '    return make_pipeline(FunctionTransformer(), HistGradientBoostingClassifier(max_iter=30, random_state=ctx.seed)).fit(ctx.X_train, ctx.y_train)',
      '',
    ].join('\n'));
    const { loaded } = specWith('py-lossy', { type: 'python', entrypoint: `${entry}:train` });
    const { failure, workflowId } = await failureOf(loaded);
    assert.equal(failure.type, 'ParityError', failure.message);
    assert.match(failure.message, /onnxruntime-node's scores differ from scikit-learn's own by up to \S+ \(holdout row \d+; at most 0\.00001 allowed\): the ONNX model is not served/);
    assert.equal(failure.nonRetryable, true);
    const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
    assert.equal((history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'register').length, 0, 'register never scheduled');
    assert.equal((await versionsOf('py-lossy')).length, 0);
  });

  test('a Python worker SIGKILLed mid-training: another one resumes from the checkpoint; one version', async () => {
    const second = await startTestPythonWorker(stack);
    try {
      const { loaded } = specWith('py-killed', { type: 'lightgbm', params: { num_leaves: 31, learning_rate: 0.05, num_boost_round: 1500, num_threads: 1 } });
      const handle = await startTraining(stack.client, stack.config, loaded, 'alice');
      // Wait for durable evidence of progress past a checkpoint: the attempt's heartbeat, as the server holds it.
      const deadline = Date.now() + 180_000;
      let identity: string | undefined;
      while (Date.now() < deadline) {
        const d = await handle.describe();
        const pending = d.raw.pendingActivities?.find((a) => a.activityType?.name === 'train');
        const details = pending?.heartbeatDetails?.payloads?.[0]?.data;
        const progress = details ? (JSON.parse(Buffer.from(details).toString('utf8')) as { progress?: { round?: number } }) : undefined;
        if ((progress?.progress?.round ?? 0) >= 30) {
          identity = pending?.lastWorkerIdentity ?? undefined;
          break;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.ok(identity, 'the training reported progress past round 30');
      const pid = Number(identity.split('@')[0]);
      const victim = [python, second].find((w) => w.child.pid === pid);
      assert.ok(victim, `the worker running it (${identity}) is one of ours (${python.child.pid}, ${second.child.pid})`);
      // The fit runs in a process of its own (under the worker's fork server): it must end with the worker.
      const fitProcesses = descendants(pid);
      assert.ok(fitProcesses.length > 0, 'the worker runs the fit in processes of its own');
      victim.child.kill('SIGKILL');
      const gone = Date.now() + 30_000;
      while (fitProcesses.some(alive) && Date.now() < gone) await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(fitProcesses.filter(alive), [], "the killed worker's fit does not go on beside the retry");
      const result = await handle.result();
      assert.ok(result.training.resumedFromRound >= 10, `resumed from round ${result.training.resumedFromRound}`);
      assert.equal(result.training.rounds, 1500);
      // The started event is written when the activity closes, with the attempt that closed it.
      assert.deepEqual(await trainAttempts(handle.workflowId), [2], 'completed by the second attempt, on the other worker');
      assert.equal((await versionsOf('py-killed')).length, 1, 'one version');
      assert.ok(result.parity && result.parity.maxAbsDiff <= 1e-5);
      if (victim === python) python = second;
    } finally {
      if (python !== second) await second.stop();
    }
  });
});

test('an unknown key in a lightgbm trainer is refused when the spec loads, with the known ones', () => {
  assert.throws(() => specWith('py-unknown', { type: 'lightgbm', params: { num_leaves: 15, min_child_samples: 3 } }), /trainer\.params\.min_child_samples: unknown key/);
  assert.ok(existsSync(project));
});
