type Bucket = { tokens: number; at: number; rate: number };

/**
 * Per-webhook admission: at most `maxInFlight` attempts at once, and at most `rate_limit_per_sec`
 * starts per second (token bucket, one second of burst). Lives in the dispatcher's process.
 */
export class EndpointLimiter {
  readonly #inFlight = new Map<string, number>();
  readonly #buckets = new Map<string, Bucket>();

  constructor(
    readonly maxInFlight: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Webhooks to skip, and how many more each may start now. */
  snapshot(): { exclude: Set<string>; free: Map<string, number> } {
    const exclude = new Set<string>();
    const free = new Map<string, number>();
    for (const [id, n] of this.#inFlight) free.set(id, this.maxInFlight - n);
    for (const [id, b] of this.#buckets) {
      this.#refill(b);
      // A full bucket of an idle webhook is what a new one would be: forget it, bounding the map.
      if (b.tokens >= b.rate && !this.#inFlight.has(id)) {
        this.#buckets.delete(id);
        continue;
      }
      free.set(id, Math.min(free.get(id) ?? this.maxInFlight, Math.floor(b.tokens)));
    }
    for (const [id, n] of free) if (n <= 0) exclude.add(id);
    return { exclude, free };
  }

  /** When the first rate-limited webhook now out of tokens gets one back; null if none is out. */
  nextTokenInMs(): number | null {
    let next: number | null = null;
    for (const b of this.#buckets.values()) {
      this.#refill(b);
      if (b.tokens >= 1) continue;
      const wait = ((1 - b.tokens) / b.rate) * 1000;
      next = next === null ? wait : Math.min(next, wait);
    }
    return next;
  }

  /** An attempt starts: takes a slot and, for a rate-limited webhook, a token. */
  acquire(webhookId: string, ratePerSec: number | null): void {
    this.#inFlight.set(webhookId, (this.#inFlight.get(webhookId) ?? 0) + 1);
    if (ratePerSec === null) {
      this.#buckets.delete(webhookId);
      return;
    }
    let b = this.#buckets.get(webhookId);
    if (!b || b.rate !== ratePerSec) {
      b = { tokens: ratePerSec, at: this.now(), rate: ratePerSec };
      this.#buckets.set(webhookId, b);
    }
    this.#refill(b);
    b.tokens -= 1;
  }

  /** All of the webhook's slots are taken: due work of it may be waiting for one to free up. */
  isFull(webhookId: string): boolean {
    return (this.#inFlight.get(webhookId) ?? 0) >= this.maxInFlight;
  }

  release(webhookId: string): void {
    const n = (this.#inFlight.get(webhookId) ?? 1) - 1;
    if (n <= 0) this.#inFlight.delete(webhookId);
    else this.#inFlight.set(webhookId, n);
  }

  #refill(b: Bucket): void {
    const t = this.now();
    b.tokens = Math.min(b.rate, b.tokens + ((t - b.at) / 1000) * b.rate);
    b.at = t;
  }
}
