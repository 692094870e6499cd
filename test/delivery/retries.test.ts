import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeEachBackend } from '../support/backends.js';
import { ManualClock } from '../support/manual-clock.js';
import { Receiver } from '../support/receiver.js';
import type { TestServer } from '../support/test-server.js';
import {
  advanceAndRun,
  attemptsRecorded,
  closedPort,
  createWebhook,
  deleteAllWebhooks,
  deliveryOf,
  dispatcherOf,
  expectNothingStarts,
  isoOf,
  newEventType,
  publish,
  receivedFor,
  startDeliveryServer,
} from './helpers.js';

const MINUTE = 60_000;

describeEachBackend('retries', (backend) => {
  const clock = new ManualClock();
  let t: TestServer;
  let rx: Receiver;
  beforeAll(async () => {
    rx = await new Receiver().start();
    t = await startDeliveryServer({ backend, clock, env: { HOOKLINE_RETRY_SCHEDULE: '1m,5m' } });
  });
  afterEach(async () => deleteAllWebhooks(t));
  afterAll(async () => {
    await t.stop();
    await rx.close();
  });

  /** Publishes one message and waits until `n` first attempts are stored. */
  async function publishAndRun(body: Record<string, unknown>, n = 1): Promise<any> {
    const recorded = attemptsRecorded(dispatcherOf(t), n);
    const pub = await publish(t, body);
    await recorded;
    return pub;
  }

  /** Checks that nothing is attempted up to 1 ms before `at`, then moves there and runs the attempt. */
  async function runAt(at: number, messageId: string, attemptsBefore: number): Promise<void> {
    clock.advance(at - 1 - clock.now());
    await expectNothingStarts(t);
    expect((await deliveryOf(t, messageId)).attempt_count).toBe(attemptsBefore);
    expect(receivedFor(rx, messageId)).toHaveLength(attemptsBefore);
    await advanceAndRun(t, clock, 1, 1);
  }

  it("follows the server's schedule with jitter, then marks the delivery FAILED", async () => {
    const type = await newEventType(t);
    await createWebhook(t, { url: `${rx.url}/status/500`, events: [type] });
    const t0 = clock.now();
    await publishAndRun({ id: 'evt_retry_1', type, data: {} });
    expect(receivedFor(rx, 'evt_retry_1')).toHaveLength(1);

    let d = await deliveryOf(t, 'evt_retry_1');
    expect(d).toMatchObject({
      status: 'PENDING',
      attempt_count: 1,
      last_status_code: 500,
      last_error: 'http_error',
    });
    const second = Date.parse(d.next_attempt_at);
    expect(second - t0).toBeGreaterThanOrEqual(0.9 * MINUTE);
    expect(second - t0).toBeLessThanOrEqual(1.1 * MINUTE);

    // Not before 54 s whatever the jitter, and exactly at next_attempt_at.
    clock.advance(54 * 1000 - 1);
    await expectNothingStarts(t);
    await runAt(second, 'evt_retry_1', 1);
    d = await deliveryOf(t, 'evt_retry_1');
    expect(d).toMatchObject({ status: 'PENDING', attempt_count: 2 });
    const third = Date.parse(d.next_attempt_at);
    expect(third - second).toBeGreaterThanOrEqual(0.9 * 5 * MINUTE);
    expect(third - second).toBeLessThanOrEqual(1.1 * 5 * MINUTE);

    await runAt(third, 'evt_retry_1', 2);
    d = await deliveryOf(t, 'evt_retry_1');
    expect(d).toMatchObject({
      status: 'FAILED',
      attempt_count: 3,
      next_attempt_at: null,
      last_status_code: 500,
      last_error: 'http_error',
    });
    expect(d.attempts.map((a: any) => [a.number, a.started_at])).toEqual([
      [1, isoOf(t0)],
      [2, isoOf(second)],
      [3, isoOf(third)],
    ]);
    for (const a of d.attempts) {
      expect(a).toMatchObject({ status_code: 500, response_body: 'status 500', error: 'http_error' });
      expect(Number.isInteger(a.duration_ms) && a.duration_ms >= 0).toBe(true);
    }
    // Exhausted: no more attempts, however long we wait.
    clock.advance(24 * 60 * MINUTE);
    await expectNothingStarts(t);
    expect(receivedFor(rx, 'evt_retry_1')).toHaveLength(3);
  });

  it("a webhook's own retry_schedule (seconds) overrides the server's", async () => {
    const type = await newEventType(t);
    const wh = await createWebhook(t, {
      url: `${rx.url}/status/502`,
      events: [type],
      retry_schedule: [1, 2],
    });
    expect(wh.retry_schedule).toEqual([1, 2]);
    const t0 = clock.now();
    await publishAndRun({ id: 'evt_own_schedule', type, data: {} });
    let d = await deliveryOf(t, 'evt_own_schedule');
    const second = Date.parse(d.next_attempt_at);
    expect(second - t0).toBeGreaterThanOrEqual(900);
    expect(second - t0).toBeLessThanOrEqual(1100);
    await runAt(second, 'evt_own_schedule', 1);
    d = await deliveryOf(t, 'evt_own_schedule');
    const third = Date.parse(d.next_attempt_at);
    expect(third - second).toBeGreaterThanOrEqual(1800);
    expect(third - second).toBeLessThanOrEqual(2200);
    await runAt(third, 'evt_own_schedule', 2);
    d = await deliveryOf(t, 'evt_own_schedule');
    expect(d).toMatchObject({
      status: 'FAILED',
      attempt_count: 3,
      last_status_code: 502,
      next_attempt_at: null,
    });
  });

  it('an empty retry_schedule means no retries', async () => {
    const type = await newEventType(t);
    await createWebhook(t, { url: `${rx.url}/status/500`, events: [type], retry_schedule: [] });
    await publishAndRun({ id: 'evt_no_retries', type, data: {} });
    expect(await deliveryOf(t, 'evt_no_retries')).toMatchObject({ status: 'FAILED', attempt_count: 1 });
  });

  it("retries a callback_url delivery on the server's schedule too", async () => {
    const type = await newEventType(t);
    const t0 = clock.now();
    await publishAndRun({ id: 'evt_cb_retry', type, data: {}, callback_url: `${rx.url}/status/500` });
    let d = await deliveryOf(t, 'evt_cb_retry');
    expect(d).toMatchObject({
      webhook_id: null,
      status: 'PENDING',
      attempt_count: 1,
      last_error: 'http_error',
    });
    const second = Date.parse(d.next_attempt_at);
    expect(second - t0).toBeGreaterThanOrEqual(0.9 * MINUTE);
    expect(second - t0).toBeLessThanOrEqual(1.1 * MINUTE);
    await runAt(second, 'evt_cb_retry', 1);
    await runAt(Date.parse((await deliveryOf(t, 'evt_cb_retry')).next_attempt_at), 'evt_cb_retry', 2);
    d = await deliveryOf(t, 'evt_cb_retry');
    expect(d).toMatchObject({ status: 'FAILED', attempt_count: 3, next_attempt_at: null });
    expect(receivedFor(rx, 'evt_cb_retry').map((r) => r.headers['webhook-attempt'])).toEqual(['1', '2', '3']);
  });

  it('honours a longer Retry-After on 429 and 503 (at most 24 h), not on 500 nor a shorter one', async () => {
    const type = await newEventType(t);
    const cases = [
      { path: '/retry-after/429/600', min: 600_000, max: 600_000 },
      { path: '/retry-after/503/900', min: 900_000, max: 900_000 },
      { path: '/retry-after/500/600', min: 54_000, max: 66_000 },
      { path: '/retry-after/429/5', min: 54_000, max: 66_000 },
      { path: '/retry-after/503/999999', min: 24 * 60 * MINUTE, max: 24 * 60 * MINUTE },
    ];
    const hooks: any[] = [];
    for (const c of cases) hooks.push(await createWebhook(t, { url: `${rx.url}${c.path}`, events: [type] }));
    const t0 = clock.now();
    await publishAndRun({ id: 'evt_retry_after', type, data: {} }, cases.length);
    for (const [i, c] of cases.entries()) {
      const d = await deliveryOf(t, 'evt_retry_after', hooks[i].id);
      expect(d.status, c.path).toBe('PENDING');
      expect(d.last_status_code, c.path).toBe(Number(c.path.split('/')[2]));
      const wait = Date.parse(d.next_attempt_at) - t0;
      expect(wait, c.path).toBeGreaterThanOrEqual(c.min);
      expect(wait, c.path).toBeLessThanOrEqual(c.max);
    }
    // The 429 one really waits: nothing at 599.999 s, the attempt at 600 s. (The others would
    // come due sooner: deleting their webhooks cancels them.)
    for (const w of hooks.slice(1)) expect((await t.admin.delete(`/v1/webhooks/${w.id}`)).status).toBe(204);
    clock.advance(600_000 - 1);
    await expectNothingStarts(t);
    const recorded = advanceAndRun(t, clock, 1, 1);
    const [r] = await recorded;
    expect(r?.attempt.number).toBe(2);
    expect(r?.webhookId).toBe(hooks[0].id);
  });

  it('classifies what went wrong on each attempt', async () => {
    const type = await newEventType(t);
    const refused = await closedPort();
    const cases = [
      { url: `${rx.url}/hang`, timeout_ms: 1000, error: 'timeout', status: null },
      { url: `${rx.url}/reset`, error: 'connection_reset', status: null },
      { url: `${rx.url}/redirect`, error: 'redirect', status: 302 },
      { url: `http://127.0.0.1:${refused}/ok`, error: 'connection_refused', status: null },
      { url: `${rx.url}/status/404`, error: 'http_error', status: 404 },
      { url: `${rx.url}/status/503`, error: 'http_error', status: 503 },
      { url: `${rx.url}/status/204`, error: null, status: 204 },
      { url: `${rx.url}/slow/150`, error: null, status: 200 },
    ];
    const hooks: any[] = [];
    for (const { error: _e, status: _s, ...body } of cases) {
      hooks.push(await createWebhook(t, { ...body, events: [type] }));
    }
    await publishAndRun({ id: 'evt_errors', type, data: {} }, cases.length);
    for (const [i, c] of cases.entries()) {
      const d = await deliveryOf(t, 'evt_errors', hooks[i].id);
      expect(d.attempts, c.url).toHaveLength(1);
      const a = d.attempts[0];
      expect(a.number).toBe(1);
      expect(a.error, c.url).toBe(c.error);
      expect(a.status_code, c.url).toBe(c.status);
      expect(d.last_error, c.url).toBe(c.error);
      expect(d.last_status_code, c.url).toBe(c.status);
      expect(d.status, c.url).toBe(c.error === null ? 'SUCCEEDED' : 'PENDING');
      if (c.status === null) expect(a.response_body, c.url).toBeNull();
    }
    const attemptOf = async (i: number) => (await deliveryOf(t, 'evt_errors', hooks[i].id)).attempts[0];
    expect((await attemptOf(0)).duration_ms).toBeGreaterThanOrEqual(900);
    expect((await attemptOf(0)).duration_ms).toBeLessThan(5000);
    expect((await attemptOf(4)).response_body).toBe('status 404');
    expect((await attemptOf(7)).response_body).toBe('ok');
    expect((await attemptOf(7)).duration_ms).toBeGreaterThanOrEqual(140);
    // The redirect was not followed: its target never heard of this message.
    expect(rx.at('/ok').filter((r) => r.headers['webhook-id'] === 'evt_errors')).toHaveLength(0);
    expect(rx.at('/redirect').filter((r) => r.headers['webhook-id'] === 'evt_errors')).toHaveLength(1);
  });

  describe('response bodies', () => {
    let big: Server;
    let bigUrl: string;
    const text = Array.from({ length: 20_000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    beforeAll(async () => {
      big = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          res.statusCode = req.url === '/big-ok' ? 200 : 500;
          res.end(req.url === '/huge' ? text.repeat(10) : text);
        });
      });
      big.listen(0, '127.0.0.1');
      await once(big, 'listening');
      bigUrl = `http://127.0.0.1:${(big.address() as AddressInfo).port}`;
    });
    afterAll(() => {
      big.close();
    });

    it('keeps the first 4096 bytes of the answer, failed or not', async () => {
      const type = await newEventType(t);
      const paths = ['/big-fail', '/big-ok', '/huge'];
      const hooks: any[] = [];
      for (const p of paths) hooks.push(await createWebhook(t, { url: `${bigUrl}${p}`, events: [type] }));
      await publishAndRun({ id: 'evt_big_answer', type, data: {} }, paths.length);
      for (const [i, p] of paths.entries()) {
        const d = await deliveryOf(t, 'evt_big_answer', hooks[i].id);
        expect(d.attempts[0].response_body, p).toBe(text.slice(0, 4096));
        expect(d.attempts[0].status_code, p).toBe(p === '/big-ok' ? 200 : 500);
      }
    });
  });
});
