// Hookline with its embedded SQLite store (defaults: WAL, synchronous=FULL) on a temp file, one
// fresh server process and database per scenario, publishing over the HTTP API.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { countCpu } from './cpu-use.mjs';
import { createEventType, createWebhooks, Hookline, publishBatches, setStatus } from './hookline.mjs';
import { collectDeliveries, measureLatency } from './measure.mjs';
import { EVENT_TYPE, makeData, nowMs } from './payload.mjs';
import { cpuSeconds, RssSampler } from './processes.mjs';
import { fmt, log } from './progress.mjs';

export const WEBHOOKS = 10;

const hangPath = (prefix) => `/hang${prefix}`;
const paths = (prefix) => Array.from({ length: WEBHOOKS }, (_, i) => `${prefix}wh${i}`);

/** Database files made so far: each run (a scenario may run more than once) gets a new one. */
let files = 0;

async function startSqlite(ctx, phase) {
  const hl = await Hookline.start({
    name: `hookline (${phase})`,
    args: ['--db', join(ctx.tmpDir, `${phase} ${++files}.db`)],
  });
  await createEventType(hl);
  return hl;
}

/** What the server process looked like: peak RSS (sampled and VmHWM), CPU, log lines, a crash. */
function serverFigures(hl, sampler, cpu0) {
  return {
    peakRssMb: sampler.stop(),
    vmHwmMb: hl.memory()?.hwm ?? null,
    cpuSeconds: cpuSeconds(hl.pid) - cpu0,
    logLines: hl.logLines,
    firstLogLines: hl.firstLogLines,
    crashed: hl.crashed,
  };
}

/** Deliveries still in a status, through the list API (0, or at least 1). */
async function leftovers(hl) {
  const out = {};
  for (const status of ['PENDING', 'HELD', 'FAILED']) {
    const page = await hl.api('GET', `/v1/deliveries?status=${status}&limit=250`);
    out[status] = page.data.length;
  }
  return out;
}

/**
 * (a) and (c): `messages` published in batches of 1000 (two requests in flight), fanned out to 10
 * webhooks that answer 200 at once; with `hang`, an 11th webhook whose receiver never answers
 * (timeout_ms 1000). Deliveries/s to the healthy webhooks, from the first publish to the last receipt.
 */
export async function throughput(ctx, { phase, prefix, hang = false }) {
  const { rx, opts } = ctx;
  const hl = await startSqlite(ctx, phase);
  try {
    await createWebhooks(hl, rx.url, paths(prefix));
    if (hang) await createWebhooks(hl, rx.url, [hangPath(prefix)], { timeout_ms: 1000 });
    const expected = opts.messages * WEBHOOKS;
    log(
      phase,
      `publishing ${fmt(opts.messages)} messages × ${WEBHOOKS} webhooks = ${fmt(expected)} deliveries` +
        (hang ? ', plus 1 webhook that hangs (timeout_ms 1000)' : ''),
    );
    const sampler = new RssSampler(hl.pid).start();
    const cpu0 = cpuSeconds(hl.pid);
    const cpu = countCpu({ hookline: hl.pid, receiver: rx.pid, harness: process.pid });
    const t0 = nowMs();
    const pub = await publishBatches(hl, opts.messages);
    const publishSeconds = (nowMs() - t0) / 1000;
    log(
      phase,
      `published in ${fmt(publishSeconds, 1)} s (${fmt(opts.messages / publishSeconds)} messages/s, ` +
        `${fmt(pub.deliveries)} deliveries created)`,
    );
    const r = await collectDeliveries(rx, { phase, prefix, expected, t0, abort: () => hl.crashed });
    r.cpu = cpu.stop(r.received);
    r.publishSeconds = publishSeconds;
    r.messagesPerSec = opts.messages / publishSeconds;
    if (hang) {
      r.hangingAttempts = (await rx.count(hangPath(prefix))).count;
      log(phase, `the hanging webhook got ${fmt(r.hangingAttempts)} attempts meanwhile`);
    }
    return { ...r, server: serverFigures(hl, sampler, cpu0) };
  } finally {
    await hl.stop();
    await rx.forget(prefix);
    await rx.forget(hangPath(prefix));
  }
}

/**
 * (b): one webhook; single-message publishes (POST /v1/messages) paced at `opts.rate`/s, after 5 s
 * at `opts.lightRate`/s (informational: the latency when the server is far from saturated).
 */
export async function latency(ctx, { phase, prefix }) {
  const { rx, opts } = ctx;
  const hl = await startSqlite(ctx, phase);
  try {
    await createWebhooks(hl, rx.url, [`${prefix}wh0`]);
    log(
      phase,
      `1 webhook; 5 s at ${fmt(opts.lightRate)}/s, then ${opts.latencySeconds} s at ${fmt(opts.rate)}/s`,
    );
    const sampler = new RssSampler(hl.pid).start();
    const cpu0 = cpuSeconds(hl.pid);
    const send = (i) => hl.api('POST', '/v1/messages', { type: EVENT_TYPE, data: makeData(i) });
    const abort = () => hl.crashed;
    // First a light load, for the latency of the pipeline itself; then the target rate.
    const light = await measureLatency(rx, { phase, prefix, rate: opts.lightRate, seconds: 5, send, abort });
    const r = await measureLatency(rx, {
      phase,
      prefix,
      rate: opts.rate,
      seconds: opts.latencySeconds,
      send,
      abort,
    });
    return { ...r, light, server: serverFigures(hl, sampler, cpu0) };
  } finally {
    await hl.stop();
    await rx.forget(prefix);
  }
}

