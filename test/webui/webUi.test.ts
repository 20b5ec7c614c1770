import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../helpers/browser';
import { startServingStack, type ServingStack } from '../helpers/temporalServer';
import { smallFlightsSpec } from '../helpers/specs';
import { waitForStatus } from '../helpers/lifecycle';
import { signers, type Signers } from '../helpers/signing';
import { startLifecycle } from '../../src/client/startLifecycle';
import { openRegistry } from '../../src/registry/open';

// The Temporal Web UI, in a real browser (Debian's chromium, driven by playwright-core).
// This test fails — it does not skip — when chromium is missing: `.ci/run` installs it.
const OUTPUT = path.resolve(__dirname, '../../test-output');

let stack: ServingStack;
let browser: Browser;
let people: Signers;
let handle: Awaited<ReturnType<typeof startLifecycle>>['handle'];

before(async () => {
  browser = await launchBrowser();
  stack = await startServingStack();
  // Keys before the lifecycle starts: it loads them when it starts.
  people = await signers(stack.config, ['ml-lead', 'ops-lead']);
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('the lifecycle page shows the stage, the pending candidate and the approve command; runs filter by stage', async () => {
  const loaded = smallFlightsSpec((raw) => {
    raw.approval = { approvers: ['ml-lead', 'ops-lead'] };
    raw.evaluation = { gates: { min: { auc: 0.55 } } };
    raw.monitoring = { interval: '2s', minRows: 10 };
    raw.retrain = { schedule: { every: '7d' } };
  });
  // A low continue-as-new threshold: the second test sees the chain of runs.
  ({ handle } = await startLifecycle(stack.client, stack.config, loaded, 'perennial-demo', { continueAsNewAfter: 6 }));
  await waitForStatus(handle, (s) => s.stage === 'AWAITING_APPROVAL', 'the candidate to await approval');

  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const ui = stack.config.uiUrl;
  await page.goto(`${ui}/namespaces/default/workflows/${encodeURIComponent(handle.workflowId)}/${handle.firstExecutionRunId}/history`);
  mkdirSync(OUTPUT, { recursive: true });
  rmSync(path.join(OUTPUT, 'webui-failure.png'), { force: true });
  // The Web UI shows `setCurrentDetails` under "User Metadata", rendered as markdown in a sandboxed frame.
  await page.getByText('User Metadata', { exact: true }).first().click({ timeout: 30_000 });
  let text = '';
  const deadline = Date.now() + 30_000;
  while (!/AWAITING_APPROVAL/.test(text) && Date.now() < deadline) {
    await page.waitForTimeout(250);
    const frames = await Promise.all(page.frames().map((f) => f.locator('body').innerText().catch(() => '')));
    text = frames.join('\n');
  }
  if (!/AWAITING_APPROVAL/.test(text)) await page.screenshot({ path: path.join(OUTPUT, 'webui-failure.png'), fullPage: true });
  assert.match(text, /flight-delays — AWAITING_APPROVAL/, 'the current details show the stage');
  assert.match(text, /candidate: v1 \(AUC 0\.\d{4}/, 'the current details name the candidate and its metrics');
  assert.match(text, /npx perennial approve flight-delays --version 1/, 'the exact approve command is shown');
  const shot = path.join(OUTPUT, 'webui-lifecycle-awaiting-approval.png');
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`# screenshot: ${shot}`);

  // The custom search attributes make runs filterable in the list.
  const query = encodeURIComponent('PerennialStage="AWAITING_APPROVAL" AND PerennialCandidate=1');
  await page.goto(`${ui}/namespaces/default/workflows?query=${query}`);
  await page.getByText(handle.workflowId).first().waitFor({ timeout: 30_000 });
  await page.screenshot({ path: path.join(OUTPUT, 'webui-runs-filtered-by-stage.png'), fullPage: true });
  await page.close();
});

async function framesText(page: import('playwright-core').Page): Promise<string> {
  const frames = await Promise.all(page.frames().map((f) => f.locator('body').innerText().catch(() => '')));
  return frames.join('\n');
}

test('"Send a Signal" in the Web UI approves the candidate: it is served, and the ledger has the approver', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(`${stack.config.uiUrl}/namespaces/default/workflows/${encodeURIComponent(handle.workflowId)}/${handle.firstExecutionRunId}/history`);
  await page.getByRole('button', { name: 'More Actions' }).first().click({ timeout: 30_000 });
  await page.getByRole('menuitem', { name: 'Send a Signal' }).first().click();
  const dialog = page.locator('dialog[open]');
  // The UI lists the workflow's signals (the SDK publishes them): pick `approve`.
  await dialog.getByTestId('signal-select-button').click();
  await dialog.locator('li[role=option]').filter({ hasText: /^\s*approve\s*$/ }).click();
  await dialog.locator('.cm-content').click();
  // The signed payload, as `npx perennial approve … --print-signal` prints it for this box.
  await page.keyboard.insertText(JSON.stringify(people.sign(handle.workflowId, 'approve', { version: 1, by: 'ml-lead', reason: 'approved from the Web UI' })));
  // The editor reformats the JSON when it loses focus, which moves the Submit button: blur first.
  await dialog.locator('.cm-content').evaluate((editor) => (editor as unknown as { blur(): void }).blur());
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(OUTPUT, 'webui-send-approve-signal.png') });
  await dialog.getByRole('button', { name: 'Submit' }).click();
  await page.close();

  const s = await waitForStatus(handle, (st) => st.champion?.version === 1, 'v1 approved from the Web UI and served', 60_000);
  assert.ok(s.history.some((h) => h.event === 'approved' && h.version === 1 && h.by === 'ml-lead' && h.reason === 'approved from the Web UI'));
  const registry = openRegistry({ home: stack.home });
  try {
    const approved = (await registry.ledger('flight-delays')).find((e) => e.decision === 'approved');
    assert.equal(approved?.by, 'ml-lead');
    assert.equal(approved?.reason, 'approved from the Web UI');
    assert.equal(approved?.signer?.name, 'ml-lead');
    assert.equal(approved?.signer?.fingerprint, people.key('ml-lead').fingerprint);
    // The ledger keeps the identity the signal carried; the dev server's Web UI, with no
    // login, sends none (README says so), so it is recorded as unknown rather than invented.
    const signaled = (await handle.fetchHistory()).events!.find((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'approve')!;
    assert.equal(signaled.workflowExecutionSignaledEventAttributes!.identity, '', 'the Web UI sent no identity (README says so)');
    assert.equal(approved?.identity ?? null, null, 'recorded as unknown');
  } finally {
    await registry.close();
  }
});

