import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Registry } from '../../src/registry/registry';
import { openRegistry } from '../../src/registry/open';
import { createKey, readLocalKey, revokeKey, signAction } from '../../src/auth/keyStore';
import { buildKeyring } from '../../src/auth/keyring';
import { verifyAction, type VerifyContext } from '../../src/auth/signature';
import { fingerprintOf, newPrivateKey, publicKeyOf, signMessage } from '../../src/auth/ed25519';
import { keyRecordMessage } from '../../src/auth/messages';
import { refusedBy } from '../../src/lifecycle/contract';
import { boundedReason } from '../../src/lifecycle/limits';

function fresh() {
  const home = mkdtempSync(path.join(tmpdir(), 'perennial-auth-'));
  return { home, dir: path.join(home, 'keys'), registry: openRegistry({ home }) };
}

const WF = 'lifecycle/flight-delays';

async function ctx(registry: Registry, over: Partial<VerifyContext> = {}): Promise<VerifyContext> {
  return { workflowId: WF, nowMs: Date.now(), keyring: buildKeyring(await registry.keyRecords()), pins: {}, chainStartedMs: 0, isUsed: () => false, full: () => false, ...over };
}

const verify = (c: VerifyContext, action: string, payload: Record<string, unknown>) =>
  verifyAction(c, action, payload, payload.by as string, payload.signature as never);

test('keys create: the private key file is 0600 and the public key is registered; the first key of a name is trusted on first use', async () => {
  const { dir, registry } = fresh();
  const { key } = await createKey(dir, registry, 'ml-lead');
  assert.equal(statSync(path.join(dir, 'ml-lead.key')).mode & 0o777, 0o600);
  assert.equal(readLocalKey(dir, 'ml-lead')?.fingerprint, key.fingerprint);
  const ring = buildKeyring(await registry.keyRecords());
  assert.deepEqual(ring.current.get('ml-lead')?.map((k) => [k.fingerprint, k.trust]), [[key.fingerprint, 'first-registered']]);
});

test('a second key for a name needs a current key of that name: without it the CLI refuses, and a record written past it is ignored', async () => {
  const { dir, registry } = fresh();
  const first = (await createKey(dir, registry, 'ml-lead')).key;
  const elsewhere = path.join(path.dirname(dir), 'other-machine-keys');
  await assert.rejects(() => createKey(elsewhere, registry, 'ml-lead'), /already has a key .* needs a signature by a current key of ml-lead/);
  // Mallory writes a key record for ml-lead straight into the registry: not endorsed, so ignored.
  const mallory = newPrivateKey();
  const pk = publicKeyOf(mallory);
  await registry.appendKeyRecord({ name: 'ml-lead', op: 'add', publicKey: pk, fingerprint: fingerprintOf(pk), at: new Date().toISOString(), endorsedBy: null, endorsement: null });
  // … or endorsed by her own key: still not a current key of ml-lead.
  const at = new Date().toISOString();
  await registry.appendKeyRecord({ name: 'ml-lead', op: 'add', publicKey: pk, fingerprint: fingerprintOf(pk), at, endorsedBy: fingerprintOf(pk), endorsement: signMessage(mallory, keyRecordMessage({ name: 'ml-lead', op: 'add', publicKey: pk, at })) });
  const ring = buildKeyring(await registry.keyRecords());
  assert.deepEqual(ring.current.get('ml-lead')?.map((k) => k.fingerprint), [first.fingerprint]);
  assert.equal(ring.ignored.length, 2);
  // With the current key at hand, a replacement is endorsed and the old key revoked.
  const second = (await createKey(dir, registry, 'ml-lead', { replace: true })).key;
  const after = buildKeyring(await registry.keyRecords());
  assert.deepEqual(after.current.get('ml-lead')?.map((k) => [k.fingerprint, k.trust]), [[second.fingerprint, 'endorsed']]);
});

