import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateGate } from '../../src/lifecycle/gate';
import type { Metrics } from '../../src/lifecycle/contract';
import type { ModelSpec } from '../../src/spec/modelSpec';

type Gates = ModelSpec['evaluation']['gates'];

const gates = (g: Partial<Gates>): Gates => ({ min: {}, max: {}, beatBaseRate: [], maxRegression: {}, ...g });
const metrics = (m: Partial<Metrics>): Metrics => ({ auc: 0.7, logLoss: 0.5, accuracy: 0.8, brier: 0.15, ...m });
const BASE_RATE = metrics({ auc: 0.5, logLoss: 0.6, accuracy: 0.75, brier: 0.19 });

test('the champion on the same holdout: a candidate worse by more than the allowed regression fails, within it passes', () => {
  const g = gates({ maxRegression: { auc: 0.005 } });
  const champion = metrics({ auc: 0.7 });

  const slightlyWorse = evaluateGate(g, metrics({ auc: 0.697 }), BASE_RATE, champion);
  assert.equal(slightlyWorse.passed, true);
  assert.match(slightlyWorse.checks[0].detail, /auc 0\.6970 vs champion 0\.7000 on the same holdout: worse by 0\.0030, within the allowed 0\.005/);

  const tooMuchWorse = evaluateGate(g, metrics({ auc: 0.69 }), BASE_RATE, champion);
  assert.equal(tooMuchWorse.passed, false);
  assert.deepEqual(tooMuchWorse.reasons, ['auc 0.6900 vs champion 0.7000 on the same holdout: worse by 0.0100, beyond the allowed 0.005']);

  const better = evaluateGate(g, metrics({ auc: 0.75 }), BASE_RATE, champion);
  assert.equal(better.passed, true);
  assert.match(better.checks[0].detail, /not worse/);
});

test('a metric where lower is better regresses when it rises (log loss, Brier)', () => {
  const g = gates({ maxRegression: { logLoss: 0.01, brier: 0 } });
  const champion = metrics({ logLoss: 0.5, brier: 0.15 });
  const r = evaluateGate(g, metrics({ logLoss: 0.52, brier: 0.149 }), BASE_RATE, champion);
  assert.equal(r.passed, false);
  assert.deepEqual(r.reasons, ['logLoss 0.5200 vs champion 0.5000 on the same holdout: worse by 0.0200, beyond the allowed 0.01']);
  assert.equal(r.checks.find((c) => c.rule === 'maxRegression:brier')?.passed, true, 'a lower Brier score is better, not a regression');
  assert.equal(evaluateGate(g, metrics({ logLoss: 0.45, brier: 0.15 }), BASE_RATE, champion).passed, true);
});

test('with no champion yet only the absolute gates and the base rate judge', () => {
  const g = gates({ min: { auc: 0.6 }, beatBaseRate: ['logLoss'], maxRegression: { auc: 0 } });
  const first = evaluateGate(g, metrics({ auc: 0.65 }), BASE_RATE, null);
  assert.equal(first.passed, true);
  assert.deepEqual(first.checks.map((c) => c.rule), ['min:auc', 'beatBaseRate:logLoss']);
});

test('every failed check is a reason: absolute minimum and maximum, base rate, regression', () => {
  const g = gates({ min: { auc: 0.6 }, max: { brier: 0.2 }, beatBaseRate: ['logLoss'], maxRegression: { accuracy: 0.01 } });
  const r = evaluateGate(g, metrics({ auc: 0.55, brier: 0.25, logLoss: 0.7, accuracy: 0.7 }), BASE_RATE, metrics({ accuracy: 0.8 }));
  assert.equal(r.passed, false);
  assert.deepEqual(r.reasons, [
    'auc 0.5500 < minimum 0.6',
    'brier 0.2500 > maximum 0.2',
    "logLoss 0.7000 does not beat the base rate's 0.6000",
    'accuracy 0.7000 vs champion 0.8000 on the same holdout: worse by 0.1000, beyond the allowed 0.01',
  ]);
});
