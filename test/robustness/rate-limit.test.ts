import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { waitUntil } from './child-server.js';
import { LoadReceiver } from './load-receiver.js';

/**
 * Per-webhook admission (API.md "Webhooks": `rate_limit_per_sec`; "What a webhook receives":
 * "Attempts to one webhook may run concurrently (default up to 10 at once)"), seen from the
 * receiver's side: when requests arrive and how many are unanswered at once.
 */
const RATE = 5;
const RATED_MESSAGES = 20;
const SLOW_MS = 500;
const SLOW_MESSAGES = 30;
const DEFAULT_CONCURRENCY = 10;

describe('per-webhook rate limit and concurrency limit', () => {
  let t: TestServer;
  let rx: LoadReceiver;

  beforeAll(async () => {
    rx = await new LoadReceiver((path) => (path === '/slow' ? SLOW_MS : 0)).start();
    t = await startTestServer({ env: { HOOKLINE_API_RATE_LIMIT: 'off' } });
    expect((await t.admin.post('/v1/event-types', { name: 'limit.tick' })).status).toBe(201);
  });
  afterAll(async () => {
    await t.stop();
    await rx.close();
  });

  async function publish(prefix: string, n: number): Promise<void> {
    const messages = Array.from({ length: n }, (_, i) => ({
      id: `${prefix}_${i}`,
      type: 'limit.tick',
      data: { i },
    }));
    const res = await t.admin.post('/v1/messages/batch', { messages });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
  }

  it(`rate_limit_per_sec ${RATE}: ≤ ${RATE} (+1) starts in any second after the first burst`, async () => {
    const wh = await t.admin.post('/v1/webhooks', {
      url: `${rx.url}/rated`,
      events: ['limit.tick'],
      rate_limit_per_sec: RATE,
    });
    expect(wh.status, JSON.stringify(wh.body)).toBe(201);
    await publish('rated', RATED_MESSAGES);
    await waitUntil(
      () => rx.count('/rated') >= RATED_MESSAGES,
      15_000,
      () => `${RATED_MESSAGES} rate-limited deliveries (got ${rx.count('/rated')})`,
    );
    const rated = rx.arrivals.filter((a) => a.path === '/rated');
    expect(new Set(rated.map((a) => a.id)).size).toBe(RATED_MESSAGES);
    const at = rated.map((a) => a.at).sort((a, b) => a - b);
    const t0 = at[0] ?? 0;
    // A quiet webhook's bucket holds one second of tokens: the first burst is at most RATE.
    const burst = at.filter((x) => x - t0 < 100).length;
    expect(burst, `first burst: ${burst} requests within 100 ms`).toBeLessThanOrEqual(RATE + 1);
    // After it, any sliding one-second window holds at most RATE starts (one more for jitter).
    let worst = 0;
    for (let i = RATE; i < at.length; i++) {
      const start = at[i] ?? 0;
      const inWindow = at.filter((x) => x >= start && x < start + 1000).length;
      worst = Math.max(worst, inWindow);
    }
    // 20 starts with RATE free at once need (20 - RATE) / RATE seconds of refills.
    const spanMs = (at[at.length - 1] ?? 0) - t0;
    console.log(
      `rate limit ${RATE}/s: first burst ${burst}, busiest later 1 s window ${worst}, ` +
        `${RATED_MESSAGES} starts over ${spanMs.toFixed(0)} ms: ${at.map((x) => (x - t0).toFixed(0)).join(' ')}`,
    );
    expect(worst).toBeLessThanOrEqual(RATE + 1);
    // Tokens are spent as they come back (one every 1000 / RATE ms), not saved up for the next
    // poll and sent together: after the first burst no 100 ms holds more than two starts.
    const later = at.slice(RATE);
    const clumped = Math.max(...later.map((x) => later.filter((y) => y >= x && y < x + 100).length));
    expect(clumped, 'starts within 100 ms after the first burst').toBeLessThanOrEqual(2);
    expect(spanMs).toBeGreaterThanOrEqual(((RATED_MESSAGES - RATE) / RATE) * 1000 * 0.9);
  });

  it(`holds at most ${DEFAULT_CONCURRENCY} attempts in flight to one webhook`, async () => {
    const wh = await t.admin.post('/v1/webhooks', { url: `${rx.url}/slow`, events: ['limit.tick'] });
    expect(wh.status, JSON.stringify(wh.body)).toBe(201);
    // The rated webhook matches these too; only /slow is measured here.
    await publish('slow', SLOW_MESSAGES);
    await waitUntil(
      () => rx.count('/slow') >= SLOW_MESSAGES,
      15_000,
      () => `${SLOW_MESSAGES} slow deliveries (got ${rx.count('/slow')})`,
    );
    const max = rx.maxInFlightByPath.get('/slow') ?? 0;
    console.log(`concurrency: at most ${max} requests in flight to the /slow/${SLOW_MS} webhook`);
    expect(max).toBeLessThanOrEqual(DEFAULT_CONCURRENCY);
    // And the limit is what bounds it: with 30 due at once, attempts do run side by side.
    expect(max).toBeGreaterThanOrEqual(DEFAULT_CONCURRENCY - 2);
    expect(rx.count('/slow')).toBe(SLOW_MESSAGES);
  });
});
