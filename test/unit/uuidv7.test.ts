import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uuidv7 } from '../../src/util/uuidv7';

test('uuidv7: RFC 9562 layout, unique and time-ordered even within one millisecond', () => {
  const ids: string[] = [];
  for (let i = 0; i < 20_000; i++) ids.push(uuidv7(1_700_000_000_000)); // one millisecond, many ids
  for (let i = 0; i < 20_000; i++) ids.push(uuidv7());
  assert.equal(new Set(ids).size, ids.length, 'unique');
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1] < ids[i], `ordered at ${i}: ${ids[i - 1]} !< ${ids[i]}`);
  for (const id of ids.slice(0, 100)) {
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  }
  const later = uuidv7(Date.now() + 10_000);
  assert.equal(parseInt(later.replace(/-/g, '').slice(0, 12), 16) >= Date.now() + 9_000, true, 'the first 48 bits are the time in ms');
});
