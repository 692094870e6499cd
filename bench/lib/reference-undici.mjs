// Reference: raw undici keep-alive POSTs from the harness straight to the receiver, no queue and no
// persistence: the physical limit of this machine for these payloads.
import { Pool } from 'undici';
import { countCpu } from './cpu-use.mjs';
import { collectDeliveries, measureLatency } from './measure.mjs';
import { envelope, makeData, nowMs, referenceId } from './payload.mjs';
import { fmt, log } from './progress.mjs';

const IN_FLIGHT = 64;

async function post(pool, path, id, body) {
  const res = await pool.request({
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json', 'webhook-id': id },
    body,
  });
  await res.body.dump();
  if (res.statusCode >= 300) throw new Error(`receiver answered ${res.statusCode}`);
}

/** `deliveries` POSTs, `IN_FLIGHT` at a time, spread over `webhooks` paths like a fan-out. */
export async function undiciThroughput(ctx, { phase, prefix, deliveries, webhooks }) {
  const { rx } = ctx;
  const pool = new Pool(rx.url, { connections: IN_FLIGHT, keepAliveTimeout: 30_000 });
  try {
    log(phase, `${fmt(deliveries)} POSTs, ${IN_FLIGHT} in flight on keep-alive connections`);
    const ids = [];
    let next = 0;
    const cpu = countCpu({ harness: process.pid, receiver: rx.pid });
    const t0 = nowMs();
    const lane = async () => {
      while (next < deliveries) {
        const i = next++;
        const seq = Math.floor(i / webhooks);
        ids[seq] ??= referenceId(seq);
        await post(pool, `${prefix}wh${i % webhooks}`, ids[seq], envelope(ids[seq], makeData(seq)));
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
    const r = await collectDeliveries(rx, { phase, prefix, expected: deliveries, t0 });
    return { ...r, cpu: cpu.stop(r.received) };
  } finally {
    await pool.destroy();
    await rx.forget(prefix);
  }
}

/** One POST per message, paced. */
export async function undiciLatency(ctx, { phase, prefix }) {
  const { rx, opts } = ctx;
  const pool = new Pool(rx.url, { connections: IN_FLIGHT, keepAliveTimeout: 30_000 });
  try {
    const send = (i) => {
      const id = referenceId(i);
      return post(pool, `${prefix}wh0`, id, envelope(id, makeData(i)));
    };
    return await measureLatency(rx, { phase, prefix, rate: opts.rate, seconds: opts.latencySeconds, send });
  } finally {
    await pool.destroy();
    await rx.forget(prefix);
  }
}
