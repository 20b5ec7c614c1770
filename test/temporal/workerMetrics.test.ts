import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import { startLifecycle } from '../../src/client/startLifecycle';
import { buildModelServer } from '../../src/serving/app';
import { freePort } from '../../src/util/net';
import { startTestStack, type TestStack } from '../helpers/temporalServer';
import { smallFlightsSpec } from '../helpers/specs';
import { waitForStatus } from '../helpers/lifecycle';
import { parsePrometheusText, type MetricFamily } from '../helpers/prometheusText';

/**
 * `npm run worker` with PERENNIAL_WORKER_METRICS_PORT serves the Temporal SDK's Prometheus
 * metrics and the lifecycle's own (stage, decisions) at /metrics, on a real dev server with
 * a real training.
 */

const ROOT = path.resolve(__dirname, '../..');
let stack: TestStack;
let worker: ChildProcess | undefined;
let url: string;

before(async () => {
  stack = await startTestStack();
  const port = await freePort();
  url = `http://127.0.0.1:${port}/metrics`;
  worker = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/worker.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...stack.env, PERENNIAL_WORKER_METRICS_PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
});

after(async () => {
  if (worker && worker.exitCode === null) {
    worker.kill('SIGINT');
    await new Promise((resolve) => worker!.once('exit', resolve));
  }
  await stack?.stop();
});

async function scrape(): Promise<MetricFamily[]> {
  return parsePrometheusText(await (await fetch(url)).text());
}

test('the worker serves temporal_ metrics, the census of lifecycles by stage and the decisions on /metrics; the Grafana dashboard asks for nothing else', async () => {
  const loaded = smallFlightsSpec((raw) => {
    raw.name = 'metered';
    raw.approval = { approvers: ['ml-lead'], timeout: '1h' };
  });
  const { handle } = await startLifecycle(stack.client, stack.config, loaded, 'alice');
  // Gate passed or not, the training's decisions are in: the lifecycle rests in a stage.
  const settled = await waitForStatus(handle, (s) => s.stage !== 'TRAINING' && s.history.some((h) => h.event === 'trained'), 'v1 trained and judged', 180_000);

  // The census counts the lifecycle in its stage from Temporal's visibility store (every 15 s).
  const deadline = Date.now() + 90_000;
  let families: MetricFamily[] = [];
  const sample = (name: string, labels: Record<string, string>) =>
    families.flatMap((f) => f.samples).find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  for (;;) {
    families = await scrape().catch(() => []);
    if (sample('perennial_lifecycles', { stage: settled.stage })?.value === 1) break;
    assert.ok(Date.now() < deadline, `the census did not count the lifecycle as ${settled.stage} within 90 s: ${JSON.stringify(families.find((f) => f.name === 'perennial_lifecycles'))}`);
    await sleep(500);
  }
  const names = families.map((f) => f.name);
  assert.ok(names.some((n) => n.startsWith('temporal_') && n.includes('workflow')), `the SDK's own metrics: ${names.join(', ')}`);
  assert.ok(names.some((n) => n.startsWith('temporal_') && n.includes('activity')), "the SDK's activity metrics");
  assert.equal(sample('perennial_lifecycles', { stage: 'TRAINING' })?.value, 0, 'one stage at a time');
  assert.equal(sample('perennial_decisions_total', { model: 'metered', decision: 'trained' })?.value, 1, JSON.stringify(families.find((f) => f.name === 'perennial_decisions')));

  // The Grafana dashboard asks only for series these two servers expose, by labels they carry.
  const modelServer = await buildModelServer({ home: stack.home });
  let served: MetricFamily[];
  try {
    await modelServer.app.inject({ method: 'POST', url: '/v1/models/metered:predict', payload: { instances: [] } });
    served = parsePrometheusText((await modelServer.app.inject({ method: 'GET', url: '/metrics' })).body);
  } finally {
    await modelServer.close();
  }
  const samples = new Map<string, Set<string>>();
  for (const f of [...families, ...served]) for (const x of f.samples) samples.set(x.name, new Set([...(samples.get(x.name) ?? []), ...Object.keys(x.labels)]));
  const declared = new Set(
    ['workflows/lifecycle/metrics.ts', 'src/serving/metrics.ts', 'src/worker/lifecycleCensus.ts'].flatMap((f) => [...readFileSync(path.join(ROOT, f), 'utf8').matchAll(/'(perennial_[a-z_]+)'/g)].map((m) => m[1])),
  );
  const dashboard = JSON.parse(readFileSync(path.join(ROOT, 'grafana/perennial.json'), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
  assert.ok(dashboard.panels.length >= 8);
  for (const panel of dashboard.panels) {
    for (const { expr } of panel.targets) {
      const metrics = [...expr.matchAll(/\b((?:perennial|temporal)_[a-z_]+)/g)].map((m) => m[1]);
      // Exact names: a series is scraped under its own name, or declared under it in source (one that needs an event this test does not cause).
      assert.ok(metrics.length > 0, `${panel.title}: ${expr}`);
      for (const m of metrics) {
        // Series that appear once something happens (a check, a retrain, a prediction) are matched against their declarations.
        if (!samples.has(m)) {
          assert.ok(declared.has(m.replace(/_(bucket|sum|count)$/, '')), `${panel.title}: ${m} is neither exposed nor declared (exposed: ${[...samples.keys()].join(', ')})`);
          continue;
        }
        for (const by of expr.matchAll(/by \(([^)]*)\)/g)) {
          for (const label of by[1].split(',').map((l) => l.trim()).filter((l) => l !== 'le')) {
            assert.ok(samples.get(m)!.has(label), `${panel.title}: ${m} has no label ${label} (labels: ${[...samples.get(m)!].join(', ')})`);
          }
        }
      }
    }
  }
});
