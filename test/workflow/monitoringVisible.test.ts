import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createWorker, type PerennialWorker } from '../../src/worker/createWorker';
import { startLifecycle } from '../../src/client/startLifecycle';
import type { MonitorCheckInput, MonitorCheckSummary } from '../../src/monitoring/check';
import { PerennialCheckedAt, PerennialDriftScore } from '../../src/temporal/searchAttributes';
import { approveUpdate, retrainNowUpdate, statusQuery } from '../../workflows';
import { startTestStack, workflowBundle, type TestStack } from '../helpers/temporalServer';
import { stubActivities } from '../helpers/stubActivities';
import { smallFlightsSpec } from '../helpers/specs';
import { waitForStatus } from '../helpers/lifecycle';
import { signers } from '../helpers/signing';
import { recordHistoryOnPurpose } from '../helpers/histories';
import { stubCheck } from '../helpers/stubChecks';

/**
 * A breach stays in view: a check with too little data after it must not erase it from
 * `status`, the Web UI's details or the drift search attributes. On a real dev server (search
 * attributes) with stub training and deploys; the checks are scripted (no traffic needed):
 * a quiet check, a breach, then checks with too little data.
 */

let stack: TestStack;
let worker: PerennialWorker;
let running: Promise<void>;
const script: ((input: MonitorCheckInput) => MonitorCheckSummary)[] = [];

const loaded = smallFlightsSpec((raw) => {
  raw.name = 'visible';
  raw.approval = { approvers: ['ml-lead', 'ops-lead'], timeout: '1h' };
  raw.monitoring = { interval: '2s', minRows: 200 };
  // No automatic retrain: the breach must stay visible on its own.
  raw.retrain = { onDrift: null, onPerformance: false };
});

before(async () => {
  stack = await startTestStack();
  const stubs = stubActivities(stack.config);
  let n = 0;
  worker = await createWorker({
    config: stack.config,
    connection: stack.workerConnection,
    workflowBundle: await workflowBundle(),
    activities: {
      ...stubs,
      checkChampion: async (input: MonitorCheckInput) => {
        const next = script[Math.min(n++, script.length - 1)];
        return next(input);
      },
    },
  });
  running = worker.run();
});

after(async () => {
  worker?.shutdown();
  await running;
  await stack?.stop();
});

test('a check with too little data after a breach keeps the breach in status, the details and the search attributes', async () => {
  script.push(
    (i) => stubCheck(i, { rows: 800, score: 0.05, breached: false, enoughData: true }),
    (i) => stubCheck(i, { rows: 900, score: 0.61, breached: true, enoughData: true }),
    (i) => stubCheck(i, { rows: 12, score: 0, breached: false, enoughData: false }),
  );
  const people = await signers(stack.config, ['ml-lead', 'ops-lead']);
  const { handle } = await startLifecycle(stack.client, stack.config, loaded, 'alice');
  await waitForStatus(handle, (s) => s.stage === 'AWAITING_APPROVAL', 'v1 awaiting approval', 60_000);
  await handle.executeUpdate(approveUpdate, { args: [people.sign(handle.workflowId, 'approve', { version: 1, by: 'ml-lead', reason: 'first' })] });
  // Durable evidence: two checks with too little data after the breach (the third check onwards).
  const s = await waitForStatus(handle, (st) => st.monitoring.checks >= 4, 'four checks', 120_000);

  assert.equal(s.monitoring.lastCheck?.enoughData, false, 'lastCheck is the latest check of any kind');
  assert.equal(s.monitoring.lastScored?.score, 0.61, 'lastScored is the breach, the latest check with a drift score');
  assert.equal(s.monitoring.lastScored?.breached, true);
  assert.equal(s.monitoring.lastBreach?.score, 0.61);
  assert.deepEqual(s.monitoring.lastBreach?.breachedFeatures, ['origin_flights']);
  assert.equal(s.monitoring.consecutiveBreaches, 1, 'too little data neither grows nor resets the run');

  const description = await handle.describe();
  assert.equal(description.typedSearchAttributes.get(PerennialDriftScore), 0.61, 'the drift score search attribute is the last scored check');
  assert.equal(description.typedSearchAttributes.get(PerennialCheckedAt)?.toISOString(), new Date(s.monitoring.lastScored!.at).toISOString());
  // What the Web UI shows as Current Details: the SDK's built-in metadata query.
  const text = String((await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails);
  assert.match(text, /drift score 0\.610/, `the Web UI's details show the breach's score: ${text}`);
  assert.match(text, /BREACHED on origin_flights/);
  assert.match(text, /not enough data \(12 rows\)/, 'and say the latest check had too little data');
  assert.ok(text.includes(`report: [drift, performance and versions](${stack.config.server.url}/ui/models/visible)`), 'the details link the report page');
  assert.equal((await handle.query(statusQuery)).stage, 'SERVING');

  // A new champion: the score shown is its own (none yet), the breach stays on record with its version.
  await handle.executeUpdate(retrainNowUpdate, { args: [people.sign(handle.workflowId, 'retrainNow', { by: 'ml-lead', reason: 'new data' })] });
  await waitForStatus(handle, (st) => st.stage === 'AWAITING_APPROVAL' && st.candidate?.version === 2, 'v2 awaiting approval', 60_000);
  await handle.executeUpdate(approveUpdate, { args: [people.sign(handle.workflowId, 'approve', { version: 2, by: 'ops-lead', reason: 'second' })] });
  const v2 = await waitForStatus(handle, (st) => st.champion?.version === 2, 'v2 served', 60_000);
  assert.equal(v2.monitoring.lastScored, null, "the previous champion's score is not shown as v2's");
  assert.equal(v2.monitoring.lastBreach?.version, 1);
  const after = await handle.describe();
  assert.equal(after.typedSearchAttributes.get(PerennialDriftScore), undefined, 'the drift score search attribute is cleared with it');
  await recordHistoryOnPurpose(stack.client, handle.workflowId, 'lifecycle-monitor-local.binpb');
});
