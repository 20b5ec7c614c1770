import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Registry } from '../../src/registry/registry';
import { tempHome } from '../helpers/temporalServer';

test('the promotion ledger is append-only: rows cannot be changed or deleted, even with SQL; a retried append keeps one row', () => {
  const home = tempHome();
  const registry = Registry.forHome(home);
  try {
    const entry = { model: 'flight-delays', version: 3, decision: 'approved', by: 'ml-lead', identity: 'perennial-cli:ml-lead@host', reason: 'beats v2' };
    registry.appendLedger({ ...entry, dedupeKey: 'wf:run:1' });
    registry.appendLedger({ ...entry, dedupeKey: 'wf:run:1' }); // an activity retried
    registry.appendLedger({ ...entry, decision: 'deployed', by: 'perennial', dedupeKey: 'wf:run:2' });
    assert.deepEqual(registry.ledger('flight-delays').map((e) => e.decision), ['approved', 'deployed']);
  } finally {
    registry.close();
  }
  // Straight at the file, as anyone with SQLite could.
  const db = new Database(path.join(home, 'registry.sqlite'));
  try {
    assert.throws(() => db.prepare("UPDATE ledger SET by = 'mallory' WHERE decision = 'approved'").run(), /the promotion ledger is append-only/);
    assert.throws(() => db.prepare('DELETE FROM ledger').run(), /the promotion ledger is append-only/);
    assert.deepEqual(db.prepare('SELECT decision, by FROM ledger ORDER BY id').all(), [{ decision: 'approved', by: 'ml-lead' }, { decision: 'deployed', by: 'perennial' }]);
  } finally {
    db.close();
  }
});
