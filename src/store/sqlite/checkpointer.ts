import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { AUTOCHECKPOINT_PAGES, type Db } from './open-database.js';

/**
 * How often the worker copies WAL frames: sooner while writes come in, less often when idle. A
 * pass copies the last version of each page written since the one before: every 100 ms, a page
 * rewritten by many commits (an index's hot end) is copied once where every 10 ms copied it ten
 * times (the worker's CPU per delivery 2.4 → 1.1 µs in bench (a)).
 */
const BUSY_MS = 100;
const IDLE_MS = 250;
/** WAL length (frames of 4 KiB) past which the serving connection is asked to start it over. */
const RESTART_FRAMES = 8192;

// Plain CommonJS evaluated in the worker, so that it runs the same from src/ (tests) and dist/.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = FULL');
db.pragma('cache_size = -1024'); // a checkpoint reads WAL frames, not the page cache
let timer = null;
let stopped = false;
let lastLog = 0;
/** Past the limit, and every frame of it copied. */
const long = (r) => r.log >= workerData.restartFrames && r.log === r.checkpointed;
function pass() {
  timer = null;
  let wait = workerData.idleMs;
  try {
    let [r] = db.pragma('wal_checkpoint(PASSIVE)');
    // Past the limit, catch up with the writer first (passes until one finds little new), so that
    // what the writer itself must copy below is only what it wrote since.
    for (let i = 0; i < 5 && long(r); i++) {
      const [again] = db.pragma('wal_checkpoint(PASSIVE)');
      const fresh = again.log - r.log;
      r = again;
      if (fresh < 256) break;
    }
    if (r.log !== lastLog || r.log > r.checkpointed) wait = workerData.busyMs;
    lastLog = r.log;
    // Long and all copied. The writer starts a WAL over only if it is fully copied when a commit
    // begins, which a steady stream of commits (each landing while this thread copies) never
    // allows; so the writer is asked to do it, and this thread waits to be resumed meanwhile.
    if (long(r)) {
      parentPort.postMessage({ restart: true });
      return;
    }
  } catch (err) {
    parentPort.postMessage({ error: String((err && err.message) || err) });
  }
  timer = setTimeout(pass, wait);
}
parentPort.on('message', (m) => {
  if (m === 'resume') {
    if (!stopped && !timer) timer = setTimeout(pass, workerData.busyMs);
    return;
  }
  stopped = true;
  if (timer) clearTimeout(timer);
  db.close();
  parentPort.close();
});
pass();
`;

/**
 * Copies WAL frames into the database file on a worker thread, with its own connection, instead
 * of in the commit that crosses `wal_autocheckpoint` on the serving thread: such a checkpoint wrote
 * thousands of pages and fsynced the file while every request waited (a 115 ms stall measured in
 * process). PASSIVE checkpoints never block the writer; the note at the worker's restart request
 * says how the WAL is kept from growing without end.
 */
export class Checkpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;
  readonly #db: Db;
  readonly #onError: (message: string) => void;

  constructor(db: Db, path: string, onError: (message: string) => void) {
    this.#db = db;
    this.#onError = onError;
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        path,
        driver: createRequire(import.meta.url).resolve('better-sqlite3'),
        busyMs: BUSY_MS,
        idleMs: IDLE_MS,
        restartFrames: RESTART_FRAMES,
      },
    });
    this.#worker.on('message', (m: { error?: string; restart?: boolean }) => {
      if (m.error) onError(m.error);
      if (m.restart) this.#restart();
    });
    this.#exited = new Promise((resolve) => {
      this.#worker.once('exit', () => {
        // The worker is gone (stopped, or crashed): the serving connection checkpoints again itself.
        if (db.open) db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
        resolve();
      });
    });
    this.#worker.once('error', (err) => onError(err.message));
    // A store left open (by a test, say) must not keep the process alive; unref after the
    // listeners, which ref the worker's port again.
    this.#worker.unref();
    db.pragma('wal_autocheckpoint = 0');
  }

  /**
   * Copies the few frames written since the worker's last pass and makes the next commit write the
   * WAL from its start: a short stall of the serving thread once per RESTART_FRAMES of WAL. The
   * worker is paused, so the RESTART checkpoint has no reader to wait for.
   */
  #restart(): void {
    try {
      if (this.#db.open && !this.#db.inTransaction) this.#db.pragma('wal_checkpoint(RESTART)');
    } catch (err) {
      this.#onError(err instanceof Error ? err.message : String(err));
    }
    this.#worker.postMessage('resume');
  }

  async stop(): Promise<void> {
    this.#worker.ref(); // until it has closed its connection
    this.#worker.postMessage('stop');
    await this.#exited;
  }
}
