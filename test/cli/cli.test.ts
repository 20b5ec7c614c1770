import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import type { WorkflowHandle } from '@temporalio/client';
import { startServingStack, freePort, type ServingStack } from '../helpers/temporalServer';
import { flightsSpecRaw, smallFlightsSpec } from '../helpers/specs';
import { waitForStatus } from '../helpers/lifecycle';
import { expectExit, runCli, type CliRun } from '../helpers/cli';
import { signers, type Signers } from '../helpers/signing';
import { openRegistry } from '../../src/registry/open';
import { startLifecycle } from '../../src/client/startLifecycle';
import { statusQuery, type lifecycle } from '../../workflows';

const MODEL = 'cli-flights';
const STARTER = 'alice';
const APPROVER = 'ml-lead';

let stack: ServingStack;
let specFile: string;
let people: Signers;

/**
 * `node scripts/perennial.js …` as a child process, with the stack's settings: it signs
 * with the keys `signers` made in the stack's keys folder (named outright, so a
 * PERENNIAL_KEYS_DIR of the environment the tests run in does not reach the CLI).
 */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runCli(args, { ...stack.env, PERENNIAL_KEYS_DIR: stack.config.keysDir, ...env });
}

/** The ledger row of a signed action names the signer and the key it signed with. */
function assertSignedBy(row: { signer?: { name: string; fingerprint: string } } | undefined, name: string): void {
  assert.equal(row?.signer?.name, name);
  assert.equal(row?.signer?.fingerprint, people.key(name).fingerprint);
}

before(async () => {
  stack = await startServingStack();
  // Keys (as `npx perennial keys create --as NAME` makes them) before the lifecycle starts: it loads them when it starts.
  people = await signers(stack.config, [APPROVER, 'ops-lead', STARTER]);
  const loaded = smallFlightsSpec((raw) => {
    raw.name = MODEL;
    raw.approval = { approvers: [APPROVER, 'ops-lead', STARTER], separationOfDuties: true, timeout: '72h' };
    raw.evaluation = { gates: { min: { auc: 0.55 }, beatBaseRate: ['logLoss'] } };
    raw.rollout = { deployTimeout: '30s' };
    // Monitoring, so that it can be paused (no check runs within the test).
    raw.monitoring = { ...flightsSpecRaw().monitoring!, interval: '6h' };
  });
  mkdirSync(path.join(stack.home, 'specs'), { recursive: true });
  specFile = path.join(stack.home, 'specs', `${MODEL}.yaml`);
  writeFileSync(specFile, YAML.stringify(loaded.spec));
});

after(async () => {
  await stack?.stop();
});

async function served(): Promise<number | null> {
  const res = await fetch(`${stack.config.server.url}/v1/models/${MODEL}`);
  const body = (await res.json()) as { champion: { version: number } | null };
  return body.champion?.version ?? null;
}

