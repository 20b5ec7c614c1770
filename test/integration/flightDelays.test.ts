import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findSpec } from '../../src/spec/load';
import { openArtifactStore } from '../../src/artifacts/open';
import { filePath } from '../../src/artifacts/fileStore';
import { readJsonArtifact } from '../../src/artifacts/read';
import { evaluateModel, ingest, trainModel, validateData } from '../../src/training/steps';
import { ModelArtifact } from '../../src/ml/modelArtifact';
import { readWindow } from '../../src/data/read';
import { withDuckDb } from '../../src/data/duckdb';
import { tempHome } from '../helpers/temporalServer';

test('flight-delays, full demo spec: honest holdout AUC ≥ 0.62 and log-loss better than the base rate', async () => {
  const { spec } = findSpec('flight-delays', tempHome());
  const store = openArtifactStore({ home: tempHome() });
  const snapshot = await ingest(spec, store);
  assert.ok(snapshot.rows.training > 300_000 && snapshot.rows.holdout > 150_000, JSON.stringify(snapshot.rows));
  const prepared = await validateData(spec, snapshot.uri, store);
  const trained = await trainModel(spec, snapshot.uri, prepared.pipelineUri, store, { checkpointKey: 'flights-quality' });
  const evaluation = await evaluateModel(spec, snapshot.uri, trained.artifactUri);
  const { model, baseRate } = evaluation;
  console.log(`holdout AUC ${model.auc.toFixed(4)}, log-loss ${model.logLoss.toFixed(4)} vs base rate ${baseRate.logLoss.toFixed(4)}`);
  assert.ok(model.auc >= 0.62, `AUC ${model.auc}`);
  assert.ok(model.logLoss < baseRate.logLoss, `log-loss ${model.logLoss} vs base rate ${baseRate.logLoss}`);
  assert.ok(model.brier < baseRate.brier);

  // Saved and loaded, the artifact scores the holdout bit-identically.
  const inMemory = ModelArtifact.fromJSON(await readJsonArtifact(trained.artifactUri));
  const reloaded = ModelArtifact.fromJSON(JSON.parse(JSON.stringify(inMemory.toJSON())));
  const holdout = await withDuckDb((db) => readWindow(db, filePath(snapshot.uri), spec, spec.data.holdout));
  const a = await inMemory.predictColumns(holdout);
  const b = await reloaded.predictColumns(holdout);
  assert.equal(a.length, holdout.nRows);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) assert.fail(`row ${i}: ${a[i]} vs ${b[i]}`);
});
