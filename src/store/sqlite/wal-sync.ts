import { closeSync, fdatasync, openSync } from 'node:fs';
import type { Db } from './open-database.js';

/**
 * Durability for the hot writes without blocking the event loop on fsync.
 *
 * The connection runs at synchronous=FULL, so every ordinary commit is on disk when it returns.
 * Publishes and attempt records instead commit at synchronous=NORMAL (written to the WAL, not yet
 * flushed) and a publish is acknowledged only after an fdatasync of the WAL file, run on libuv's
 * thread pool. The WAL is append-only, so that flush also covers every frame written before it, and
 * publishes committed while one flush runs share the next one: group commit for free.
 *
 * Attempt records need no flush of their own: losing the last ones to a power cut means those
 * deliveries go again (at-least-once), and the next publish's flush makes them durable anyway.
 */
export class WalSync {
  readonly #db: Db;
  readonly #walPath: string;
  /** false for a database without a WAL file (`:memory:`): commits there are not flushed at all. */
  readonly #wal: boolean;
  #fd: number | null = null;
  /** Waiting for a flush that starts after their commit. */
  #waiting: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  #flushing = false;
  /** Settles when the flush covering the last publish commit is done. */
  #lastPublish: Promise<void> = Promise.resolve();

  constructor(db: Db, dbPath: string) {
    this.#db = db;
    this.#walPath = `${dbPath}-wal`;
    this.#wal = db.pragma('journal_mode', { simple: true }) === 'wal';
  }

  /** Whether the database has a WAL file (not so for `:memory:`). */
  get enabled(): boolean {
    return this.#wal;
  }

  /**
   * Opens an IMMEDIATE transaction whose commit (`commit()`) returns before it reaches the disk. It
   * may stay open across turns of the event loop (GroupCommit writes a large batch in slices).
   */
  begin(): void {
    this.#db.prepare('PRAGMA synchronous = NORMAL').run();
    try {
      this.#db.prepare('BEGIN IMMEDIATE').run();
    } catch (err) {
      this.#db.prepare('PRAGMA synchronous = FULL').run();
      throw err;
    }
  }

  commit(): void {
    try {
      this.#db.prepare('COMMIT').run();
    } finally {
      this.#end();
    }
  }

  /** Undoes the transaction begun, if SQLite has not already rolled it back (some errors do). */
  rollback(): void {
    try {
      if (this.#db.inTransaction) this.#db.prepare('ROLLBACK').run();
    } finally {
      this.#end();
    }
  }

  #end(): void {
    // After a failed COMMIT the transaction is still open: roll it back before leaving NORMAL.
    if (this.#db.inTransaction) this.#db.prepare('ROLLBACK').run();
    this.#db.prepare('PRAGMA synchronous = FULL').run();
  }

  /** Resolves once everything committed before the call is on disk. */
  flush(): Promise<void> {
    if (!this.#wal) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
    });
    if (!this.#flushing) this.#next();
    this.#lastPublish = done.catch(() => {});
    return done;
  }

  /** Settles once the last flush asked for is done: nothing committed before it is sent unflushed. */
  flushed(): Promise<void> {
    return this.#lastPublish;
  }

  close(): void {
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }

  #next(): void {
    const batch = this.#waiting;
    if (batch.length === 0) return;
    this.#waiting = [];
    this.#flushing = true;
    // The WAL file exists from the connection's first read and lives as long as the connection
    // (SQLite deletes it only when the last connection closes), so one descriptor serves throughout.
    this.#fd ??= openSync(this.#walPath, 'r');
    fdatasync(this.#fd, (err) => {
      this.#flushing = false;
      for (const w of batch) {
        if (err) w.reject(err);
        else w.resolve();
      }
      this.#next();
    });
  }
}
