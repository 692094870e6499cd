import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Db } from './open-database.js';

/** How often the worker copies WAL frames: sooner while writes come in, less often when idle. */
const BUSY_MS = 10;
const IDLE_MS = 50;
/** WAL length (frames of 4 KiB) past which the serving connection is asked to start it over. */
const RESTART_FRAMES = 8192;

// Plain CommonJS evaluated in the worker, so that it runs the same from src/ (tests) and dist/.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = FULL');
let timer = null;
let lastLog = 0;
let asked = false;
function pass() {
  timer = null;
  let wait = workerData.idleMs;
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    if (r.log !== lastLog || r.log > r.checkpointed) wait = workerData.busyMs;
    lastLog = r.log;
    // Long and all copied: the writer can start it over, but only if nothing is appended while
    // this thread copies, which a steady stream of commits never allows. Ask the writer, whose own
    // checkpoint then has only the last few frames to copy.
    if (r.log >= workerData.restartFrames && r.log === r.checkpointed) {
      if (!asked) parentPort.postMessage({ restart: true });
      asked = true;
    } else if (r.log < workerData.restartFrames) {
      asked = false;
    }
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
  timer = setTimeout(pass, wait);
}
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
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
 * process). PASSIVE checkpoints never block the writer; see the worker's RESTART_FRAMES note for
 * how the WAL is kept from growing without end.
 */
export class Checkpointer {
  readonly #worker: Worker;
  #exited: Promise<void>;

  constructor(db: Db, path: string, onError: (message: string) => void) {
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
      // Between two turns of the event loop: no transaction of the serving connection is open.
      // Its next commit then finds the WAL fully copied and writes from its start again.
      if (m.restart && db.open) db.pragma('wal_checkpoint(PASSIVE)');
    });
    this.#exited = new Promise((resolve) => {
      this.#worker.once('exit', () => {
        // The worker is gone (stopped, or crashed): the serving connection checkpoints again itself.
        if (db.open) db.pragma('wal_autocheckpoint = 10000');
        resolve();
      });
    });
    this.#worker.once('error', (err) => onError(err.message));
    // A store left open (by a test, say) must not keep the process alive; unref after the
    // listeners, which ref the worker's port again.
    this.#worker.unref();
    db.pragma('wal_autocheckpoint = 0');
  }

  async stop(): Promise<void> {
    this.#worker.ref(); // until it has closed its connection
    this.#worker.postMessage('stop');
    await this.#exited;
  }
}
