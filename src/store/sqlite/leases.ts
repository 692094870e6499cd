/**
 * Leases of claimed deliveries, kept in memory: one process owns an SQLite file and a restart
 * releases every lease anyway, so writing them (and paying an fsync per claim) would buy nothing.
 * Counted per webhook, so a claim can read just enough rows to look past the leased ones, and
 * known by row number too, so that the claim reads only a covering index.
 */
export class Leases {
  readonly #held = new Map<string, { until: number; webhook: string; seq: number }>();
  readonly #seqs = new Set<number>();
  readonly #perWebhook = new Map<string, number>();
  /** No lease runs out before this (a lower bound): `expire` has nothing to look at until then. */
  #earliest = Number.POSITIVE_INFINITY;

  /** `webhook` is the webhook's id, '' for a callback delivery; `seq` the delivery's row number. */
  take(id: string, seq: number, until: number, webhook: string): void {
    if (this.#held.has(id)) this.release(id);
    this.#held.set(id, { until, webhook, seq });
    if (until < this.#earliest) this.#earliest = until;
    this.#seqs.add(seq);
    this.#perWebhook.set(webhook, (this.#perWebhook.get(webhook) ?? 0) + 1);
  }

  release(id: string): void {
    const lease = this.#held.get(id);
    if (!lease) return;
    this.#held.delete(id);
    this.#seqs.delete(lease.seq);
    const left = (this.#perWebhook.get(lease.webhook) ?? 1) - 1;
    if (left > 0) this.#perWebhook.set(lease.webhook, left);
    else this.#perWebhook.delete(lease.webhook);
  }

  /** The row number of a leased delivery: its record updates the row by rowid, not through the id index. */
  seqOf(id: string): number | undefined {
    return this.#held.get(id)?.seq;
  }

  hasSeq(seq: number): boolean {
    return this.#seqs.has(seq);
  }

  /** Leases of one webhook ('' for callbacks), after `expire`. */
  count(webhook: string): number {
    return this.#perWebhook.get(webhook) ?? 0;
  }

  /** Drops leases that ran out (their attempt was never recorded): those deliveries are due again. */
  expire(now: number): void {
    // Called by every claim, with hundreds of leases held and none due for seconds: skip the walk.
    if (now < this.#earliest) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const [id, lease] of this.#held) {
      if (lease.until <= now) this.release(id);
      else if (lease.until < earliest) earliest = lease.until;
    }
    this.#earliest = earliest;
  }

  /** JSON array of the ids leased at `now` (for `id NOT IN (SELECT value FROM json_each(?))`). */
  heldJson(now: number): string {
    this.expire(now);
    return JSON.stringify([...this.#held.keys()]);
  }
}
