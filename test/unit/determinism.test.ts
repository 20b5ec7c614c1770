import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

function trainInProcess(): Promise<{ dataset: string; pipeline: string; artifactSha256: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/trainOnce.ts'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim())) : reject(new Error(`exit ${code}: ${err}`)))),
  );
}

test('same inputs, same model: two trainings in two processes give the same pipeline and the same artifact sha256', async () => {
  // Sequential, not side by side: the point is two processes, not two loads on two cores.
  const a = await trainInProcess();
  const b = await trainInProcess();
  assert.equal(a.dataset, b.dataset, 'the same snapshot');
  assert.equal(a.pipeline, b.pipeline, 'the same fitted pipeline (lookup statistics to the last bit)');
  assert.equal(a.artifactSha256, b.artifactSha256, 'the same model, byte for byte');
});
