import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { DeterminismViolationError } from '@temporalio/workflow';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { workflowBundle } from '../helpers/temporalServer';

// Histories of real runs (recorded by test/workflow/lifecycle.test.ts with
// PERENNIAL_RECORD_HISTORIES=1) replayed against the current workflow code: a change
// that would break running lifecycles fails here. Change workflow code under running
// lifecycles with `patched()` (see README).
const HISTORIES = path.join(__dirname, 'histories');

function fixtures(): { name: string; history: temporal.api.history.v1.History }[] {
  return readdirSync(HISTORIES)
    .filter((f) => f.endsWith('.binpb'))
    .map((f) => ({ name: f, history: temporal.api.history.v1.History.decode(readFileSync(path.join(HISTORIES, f))) }));
}

test('every recorded history replays on the current workflow code', async () => {
  const all = fixtures();
  assert.deepEqual(all.map((f) => f.name).sort(), ['lifecycle.binpb', 'trainingPipeline.binpb']);
  const bundle = await workflowBundle();
  for (const { name, history } of all) {
    await assert.doesNotReject(Worker.runReplayHistory({ workflowBundle: bundle }, history, name), name);
  }
});

test('a deliberately incompatible change fails replay', async () => {
  const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  const incompatible = await bundleWorkflowCode({ workflowsPath: require.resolve('./incompatible/workflows'), logger: quiet });
  const history = fixtures().find((f) => f.name === 'trainingPipeline.binpb')!.history;
  await assert.rejects(Worker.runReplayHistory({ workflowBundle: incompatible }, history), DeterminismViolationError);
});
