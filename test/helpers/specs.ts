import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { parseSpec, SHIPPED_SPECS_DIR, type LoadedSpec } from '../../src/spec/load';
import type { GbdtTrainerInput, ModelSpecInput } from '../../src/spec/modelSpec';
import { seededRandom } from '../../src/util/random';

export function flightsSpecRaw(): ModelSpecInput {
  return YAML.parse(readFileSync(path.join(SHIPPED_SPECS_DIR, 'flight-delays.yaml'), 'utf8')) as ModelSpecInput;
}

/** A raw spec's GBDT trainer (the shipped spec's), for tests that change its params. */
export function gbdtInput(raw: ModelSpecInput): GbdtTrainerInput {
  const trainer = raw.trainer as GbdtTrainerInput;
  if (trainer.type !== 'gbdt') throw new Error(`expected a gbdt trainer, got ${trainer.type}`);
  return trainer;
}

/** Sets the raw spec's GBDT params (the rest of them kept). */
export function setGbdtParams(raw: ModelSpecInput, params: Partial<NonNullable<GbdtTrainerInput['params']>>, checkpointEvery?: number): void {
  const trainer = gbdtInput(raw);
  raw.trainer = { ...trainer, params: { ...trainer.params, ...params }, ...(checkpointEvery ? { checkpointEvery } : {}) };
}

/**
 * The shipped flights spec on a few days of data and few rounds: the real pipeline, quickly.
 * Without the shipped monitoring and retrain policy (a 6 h cooldown would refuse the quick
 * successive retrains lifecycle tests make): tests of monitoring set their own.
 */
export function smallFlightsSpec(overrides: (raw: ModelSpecInput) => void = () => undefined): LoadedSpec {
  const raw = flightsSpecRaw();
  delete raw.monitoring;
  delete raw.retrain;
  raw.data.training = { start: '2001-01-01', end: '2001-01-04' };
  raw.data.holdout = { start: '2001-01-04', end: '2001-01-05' };
  raw.data.minRows = { training: 1000, holdout: 200 };
  setGbdtParams(raw, { rounds: 20, maxDepth: 4 }, 5);
  overrides(raw);
  return parseSpec(raw, '<test flights spec>', SHIPPED_SPECS_DIR);
}

/**
 * A second, unrelated problem — customer churn with other column names, a CSV source
 * and a categorical feature — to show a new dataset needs only a new spec.
 */
export function writeChurnCsv(file: string, rows = 6000, seed = 7): void {
  const random = seededRandom(seed);
  const channels = ['web', 'store', 'phone', 'partner', 'app'];
  const channelEffect: Record<string, number> = { web: -1, store: 0.5, phone: 1.5, partner: -0.5, app: -1.5 };
  const regions = ['north', 'south', 'east', 'west'];
  const lines = ['signup_at,monthly_spend,channel,region,churned'];
  const start = Date.UTC(2024, 0, 1);
  for (let i = 0; i < rows; i++) {
    const t = new Date(start + Math.floor((i / rows) * 60 * 86_400_000)).toISOString().replace('T', ' ').slice(0, 19);
    const spend = Math.round(random() * 20000) / 100;
    const channel = channels[Math.floor(random() * channels.length)];
    const region = regions[Math.floor(random() * regions.length)];
    const logit = channelEffect[channel] + (spend < 40 ? 1 : -0.5);
    const churned = random() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    lines.push(`${t},${spend},${channel},${region},${churned}`);
  }
  writeFileSync(file, lines.join('\n') + '\n');
}

export function churnSpec(csvFile: string): LoadedSpec {
  return parseSpec(
    {
      name: 'customer-churn',
      data: {
        source: csvFile,
        timeColumn: 'signup_at',
        columns: {
          signup_at: { type: 'timestamp' },
          monthly_spend: { type: 'number', min: 0 },
          channel: { type: 'string', categories: ['web', 'store', 'phone', 'partner', 'app'] },
          region: { type: 'string' },
          churned: { type: 'number', min: 0, max: 1 },
        },
        training: { start: '2024-01-01', end: '2024-02-15' },
        holdout: { start: '2024-02-15', end: '2024-03-01' },
        minRows: { training: 1000, holdout: 200 },
      },
      target: { name: 'churn', column: 'churned', positiveWhen: { equals: 1 } },
      lookups: { byRegion: { keys: ['region'], stats: { churnRate: { agg: 'targetRate', smoothing: 10 } } } },
      features: [
        { name: 'spend', kind: 'numeric', transform: { from: 'column', column: 'monthly_spend' } },
        { name: 'channel', kind: 'categorical', transform: { from: 'category', column: 'channel' } },
        { name: 'signup_hour', kind: 'numeric', transform: { from: 'datePart', column: 'signup_at', part: 'hour' } },
        { name: 'region_churn_rate', kind: 'numeric', transform: { from: 'lookup', table: 'byRegion', stat: 'churnRate' } },
      ],
      trainer: { type: 'gbdt', params: { rounds: 30, maxDepth: 3, learningRate: 0.2 }, checkpointEvery: 10 },
      approval: { approvers: ['ml-lead'] },
    },
    '<churn spec>',
  );
}
