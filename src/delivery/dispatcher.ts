import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { SecretBox } from '../core/secret-box.js';
import type { AttemptRecord, ClaimedDelivery, Store } from '../store/store.js';
import { attemptOnce } from './attempt.js';
import { EndpointLimiter } from './endpoint-limiter.js';
import type { Sender } from './http-sender.js';

export interface DispatcherOptions {
  store: Store;
  box: SecretBox;
  clock: Clock;
  sender: Sender;
  log: Logger;
  retryScheduleMs: readonly number[];
  userAgent: string;
  /** Attempts in flight across all webhooks. */
  maxInFlight?: number;
  /**
   * Attempts in flight plus those answered and not yet recorded: a store slower than the endpoints
   * then slows the sending instead of piling up unrecorded answers. Default: maxInFlight.
   */
  maxUnrecorded?: number;
  /** Attempts in flight to one webhook (API.md: "default up to 10 at once"). */
  maxPerWebhook?: number;
  /** Safety-net poll: wake-ups normally come from publishes, completions and timers. */
  pollIntervalMs?: number;
  /**
   * While other attempts are in flight, how long an answer waits for company before its batch is
   * written (up to RECORD_BATCH answers): one commit of ~100 records rewrites the pages that two
   * commits of ~50 each wrote (SQLite, in process: 19.6 → 17.0 µs per delivery claimed and
   * recorded), and ~350 a commit still save a little (bench/CHANGES.md, 34). With nothing else in
   * flight nothing would join it, and it is written at once.
   */
  recordWaitMs?: number;
}

export interface DispatcherEvents {
  recorded: [AttemptRecord[]];
}

/** Attempts in flight across all webhooks, by default. */
export const DEFAULT_MAX_IN_FLIGHT = 256;

/** Extra lease time beyond the attempt's timeout, for recording its result. */
const LEASE_SLACK_MS = 2000;

/** Answers written in one commit at most (see recordWaitMs). */
const RECORD_BATCH = 384;

/**
 * Claims due deliveries, runs their attempts concurrently within global and per-webhook limits,
 * and records results in batches (one transaction per batch). Never holds a delivery it cannot
 * start, so a slow webhook only ever occupies its own slots.
 */
export class Dispatcher extends EventEmitter<DispatcherEvents> {
  readonly #o: Required<DispatcherOptions>;
  readonly #limiter: EndpointLimiter;
  #inFlight = 0;
  #running = false;
  #again = false;
  #stopping = false;
  #timer: NodeJS.Timeout | null = null;
  #wakeQueued = false;
  /** The last claim may have left due work behind (see Store.claimsAllDue). */
  #cutShort = false;
  /**
   * The webhooks excluded by a claim that came back empty: nothing else was due then. Until new
   * work can have appeared (a publish or requeue announced, a timer, a retry recorded here), a
   * claim excluding at least these would find nothing either, and skipping it matters: with
   * the due rows all belonging to excluded webhooks, PostgreSQL walks the whole backlog to say so.
   */
  #nothingElseDue: Set<string> | null = null;
  /** Counts the wake-ups that may bring new work, so a claim older than one does not set the above. */
  #news = 0;
  #buffer: AttemptRecord[] = [];
  /** Answered attempts not yet recorded: in the buffer, or in the batch being written. */
  #unrecorded = 0;
  #flushing: Promise<void> | null = null;
  #flushTimer: NodeJS.Timeout | null = null;
  #flushQueued = false;
  #idle: (() => void) | null = null;

