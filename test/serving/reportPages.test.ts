import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { buildModelServer, type ModelServer } from '../../src/serving/app';
import { openRegistry } from '../../src/registry/open';
import { CHART_POINTS, CHECKS_PER_PAGE } from '../../src/reports/modelPage';
import { downsample } from '../../src/reports/downsample';
import { tempHome } from '../helpers/temporalServer';

/**
 * The report page of a model with 10,000 stored checks (a year of hourly checks and more),
 * through the model server's route on a real registry: every breach drawn, the rest thinned,
 * the checks table a page at a time. Its render time is measured by `npm run bench -- report`.
 */

const MODEL = 'busy-model';
const CHECKS = 10_000;
const BREACHED = new Set(Array.from({ length: 40 }, (_, i) => 1_000 + i * 217));
let home: string;
let server: ModelServer;

before(async () => {
  home = tempHome('perennial-report-');
  const registry = openRegistry({ home });
  try {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    for (let i = 0; i < CHECKS; i++) {
      const breached = BREACHED.has(i);
      const enoughData = breached || i % 10 !== 3;
      await registry.recordCheck({
        model: MODEL, version: i < 5_000 ? 1 : 2, at: new Date(t0 + i * 3_600_000).toISOString(), rows: enoughData ? 1_200 : 40, enoughData, breached,
        score: breached ? 0.9 : enoughData ? 0.02 + (i % 7) / 100 : 0, performanceOk: i % 5 === 0 ? true : null, cursorFrom: i, cursorTo: i + 1,
        reportUri: `file:///nowhere/${i}.json`, summary: { breachedFeatures: breached ? ['origin_flights'] : [], performance: i % 5 === 0 ? { auc: 0.65, logLoss: 0.44 } : null }, dedupeKey: `k${i}`,
      });
    }
    const lineage = { datasetUri: 'file:///d', datasetSha256: 'd', specHash: 's', codeVersion: 'c', profileUri: 'file:///p', pipelineUri: 'file:///q', runId: 'r', trainedBy: 'alice', trainedAt: new Date(t0).toISOString() };
    for (const n of [1, 2]) await registry.register({ model: MODEL, artifactUri: 'file:///a', artifactSha256: 'a', metrics: { holdout: { auc: 0.66, logLoss: 0.44 } }, lineage: { ...lineage, workflowId: `train/${MODEL}/${n}` } });
    // Free text from a sender, as a ledger reason: shown as text, never as markup.
    await registry.appendLedger({ model: MODEL, version: 1, decision: 'rejected', by: 'ops-lead', reason: '<script>alert(1)</script><img src=x onerror=alert(2)>', dedupeKey: 'hostile' });
  } finally {
    await registry.close();
  }
  server = await buildModelServer({ home });
});

after(async () => {
  await server?.close();
  rmSync(home, { recursive: true, force: true });
});

test('more breaches than points: the chart stays bounded', () => {
  const all = Array.from({ length: 5_000 }, (_, i) => i);
  const kept = downsample(all, 600, () => true);
  assert.equal(kept.length, 600);
  assert.equal(kept.at(-1), 4_999, 'the newest is drawn');
  assert.equal(downsample(all, 600, (i) => i % 1000 === 7).filter((i) => i % 1000 === 7).length, 5, 'every breach kept when they fit');
});

test('a model with 10,000 stored checks: every breach drawn, the chart thinned, the table paged', async () => {
  const r = await server.app.inject({ method: 'GET', url: `/ui/models/${MODEL}` });
  assert.equal(r.statusCode, 200);
  assert.match(r.headers['content-type'] as string, /^text\/html/);
  const html = r.body;
  const drift = html.slice(html.indexOf('<figure class="chart drift"'), html.indexOf('</figure>', html.indexOf('<figure class="chart drift"')));
  const points = [...drift.matchAll(/<circle [^>]*data-series="drift score"[^>]*>/g)].map((m) => m[0]);
  assert.ok(points.length <= CHART_POINTS, `${points.length} points drawn`);
  const breaches = points.filter((p) => p.includes('class="point alarm"')).map((p) => Number(/data-check="(\d+)"/.exec(p)![1]));
  assert.equal(breaches.length, BREACHED.size, 'every breached check is on the chart');
  assert.ok(points.some((p) => p.includes('data-version="1"')) && points.some((p) => p.includes('data-version="2"')), 'both versions checked are drawn');
  assert.equal((html.match(/<section class="checks">[\s\S]*<\/section>/)![0].match(/<tr class=/g) ?? []).length, CHECKS_PER_PAGE);
  assert.match(html, /page 1 of 200/);
  assert.ok(html.length < 2_000_000, `${html.length} bytes`);
  assert.ok(!/<script|<img/i.test(html), 'no markup from senders, and no JavaScript needed to see it');
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'the hostile reason is shown as text');
  assert.match(r.headers['content-security-policy'] as string, /default-src 'none'/);

  const last = await server.app.inject({ method: 'GET', url: `/ui/models/${MODEL}?page=200` });
  assert.match(last.body, /page 200 of 200/);
  assert.equal((await server.app.inject({ method: 'GET', url: '/ui/models/no-such-model' })).statusCode, 404);
  assert.equal((await server.app.inject({ method: 'GET', url: `/ui/models/${MODEL}/checks/x` })).statusCode, 400);
  const gone = await server.app.inject({ method: 'GET', url: `/ui/models/${MODEL}/checks/5` });
  assert.equal(gone.statusCode, 200);
  assert.match(gone.body, /no longer stored/, "a check whose report was pruned says so");
});