describe('the perennial CLI against a real Temporal server, worker and model server', () => {
  let handle: WorkflowHandle<typeof lifecycle>;

  test('start-lifecycle twice starts one lifecycle; the second says it is already running', async () => {
    const first = await cli(['start-lifecycle', specFile, '--by', STARTER, '--json']);
    expectExit(first, 0);
    assert.equal(first.json.ok, true);
    assert.equal(first.json.started, true);
    assert.equal(first.json.workflowId, `lifecycle/${MODEL}`);
    assert.match(String(first.json.webUi), new RegExp(`^${stack.config.uiUrl}/namespaces/default/workflows/lifecycle%2F${MODEL}/`));
    const second = await cli(['start-lifecycle', specFile, '--by', STARTER]);
    expectExit(second, 0);
    assert.match(second.stdout, /lifecycle\/cli-flights is already running/);
    assert.match(second.stdout, /Web UI: http/);
    handle = stack.client.workflow.getHandle(`lifecycle/${MODEL}`);
    const d = await handle.describe();
    assert.equal(d.runId, first.json.runId, 'one run: the second start found the first');
  });

  // While the first candidate trains:
  test('errors: unknown model → 3, unreachable Temporal → 4 in seconds, usage → 2', async () => {
    const unknown = await cli(['status', 'no-such-model', '--json']);
    expectExit(unknown, 3);
    assert.equal(unknown.json.ok, false);
    assert.equal(unknown.json.code, 'not_found');
    assert.match(String(unknown.json.error), /no model named no-such-model/);

    const closed = await cli(['status', MODEL, '--json'], { TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` });
    expectExit(closed, 4);
    assert.equal(closed.json.code, 'unreachable');
    assert.ok(closed.ms < 10_000, `unreachable reported after ${closed.ms} ms`);

    const usage = await cli(['approve', MODEL, '--by', APPROVER]);
    expectExit(usage, 2);
    assert.match(usage.stderr, /approve needs --version, --reason/);
    assert.match(usage.stderr, /usage: npx perennial/);
    const unknownCommand = await cli(['promote', MODEL, '--json']);
    expectExit(unknownCommand, 2);
    assert.equal(unknownCommand.json.code, 'usage');
  });

  test('a lifecycle no worker serves: the status query gives up after 20 s with exit 1, the reason and the Web UI link', async () => {
    const orphan = smallFlightsSpec((raw) => {
      raw.name = 'orphan-model';
    });
    const { handle: stranded } = await startLifecycle(stack.client, { ...stack.config, taskQueue: 'no-worker-polls-this' }, orphan, STARTER);
    try {
      const r = await cli(['status', 'orphan-model', '--json']);
      expectExit(r, 1);
      assert.equal(r.json.code, 'no_worker');
      assert.match(String(r.json.error), /no worker answered the status query within 20s/);
      assert.match(String(r.json.webUi), /\/workflows\/lifecycle%2Forphan-model\//);
    } finally {
      await stranded.terminate('test over');
    }
  });

  test('list shows every spec and the running lifecycle', async () => {
    const r = await cli(['list', '--json']);
    expectExit(r, 0);
    const models = r.json.models as { model: string; lifecycle: { status: string; stage: string | null } | null; specFiles: { file: string; shipped: boolean }[] }[];
    const mine = models.find((m) => m.model === MODEL);
    assert.ok(mine, JSON.stringify(models));
    assert.equal(mine.lifecycle?.status, 'RUNNING');
    assert.deepEqual(mine.specFiles.map((f) => [f.file, f.shipped]), [[specFile, false]]);
    const shipped = models.find((m) => m.model === 'flight-delays');
    assert.equal(shipped?.lifecycle, null);
    assert.equal(shipped?.specFiles[0].shipped, true);
  });

  test('status --json is the status query, unchanged; text mode shows the approve command', async () => {
    const s = await waitForStatus(handle, (st) => st.stage === 'AWAITING_APPROVAL', 'the first candidate');
    assert.equal(s.candidate?.version, 1);
    const r = await cli(['status', MODEL, '--json']);
    expectExit(r, 0);
    assert.deepEqual(r.json, await handle.query(statusQuery));
    const text = await cli(['status', MODEL]);
    expectExit(text, 0);
    assert.match(text.stdout, /cli-flights — AWAITING_APPROVAL/);
    assert.match(text.stdout, /npx perennial approve cli-flights --version 1 --by <you> --reason "<why>"/);
    assert.match(text.stdout, /gate +passed/);
    assert.match(text.stdout, /Web UI: http/);
    assert.ok(text.stdout.includes(`Report: ${stack.config.server.url}/ui/models/${MODEL}`), text.stdout);
  });

  test('approve: a wrong version or the starter is refused (exit 2, the reason, a log line); a malformed --version too', async () => {
    const wrong = await cli(['approve', MODEL, '--version', '2', '--by', APPROVER, '--reason', 'looks good', '--json']);
    expectExit(wrong, 2);
    assert.equal(wrong.json.code, 'refused');
    assert.match(String(wrong.json.error), /v2 is unknown: the pending candidate is v1/);
    const logged = wrong.stderr.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'refused action');
    assert.ok(logged, `a refusal log line on stderr: ${wrong.stderr}`);
    assert.equal(logged.model, MODEL);
    assert.equal(logged.action, 'approve');
    assert.equal(logged.by, APPROVER);
    assert.match(String(logged.reason), /v2 is unknown/);

    const own = await cli(['approve', MODEL, '--version', '1', '--by', STARTER, '--reason', 'mine']);
    expectExit(own, 2);
    assert.match(own.stderr, /refused: alice started the training of v1; separation of duties/);

    const malformed = await cli(['approve', MODEL, '--version', '1.5', '--by', APPROVER, '--reason', 'x', '--json']);
    expectExit(malformed, 2);
    assert.equal(malformed.json.code, 'bad_input');
    assert.equal((await handle.query(statusQuery)).stage, 'AWAITING_APPROVAL');
  });

  test('approve v1 with monitoring paused: waits until the model server serves it; the ledger has the CLI identity', async () => {
    expectExit(await cli(['pause', MODEL, '--by', APPROVER, '--reason', 'quiet until the first champion settles']), 0);
    const r = await cli(['approve', MODEL, '--version', '1', '--by', APPROVER, '--reason', 'beats the base rate', '--json']);
    expectExit(r, 0);
    assert.equal(r.json.ok, true);
    assert.equal(r.json.outcome, 'served');
    assert.equal((r.json.champion as { version: number }).version, 1);
    // Served, and resting in PAUSED rather than SERVING: the CLI knows it from the deployed event.
    assert.equal(r.json.stage, 'PAUSED');
    assert.equal(await served(), 1);
    const registry = openRegistry({ home: stack.home });
    try {
      const approved = (await registry.ledger(MODEL)).find((e) => e.decision === 'approved');
      assert.equal(approved?.by, APPROVER);
      assert.equal(approved?.identity, `perennial-cli:${APPROVER}@${hostname()}`);
      assertSignedBy(approved, APPROVER);
      assertSignedBy((await registry.ledger(MODEL)).find((e) => e.decision === 'paused'), APPROVER);
    } finally {
      await registry.close();
    }
  });

  test('reject: the pending candidate is rejected and the champion stays; rejecting it again is refused', async () => {
    expectExit(await cli(['retrain', MODEL, '--by', 'ops-lead', '--reason', 'a challenger']), 0);
    await waitForStatus(handle, (s) => s.stage === 'AWAITING_APPROVAL' && s.candidate?.version === 2, 'candidate v2');
    const r = await cli(['reject', MODEL, '--version', '2', '--by', 'ops-lead', '--reason', 'worse on Monday mornings']);
    expectExit(r, 0);
    assert.match(r.stdout, /v2 rejected by ops-lead; the champion is unchanged/);
    assert.match(r.stdout, /Web UI: http/);
    const again = await cli(['reject', MODEL, '--version', '2', '--by', 'ops-lead', '--reason', 'twice', '--json']);
    expectExit(again, 2);
    assert.match(String(again.json.error), /no candidate is awaiting approval/);
    const s = await handle.query(statusQuery);
    assert.equal(s.champion?.version, 1);
    assert.equal(s.candidate, null);
    assert.equal(await served(), 1);
    const registry = openRegistry({ home: stack.home });
    try {
      const rejected = (await registry.ledger(MODEL)).filter((e) => e.decision === 'rejected');
      assert.deepEqual(rejected.map((e) => [e.version, e.by, e.reason, e.identity]), [[2, 'ops-lead', 'worse on Monday mornings', `perennial-cli:ops-lead@${hostname()}`]]);
      assertSignedBy(rejected[0], 'ops-lead');
    } finally {
      await registry.close();
    }
  });

  test('keys create --replace after the start: the lifecycle learns the new key when the CLI resumes with it; --print-signal prints a signal that works', async () => {
    // Made where Temporal cannot be reached: the running lifecycle is not told of the new key.
    const made = await cli(['keys', 'create', '--as', 'ops-lead', '--replace', '--json'], { TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` });
    expectExit(made, 0);
    assert.equal(made.json.lifecyclesTold, null);
    const fingerprint = String(made.json.fingerprint);
    assert.notEqual(fingerprint, people.key('ops-lead').fingerprint);
    assert.equal(made.json.revoked, people.key('ops-lead').fingerprint);
    // The lifecycle loaded ops-lead's old key when it started: the CLI's first resume is refused
    // as signed by an unknown key; it sends refreshKeys, signs again, and the resume is taken.
    const resumed = await cli(['resume', MODEL, '--by', 'ops-lead', '--reason', 'new laptop', '--json']);
    expectExit(resumed, 0);
    assert.equal(resumed.json.outcome, 'resumed');
    // The lifecycle records the resume in the ledger from its loop, a moment after accepting it.
    const resumedRow = async () => {
      for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
        const registry = openRegistry({ home: stack.home });
        try {
          const row = (await registry.ledger(MODEL)).filter((e) => e.decision === 'resumed').at(-1);
          if (row) return row;
        } finally {
          await registry.close();
        }
      }
      throw new Error('no resumed row in the ledger within 60 s');
    };
    assert.equal((await resumedRow()).signer?.fingerprint, fingerprint);
    // The signal path: one line of signed JSON on stdout, nothing sent.
    const printed = await cli(['pause', MODEL, '--by', 'ops-lead', '--reason', 'by signal', '--print-signal']);
    expectExit(printed, 0);
    assert.equal(printed.stdout.trim().split('\n').length, 1, printed.stdout);
    const payload = JSON.parse(printed.stdout) as { by: string; signature: { key: string } };
    assert.equal(payload.signature.key, fingerprint);
    assert.equal((await handle.query(statusQuery)).paused, null, '--print-signal sends nothing');
    await handle.signal('pause', payload);
    await waitForStatus(handle, (st) => st.paused?.by === 'ops-lead', 'paused by the printed signal');
    // The same printed signal again is a replay.
    await handle.signal('pause', payload);
    await waitForStatus(handle, (st) => st.refused.some((r) => /replayed/.test(r.reason)), 'the replayed signal refused');
  });

  test('rollback to a version never served → 2; retire → ok and the lifecycle ends', async () => {
    const rb = await cli(['rollback', MODEL, '--to', '7', '--by', 'ops-lead', '--reason', 'x', '--json']);
    expectExit(rb, 2);
    assert.match(String(rb.json.error), /v7 was never approved and served here/);

    const retire = await cli(['retire', MODEL, '--by', 'ops-lead', '--reason', 'end of the test', '--json']);
    expectExit(retire, 0);
    assert.equal(retire.json.outcome, 'retired');
    assert.equal((await handle.describe()).status.name, 'COMPLETED');

    const again = await cli(['retrain', MODEL, '--by', 'ops-lead', '--reason', 'x', '--json']);
    expectExit(again, 3);
    assert.match(String(again.json.error), /not running \(COMPLETED, retired\)/);
  });

  test('status of a terminated lifecycle says what happened, in words', async () => {
    const loaded = smallFlightsSpec((raw) => (raw.name = 'cli-terminated'));
    const started = await startLifecycle(stack.client, stack.config, loaded, STARTER);
    await started.handle.terminate('operator pulled the plug');
    // Answered from its last state (exit 0) or, when it cannot be queried, said in words (exit 3).
    const text = await cli(['status', 'cli-terminated']);
    assert.ok(text.code === 0 || text.code === 3, `exit ${text.code}: ${text.stderr}`);
    assert.match(text.stdout + text.stderr, /TERMINATED/);
    assert.doesNotMatch(text.stdout + text.stderr, /grpc|ServiceError|at .*\.js:\d+/i, 'no raw gRPC error or stack');
    const json = await cli(['status', 'cli-terminated', '--json']);
    assert.equal(json.code, text.code);
    if (json.code === 3) assert.match(String(json.json.error), /was TERMINATED/);
    else assert.equal(json.json.model, 'cli-terminated');
  });
});
