import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeEachBackend } from '../support/backends.js';
import { expectError } from '../support/expect-error.js';
import { ManualClock } from '../support/manual-clock.js';
import { Receiver } from '../support/receiver.js';
import type { TestServer } from '../support/test-server.js';
import {
  advanceAndRun,
  attemptsRecorded,
  createWebhook,
  deleteAllWebhooks,
  deliveriesOf,
  deliveryOf,
  dispatcherOf,
  expectNothingStarts,
  getWebhook,
  isoOf,
  newEventType,
  nth,
  publish,
  receivedFor,
  startDeliveryServer,
} from './helpers.js';

const MINUTE = 60_000;

describeEachBackend('recover, redeliver and delete', (backend) => {
  const clock = new ManualClock();
  let t: TestServer;
  let rx: Receiver;
  beforeAll(async () => {
    rx = await new Receiver().start();
    t = await startDeliveryServer({ backend, clock, env: { HOOKLINE_RETRY_SCHEDULE: '1m' } });
  });
  afterEach(async () => deleteAllWebhooks(t));
  afterAll(async () => {
    await t.stop();
    await rx.close();
  });

  async function publishAndRun(body: Record<string, unknown>, n = 1): Promise<any> {
    const recorded = attemptsRecorded(dispatcherOf(t), n);
    const pub = await publish(t, body);
    await recorded;
    return pub;
  }

  async function patch(id: string, body: Record<string, unknown>): Promise<void> {
    const res = await t.admin.patch(`/v1/webhooks/${id}`, body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }

  /** Runs an action and waits for the `n` attempts it causes. */
  async function andRun<T>(n: number, action: () => Promise<T>): Promise<T> {
    const recorded = attemptsRecorded(dispatcherOf(t), n);
    const out = await action();
    await recorded;
    return out;
  }

  describe('POST /v1/webhooks/{id}/recover', () => {
    /**
     * An ACTIVE webhook with two FAILED deliveries (created at t0 and t0 + 10 s): a success after
     * their first attempts keeps it from being suspended.
     */
    async function webhookWithTwoFailures(): Promise<{ wh: any; t0: number; type: string }> {
      const type = await newEventType(t);
      const failing = `${rx.url}/status/500`;
      const wh = await createWebhook(t, { url: failing, events: [type] });
      const t0 = clock.now();
      await publishAndRun({ id: `${type}-1`, type, data: {} });
      clock.advance(10_000);
      await publishAndRun({ id: `${type}-2`, type, data: {} });
      clock.advance(10_000);
      await patch(wh.id, { url: `${rx.url}/ok` });
      await publishAndRun({ id: `${type}-ok`, type, data: {} });
      await patch(wh.id, { url: failing });
      await advanceAndRun(t, clock, 2 * MINUTE, 2);
      for (const n of [1, 2]) expect((await deliveryOf(t, `${type}-${n}`)).status).toBe('FAILED');
      expect((await getWebhook(t, wh.id)).status).toBe('ACTIVE');
      return { wh, t0, type };
    }

    it('requeues the FAILED deliveries created at or after `since`, with a fresh schedule', async () => {
      const { wh, t0, type } = await webhookWithTwoFailures();
      await patch(wh.id, { url: `${rx.url}/ok` });

      const future = await t.admin.post(`/v1/webhooks/${wh.id}/recover`, {
        since: isoOf(clock.now() + MINUTE),
      });
      expect(future.status).toBe(202);
      expect(future.body).toEqual({ requeued: 0 });
      await expectNothingStarts(t);

      const later = await andRun(1, () =>
        t.admin.post(`/v1/webhooks/${wh.id}/recover`, { since: isoOf(t0 + 5000) }),
      );
      expect(later.status).toBe(202);
      expect(later.body).toEqual({ requeued: 1 });
      expect(await deliveryOf(t, `${type}-2`)).toMatchObject({ status: 'SUCCEEDED', attempt_count: 3 });
      expect(await deliveryOf(t, `${type}-1`)).toMatchObject({ status: 'FAILED', attempt_count: 2 });

      // `since` is inclusive: exactly the first delivery's created_at takes it.
      const created = (await deliveryOf(t, `${type}-1`)).created_at;
      expect(created).toBe(isoOf(t0));
      const all = await andRun(1, () => t.admin.post(`/v1/webhooks/${wh.id}/recover`, { since: created }));
      expect(all.body).toEqual({ requeued: 1 });
      expect(await deliveryOf(t, `${type}-1`)).toMatchObject({ status: 'SUCCEEDED', attempt_count: 3 });
      expect(rx.at('/ok').filter((r) => r.headers['webhook-id'] === `${type}-1`)).toHaveLength(1);
    });

    it('requeued deliveries that fail again get the whole schedule again', async () => {
      const { wh, t0, type } = await webhookWithTwoFailures();
      const res = await andRun(2, () => t.admin.post(`/v1/webhooks/${wh.id}/recover`, { since: isoOf(t0) }));
      expect(res.body).toEqual({ requeued: 2 });
      const d = await deliveryOf(t, `${type}-1`);
      expect(d).toMatchObject({ status: 'PENDING', attempt_count: 3 });
      expect(Date.parse(d.next_attempt_at) - clock.now()).toBeGreaterThanOrEqual(54_000);
    });

    it('on a suspended webhook holds what it requeues until reactivation', async () => {
      const type = await newEventType(t);
      const wh = await createWebhook(t, { url: `${rx.url}/status/500`, events: [type] });
      const t0 = clock.now();
      await publishAndRun({ id: 'evt_rec_susp', type, data: {} });
      await advanceAndRun(t, clock, 2 * MINUTE, 1);
      expect((await getWebhook(t, wh.id)).status).toBe('SUSPENDED');
      const res = await t.admin.post(`/v1/webhooks/${wh.id}/recover`, { since: isoOf(t0) });
      expect(res.body).toEqual({ requeued: 1 });
      expect(await deliveryOf(t, 'evt_rec_susp')).toMatchObject({ status: 'HELD' });
      await expectNothingStarts(t);
      expect(receivedFor(rx, 'evt_rec_susp')).toHaveLength(2);
      expectError(
        await t.admin.post(`/v1/webhooks/${wh.id}/recover`, { since: 'last tuesday' }),
        422,
        'validation_failed',
        'since',
      );
      expectError(await t.admin.post('/v1/webhooks/wh_nope/recover', { since: isoOf(t0) }), 404, 'not_found');
    });
  });

  describe('POST /v1/messages/{id}/redeliver', () => {
    it('re-sends a SUCCEEDED delivery: same webhook-id, same body', async () => {
      const type = await newEventType(t);
      await createWebhook(t, { url: `${rx.url}/ok`, events: [type] });
      await publishAndRun({ id: 'evt_redeliver', type, data: { n: 1 } });
      expect(await deliveryOf(t, 'evt_redeliver')).toMatchObject({ status: 'SUCCEEDED', attempt_count: 1 });
      clock.advance(MINUTE);

      const res = await andRun(1, () => t.admin.post('/v1/messages/evt_redeliver/redeliver', {}));
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ requeued: 1 });
      const got = receivedFor(rx, 'evt_redeliver');
      expect(got).toHaveLength(2);
      expect(nth(got, 1).body).toBe(nth(got, 0).body);
      expect(nth(got, 1).headers['webhook-id']).toBe('evt_redeliver');
      expect(Number(nth(got, 1).headers['webhook-timestamp'])).toBe(Math.floor(clock.now() / 1000));
      const d = await deliveryOf(t, 'evt_redeliver');
      expect(d).toMatchObject({ status: 'SUCCEEDED', attempt_count: 2 });
      expect(d.attempts.map((a: any) => a.number)).toEqual([1, 2]);
    });

    it('can target one webhook, re-sends FAILED ones, and leaves unfinished ones alone', async () => {
      const type = await newEventType(t);
      const a = await createWebhook(t, { url: `${rx.url}/ok`, events: [type] });
      const b = await createWebhook(t, { url: `${rx.url}/ok`, events: [type] });
      const failing = await createWebhook(t, {
        url: `${rx.url}/status/500`,
        events: [type],
        retry_schedule: [],
      });
      await publishAndRun({ id: 'evt_redeliver_one', type, data: {} }, 3);
      expect(await deliveryOf(t, 'evt_redeliver_one', failing.id)).toMatchObject({ status: 'FAILED' });

      const one = await andRun(1, () =>
        t.admin.post('/v1/messages/evt_redeliver_one/redeliver', { webhook_id: b.id }),
      );
      expect(one.body).toEqual({ requeued: 1 });
      expect((await deliveryOf(t, 'evt_redeliver_one', a.id)).attempt_count).toBe(1);
      expect((await deliveryOf(t, 'evt_redeliver_one', b.id)).attempt_count).toBe(2);

      // The suspended webhook's FAILED delivery is requeued as HELD, not sent.
      expect((await getWebhook(t, failing.id)).status).toBe('SUSPENDED');
      const again = await t.admin.post('/v1/messages/evt_redeliver_one/redeliver', {
        webhook_id: failing.id,
      });
      expect(again.body).toEqual({ requeued: 1 });
      expect(await deliveryOf(t, 'evt_redeliver_one', failing.id)).toMatchObject({ status: 'HELD' });
      // A HELD (unfinished) delivery is not requeued twice.
      const twice = await t.admin.post('/v1/messages/evt_redeliver_one/redeliver', {
        webhook_id: failing.id,
      });
      expect(twice.body).toEqual({ requeued: 0 });

      expectError(await t.admin.post('/v1/messages/evt_nope/redeliver', {}), 404, 'not_found');
      expectError(
        await t.admin.post('/v1/messages/evt_redeliver_one/redeliver', { webhook_id: 'wh_nope' }),
        404,
        'not_found',
      );
    });

    it('does not requeue the deliveries of a deleted webhook', async () => {
      const type = await newEventType(t);
      const kept = await createWebhook(t, { url: `${rx.url}/ok`, events: [type] });
      const gone = await createWebhook(t, { url: `${rx.url}/ok`, events: [type] });
      await publishAndRun({ id: 'evt_redeliver_gone', type, data: {} }, 2);
      expect((await t.admin.delete(`/v1/webhooks/${gone.id}`)).status).toBe(204);

      const res = await andRun(1, () => t.admin.post('/v1/messages/evt_redeliver_gone/redeliver', {}));
      expect(res.body).toEqual({ requeued: 1 });
      expect(await deliveryOf(t, 'evt_redeliver_gone', kept.id)).toMatchObject({
        status: 'SUCCEEDED',
        attempt_count: 2,
      });
      // The deleted webhook's delivery keeps its final state instead of waiting forever as HELD.
      expect(await deliveryOf(t, 'evt_redeliver_gone', gone.id)).toMatchObject({
        status: 'SUCCEEDED',
        attempt_count: 1,
      });
    });

    it("is open to the tenant's own key", async () => {
      const type = await newEventType(t);
      await createWebhook(t, { url: `${rx.url}/ok`, events: [type] });
      await publishAndRun({ id: 'evt_redeliver_tenant', type, data: {} });
      const key = await t.admin.post('/v1/tenants/default/keys', {});
      const tenant = t.admin.withKey(key.body.key);
      const res = await andRun(1, () => tenant.post('/v1/messages/evt_redeliver_tenant/redeliver', {}));
      expect(res.status).toBe(202);
      expect(receivedFor(rx, 'evt_redeliver_tenant')).toHaveLength(2);
    });
  });

  describe('DELETE /v1/webhooks/{id}', () => {
    it('answers 204 and cancels its PENDING and HELD deliveries; finished ones stay', async () => {
      const type = await newEventType(t);
      const retrying = await createWebhook(t, { url: `${rx.url}/status/500`, events: [type] });
      const disabled = await createWebhook(t, { url: `${rx.url}/ok`, events: [type] });
      const done = await createWebhook(t, { url: `${rx.url}/ok`, events: [type] });
      await patch(disabled.id, { status: 'DISABLED' });
      await publishAndRun({ id: 'evt_delete', type, data: {} }, 2);
      expect(await deliveryOf(t, 'evt_delete', retrying.id)).toMatchObject({
        status: 'PENDING',
        attempt_count: 1,
      });
      expect(await deliveryOf(t, 'evt_delete', disabled.id)).toMatchObject({ status: 'HELD' });
      expect(await deliveryOf(t, 'evt_delete', done.id)).toMatchObject({ status: 'SUCCEEDED' });

      for (const w of [retrying, disabled, done]) {
        const res = await t.admin.delete(`/v1/webhooks/${w.id}`);
        expect(res.status).toBe(204);
        expect(res.body).toBe('');
        expectError(await t.admin.get(`/v1/webhooks/${w.id}`), 404, 'not_found');
      }
      expectError(await t.admin.delete(`/v1/webhooks/${done.id}`), 404, 'not_found');
      const statuses = new Map((await deliveriesOf(t, 'evt_delete')).map((d) => [d.webhook_id, d]));
      expect(statuses.get(retrying.id)).toMatchObject({ status: 'CANCELLED', next_attempt_at: null });
      expect(statuses.get(disabled.id)).toMatchObject({ status: 'CANCELLED', next_attempt_at: null });
      expect(statuses.get(done.id)).toMatchObject({ status: 'SUCCEEDED' });

      clock.advance(60 * MINUTE);
      await expectNothingStarts(t);
      expect(receivedFor(rx, 'evt_delete')).toHaveLength(2);
      // Later messages of the type no longer reach it.
      expect((await publish(t, { id: 'evt_after_delete', type, data: {} })).delivery_count).toBe(0);
    });
  });
});
