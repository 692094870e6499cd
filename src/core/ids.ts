import { randomFillSync } from 'node:crypto';

// Crockford base32: sortable as plain strings, no ambiguous letters.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

let lastMs = 0;
let lastRandom: Uint8Array = new Uint8Array(10);

// Random bytes drawn 4 KiB at a time: one call into the CSPRNG per ~400 ids instead of one each.
const pool = new Uint8Array(4096);
let poolAt = pool.length;

function random10(): Uint8Array {
  if (poolAt + 10 > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  poolAt += 10;
  return pool.slice(poolAt - 10, poolAt);
}

function encodeTime(ms: number): string {
  let out = '';
  let t = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32] + out;
    t = Math.floor(t / 32);
  }
  return out;
}

function encodeRandom(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(acc >> bits) & 31];
    }
  }
  return out;
}

/** ULID-shaped, monotonic within a millisecond so ids made in one process sort in creation order. */
export function ulid(now: number = Date.now()): string {
  if (now <= lastMs) {
    const next = new Uint8Array(lastRandom);
    for (let i = next.length - 1; i >= 0; i--) {
      next[i] = ((next[i] ?? 0) + 1) & 0xff;
      if (next[i] !== 0) break;
    }
    lastRandom = next;
  } else {
    lastMs = now;
    lastRandom = random10();
  }
  return encodeTime(lastMs) + encodeRandom(lastRandom);
}

export type IdPrefix = 'wh' | 'msg' | 'dlv' | 'key' | 'tn' | 'att';

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${ulid()}`;
}
