// The sending thread (started by threaded-sender.ts): signing, the webhook POSTs, their socket
// writes and response parsing run here, off the thread that serves the API and runs the store.
import type { LookupAddress } from 'node:dns';
import { parentPort, workerData } from 'node:worker_threads';
import { AddressPolicy } from '../core/address-policy.js';
import { AddressGuard } from './address-guard.js';
import { createSender, type SendResult } from './http-sender.js';
import {
  type FromThread,
  forEachJob,
  type LookupAnswer,
  pushResult,
  type SendThreadData,
  type ToThread,
  type Wire,
} from './send-thread-protocol.js';

if (!parentPort) throw new Error('send-thread.js runs as a worker thread');
const port = parentPort;
const { allow } = workerData as SendThreadData;

const lookups = new Map<number, (answer: LookupAnswer) => void>();
let nextLookup = 0;

/** Names are resolved by the serving thread (tests replace its DNS); the policy is checked here. */
function lookup(hostname: string): Promise<readonly LookupAddress[]> {
  return new Promise((resolve, reject) => {
    const id = nextLookup++;
    lookups.set(id, (answer) => {
      if (answer.addresses) resolve(answer.addresses);
      else
        reject(
          Object.assign(new Error(answer.error?.message ?? 'lookup failed'), { code: answer.error?.code }),
        );
    });
    port.postMessage({ lookup: id, hostname } satisfies FromThread);
  });
}

const guard = allow ? new AddressGuard({ policy: new AddressPolicy(allow), lookup }) : null;
const sender = createSender(guard ? { connect: guard.connector() } : {});

// Results go back once per turn of the event loop: one message for all the answers read in it.
let results: Wire = [];
function flush(): void {
  if (results.length === 0) return;
  const out = results;
  results = [];
  port.postMessage({ results: out } satisfies FromThread);
}
function report(id: number, result: SendResult): void {
  if (results.length === 0) setImmediate(flush);
  pushResult(results, id, result);
}

port.on('message', (m: ToThread) => {
  if ('jobs' in m) {
    forEachJob(m.jobs, (id, url, spec, timeoutMs) => {
      void sender.send(url, spec, timeoutMs).then((r) => report(id, r));
    });
  } else if ('lookupId' in m) {
    const answer = lookups.get(m.lookupId);
    lookups.delete(m.lookupId);
    answer?.(m);
  } else {
    // Exchanges still running are cut off; each still answers (with its error) before `closed`.
    void sender.close().then(() => {
      flush();
      port.postMessage({ closed: true } satisfies FromThread);
    });
  }
});
