/**
 * Leases of claimed deliveries, kept in memory: one process owns an SQLite file and a restart
 * releases every lease anyway, so writing them (and paying an fsync per claim) would buy nothing.
 */
export class Leases {
  readonly #until = new Map<string, number>();

  take(id: string, until: number): void {
    this.#until.set(id, until);
  }

  release(id: string): void {
    this.#until.delete(id);
  }

  /** JSON array of the ids leased at `now` (for `id NOT IN (SELECT value FROM json_each(?))`). */
  heldJson(now: number): string {
    const held: string[] = [];
    for (const [id, until] of this.#until) {
      if (until > now) held.push(id);
      else this.#until.delete(id);
    }
    return JSON.stringify(held);
  }
}
