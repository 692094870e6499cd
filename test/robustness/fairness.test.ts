import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp-dir.js';
import { ChildServer, waitUntil } from './child-server.js';
import { LoadReceiver } from './load-receiver.js';

/**
 * Per-endpoint isolation (DESIGN.md "Delivery engine": "one slow or dead endpoint never delays the
 * others"). Two servers run side by side, each with ten healthy webhooks that answer 200 at once;
 * the second also has an eleventh webhook that hangs until its 1 s timeout on every attempt. The
 * healthy delivery rate of the second must be at least 90% of the first's.
 */
const HEALTHY = 10;
const MESSAGES = 3000;
const BATCH = 1000;
const MIN_RATIO = 0.9;

interface PhaseResult {
  rate: number;
  ms: number;
  hangAttempts: number;
}

const cleanups: (() => Promise<void> | void)[] = [];

/** A fresh server and database, HEALTHY (+1 hanging) webhooks, MESSAGES published, timed until
 *  every healthy delivery arrived. Rate: healthy deliveries/s from the 10th to the 90th percentile
 *  of their arrivals. */
async function runPhase(withHang: boolean): Promise<PhaseResult> {
  const dir = tempDir('hookline-fairness-');
  const rx = await new LoadReceiver((path) => (path === '/hang' ? null : 0)).start();
  const server = await ChildServer.start(join(dir.path, 'hookline.db'));
  const cleanup = async () => {
    await server.stop();
    await rx.close();
    dir.cleanup();
  };
  cleanups.push(cleanup);
  const { admin } = server;
  expect((await admin.post('/v1/event-types', { name: 'load.tick' })).status).toBe(201);
  const paths = Array.from({ length: HEALTHY }, (_, i) => `/ok/${i}`);
  for (const path of paths) {
    expect((await admin.post('/v1/webhooks', { url: `${rx.url}${path}` })).status).toBe(201);
  }
  if (withHang) {
    const res = await admin.post('/v1/webhooks', { url: `${rx.url}/hang`, timeout_ms: 1000 });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }

  const expected = MESSAGES * HEALTHY;
  const healthy = () => paths.reduce((n, p) => n + rx.count(p), 0);
  const started = performance.now();
  for (let i = 0; i < MESSAGES; i += BATCH) {
    const messages = Array.from({ length: Math.min(BATCH, MESSAGES - i) }, (_, j) => ({
      type: 'load.tick',
      data: { n: i + j },
    }));
    const res = await admin.post('/v1/messages/batch', { messages });
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(202);
  }
  await waitUntil(
    () => healthy() >= expected,
    25_000,
    () => `${expected} healthy deliveries (got ${JSON.stringify([...rx.countByPath])})`,
  );
  for (const p of paths) expect(rx.count(p), p).toBe(MESSAGES);
  // The rate between the 10th and the 90th percentile of healthy arrivals: the server's start-up
  // (a fresh process, its code not yet optimised) and the last stragglers vary by more than the
  // effect measured here, and they are the same with or without the hanging webhook.
  const times = rx.arrivals
    .filter((a) => a.path !== '/hang')
    .map((a) => a.at)
    .sort((a, b) => a - b);
  const at = (q: number) => times[Math.floor(q * (times.length - 1))] ?? started;
  const ms = at(0.9) - at(0.1);
  const result = { rate: ((0.8 * expected) / ms) * 1000, ms, hangAttempts: rx.count('/hang') };
  cleanups.splice(cleanups.indexOf(cleanup), 1);
  await cleanup();
  return result;
}

const fmt = (r: PhaseResult) => `${r.rate.toFixed(0)}/s (${r.ms.toFixed(0)} ms)`;

