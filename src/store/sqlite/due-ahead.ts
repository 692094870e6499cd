import type { Leases } from './leases.js';

/** [row number, next_attempt_at] of a due delivery: read as arrays (see claim.ts). */
export type Due = [seq: number, due: number];

/** Due rows read ahead per webhook, beyond what a claim takes. */
const READ_AHEAD = 64;
/** Rows held ahead in all: past this the store forgets them (a claim reads them again). */
const READ_AHEAD_CAP = 50_000;

/**
 * Each webhook's next due rows, oldest first, read ahead of the claims that take them. Reading a
 * webhook's due rows from the front of the index on every claim passed over its leased ones every
 * time (in process, claims as in bench (a)'s drain, ~40 deliveries each: 475–531 → 307–352 µs a
 * claim). An entry can go stale (its row held or deleted since): the claim takes only rows still
 * PENDING and due. Rows that turn due after the read wait for the next one: a retry or a requeue
 * is due later than every row held here; a row whose lease ran out (its record failed) may be
 * older, and goes out up to READ_AHEAD deliveries later than it would have.
 */
export class DueAhead {
  readonly #rows = new Map<string, Due[]>();
  #size = 0;

  /** Up to `want` unleased rows of `webhookId`, oldest first; read ahead when fewer are held. */
  take(webhookId: string, want: number, leases: Leases, read: (limit: number) => Due[]): Due[] {
    const held = this.#rows.get(webhookId) ?? [];
    const out: Due[] = [];
    let i = 0;
    for (; i < held.length && out.length < want; i++) {
      const r = held[i] as Due;
      if (!leases.hasSeq(r[0])) out.push(r);
    }
    let rest = held.slice(i);
    if (out.length < want) {
      // Read from the front of the index: enough to pass the leased rows and those just taken.
      const taken = new Set(out.map((r) => r[0]));
      const fresh = read(want + leases.count(webhookId) + READ_AHEAD).filter(
        (r) => !taken.has(r[0]) && !leases.hasSeq(r[0]),
      );
      const more = want - out.length;
      out.push(...fresh.slice(0, more));
      rest = fresh.slice(more);
    }
    this.#set(webhookId, rest);
    return out;
  }

  /** Rows taken but not claimed after all (past the claim's limit): first in line again. */
  giveBack(webhookId: string, rows: Due[]): void {
    this.#set(webhookId, [...rows, ...(this.#rows.get(webhookId) ?? [])]);
  }

  #set(webhookId: string, rows: Due[]): void {
    this.#size += rows.length - (this.#rows.get(webhookId)?.length ?? 0);
    if (rows.length > 0) this.#rows.set(webhookId, rows);
    else this.#rows.delete(webhookId);
    if (this.#size > READ_AHEAD_CAP) this.clear();
  }

  /** Forgets the rows of webhooks with no due work left. */
  keepOnly(webhookIds: ReadonlySet<string>): void {
    if (this.#rows.size <= webhookIds.size) return;
    for (const [id, rows] of this.#rows) {
      if (webhookIds.has(id)) continue;
      this.#size -= rows.length;
      this.#rows.delete(id);
    }
  }

  clear(): void {
    this.#rows.clear();
    this.#size = 0;
  }
}
