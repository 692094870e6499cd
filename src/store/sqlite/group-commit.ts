import type { AttemptRecord, MessageDraft, PublishResult } from '../store.js';
import type { FreshDeliveries } from './fresh-deliveries.js';
import type { Leases } from './leases.js';
import type { Db } from './open-database.js';
import { publishMessages } from './publish.js';
import { recordAttempts } from './record-attempts.js';
import type { WalSync } from './wal-sync.js';
import type { WebhookCache } from './webhook-cache.js';

/** A job's writes, yielding where the event loop may run before the rest (see SLICE_MS). */
type Steps<T> = Generator<void, T, void>;

interface Job<T> {
  steps: () => Steps<T>;
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
  /** Answered only once its commit is on disk (publishes); attempt records need not wait. */
  durable: boolean;
}

// biome-ignore lint/correctness/useYield: a job that never yields (an attempt record is small)
function* inOneStep<T>(run: () => T): Steps<T> {
  return run();
}

type Outcome = { ok: unknown } | { err: unknown };

/**
 * How long a transaction writes before letting the event loop run: a 1,000-message batch to ten
 * webhooks held the serving thread for 88 ms to a quarter of a second in one go, and the sending
 * thread, with nothing claimed meanwhile, sent nothing for most of a batch publish
 * (bench/CHANGES.md, change 29).
 */
const SLICE_MS = 5;

/**
 * Group commit of the hot writes: publishes and attempt records that arrive in the same turn of
 * the event loop share one transaction, so the pages they both touch (the deliveries table and its
 * indexes) are written to the WAL once. Each job runs in its own savepoint: one's failure (an
 * idempotency conflict) undoes only its own writes. Publishes are answered once the WAL flush that
 * covers them is done (see WalSync), without blocking the event loop on it.
 *
 * A transaction may stay open across turns of the event loop, in slices of SLICE_MS, so that
 * claims and answers go on during a large batch. Meanwhile: jobs that arrive wait for the next
 * transaction; claims see only deliveries committed before it began (`claimBound`); and the
 * store's other writes wait for it to end (`idle`), since they would join it uncommitted.
 */
export class GroupCommit {
  readonly #db: Db;
  readonly #wal: WalSync;
  readonly #leases: Leases;
  readonly #webhooks: WebhookCache;
  readonly #fresh: FreshDeliveries;
  /** Told when publishes are committed (their flush still under way). */
  onPublished: (() => void) | null = null;
  // biome-ignore lint/suspicious/noExplicitAny: jobs of different result types share the queue
  #queue: Job<any>[] = [];
  #open = false;
  #bound = Number.MAX_SAFE_INTEGER;
  #idleWaiters: (() => void)[] = [];

  constructor(db: Db, wal: WalSync, leases: Leases, webhooks: WebhookCache, fresh: FreshDeliveries) {
    this.#db = db;
    this.#wal = wal;
    this.#leases = leases;
    this.#webhooks = webhooks;
    this.#fresh = fresh;
  }

  /**
   * The highest delivery row a claim may take: while a transaction is open across turns, its own
   * rows are uncommitted (and unflushed), and must not be sent; otherwise no bound.
   */
  get claimBound(): number {
    return this.#bound;
  }

  /** Resolves when no transaction is open: a write run then (synchronously) commits on its own. */
  async idle(): Promise<void> {
    while (this.#open) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  publish(tenantId: string, drafts: MessageDraft[], now: number): Promise<PublishResult[]> {
    const targetsOf = (id: string) => this.#webhooks.ofTenant(id);
    return this.#enqueue(
      () => publishMessages(this.#db, targetsOf, tenantId, drafts, now, this.#fresh),
      true,
    );
  }

  /**
   * Committed at once, with the publishes waiting for their turn: the dispatcher records a batch
   * just before it claims again, and the claim should find these deliveries done and unleased.
   * (While a transaction is open, it waits for the next one.)
   */
  record(records: AttemptRecord[], now: number): Promise<void> {
    const done = this.#enqueue(
      () =>
        inOneStep(() => recordAttempts(this.#db, this.#leases, records, now, () => this.#webhooks.clear())),
      false,
    );
    this.#commit();
    return done;
  }

  #enqueue<T>(steps: () => Steps<T>, durable: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ steps, resolve, reject, durable });
      if (this.#queue.length === 1) setImmediate(() => this.#commit());
    });
  }

  #commit(): void {
    if (this.#open || this.#queue.length === 0) return;
    const batch = this.#queue;
    this.#queue = [];
    try {
      this.#wal.begin();
    } catch (err) {
      for (const job of batch) job.reject(err);
      return;
    }
    this.#open = true;
    this.#bound =
      (this.#db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'deliveries'").pluck().get() as
        | number
        | undefined) ?? 0;
    // A lone job needs no savepoint: its failure rolls back the transaction, which is its own.
    const lone = batch.length === 1;
    const outcomes: Outcome[] = [];
    let steps: Steps<unknown> | null = null;
    const slice = () => {
      const until = performance.now() + SLICE_MS;
      try {
        while (outcomes.length < batch.length) {
          const job = batch[outcomes.length] as Job<unknown>;
          if (!steps) {
            if (!lone) this.#db.prepare('SAVEPOINT job').run();
            steps = job.steps();
          }
          try {
            let step = steps.next();
            while (!step.done) {
              if (performance.now() >= until) {
                setImmediate(slice);
                return;
              }
              step = steps.next();
            }
            if (!lone) this.#db.prepare('RELEASE job').run();
            outcomes.push({ ok: step.value });
          } catch (err) {
            if (lone) throw err;
            this.#db.prepare('ROLLBACK TO job').run();
            this.#db.prepare('RELEASE job').run();
            outcomes.push({ err });
          }
          steps = null;
        }
        this.#wal.commit();
      } catch (err) {
        this.#wal.rollback();
        this.#end();
        for (const job of batch) job.reject(err);
        return;
      }
      this.#end();
      this.#settle(batch, outcomes);
    };
    slice();
  }

  /** The transaction is over: writes waiting for it go first, the next transaction after them. */
  #end(): void {
    this.#open = false;
    this.#bound = Number.MAX_SAFE_INTEGER;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
    if (this.#queue.length > 0) setImmediate(() => this.#commit());
  }

  #settle(batch: Job<unknown>[], outcomes: Outcome[]): void {
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