describe('fairness: a hanging webhook does not slow the healthy ones', () => {
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it(`keeps ≥ ${MIN_RATIO * 100}% of the healthy delivery rate`, { timeout: 120_000 }, async () => {
    // Each round runs the two servers at the same time, one without and one with the hanging
    // webhook, sharing the machine: whatever else slows this 2-core machine down slows both, and
    // their ratio is the hanging webhook's cost alone. (Run one after the other, the rates of
    // identical runs here differ by ±15%, more than the effect measured.) Two rounds that both
    // pass settle it; otherwise a third one, and the median of three.
    const bases: PhaseResult[] = [];
    const hangs: PhaseResult[] = [];
    const ratios: number[] = [];
    for (let round = 0; round < 3; round++) {
      const [base, hang] = await Promise.all([runPhase(false), runPhase(true)]);
      bases.push(base);
      hangs.push(hang);
      ratios.push(hang.rate / base.rate);
      if (round === 1 && ratios.every((r) => r >= MIN_RATIO)) break;
    }
    const sorted = [...ratios].sort((a, b) => a - b);
    const ratio = sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
    const hang = hangs[hangs.length - 1] as PhaseResult;
    console.log(
      `fairness: healthy deliveries/s without the hanging webhook ${bases.map(fmt).join(', ')}; ` +
        `with it ${hangs.map(fmt).join(', ')} ` +
        `(hanging attempts started: ${hang.hangAttempts}); ratios ${ratios.map((r) => `${(r * 100).toFixed(1)}%`).join(', ')}, ` +
        `median ${(ratio * 100).toFixed(1)}%`,
    );
    expect(hang.hangAttempts, 'the hanging webhook was attempted').toBeGreaterThan(0);
    expect(ratio).toBeGreaterThanOrEqual(MIN_RATIO);
  });

  it("runs one webhook's retries on time behind another webhook's deep backlog", {
    timeout: 30_000,
  }, async () => {
    // /busy answers in 50 ms (≤ 200/s at 10 at once) and gets 3000 messages: a backlog deeper than
    // the dispatcher's claim window. /retry fails each first attempt; its retries come due 1 s later
    // (HOOKLINE_RETRY_SCHEDULE=1s, ±10%), behind /busy's due rows.
    const dir = tempDir('hookline-fairness-');
    const rx = await new LoadReceiver(
      (path) => (path === '/busy' ? 50 : 0),
      (path, nth) => (path === '/retry' && nth === 1 ? 500 : 200),
    ).start();
    const server = await ChildServer.start(join(dir.path, 'hookline.db'), { HOOKLINE_RETRY_SCHEDULE: '1s' });
    cleanups.push(async () => {
      await server.stop();
      await rx.close();
      dir.cleanup();
    });
    const { admin } = server;
    for (const name of ['busy.tick', 'retry.tick']) {
      expect((await admin.post('/v1/event-types', { name })).status).toBe(201);
    }
    for (const [path, type] of [
      ['/busy', 'busy.tick'],
      ['/retry', 'retry.tick'],
    ]) {
      expect((await admin.post('/v1/webhooks', { url: `${rx.url}${path}`, events: [type] })).status).toBe(
        201,
      );
    }
    const BUSY = 3000;
    for (let i = 0; i < BUSY; i += BATCH) {
      const messages = Array.from({ length: BATCH }, (_, j) => ({ type: 'busy.tick', data: { n: i + j } }));
      expect((await admin.post('/v1/messages/batch', { messages })).status).toBe(202);
    }
    await waitUntil(() => rx.count('/busy') >= 20, 10_000, '/busy deliveries under way');
    const RETRIED = 20;
    const published = performance.now();
    const messages = Array.from({ length: RETRIED }, (_, n) => ({ type: 'retry.tick', data: { n } }));
    expect((await admin.post('/v1/messages/batch', { messages })).status).toBe(202);
    const retried = () => rx.arrivals.filter((a) => a.path === '/retry' && a.nth === 2);
    await waitUntil(
      () => retried().length >= RETRIED,
      10_000,
      () => `${RETRIED} retries (got ${retried().length}; /busy delivered ${rx.count('/busy')})`,
    );
    const lastMs = Math.max(...retried().map((a) => a.at)) - published;
    const busyLeft = BUSY - rx.count('/busy');
    console.log(
      `fairness: retries due ~1000 ms after publishing all arrived after ${lastMs.toFixed(0)} ms, ` +
        `with ${busyLeft} /busy deliveries still queued`,
    );
    expect(busyLeft, "the busy webhook's backlog was still deep").toBeGreaterThan(1000);
    // Due at 0.9–1.1 s after the first attempt; allow for a loaded machine, not for the backlog.
    expect(lastMs).toBeLessThan(2500);
  });
});