test('a revoked key signs nothing any more; a revocation needs a current key of the name', async () => {
  const { dir, registry } = fresh();
  const a = (await createKey(dir, registry, 'ops-lead')).key;
  const b = (await createKey(dir, registry, 'ops-lead')).key; // endorsed by a; a's file is kept aside
  const signedByA = signAction(a, WF, 'pause', { by: 'ops-lead', reason: 'maintenance' });
  assert.equal(verify(await ctx(registry), 'pause', signedByA).ok, true);
  await revokeKey(dir, registry, 'ops-lead', a.fingerprint);
  const v = verify(await ctx(registry), 'pause', signedByA);
  assert.equal(v.ok, false);
  assert.match(!v.ok ? v.reason : '', /not a current key of ops-lead/);
  assert.equal(verify(await ctx(registry), 'pause', signAction(b, WF, 'pause', { by: 'ops-lead', reason: 'x' })).ok, true);
  // The last key of a name is never revoked: nothing could endorse a successor after it.
  await assert.rejects(() => revokeKey(dir, registry, 'ops-lead', b.fingerprint), /only current key/);
  // A copy of a's old `add` record, written again, does not bring a back.
  const oldAdd = (await registry.keyRecords(['ops-lead'])).find((r) => r.op === 'add' && r.fingerprint === a.fingerprint)!;
  await registry.appendKeyRecord({ ...oldAdd, seq: undefined } as never);
  assert.equal(verify(await ctx(registry), 'pause', signAction(a, WF, 'pause', { by: 'ops-lead', reason: 'again' })).ok, false);
  // A malformed record in the registry is ignored, never a crash.
  await registry.appendKeyRecord({ name: 'ops-lead', op: 'add', publicKey: 'not hex', fingerprint: 'nope', at: 'x', endorsedBy: null, endorsement: null });
  assert.match(buildKeyring(await registry.keyRecords()).ignored.join('\n'), /malformed/);
});

test('a signature covers the lifecycle, the action, every argument, a nonce and an expiry', async () => {
  const { dir, registry } = fresh();
  const key = (await createKey(dir, registry, 'ml-lead')).key;
  const approve = signAction(key, WF, 'approve', { version: 2, by: 'ml-lead', reason: 'good' });
  const c = await ctx(registry);
  const ok = verify(c, 'approve', approve);
  assert.ok(ok.ok);
  assert.equal(ok.ok && ok.signer.fingerprint, key.fingerprint);
  const refused = async (payload: Record<string, unknown>, action = 'approve', over: Partial<VerifyContext> = {}) => {
    const r = verify(await ctx(registry, over), action, payload);
    assert.equal(r.ok, false);
    return r.ok ? '' : r.reason;
  };
  assert.match(await refused({ ...approve, version: 3 }), /bad signature/, 'another version');
  assert.match(await refused({ ...approve, reason: 'changed' }), /bad signature/, 'another reason');
  assert.match(await refused(approve, 'reject'), /bad signature/, 'another action');
  assert.match(await refused(approve, 'approve', { workflowId: 'lifecycle/other-model' }), /bad signature: .* for lifecycle\/other-model/, 'another lifecycle');
  assert.match(await refused(approve, 'approve', { nowMs: Date.now() + 25 * 3_600_000 }), /expired/);
  assert.match(await refused(approve, 'approve', { isUsed: (n) => n === approve.signature.nonce }), /replayed/);
  // Made before this lifecycle began (beyond clock skew): a payload for an earlier lifecycle of the model.
  assert.match(await refused(approve, 'approve', { chainStartedMs: Date.now() + 10 * 60_000 }), /before this lifecycle began/);
  assert.equal(verify(await ctx(registry, { chainStartedMs: Date.now() + 60_000 }), 'approve', approve).ok, true, 'a signer clock a minute behind is fine');
  assert.match(await refused(approve, 'approve', { full: (name) => name === 'ml-lead' }), /too many unexpired signatures/);
  assert.match(await refused(signAction(key, WF, 'approve', { version: 2, by: 'ml-lead', reason: 'x' }, 40 * 86_400_000)), /more than 31 days/);
  assert.match(await refused({ version: 2, by: 'ml-lead', reason: 'good' }), /^unsigned/);
  assert.match(await refused({ ...approve, by: 'ops-lead' }), /not a current key of ops-lead/, 'a claim of another name with my key');
  assert.match(await refused(approve, 'approve', { pins: { 'ml-lead': '0'.repeat(32) } }), /pins ml-lead's key/);
  assert.equal(verify(await ctx(registry, { pins: { 'ml-lead': key.fingerprint } }), 'approve', approve).ok, true, 'the pinned key itself');
});

test('a key file readable by others is refused, as ssh does', async () => {
  const { dir, registry } = fresh();
  await createKey(dir, registry, 'ml-lead');
  const file = path.join(dir, 'ml-lead.key');
  chmodSync(file, 0o644);
  assert.throws(() => readLocalKey(dir, 'ml-lead'), /readable by others/);
});

test('a refused sender\'s by is kept bounded and escaped; reasons too', () => {
  assert.equal(refusedBy('ml-lead'), 'ml-lead');
  const huge = refusedBy('\u001b[31m' + 'x'.repeat(2_000_000));
  assert.ok(huge && huge.length <= 64, String(huge?.length));
  assert.ok(!huge!.includes('\u001b'), 'no raw escape reaches a terminal');
  assert.equal(refusedBy(42), undefined);
  const reason = boundedReason(`Unrecognized key: "${'\u001b'.repeat(10)}${'y'.repeat(1_000_000)}"`);
  assert.ok(reason.length <= 400 && !reason.includes('\u001b'));
});
