import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParsedCache } from '../../src/monitoring/profileCache';

/** A loader that counts its calls: each value is its URI, `bytes` long. */
function counting(bytes = 1024) {
  const loads: string[] = [];
  return { loads, load: async (uri: string) => (loads.push(uri), { value: uri, bytes }) };
}

test('a worker watching 100 models parses each profile once, not once per check', async () => {
  const cache = new ParsedCache<string>(1024 * 1024);
  const l = counting();
  const uris = Array.from({ length: 100 }, (_, i) => `s3://b/profiles/${i}.json`);
  for (let check = 0; check < 3; check++) for (const uri of uris) assert.equal(await cache.get(uri, l.load), uri);
  assert.equal(l.loads.length, 100);
  assert.equal(cache.size, 100);
});

test('past its byte budget the least recently used profile goes first', async () => {
  const cache = new ParsedCache<string>(10 * 1024);
  const l = counting();
  for (const uri of 'abcdefghij') await cache.get(uri, l.load);
  await cache.get('a', l.load); // used again: now the newest
  await cache.get('k', l.load); // 11 KiB: one must go, and it is b
  assert.equal(cache.size, 10);
  const before = l.loads.length;
  await cache.get('a', l.load);
  assert.equal(l.loads.length, before, 'a was kept');
  await cache.get('b', l.load);
  assert.equal(l.loads.length, before + 1, 'b was dropped and is read again');
});

test('a profile larger than the whole budget is still returned, and kept only until the next one', async () => {
  const cache = new ParsedCache<string>(1024);
  const big = counting(4096);
  assert.equal(await cache.get('huge', big.load), 'huge');
  assert.equal(cache.size, 1);
  await cache.get('small', counting(10).load);
  assert.equal(cache.size, 1);
  await cache.get('huge', big.load);
  assert.equal(big.loads.length, 2);
});