  constructor(options: DispatcherOptions) {
    super();
    const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.#o = {
      maxInFlight,
      maxUnrecorded: maxInFlight,
      maxPerWebhook: 10,
      pollIntervalMs: 1000,
      recordWaitMs: 12,
      ...options,
    };
    this.#limiter = new EndpointLimiter(this.#o.maxPerWebhook);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  start(): void {
    this.wake();
  }

  /**
   * Look for due work (after a publish, a requeue, a completion). Wake-ups within one turn of the
   * event loop share one claim: a batch of publishes or of finished attempts costs one query.
   */
  wake(): void {
    this.#news++;
    this.#nothingElseDue = null;
    this.#schedule();
  }

  /** A wake-up that brings no new work: slots freed, or the claim loop going on. */
  #schedule(): void {
    if (this.#stopping || this.#wakeQueued) return;
    this.#wakeQueued = true;
    setImmediate(() => {
      this.#wakeQueued = false;
      if (this.#stopping) return;
      if (this.#running) this.#again = true;
      else void this.#tick();
    });
  }

  /** Stops claiming, waits up to `graceMs` for attempts in flight, records what finished. */
  async stop(graceMs = 10_000): Promise<void> {
    this.#stopping = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, graceMs);
        this.#idle = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    await this.#flush();
  }

  async #tick(): Promise<void> {
    this.#running = true;
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    try {
      do {
        this.#again = false;
        const free = this.#free();
        if (free <= 0) break;
        const snap = this.#limiter.snapshot();
        const known = this.#nothingElseDue;
        if (known && [...known].every((id) => snap.exclude.has(id))) break;
        const news = this.#news;
        const now = this.#o.clock.now();
        const limit = Math.min(free, 500);
        const claimed = await this.#o.store.claimDue({
          now,
          limit,
          leaseUntil: (timeoutMs) => now + timeoutMs + LEASE_SLACK_MS,
          exclude: snap.exclude,
          perWebhookFree: snap.free,
          perWebhookDefault: this.#o.maxPerWebhook,
        });
        // Stopped while claiming: start nothing (the leases run out, or go with the process).
        if (this.#stopping) break;
        for (const c of claimed) this.#launch(c);
        if (claimed.length === 0 && news === this.#news) this.#nothingElseDue = snap.exclude;
        // Claim again while due work may be left: the webhooks this claim filled now count as
        // saturated, so the next one looks past their backlog to everyone else's due work.
        this.#cutShort = this.#o.store.claimsAllDue ? claimed.length === limit : claimed.length > 0;
        if (this.#cutShort) this.#again = true;
      } while (this.#again && !this.#stopping);
      // Tokens taken by this tick's claims count: a rate-limited webhook with work left is woken
      // for its next token, not at the poll (which let a whole second's tokens go out at once).
      await this.#armTimer(this.#limiter.nextTokenInMs());
    } catch (err) {
      this.#o.log.error({ err }, 'dispatcher: claiming failed; retrying after the poll interval');
      this.#arm(this.#o.pollIntervalMs);
    } finally {
      this.#running = false;
    }
    if (this.#again) this.#schedule();
  }

  async #armTimer(nextTokenInMs: number | null): Promise<void> {
    if (this.#stopping) return;
    const now = this.#o.clock.now();
    // Due work that was not claimed is waiting on a limit: completions and token refills wake us.
    const due = await this.#o.store.nextDueAfter(now);
    let delay = due !== null ? Math.min(due - now, this.#o.pollIntervalMs) : this.#o.pollIntervalMs;
    if (nextTokenInMs !== null) delay = Math.min(delay, Math.ceil(nextTokenInMs) + 1);
    this.#arm(delay);
  }

  #arm(delay: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.wake();
    }, delay);
    this.#timer.unref();
  }

  #launch(c: ClaimedDelivery): void {
    this.#inFlight++;
    const webhookId = c.webhook?.id ?? null;
    if (webhookId) this.#limiter.acquire(webhookId, c.webhook?.rateLimitPerSec ?? null);
    const finish = () => {
      // Only a full webhook can have due work waiting for this slot; any other due work was
      // claimed already, or will be by the publish or timer that makes it due. (The dispatcher's
      // own limit counts the attempt until it is recorded: the record's end looks for work then.)
      const waited = this.#cutShort || (webhookId !== null && this.#limiter.isFull(webhookId));
      this.#inFlight--;
      if (webhookId) this.#limiter.release(webhookId);
      if (this.#inFlight === 0) this.#idle?.();
      return waited;
    };
    attemptOnce(c, this.#o).then(
      (record) => {
        // The slot is free once the answer is in (the endpoint's limit is on requests), and the
        // claim that refills it is queued ahead of the record: the endpoint gets its next request
        // before the batch is written. The lease lasts until the record, so no claim takes it again.
        if (finish()) this.#schedule();
        this.#unrecorded++;
        this.#buffer.push(record);
        this.#flushSoon();
      },
      (err) => {
        // attemptOnce does not throw; if it ever does, the lease expires and the delivery is retried.
        this.#o.log.error({ err, delivery: c.delivery.id }, 'dispatcher: attempt crashed');
        finish();
        this.#schedule();
      },
    );
  }

  /** Attempts the dispatcher-wide limits allow to start now. */
  #free(): number {
    const o = this.#o;
    return Math.min(o.maxInFlight - this.#inFlight, o.maxUnrecorded - this.#inFlight - this.#unrecorded);
  }

  /** At a dispatcher-wide limit: waiting for answers, or for records. */
  #full(): boolean {
    return this.#free() <= 0;
  }

  /** Only records can make room: the answers waiting for them fill the unrecorded allowance. */
  #waitingForRecords(): boolean {
    return this.#inFlight + this.#unrecorded >= this.#o.maxUnrecorded;
  }

  /** Schedules the buffer's record: after this turn, or after recordWaitMs while others run. */
  #flushSoon(): void {
    // A claim queued or under way counts as work in flight: when the last answers of a burst come
    // in before the claim refilling their slots has run, more answers are on their way.
    const more = this.#inFlight > 0 || this.#wakeQueued || this.#running;
    if (more && !this.#waitingForRecords() && this.#buffer.length < RECORD_BATCH) {
      this.#flushTimer ??= setTimeout(() => void this.#flush(), this.#o.recordWaitMs);
      return;
    }
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    setImmediate(() => {
      this.#flushQueued = false;
      void this.#flush();
    });
  }

  /** Group commit: every attempt that finished since the last flush is recorded in one transaction. */
  async #flush(): Promise<void> {
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = null;
    while (this.#flushing) await this.#flushing;
    if (this.#buffer.length === 0) return;
    const batch = this.#buffer;
    this.#buffer = [];
    this.#flushing = (async () => {
      try {
        await this.#o.store.recordAttempts(batch, this.#o.clock.now());
        this.emit('recorded', batch);
      } catch (err) {
        this.#o.log.error(
          { err, count: batch.length },
          'dispatcher: recording attempts failed; leases will expire',
        );
      } finally {
        const wasFull = this.#full();
        this.#unrecorded -= batch.length;
        // A retry is now scheduled: claim it if due, or arm the timer for it. A full dispatcher
        // has room again.
        if (batch.some((r) => r.next.status === 'PENDING')) this.wake();
        else if (wasFull) this.#schedule();
      }
    })();
    try {
      await this.#flushing;
    } finally {
      this.#flushing = null;
    }
  }
}
