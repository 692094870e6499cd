// The harness's handle on the receiver process (receiver-process.mjs): start it, ask it for counts
// and statistics over IPC, wait until a number of deliveries has arrived.
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { forkTracked, stopProcess } from './processes.mjs';

const FILE = fileURLToPath(new URL('./receiver-process.mjs', import.meta.url));

export class Receiver {
  #next = 0;
  #pending = new Map();

  constructor(child, port) {
    this.child = child;
    this.url = `http://127.0.0.1:${port}`;
    this.pid = child.pid;
    child.on('message', (msg) => {
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`receiver: ${msg.error}`));
      else p.resolve(msg.result);
    });
    child.once('exit', (code, signal) => {
      for (const p of this.#pending.values()) p.reject(new Error(`receiver exited (${code ?? signal})`));
      this.#pending.clear();
    });
  }

  static async start() {
    const child = forkTracked(FILE, [], 'receiver');
    const msg = await new Promise((resolve, reject) => {
      const onExit = (code, signal) =>
        reject(new Error(`receiver exited before it was ready (${code ?? signal})`));
      child.once('exit', onExit);
      child.once('message', (m) => {
        child.off('exit', onExit);
        resolve(m);
      });
    });
    return new Receiver(child, msg.port);
  }

  #call(cmd, args = {}) {
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      if (!this.child.connected) {
        reject(new Error('receiver is gone'));
        return;
      }
      this.#pending.set(id, { resolve, reject });
      this.child.send({ id, cmd, ...args }, (err) => {
        if (!err) return;
        this.#pending.delete(id);
        reject(err);
      });
    });
  }

  /** Requests and distinct webhook-ids received on paths starting with `prefix`. */
  count(prefix) {
    return this.#call('count', { prefix });
  }

  /** Counts, first and last receipt (monotonic ms), latency percentiles, per-path counts. */
  stats(prefix) {
    return this.#call('stats', { prefix });
  }

  forget(prefix) {
    return this.#call('forget', { prefix });
  }

  /**
   * Waits until `n` distinct deliveries have arrived on `prefix`. Gives up after `timeoutMs`, or when
   * nothing new arrived for `stallMs`; returns the count either way (the caller reports a shortfall).
   * Calls `onPoll(count)` at each poll (every 50 ms) and `progress(count)` every `progressMs`; stops
   * early when `abort()` returns something truthy (a crashed server).
   */
  async waitFor(
    prefix,
    n,
    { timeoutMs = 600_000, stallMs = 30_000, progressMs = 5000, progress, onPoll, abort } = {},
  ) {
    const start = performance.now();
    let lastChange = start;
    let lastReport = start;
    let seen = -1;
    for (;;) {
      const { unique } = await this.count(prefix);
      const t = performance.now();
      onPoll?.(unique);
      if (unique >= n) return { unique, complete: true };
      if (abort?.()) return { unique, complete: false };
      if (unique !== seen) {
        seen = unique;
        lastChange = t;
      }
      if (t - start > timeoutMs || t - lastChange > stallMs) return { unique, complete: false };
      if (progress && t - lastReport >= progressMs) {
        lastReport = t;
        progress(unique);
      }
      await sleep(50);
    }
  }

  async close() {
    await stopProcess(this.child, 'SIGTERM');
  }
}
