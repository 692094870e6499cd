// Measurements shared by Hookline's scenarios and the references: delivery rate from the first
// publish to the last receipt, and paced publish→receipt latency.
import { paced } from './payload.mjs';
import { fmt, log, receivedProgress } from './progress.mjs';

/** min/p50/p99/max/mean of a list of milliseconds. */
export function summarizeMs(values) {
  if (values.length === 0) return { n: 0, p50: null, p99: null, max: null, mean: null };
  const sorted = Float64Array.from(values).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    n: sorted.length,
    p50: at(0.5),
    p99: at(0.99),
    max: sorted[sorted.length - 1],
    mean: sum / sorted.length,
  };
}

/**
 * Waits for `expected` deliveries on `prefix`, then: how many arrived (distinct), duplicates, and
 * deliveries per second from `t0` (monotonic ms of the first publish) to the last receipt.
 */
export async function collectDeliveries(
  rx,
  { phase, prefix, expected, t0, abort, stallMs, timeoutMs, onPoll },
) {
  const wait = await rx.waitFor(prefix, expected, {
    progress: receivedProgress(phase, expected),
    abort,
    onPoll,
    stallMs,
    timeoutMs,
  });
  const s = await rx.stats(prefix);
  const seconds = s.lastAt === null ? null : (s.lastAt - t0) / 1000;
  const r = {
    expected,
    received: s.unique,
    missing: expected - s.unique,
    duplicates: s.duplicates,
    complete: wait.complete,
    seconds,
    deliveriesPerSec: seconds ? s.unique / seconds : null,
    latencyMs: s.latencyMs,
  };
  log(
    phase,
    `${fmt(r.received)} of ${fmt(expected)} received in ${fmt(seconds, 1)} s: ` +
      `${fmt(r.deliveriesPerSec)} deliveries/s${r.duplicates ? `, ${fmt(r.duplicates)} duplicates` : ''}` +
      `${r.missing ? `, ${fmt(r.missing)} not (yet) received` : ''}`,
  );
  return r;
}

/**
 * Publishes one message per `send(i)` at `rate`/s for `seconds` (after a one-second warm-up at the
 * same rate whose receipts are discarded) and reports publish→receipt latency at the receiver.
 * `send` must stamp `data.sent_at` when it is called and deliver to `prefix` on the receiver.
 */
export async function measureLatency(rx, { phase, prefix, rate, seconds, send, abort }) {
  const warm = await paced({ rate, seconds: 1, send: (i) => send(1_000_000 + i) });
  await rx.waitFor(prefix, warm.sent - warm.failed, { stallMs: 10_000, abort });
  await rx.forget(prefix);
  log(phase, `1 s warm-up done; publishing ${fmt(rate)}/s for ${seconds} s, one message at a time`);
  const ackMs = [];
  const timedSend = async (i) => {
    const t = performance.now();
    await send(i);
    ackMs.push(performance.now() - t);
  };
  const p = await paced({ rate, seconds, send: timedSend });
  if (p.firstError) log(phase, `${fmt(p.failed)} publishes failed, the first: ${p.firstError}`);
  const expected = p.sent - p.failed;
  const wait = await rx.waitFor(prefix, expected, { stallMs: 15_000, abort });
  const s = await rx.stats(prefix);
  await rx.forget(prefix);
  const r = {
    rate,
    seconds,
    // Publishes answered per second, from the first send to the last answer: below `rate` when the
    // publisher had to skip sends because the server did not keep up.
    acceptedRate: (p.sent - p.failed) / p.settleSeconds,
    sent: p.sent,
    sendsSkipped: p.skipped,
    failed: p.failed,
    received: s.unique,
    missing: expected - s.unique,
    duplicates: s.duplicates,
    complete: wait.complete,
    latencyMs: s.latencyMs,
    publishAckMs: summarizeMs(ackMs),
  };
  const l = r.latencyMs;
  log(
    phase,
    `${fmt(r.received)} of ${fmt(expected)} received; publish→receipt p50 ${fmt(l.p50, 2)} ms, ` +
      `p99 ${fmt(l.p99, 2)} ms, max ${fmt(l.max, 1)} ms; ${fmt(r.acceptedRate)} publishes/s answered` +
      (r.sendsSkipped ? `; ${fmt(r.sendsSkipped)} sends skipped: 512 publishes were unanswered` : ''),
  );
  return r;
}
