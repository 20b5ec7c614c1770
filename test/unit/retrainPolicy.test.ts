import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RetrainSpec } from '../../src/spec/modelSpec';
import { recentRetrains, retrainHeldBack, retrainTrigger, retrainWindows } from '../../src/lifecycle/retrainPolicy';
import type { CheckSummary } from '../../src/lifecycle/contract';
import { smallFlightsSpec } from '../helpers/specs';

const policy = RetrainSpec.parse({ cooldown: '6h', budget: { max: 2, per: '7d' }, onDrift: { consecutiveBreaches: 3 } });
const t0 = Date.parse('2026-01-10T00:00:00Z');
const h = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

function check(over: Partial<CheckSummary> = {}): CheckSummary {
  return {
    at: iso(t0), version: 1, rows: 1000, enoughData: true, breached: true, score: 0.4, breachedFeatures: ['distance'],
    performance: { labeled: 0, auc: null, logLoss: null, belowFloor: null }, reportUri: 'file:///r.json', ...over,
  };
}

test('a retrain within the cooldown of the previous one is held back, with the time it ends', () => {
  const starts = [iso(t0)];
  const held = retrainHeldBack(policy, starts, t0 + 2 * h);
  assert.match(held ?? '', /cooling down until 2026-01-10T06:00:00.000Z/);
  assert.equal(retrainHeldBack(policy, starts, t0 + 6 * h), null);
});

test('the budget allows at most max retrains in any period, and says when the next is possible', () => {
  const starts = [iso(t0), iso(t0 + 10 * h)];
  const held = retrainHeldBack(policy, starts, t0 + 20 * h);
  assert.match(held ?? '', /budget spent: 2 retrains in the last 7d \(max 2\); the next is possible at 2026-01-17T00:00:00.000Z/);
  assert.equal(retrainHeldBack(policy, starts, t0 + 7 * 24 * h), null, 'the oldest retrain left the period');
  assert.deepEqual(recentRetrains(policy, starts, t0 + 7 * 24 * h + 1), [iso(t0 + 10 * h)]);
});

test('no retrain section: nothing is held back and nothing triggers automatically', () => {
  assert.equal(retrainHeldBack(undefined, [iso(t0)], t0 + 1), null);
  assert.equal(retrainTrigger(undefined, check(), 10, []), null);
});

test('drift triggers after K consecutive breaches; performance below the floor at once', () => {
  assert.equal(retrainTrigger(policy, check(), 2, []), null);
  assert.equal(retrainTrigger(policy, check(), 3, [])?.kind, 'drift');
  const low = check({ breached: false, performance: { labeled: 500, auc: 0.51, logLoss: 0.6, belowFloor: true } });
  const t = retrainTrigger(policy, low, 0, ['live auc 0.5100 < floor 0.58']);
  assert.equal(t?.kind, 'performance');
  assert.match(t!.reason, /500 labeled rows: live auc 0.5100 < floor 0.58/);
  assert.equal(retrainTrigger(RetrainSpec.parse({ onPerformance: false, onDrift: null }), low, 99, []), null);
});

test('retrain windows end at the latest labeled event time, the newest part as holdout', () => {
  const spec = smallFlightsSpec((raw) => {
    raw.retrain = { window: { training: '14d', holdout: '3d' } };
  }).spec;
  const w = retrainWindows(spec, '2001-05-31T23:50:00.000Z');
  assert.deepEqual(w, {
    training: { start: '2001-05-14T23:50:00.001Z', end: '2001-05-28T23:50:00.001Z' },
    holdout: { start: '2001-05-28T23:50:00.001Z', end: '2001-05-31T23:50:00.001Z' },
  });
  // Default lengths: the spec's own windows (3 days of training, 1 of holdout).
  const plain = smallFlightsSpec((raw) => {
    delete raw.retrain;
  }).spec;
  const d = retrainWindows(plain, '2001-03-10T12:00:00.000Z');
  assert.equal(Date.parse(d.holdout.end) - Date.parse(d.holdout.start), 86_400_000);
  assert.equal(Date.parse(d.training.end) - Date.parse(d.training.start), 3 * 86_400_000);
  // No labeled traffic yet: the spec's windows.
  assert.deepEqual(retrainWindows(plain, null), { training: plain.data.training, holdout: plain.data.holdout });
});
