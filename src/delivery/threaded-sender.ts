import { Worker } from 'node:worker_threads';
import type { Cidr } from '../core/address-policy.js';
import { type HostLookup, systemLookup } from './address-guard.js';
import type { Sender, SendResult } from './http-sender.js';
import {
  type FromThread,
  forEachResult,
  type LookupAnswer,
  pushJob,
  type SendThreadData,
  type ToThread,
  type Wire,
} from './send-thread-protocol.js';

export interface ThreadedSenderOptions {
  /** Production mode's address guard: the extra allowed blocks and how names resolve. null: dev mode. */
  guard: { allow: readonly Cidr[]; lookup?: HostLookup } | null;
  /** The thread failed; its exchanges in flight fail with `sender_failed`, the next send starts another. */
  onThreadError?: (err: Error) => void;
  /** Start the thread now rather than at the first send, which would wait for it to load (~50 ms). */
  startNow?: boolean;
}

/** How long close() waits for the thread to cut its exchanges off and answer them. */
const CLOSE_WAIT_MS = 5000;

/**
 * The thread's young generation, in MB. V8's default (the main thread's, tens of MB) filled up
 * between scavenges with undici's short-lived request objects and stayed resident: capped, bench
 * (d)'s peak RSS while draining went 291 / 294 → 277 / 279 MB, the rate unchanged (bench/CHANGES.md 31).
 */
const YOUNG_GENERATION_MB = 8;

/**
 * The compiled thread script. Under the test runner this module is the TypeScript source, which a
 * worker cannot load: the thread then runs the build's copy (`npm test` builds first).
 */
function threadScript(): URL {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new URL('./send-thread.js', here);
  const at = here.lastIndexOf('/src/');
  return new URL(`${here.slice(0, at)}/dist/${here.slice(at + 5, here.lastIndexOf('/'))}/send-thread.js`);
}

function unanswered(error: string): SendResult {
  return { statusCode: null, responseBody: null, error, durationMs: 0, retryAfter: undefined };
}

/**
 * A Sender whose POSTs run on a worker thread (send-thread.ts): signing, socket writes, undici and
 * response parsing were a third of the serving thread's time under load. Sends made in one turn
 * of the event loop go over as one message, and answers come back the same way.
 */
export function createThreadedSender(opts: ThreadedSenderOptions): Sender {
  const lookup = opts.guard?.lookup ?? systemLookup;
  const waiting = new Map<number, (r: SendResult) => void>();
  let nextId = 0;
  let jobs: Wire = [];
  let thread: Worker | null = null;
  let closed = false;
  let onClosed: (() => void) | null = null;

  function start(): Worker {
    const data: SendThreadData = { allow: opts.guard ? [...opts.guard.allow] : null };
    const t = new Worker(threadScript(), {
      workerData: data,
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    t.unref();
    t.on('message', (m: FromThread) => {
      if ('results' in m) {
        forEachResult(m.results, (id, result) => {
          const done = waiting.get(id);
          waiting.delete(id);
          done?.(result);
        });
        // Like sockets, the thread keeps the process alive only while an exchange runs.
        if (waiting.size === 0) t.unref();
      } else if ('lookup' in m) {
        const answer = (a: Omit<LookupAnswer, 'lookupId'>) =>
          t.postMessage({ lookupId: m.lookup, ...a } satisfies ToThread);
        lookup(m.hostname).then(
          (addresses) => answer({ addresses }),
          (err: NodeJS.ErrnoException) =>
            answer({ error: { code: err?.code, message: String(err?.message ?? err) } }),
        );
      } else {
        onClosed?.();
      }
    });
    t.on('error', (err) => opts.onThreadError?.(err));
    t.on('exit', () => {
      if (thread === t) thread = null;
      // Only this thread had exchanges in flight: another starts after this one is gone.
      const error = closed ? 'network_error' : 'sender_failed';
      for (const done of waiting.values()) done(unanswered(error));
      waiting.clear();
    });
    return t;
  }

  function post(): void {
    const batch = jobs;
    jobs = [];
    if (batch.length === 0) return;
    thread ??= start();
    thread.ref();
    thread.postMessage({ jobs: batch } satisfies ToThread);
  }

  if (opts.startNow) thread = start();
  return {
    send(url, spec, timeoutMs) {
      // Like a closed undici agent: refused at once.
      if (closed) return Promise.resolve(unanswered('network_error'));
      return new Promise((resolve) => {
        const id = nextId++;
        waiting.set(id, resolve);
        if (jobs.length === 0) queueMicrotask(post);
        pushJob(jobs, id, url, spec, timeoutMs);
      });
    },
    async close() {
      closed = true;
      const t = thread;
      if (!t) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, CLOSE_WAIT_MS);
        onClosed = () => {
          clearTimeout(timer);
          resolve();
        };
        post();
        t.postMessage({ close: true } satisfies ToThread);
      });
      // Whatever the thread did not answer fails as it exits.
      await t.terminate();
    },
  };
}
