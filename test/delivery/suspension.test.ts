import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
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
  deliveryOf,
  dispatcherOf,
  expectNothingStarts,
  getWebhook,
  isoOf,
  newEventType,
  publish,
  receivedFor,
  startDeliveryServer,
} from './helpers.js';

const MINUTE = 60_000;

describeEachBackend('suspension and reactivation', (backend) => {
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

  /** Publishes and waits for the first attempt of each of its `n` deliveries to be stored. */
  async function publishAndRun(body: Record<string, unknown>, n = 1): Promise<any> {
    const recorded = attemptsRecorded(dispatcherOf(t), n);
    const pub = await publish(t, body);
    await recorded;
    return pub;
  }

  /** Moves the clock to the message's next attempt and runs it. */
  async function runRetry(messageId: string): Promise<void> {
    const d = await deliveryOf(t, messageId);
    expect(d.status, JSON.stringify(d)).toBe('PENDING');
    await advanceAndRun(t, clock, Date.parse(d.next_attempt_at) - clock.now(), 1);
  }

  /** A PATCH that must succeed. */
  async function patch(id: string, body: Record<string, unknown>): Promise<any> {
    const res = await t.admin.patch(`/v1/webhooks/${id}`, body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  }

  /** PATCHes and waits for the `n` attempts the change lets through. */
  async function patchAndRun(id: string, body: Record<string, unknown>, n: number): Promise<any> {
    const recorded = attemptsRecorded(dispatcherOf(t), n);
    const res = await patch(id, body);
    await recorded;
    return res;
  }

  it('suspends a webhook when its first delivery fails for good; new messages are HELD and not sent', async () => {
    const type = await newEventType(t);
    const wh = await createWebhook(t, { url: `${rx.url}/status/500`, events: [type] });
    expect(wh.stats).toEqual({ last_success_at: null, last_failure_at: null, failing_since: null });
    const t0 = clock.now();
    await publishAndRun({ id: 'evt_susp_1', type, data: {} });
    let w = await getWebhook(t, wh.id);
    expect(w.status).toBe('ACTIVE');
    expect(w.stats).toEqual({ last_success_at: null, last_failure_at: isoOf(t0), failing_since: isoOf(t0) });

    clock.advance(20_000);
    await publishAndRun({ id: 'evt_susp_2', type, data: {} });
    await runRetry('evt_susp_1');
    const failedAt = clock.now();
    expect(await deliveryOf(t, 'evt_susp_1')).toMatchObject({ status: 'FAILED', attempt_count: 2 });
    w = await getWebhook(t, wh.id);
    expect(w.status).toBe('SUSPENDED');
    expect(w.stats).toEqual({
      last_success_at: null,
      last_failure_at: isoOf(failedAt),
      failing_since: isoOf(t0),
    });
    const listed = await t.admin.get('/v1/webhooks?status=SUSPENDED');
    expect(listed.body.data.map((x: any) => x.id)).toEqual([wh.id]);

    // Its other delivery, waiting for a retry, is held; so is a new message.
    expect(await deliveryOf(t, 'evt_susp_2')).toMatchObject({
      status: 'HELD',
      attempt_count: 1,
      next_attempt_at: null,
    });
    const pub = await publish(t, { id: 'evt_susp_3', type, data: {} });
    expect(pub.delivery_count).toBe(1);
    expect(await deliveryOf(t, 'evt_susp_3')).toMatchObject({
      status: 'HELD',
      attempt_count: 0,
      next_attempt_at: null,
    });
    clock.advance(24 * 60 * MINUTE);
    await expectNothingStarts(t);
    expect(receivedFor(rx, 'evt_susp_2')).toHaveLength(1);
    expect(receivedFor(rx, 'evt_susp_3')).toHaveLength(0);

    // Reactivated (and pointed at a working URL): the failed one and both held ones are delivered.
    const reactivated = await patchAndRun(wh.id, { url: `${rx.url}/ok`, status: 'ACTIVE' }, 3);
    expect(reactivated.status).toBe('ACTIVE');
    for (const [id, attempts] of [
      ['evt_susp_1', 3],
      ['evt_susp_2', 2],
      ['evt_susp_3', 1],
    ] as const) {
      expect(await deliveryOf(t, id), id).toMatchObject({ status: 'SUCCEEDED', attempt_count: attempts });
      expect(
        rx.at('/ok').filter((r) => r.headers['webhook-id'] === id),
        id,
      ).toHaveLength(1);
    }
    w = await getWebhook(t, wh.id);
    expect(w.status).toBe('ACTIVE');
    expect(w.stats).toEqual({
      last_success_at: isoOf(clock.now()),
      last_failure_at: isoOf(failedAt),
      failing_since: null,
    });
  });

  it('reactivation gives the failure streak a fresh schedule', async () => {
    const type = await newEventType(t);
    // Fails the first 3 attempts of each message: 2 before the suspension, 1 after reactivation.
    const wh = await createWebhook(t, { url: `${rx.url}/flaky/3`, events: [type] });
    await publishAndRun({ id: 'evt_fresh', type, data: {} });
    await runRetry('evt_fresh');
    expect((await getWebhook(t, wh.id)).status).toBe('SUSPENDED');
    expect(await deliveryOf(t, 'evt_fresh')).toMatchObject({ status: 'FAILED', attempt_count: 2 });

    await patchAndRun(wh.id, { status: 'ACTIVE' }, 1);
    // Attempt 3 failed, but the schedule started afresh: a retry is due in about a minute.
    const d = await deliveryOf(t, 'evt_fresh');
    expect(d).toMatchObject({ status: 'PENDING', attempt_count: 3 });
    expect(Date.parse(d.next_attempt_at) - clock.now()).toBeGreaterThanOrEqual(54_000);
    await runRetry('evt_fresh');
    expect(await deliveryOf(t, 'evt_fresh')).toMatchObject({ status: 'SUCCEEDED', attempt_count: 4 });
    expect(receivedFor(rx, 'evt_fresh').map((r) => r.headers['webhook-attempt'])).toEqual([
      '1',
      '2',
      '3',
      '4',
    ]);
    expect((await getWebhook(t, wh.id)).status).toBe('ACTIVE');
  });

  it('a success after a delivery’s first attempt prevents suspension; reactivation requeues only the streak', async () => {
    const type = await newEventType(t);
    const failing = `${rx.url}/status/500`;
    const wh = await createWebhook(t, { url: failing, events: [type] });

    await publishAndRun({ id: 'evt_between_a', type, data: {} });
    clock.advance(5000);
    await patch(wh.id, { url: `${rx.url}/ok` });
    await publishAndRun({ id: 'evt_between_b', type, data: {} });
    const successAt = clock.now();
    expect(await deliveryOf(t, 'evt_between_b')).toMatchObject({ status: 'SUCCEEDED' });
    let w = await getWebhook(t, wh.id);
    expect(w.stats).toMatchObject({ last_success_at: isoOf(successAt), failing_since: null });

    await patch(wh.id, { url: failing });
    await runRetry('evt_between_a');
    expect(await deliveryOf(t, 'evt_between_a')).toMatchObject({ status: 'FAILED', attempt_count: 2 });
    w = await getWebhook(t, wh.id);
    expect(w.status).toBe('ACTIVE');
    expect(w.stats).toEqual({
      last_success_at: isoOf(successAt),
      last_failure_at: isoOf(clock.now()),
      failing_since: isoOf(clock.now()),
    });

    // Another success ends that streak; then a delivery fails throughout its schedule.
    clock.advance(5000);
    await patch(wh.id, { url: `${rx.url}/ok` });
    await publishAndRun({ id: 'evt_between_d', type, data: {} });
    await patch(wh.id, { url: failing });
    clock.advance(5000);
    await publishAndRun({ id: 'evt_between_c', type, data: {} });
    await runRetry('evt_between_c');
    expect((await getWebhook(t, wh.id)).status).toBe('SUSPENDED');

    await patchAndRun(wh.id, { url: `${rx.url}/ok`, status: 'ACTIVE' }, 1);
    expect(await deliveryOf(t, 'evt_between_c')).toMatchObject({ status: 'SUCCEEDED', attempt_count: 3 });
    // evt_between_a failed before the last success: not part of the streak, left alone.
    await expectNothingStarts(t);
    expect(await deliveryOf(t, 'evt_between_a')).toMatchObject({ status: 'FAILED', attempt_count: 2 });
  });

  it('DISABLED holds new deliveries and due retries; ACTIVE sends them', async () => {
    const type = await newEventType(t);
    const wh = await createWebhook(t, { url: `${rx.url}/status/503`, events: [type] });
    await publishAndRun({ id: 'evt_dis_retry', type, data: {} });
    expect(await deliveryOf(t, 'evt_dis_retry')).toMatchObject({ status: 'PENDING', attempt_count: 1 });

    const disabled = await patch(wh.id, { status: 'DISABLED' });
    expect(disabled.status).toBe('DISABLED');
    expect(await deliveryOf(t, 'evt_dis_retry')).toMatchObject({ status: 'HELD', next_attempt_at: null });
    const pub = await publish(t, { id: 'evt_dis_new', type, data: {} });
    expect(pub.delivery_count).toBe(1);
    expect(await deliveryOf(t, 'evt_dis_new')).toMatchObject({ status: 'HELD', attempt_count: 0 });
    clock.advance(60 * MINUTE);
    await expectNothingStarts(t);
    expect(receivedFor(rx, 'evt_dis_retry')).toHaveLength(1);
    expect(receivedFor(rx, 'evt_dis_new')).toHaveLength(0);
    // The server sets SUSPENDED; a tenant may not.
    expectError(
      await t.admin.patch(`/v1/webhooks/${wh.id}`, { status: 'SUSPENDED' }),
      422,
      'validation_failed',
      'status',
    );

    await patchAndRun(wh.id, { status: 'ACTIVE', url: `${rx.url}/ok` }, 2);
    expect(await deliveryOf(t, 'evt_dis_retry')).toMatchObject({ status: 'SUCCEEDED', attempt_count: 2 });
    expect(await deliveryOf(t, 'evt_dis_new')).toMatchObject({ status: 'SUCCEEDED', attempt_count: 1 });
  });

  it('a disabled webhook is not suspended by failures it never attempted', async () => {
    const type = await newEventType(t);
    const wh = await createWebhook(t, { url: `${rx.url}/status/500`, events: [type] });
    await patch(wh.id, { status: 'DISABLED' });
    await publish(t, { id: 'evt_dis_only', type, data: {} });
    clock.advance(60 * MINUTE);
    await expectNothingStarts(t);
    const w = await getWebhook(t, wh.id);
    expect(w.status).toBe('DISABLED');
    expect(w.stats).toEqual({ last_success_at: null, last_failure_at: null, failing_since: null });
  });
});
