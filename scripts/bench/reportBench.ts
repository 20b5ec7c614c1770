/**
 * The report page of a model with 10,000 stored checks: the model server's render time
 * (median over repeats) against reading the same checks from the registry alone (the
 * baseline, same run), and the first contentful paint in chromium when it is installed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { chromium } from 'playwright-core';
import { withRegistry } from '../../src/registry/open';
import { buildModelServer } from '../../src/serving/app';
import { freePort } from '../../src/util/net';
import { median } from './stats';

const MODEL = 'bench-report';

async function storeChecks(home: string, n: number): Promise<void> {
  await withRegistry({ home }, async (registry) => {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    for (let i = 0; i < n; i++) {
      const breached = i % 250 === 17;
      await registry.recordCheck({
        model: MODEL, version: 1 + Math.floor(i / 2_500), at: new Date(t0 + i * 3_600_000).toISOString(), rows: 1_200, enoughData: i % 10 !== 3, breached,
        score: breached ? 0.8 : 0.03, performanceOk: i % 4 === 0 ? true : null, cursorFrom: i, cursorTo: i + 1, reportUri: `file:///nowhere/${i}.json`,
        summary: { breachedFeatures: breached ? ['origin_flights'] : [], performance: i % 4 === 0 ? { auc: 0.64, logLoss: 0.45 } : null }, dedupeKey: `k${i}`,
      });
    }
  });
}

export async function benchReportPage(checks = 10_000, repeats = 9): Promise<void> {
  const home = mkdtempSync(path.join(tmpdir(), 'perennial-bench-report-'));
  try {
    await storeChecks(home, checks);
    const server = await buildModelServer({ home });
    try {
      const render: number[] = [];
      const read: number[] = [];
      let bytes = 0;
      for (let i = 0; i < repeats; i++) {
        let t = performance.now();
        const r = await server.app.inject({ method: 'GET', url: `/ui/models/${MODEL}` });
        render.push(performance.now() - t);
        bytes = r.body.length;
        t = performance.now();
        JSON.stringify(await server.champions.registry.checks(MODEL));
        read.push(performance.now() - t);
      }
      console.log(`  render /ui/models/{name} with ${checks.toLocaleString('en-US')} checks: median ${median(render).toFixed(1)} ms (${(bytes / 1024).toFixed(0)} KiB); reading the checks alone: median ${median(read).toFixed(1)} ms; ratio ${(median(render) / median(read)).toFixed(2)}×`);
      let browserPath = '';
      try {
        browserPath = execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim();
      } catch {
        console.log('  first paint: chromium not installed, not measured');
        return;
      }
      const port = await freePort();
      await server.app.listen({ host: '127.0.0.1', port });
      const browser = await chromium.launch({ executablePath: browserPath, args: ['--no-sandbox'] });
      try {
        const paints: number[] = [];
        for (let i = 0; i < 5; i++) {
          const page = await browser.newPage();
          await page.goto(`http://127.0.0.1:${port}/ui/models/${MODEL}`);
          // A string, evaluated in the page: this module's `performance` is Node's.
          paints.push(
            Number(
              await page.evaluate(
                "new Promise((resolve) => { new PerformanceObserver((list) => { const e = list.getEntriesByName('first-contentful-paint')[0]; if (e) resolve(e.startTime); }).observe({ type: 'paint', buffered: true }); setTimeout(() => resolve(NaN), 5000); })",
              ),
            ),
          );
          await page.close();
        }
        console.log(`  first contentful paint in chromium (navigation start → paint, server included): median ${median(paints).toFixed(0)} ms (goal < 1000 ms)`);
      } finally {
        await browser.close();
      }
    } finally {
      await server.close();
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
