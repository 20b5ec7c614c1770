import { randomFillSync } from 'node:crypto';

const pool = Buffer.alloc(16 * 256);
let poolOffset = pool.length;
let lastMs = 0;
let sequence = 0;

/**
 * A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then a 12-bit sequence and
 * random bits. Ids sort by creation time, so an index over them grows at its end instead
 * of taking random inserts — which keeps the prediction log's unique index cheap.
 */
export function uuidv7(now: number = Date.now()): string {
  if (poolOffset >= pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  // Bytes p..p+15 of the pool, indexed in place: a subarray per id would allocate a Buffer.
  const p = poolOffset;
  poolOffset += 16;
  const b = pool;
  if (now > lastMs) {
    lastMs = now;
    sequence = b[p + 6] & 0x03; // a random start keeps the low bits unpredictable
  } else {
    sequence++;
    if (sequence > 0xfff) {
      lastMs++; // borrow from the next millisecond: still unique and ordered
      sequence = 0;
    }
  }
  const ms = lastMs;
  b[p + 0] = Math.floor(ms / 2 ** 40) & 0xff;
  b[p + 1] = Math.floor(ms / 2 ** 32) & 0xff;
  b[p + 2] = (ms >>> 24) & 0xff;
  b[p + 3] = (ms >>> 16) & 0xff;
  b[p + 4] = (ms >>> 8) & 0xff;
  b[p + 5] = ms & 0xff;
  b[p + 6] = 0x70 | ((sequence >>> 8) & 0x0f);
  b[p + 7] = sequence & 0xff;
  b[p + 8] = 0x80 | (b[p + 8] & 0x3f);
  return format(b, p);
}

/** ASCII codes of the hex digits. */
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
const text = Buffer.alloc(36, '-');

/**
 * The 8-4-4-4-12 hex form, written into one reused buffer and read out as a single flat
 * string: cheaper than hex-encoding and slicing on the model server's per-row path.
 */
function format(b: Buffer, p: number): string {
  let o = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) o++; // skip the dash
    text[o++] = HEX_DIGITS[b[p + i] >>> 4];
    text[o++] = HEX_DIGITS[b[p + i] & 0x0f];
  }
  return text.toString('latin1', 0, 36);
}

/** A request id as the model server hands them out (any UUID is taken: ids logged before v7 too). */
export const REQUEST_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
