import type { Store } from '../store/store.js';

/**
 * Coalesces "work is due" announcements to other processes: while one NOTIFY is on its way, any
 * number of further publishes cost one more, not one each.
 */
export class WorkAnnouncer {
  #sending = false;
  #again = false;

  constructor(
    private readonly store: Store,
    private readonly onError: (err: unknown) => void,
  ) {}

  announce(): void {
    if (this.store.kind === 'sqlite') return;
    if (this.#sending) {
      this.#again = true;
      return;
    }
    this.#sending = true;
    this.store
      .announceWork()
      .catch(this.onError)
      .finally(() => {
        this.#sending = false;
        if (this.#again) {
          this.#again = false;
          this.announce();
        }
      });
  }
}
