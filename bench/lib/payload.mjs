// What every scenario sends, Hookline and references alike: a ~500-byte JSON envelope whose
// `data.sent_at` is the publish time (ms on the machine's monotonic clock), and an open-loop pacer.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

export const EVENT_TYPE = 'bench.tick';
const TARGET_BYTES = 500;

/**
 * Milliseconds on CLOCK_MONOTONIC, sub-millisecond, comparable across processes. Not
 * `performance.timeOrigin + performance.now()`: each process takes its origin from the wall clock
 * when it starts, so two processes started either side of a clock adjustment disagree (seen:
 * 1.4 ms, which made a reference's p50 latency negative on a freshly booted machine).
 */
export const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

function baseData(seq, sentAt, pad) {
  return {
    sent_at: Math.round(sentAt * 1000) / 1000,
    seq,
    object: {
      id: `res_${String(seq).padStart(8, '0')}`,
      kind: 'invoice',
      amount: 12_345,
      currency: 'EUR',
      customer: { id: 'cus_4f9a2b7c', email: 'billing@example.com', country: 'DE' },
      lines: [
        { sku: 'plan-pro', qty: 1, amount: 9900 },
        { sku: 'seat', qty: 3, amount: 2445 },
      ],
    },
    pad,
  };
}

/** A message id shaped like Hookline's (msg_ + 26 characters), for the references. */
export function referenceId(seq) {
  return `msg_${randomBytes(8).toString('hex').toUpperCase()}${String(seq).padStart(10, '0')}`;
}

/** The body Hookline sends for a message (API.md "What a webhook receives"); the references send it too. */
export function envelope(id, data) {
  return JSON.stringify({
    id,
    type: EVENT_TYPE,
    created_at: new Date().toISOString(),
    data,
    previous_data: null,
  });
}

// Pad so that a typical envelope is TARGET_BYTES long.
const PAD = 'x'.repeat(
  Math.max(0, TARGET_BYTES - envelope(referenceId(0), baseData(123_456, 1_739_871_234_567.123, '')).length),
);

/** The `data` of message number `seq`, stamped now unless `sentAt` is given. */
export function makeData(seq, sentAt = nowMs()) {
  return baseData(seq, sentAt, PAD);
}

export const PAYLOAD_BYTES = envelope(referenceId(0), makeData(123_456)).length;

/**
 * Calls `send(i)` for i = 0 … rate·seconds − 1 at `rate` per second on the wall clock (open loop: a
 * slow answer does not delay the next send), with at most `maxInFlight` unanswered sends; a send
 * that would exceed that is skipped and counted. Resolves when every send has settled.
 */
export async function paced({ rate, seconds, maxInFlight = 512, send }) {
  const total = Math.round(rate * seconds);
  const start = performance.now();
  let i = 0;
  let inFlight = 0;
  let skipped = 0;
  let failed = 0;
  let firstError = null;
  const settled = [];
  while (i < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
    for (; i < due; i++) {
      if (inFlight >= maxInFlight) {
        skipped++;
        continue;
      }
      inFlight++;
      settled.push(
        Promise.resolve(send(i))
          .catch((err) => {
            failed++;
            firstError ??= err;
          })
          .finally(() => inFlight--),
      );
    }
    if (i < total) await sleep(Math.max(0, ((i * 1000) / rate - (performance.now() - start)) | 0));
  }
  const sendSeconds = (performance.now() - start) / 1000;
  await Promise.all(settled);
  const settleSeconds = (performance.now() - start) / 1000;
  return {
    sent: total - skipped,
    skipped,
    failed,
    firstError: firstError?.message ?? null,
    sendSeconds,
    settleSeconds,
  };
}
