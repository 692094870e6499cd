import type { AttemptRecord, MessageDraft, PublishResult } from '../store.js';
import type { Leases } from './leases.js';
import type { Db } from './open-database.js';
import { publishMessages } from './publish.js';
import { recordAttempts } from './record-attempts.js';
import type { WalSync } from './wal-sync.js';
import type { WebhookCache } from './webhook-cache.js';

interface Job<T> {
  run: () => T;
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
  /** Answered only once its commit is on disk (publishes); attempt records need not wait. */
  durable: boolean;
}

/**
 * Group commit of the hot writes: publishes and attempt records that arrive in the same turn of
 * the event loop share one transaction, so the pages they both touch (the deliveries table and its
 * indexes) are written to the WAL once. Each job runs in its own savepoint: one's failure (an
 * idempotency conflict) undoes only its own writes. Publishes are answered once the WAL flush that
 * covers them is done (see WalSync), without blocking the event loop on it.
 */
export class GroupCommit {
  readonly #db: Db;
  readonly #wal: WalSync;
  readonly #leases: Leases;
  readonly #webhooks: WebhookCache;
  /** Told when publishes are committed (their flush still under way). */
  onPublished: (() => void) | null = null;
  // biome-ignore lint/suspicious/noExplicitAny: jobs of different result types share the queue
  #queue: Job<any>[] = [];
  /** A job in a savepoint of the batch's transaction; made once (better-sqlite3 builds a wrapper each time). */
  readonly #savepoint: <T>(run: () => T) => T;

  constructor(db: Db, wal: WalSync, leases: Leases, webhooks: WebhookCache) {
    this.#db = db;
    this.#wal = wal;
    this.#leases = leases;
    this.#webhooks = webhooks;
    this.#savepoint = db.transaction((run) => run()) as <T>(run: () => T) => T;
  }

  publish(tenantId: string, drafts: MessageDraft[], now: number): Promise<PublishResult[]> {
    const targetsOf = (id: string) => this.#webhooks.ofTenant(id);
    return this.#enqueue(() => publishMessages(this.#db, targetsOf, tenantId, drafts, now), true);
  }

  /**
   * Committed at once, with the publishes waiting for their turn: the dispatcher records a batch
   * just before it claims again, and the claim should find these deliveries done and unleased.
   */
  record(records: AttemptRecord[], now: number): Promise<void> {
    const done = this.#enqueue(
      () => recordAttempts(this.#db, this.#leases, records, now, () => this.#webhooks.clear()),
      false,
    );
    this.#commit();
    return done;
  }

  #enqueue<T>(run: () => T, durable: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ run, resolve, reject, durable });
      if (this.#queue.length === 1) setImmediate(() => this.#commit());
    });
  }

  #commit(): void {
    const batch = this.#queue;
    if (batch.length === 0) return;
    this.#queue = [];
    const outcomes: ({ ok: unknown } | { err: unknown })[] = [];
    try {
      this.#wal.unflushed(() => {
        // A lone job needs no savepoint: its failure rolls back the transaction, which is its own.
        if (batch.length === 1) {
          outcomes.push({ ok: batch[0]?.run() });
          return;
        }
        for (const job of batch) {
          try {
            outcomes.push({ ok: this.#savepoint(job.run) });
          } catch (err) {
            outcomes.push({ err });
          }
        }
      });
    } catch (err) {
      for (const job of batch) job.reject(err);
      return;
    }
    const settle = (job: Job<unknown>, i: number) => {
      const o = outcomes[i];
      if (o && 'ok' in o) job.resolve(o.ok);
      else job.reject(o?.err);
    };
    batch.forEach((job, i) => {
      if (!job.durable) settle(job, i);
    });
    if (!batch.some((job) => job.durable)) return;
    const flushed = this.#wal.flush();
    this.onPublished?.();
    flushed.then(
      () =>
        batch.forEach((job, i) => {
          if (job.durable) settle(job, i);
        }),
      (err) => {
        for (const job of batch) if (job.durable) job.reject(err);
      },
    );
  }
}
