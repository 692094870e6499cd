import { ApiError } from '../core/errors.js';

export interface RateLimit {
  /** Tokens added per second. */
  perSec: number;
  /** Bucket size: requests a quiet key may send at once. */
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Keys tracked at most; the least recently seen is forgotten first (a forgotten bucket is a full one). */
const DEFAULT_MAX_KEYS = 10_000;

/**
 * One in-memory token bucket per API key (by key hash), refilled continuously. Memory is bounded:
 * past `maxKeys` the least recently used bucket is dropped, which only ever errs on the lenient side.
 * Time is monotonic wall time, not the server's injectable clock: tests that freeze that clock
 * must not freeze the buckets too.
 */
export class KeyRateLimiter {
  readonly #limit: RateLimit;
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(limit: RateLimit, opts: { maxKeys?: number; nowMs?: () => number } = {}) {
    this.#limit = limit;
    this.#maxKeys = opts.maxKeys ?? DEFAULT_MAX_KEYS;
    this.#now = opts.nowMs ?? (() => performance.now());
  }

  get size(): number {
    return this.#buckets.size;
  }

  /** Takes one token for `key`: 0 when the request may go, else the seconds to wait (≥ 1). */
  take(key: string): number {
    const now = this.#now();
    const { perSec, burst } = this.#limit;
    const found = this.#buckets.get(key);
    const bucket = found ?? { tokens: burst, at: now };
    if (found) this.#buckets.delete(key); // re-inserted below: Map order is recency order
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSec);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > this.#maxKeys) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest !== undefined) this.#buckets.delete(oldest);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / perSec));
  }

  /** Throws 429 `rate_limited` with `Retry-After` when the key is over its limit. */
  check(key: string): void {
    const wait = this.take(key);
    if (wait === 0) return;
    throw new ApiError(
      'rate_limited',
      `authorization: this API key is over its limit of ${this.#limit.perSec} requests/s (burst ${this.#limit.burst}); retry in ${wait} s`,
      { 'retry-after': String(wait) },
    );
  }
}

/**
 * `HOOKLINE_API_RATE_LIMIT`: `<per second>[/<burst>]` (burst defaults to twice the rate), or `off`.
 * Returns null for `off`; throws a plain Error naming the problem.
 */
export function parseRateLimit(text: string): RateLimit | null {
  const t = text.trim();
  if (t === 'off') return null;
  const m = /^(\d{1,9})(?:\/(\d{1,9}))?$/.exec(t);
  const perSec = Number(m?.[1]);
  const burst = m?.[2] === undefined ? perSec * 2 : Number(m[2]);
  if (!m || perSec < 1 || burst < 1) {
    throw new Error(`expected "<requests per second>/<burst>" (e.g. 100/200) or "off", got "${text}"`);
  }
  return { perSec, burst };
}

export const DEFAULT_API_RATE_LIMIT: RateLimit = { perSec: 100, burst: 200 };
