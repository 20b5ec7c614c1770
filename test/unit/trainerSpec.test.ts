import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseSpec, SpecError, storeTrainerCode } from '../../src/spec/load';
import { openArtifactStore } from '../../src/artifacts/open';
import { trainerSeed } from '../../src/spec/specValues';
import { flightsSpecRaw } from '../helpers/specs';
import { tempHome } from '../helpers/temporalServer';

function withTrainer(trainer: unknown) {
  const raw = flightsSpecRaw() as Record<string, unknown>;
  raw.trainer = trainer;
  return raw;
}

function problems(raw: unknown, baseDir?: string): string {
  try {
    parseSpec(raw, '<test>', baseDir);
  } catch (err) {
    assert.ok(err instanceof SpecError, String(err));
    return err.problems.join('\n');
  }
  return assert.fail('the spec should have been refused');
}

test('the GBDT keeps its seed in params, where it always was: a common trainer.seed moves there, and the shipped spec hashes as before', () => {
  const shipped = parseSpec(flightsSpecRaw());
  assert.equal(trainerSeed(shipped.spec.trainer), 42);
  assert.equal('seed' in shipped.spec.trainer, false, 'no new key in a GBDT trainer: old specs keep their hash');
  const seeded = parseSpec(withTrainer({ type: 'gbdt', seed: 7, params: { rounds: 10 } }));
  assert.equal(trainerSeed(seeded.spec.trainer), 7);
  assert.deepEqual(seeded.spec.trainer, parseSpec(withTrainer({ type: 'gbdt', params: { rounds: 10, seed: 7 } })).spec.trainer);
  assert.match(problems(withTrainer({ type: 'gbdt', seed: 7, params: { seed: 8 } })), /trainer/);
});

test('lightgbm: defaults filled in, every param checked key by key and by range', () => {
  const { spec } = parseSpec(withTrainer({ type: 'lightgbm' }));
  assert.deepEqual(spec.trainer, { type: 'lightgbm', params: { num_leaves: 31, learning_rate: 0.1, num_boost_round: 100 }, seed: 42, taskQueue: 'perennial-python' });
  const text = problems(withTrainer({ type: 'lightgbm', params: { num_leaves: 1, learning_rate: 0, num_boost_rounds: 10, objective: 'regression' } }));
  assert.match(text, /trainer\.params\.num_leaves/);
  assert.match(text, /trainer\.params\.learning_rate/);
  assert.match(text, /trainer\.params\.num_boost_rounds: unknown key \(did you mean `num_boost_round`\?\)/);
  assert.match(text, /trainer\.params\.objective: unknown key/);
  assert.match(problems(withTrainer({ type: 'xgboost' })), /trainer.*gbdt, lightgbm or python/);
});

test('python: the entrypoint file is read relative to the spec folder, named by sha256 in the spec, and stored by content', async () => {
  const dir = tempHome('perennial-spec-');
  mkdirSync(path.join(dir, 'trainers'));
  const code = 'def train(ctx):\n    raise NotImplementedError\n';
  writeFileSync(path.join(dir, 'trainers', 'mine.py'), code);
  const loaded = parseSpec(withTrainer({ type: 'python', entrypoint: 'trainers/mine.py:train', params: { depth: [1, 2], note: 'free-form' } }), path.join(dir, 'spec.yaml'), dir);
  const sha = createHash('sha256').update(code).digest('hex');
  assert.deepEqual(loaded.spec.trainer, { type: 'python', entrypoint: 'trainers/mine.py:train', params: { depth: [1, 2], note: 'free-form' }, seed: 42, taskQueue: 'perennial-python', code: { file: 'trainers/mine.py', sha256: sha } });
  // Another file, another spec hash: a policy change names the code.
  writeFileSync(path.join(dir, 'trainers', 'mine.py'), code + '# changed\n');
  assert.notEqual(parseSpec(withTrainer({ type: 'python', entrypoint: 'trainers/mine.py:train' }), 'x', dir).specHash, parseSpec(withTrainer({ type: 'python', entrypoint: 'trainers/mine.py:train', code: { file: 'trainers/mine.py', sha256: sha } }), 'x').specHash);
  // A code claim in the file is replaced by what the file holds.
  const claimed = parseSpec(withTrainer({ type: 'python', entrypoint: 'trainers/mine.py:train', code: { file: 'trainers/mine.py', sha256: '0'.repeat(64) } }), 'x', dir);
  assert.notEqual(claimed.spec.trainer.type === 'python' && claimed.spec.trainer.code?.sha256, '0'.repeat(64));
  const store = openArtifactStore({ home: dir });
  await storeTrainerCode(loaded, store);
  assert.ok(await store.find('code', sha, 'py'), 'stored under its sha256');
  // A module entrypoint names no file.
  assert.equal(parseSpec(withTrainer({ type: 'python', entrypoint: 'my_pkg.trainers:train' }), 'x', dir).trainerCode, undefined);
});

test('python: malformed entrypoints, missing files and oversized params are refused', () => {
  const dir = tempHome('perennial-spec-');
  for (const entrypoint of ['trainers/mine.py', '/etc/passwd.py:train', '../outside.py:train', 'a/../../outside.py:train', 'mine.py:train()', 'a b.py:train', ':train', 'x'.repeat(300) + '.py:train', 'y'.repeat(300) + ':train']) {
    assert.match(problems(withTrainer({ type: 'python', entrypoint })), /trainer\.entrypoint: expected path\/to\/file\.py:function or package\.module:function/, entrypoint);
  }
  assert.match(problems(withTrainer({ type: 'python', entrypoint: 'missing.py:train' }), dir), /trainer\.entrypoint: cannot read .*missing\.py/);
  assert.match(problems(withTrainer({ type: 'python', entrypoint: 'm:train', params: { blob: 'x'.repeat(70_000) } })), /trainer\.params: params must be at most 64 Ki characters as JSON/);
  let deep: unknown = 1;
  for (let i = 0; i < 5000; i++) deep = { d: deep };
  assert.match(problems(withTrainer({ type: 'python', entrypoint: 'm:train', params: { deep } })), /trainer\.params: params may nest at most 32 levels deep/);
  assert.match(problems(withTrainer({ type: 'python', entrypoint: 'm:train', taskQueue: 'a queue' })), /trainer\.taskQueue/);
  // The code the lineage names is the code that runs: none for a module, the entrypoint's own file for a file.
  assert.match(problems(withTrainer({ type: 'python', entrypoint: 'm:train', code: { file: 'x.py', sha256: '0'.repeat(64) } })), /trainer\.code: a module entrypoint runs what the worker has installed/);
  assert.match(problems(withTrainer({ type: 'python', entrypoint: 'a.py:train', code: { file: 'b.py', sha256: '0'.repeat(64) } })), /trainer\.code\.file: the stored code is of b\.py, the entrypoint names a\.py/);
  assert.match(problems(withTrainer({ type: 'python', entrypoint: 'm:train', script: 'x' })), /trainer\.script: unknown key/);
});