test('a lifecycle that continued as new shows as a chain of runs; monitoring and the retrain Schedule are visible', async () => {
  const s = await waitForStatus(handle, (st) => st.run >= 2 && st.stage === 'SERVING' && st.monitoring.lastCheck !== null, 'a continued run that checked');
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const ui = stack.config.uiUrl;

  const query = encodeURIComponent(`WorkflowId="${handle.workflowId}"`);
  await page.goto(`${ui}/namespaces/default/workflows?query=${query}`);
  let text = '';
  const deadline = Date.now() + 30_000;
  while (!/Continued[ -]as[ -]New/i.test(text) && Date.now() < deadline) {
    await page.waitForTimeout(500);
    text = await page.locator('body').innerText();
  }
  await page.screenshot({ path: path.join(OUTPUT, 'webui-continued-as-new-chain.png'), fullPage: true });
  assert.match(text, /Continued[ -]as[ -]New/i, 'the earlier run is listed as continued as new');
  assert.match(text, /Running/i, 'and the current run as running');

  // The current run's details carry the monitor's latest check.
  await page.goto(`${ui}/namespaces/default/workflows/${encodeURIComponent(handle.workflowId)}`);
  await page.getByText('User Metadata', { exact: true }).first().click({ timeout: 30_000 });
  text = '';
  const checkDeadline = Date.now() + 30_000;
  while (!/last check/.test(text) && Date.now() < checkDeadline) {
    await page.waitForTimeout(250);
    text = await framesText(page);
  }
  assert.match(text, /flight-delays — SERVING/);
  assert.match(text, /last check .*: (drift score|not enough data)/);
  await page.screenshot({ path: path.join(OUTPUT, 'webui-monitoring-details.png'), fullPage: true });

  // The retrain Schedule, pausable from the Schedules page.
  await page.goto(`${ui}/namespaces/default/schedules`);
  await page.getByText('retrain/flight-delays').first().waitFor({ timeout: 30_000 });
  await page.screenshot({ path: path.join(OUTPUT, 'webui-retrain-schedule.png'), fullPage: true });
  await page.close();
  assert.ok(s.history.some((h) => h.event === 'deployed' && h.version === 1), 'the history travelled with the run');
});