/**
 * (d): 10 webhooks created DISABLED, so every delivery is HELD; `backlog` deliveries published (RSS
 * read at half and at full size); then the webhooks are reactivated (PATCH ACTIVE requeues HELD) and
 * the drain is timed from the first PATCH to the last receipt, RSS sampled every 100 ms. The drain
 * is cut off after `opts.drainLimitSeconds` (the rate is then over the part that was drained).
 */
export async function backlog(ctx, { phase, prefix }) {
  const { rx, opts } = ctx;
  const hl = await startSqlite(ctx, phase);
  try {
    const ids = await createWebhooks(hl, rx.url, paths(prefix));
    await setStatus(hl, ids, 'DISABLED');
    const messages = Math.ceil(opts.backlog / WEBHOOKS);
    const expected = messages * WEBHOOKS;
    const half = Math.floor(messages / 2);
    const rssMb = { idle: hl.memory().rss };
    const buildSampler = new RssSampler(hl.pid).start();
    log(
      phase,
      `10 webhooks DISABLED; publishing ${fmt(messages)} messages (${fmt(expected)} HELD deliveries)`,
    );
    const tb = nowMs();
    let logged = 0;
    const progress = (from) => (n) => {
      if (from + n - logged < messages / 5) return;
      logged = from + n;
      log(phase, `… ${fmt(logged * WEBHOOKS)} deliveries HELD`);
    };
    await publishBatches(hl, half, { progress: progress(0) });
    rssMb.heldHalf = hl.memory().rss;
    await publishBatches(hl, messages - half, { progress: progress(half) });
    rssMb.heldFull = hl.memory().rss;
    rssMb.buildPeak = buildSampler.stop();
    const buildSeconds = (nowMs() - tb) / 1000;
    const sentWhileDisabled = (await rx.count(prefix)).count;
    log(
      phase,
      `backlog built in ${fmt(buildSeconds, 1)} s; RSS idle ${fmt(rssMb.idle)} MB, ` +
        `${fmt(expected / 2)} held ${fmt(rssMb.heldHalf)} MB, ${fmt(expected)} held ${fmt(rssMb.heldFull)} MB` +
        (sentWhileDisabled ? `; ${fmt(sentWhileDisabled)} SENT WHILE DISABLED` : ''),
    );
    await sleep(1000); // let the build's garbage go before the drain's RSS is sampled
    const sampler = new RssSampler(hl.pid).start();
    const cpu0 = cpuSeconds(hl.pid);
    const t0 = nowMs();
    const patchMs = [];
    for (const id of ids) {
      const t = performance.now();
      await hl.api('PATCH', `/v1/webhooks/${id}`, { status: 'ACTIVE' });
      patchMs.push(performance.now() - t);
    }
    log(phase, `reactivated 10 webhooks in ${fmt(patchMs.reduce((a, b) => a + b, 0))} ms; draining`);
    // RSS when a quarter and when three quarters of the backlog has been delivered.
    const onPoll = (n) => {
      if (rssMb.drainQuarter === undefined && n >= expected / 4) rssMb.drainQuarter = hl.memory()?.rss;
      if (rssMb.drainThreeQuarters === undefined && n >= (3 * expected) / 4) {
        rssMb.drainThreeQuarters = hl.memory()?.rss;
      }
    };
    const r = await collectDeliveries(rx, {
      phase,
      prefix,
      expected,
      t0,
      abort: () => hl.crashed,
      onPoll,
      timeoutMs: opts.drainLimitSeconds * 1000,
    });
    // Stopped at the time limit: a rate over part of the drain, and nothing known about loss.
    r.drainLimited = !r.complete && !hl.crashed && nowMs() - t0 >= opts.drainLimitSeconds * 1000;
    if (r.drainLimited) {
      log(
        phase,
        `drain stopped at the ${opts.drainLimitSeconds} s limit (--drain-limit): the rate is over that part`,
      );
    }
    await sleep(500);
    const left = hl.crashed ? null : await leftovers(hl);
    rssMb.drainPeak = sampler.peak;
    const server = serverFigures(hl, sampler, cpu0);
    log(
      phase,
      `RSS while draining: peak ${fmt(rssMb.drainPeak)} MB (VmHWM ${fmt(server.vmHwmMb)} MB); ` +
        `left over: ${JSON.stringify(left)}`,
    );
    return { ...r, messages, buildSeconds, sentWhileDisabled, patchMs, rssMb, leftovers: left, server };
  } finally {
    await hl.stop();
    await rx.forget(prefix);
  }
}
