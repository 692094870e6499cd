import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../support/backends.js';
import { expectError } from '../support/expect-error.js';
import { Receiver } from '../support/receiver.js';
import type { TestServer } from '../support/test-server.js';
import {
  createWebhook,
  deleteAllWebhooks,
  deliveriesOf,
  newEventType,
  nth,
  POLL,
  receivedFor,
  startDeliveryServer,
  waitForDeliveryStatus,
} from './helpers.js';

describeEachBackend('POST /v1/messages/batch', (backend) => {
  let t: TestServer;
  let rx: Receiver;
  beforeAll(async () => {
    rx = await new Receiver().start();
    t = await startDeliveryServer({ backend });
  });
  afterEach(async () => deleteAllWebhooks(t));
  afterAll(async () => {
    await t.stop();
    await rx.close();
  });

  const batch = (messages: unknown[]) => t.admin.post('/v1/messages/batch', { messages });

  /** None of these ids was stored. */
  async function expectNoneStored(ids: string[]): Promise<void> {
    for (const id of ids) expect((await t.admin.get(`/v1/messages/${id}`)).status, id).toBe(404);
  }

  it('publishes every message and answers in order, each with its delivery_count', async () => {
    const a = await newEventType(t);
    const b = await newEventType(t);
    await createWebhook(t, { url: `${rx.url}/ok`, events: [a] });
    await createWebhook(t, { url: `${rx.url}/ok`, events: [a, b] });
    const res = await batch([
      { id: 'evt_b_1', type: a, data: { i: 1 } },
      { id: 'evt_b_2', type: b, data: { i: 2 } },
      { type: a, data: { i: 3 } },
    ]);
    expect(res.status).toBe(202);
    expect(res.body.data).toHaveLength(3);
    expect(res.body.data.map((m: any) => [m.type, m.delivery_count])).toEqual([
      [a, 2],
      [b, 1],
      [a, 2],
    ]);
    expect(res.body.data[0].id).toBe('evt_b_1');
    expect(res.body.data[1].id).toBe('evt_b_2');
    expect(res.body.data[2].id).toMatch(/^msg_/);
    await waitForDeliveryStatus(t, 'evt_b_2', 'SUCCEEDED');
    await expect.poll(() => receivedFor(rx, 'evt_b_1').length, POLL).toBe(2);
    await expect.poll(() => receivedFor(rx, res.body.data[2].id).length, POLL).toBe(2);

    // The same batch again: 202, the first answers, nothing new.
    const again = await batch([
      { id: 'evt_b_1', type: a, data: { i: 1 } },
      { id: 'evt_b_2', type: b, data: { i: 2 } },
    ]);
    expect(again.status).toBe(202);
    expect(again.body.data).toEqual(res.body.data.slice(0, 2));
    expect(await deliveriesOf(t, 'evt_b_1')).toHaveLength(2);
  });

  it('is all-or-nothing: one unknown type refuses the batch, naming its index', async () => {
    const type = await newEventType(t);
    await createWebhook(t, { url: `${rx.url}/ok`, events: [type] });
    const messages = [0, 1, 2, 3, 4].map((i) => ({ id: `evt_aon_${i}`, type, data: { i } }));
    messages[3] = { ...nth(messages, 3), type: 'no.such.type' };
    expectError(await batch(messages), 422, 'unknown_event_type', 'messages[3].type');
    await expectNoneStored(messages.map((m) => m.id));
    expect(receivedFor(rx, 'evt_aon_0')).toHaveLength(0);
  });

  it('names the index and path of a schema failure, a missing field and a bad callback_url', async () => {
    const typed = await newEventType(t, {
      schema: { type: 'object', required: ['amount'], properties: { amount: { type: 'integer' } } },
    });
    const ok = { type: typed, data: { amount: 1 } };
    expectError(
      await batch([ok, ok, { type: typed, data: { amount: 'x' } }]),
      422,
      'validation_failed',
      'messages[2].data.amount',
    );
    expectError(
      await batch([ok, { type: typed, data: {} }]),
      422,
      'validation_failed',
      'messages[1].data.amount',
    );
    expectError(await batch([ok, { data: {} }]), 422, 'validation_failed', 'messages[1].type');
    expectError(
      await batch([ok, { ...ok, callback_url: 'ftp://example.com/x' }]),
      422,
      'validation_failed',
      'messages[1].callback_url',
    );
    expect((await t.admin.get(`/v1/messages?type=${typed}`)).body.data).toEqual([]);
  });

  it('refuses the whole batch when one id was used before with other content (409, naming the index)', async () => {
    const type = await newEventType(t);
    expect((await t.admin.post('/v1/messages', { id: 'evt_used', type, data: { v: 1 } })).status).toBe(202);
    const res = await batch([
      { id: 'evt_new_before_conflict', type, data: {} },
      { id: 'evt_used', type, data: { v: 2 } },
    ]);
    expectError(res, 409, 'conflict', 'messages[1].id');
    await expectNoneStored(['evt_new_before_conflict']);
    // Two messages of one batch with one id and different content conflict too.
    expectError(
      await batch([
        { id: 'evt_twice', type, data: { v: 1 } },
        { id: 'evt_twice', type, data: { v: 2 } },
      ]),
      409,
      'conflict',
      'messages[1].id',
    );
    await expectNoneStored(['evt_twice']);
  });

  it('treats a message published again with its generated id as a repeat, or a conflict if changed', async () => {
    // Published without id or key, its content hash is left for later: it must still match.
    const type = await newEventType(t);
    const data = { z: 1, nested: { b: [1, 2.5, 'x'], a: null }, text: 'é\u2028' };
    const first = await batch([{ type, data, previous_data: { old: true } }]);
    expect(first.status).toBe(202);
    const id = first.body.data[0].id as string;
    expect(id).toMatch(/^msg_/);
    const same = await batch([
      {
        id,
        type,
        data: { text: 'é\u2028', nested: { a: null, b: [1, 2.5, 'x'] }, z: 1 },
        previous_data: { old: true },
      },
    ]);
    expect(same.status).toBe(202);
    expect(same.body.data[0]).toEqual(first.body.data[0]);
    expectError(
      await batch([{ id, type, data, previous_data: { old: false } }]),
      409,
      'conflict',
      'messages[0].id',
    );
    expectError(await t.admin.post('/v1/messages', { id, type, data: { z: 2 } }), 409, 'conflict', 'id');
  });

  it('takes 1000 messages and refuses 1001 with 422', async () => {
    const type = await newEventType(t);
    const many = (n: number, tag: string) =>
      Array.from({ length: n }, (_, i) => ({ id: `evt_${tag}_${i}`, type, data: { i } }));
    expectError(await batch(many(1001, 'over')), 422, 'validation_failed', 'messages');
    await expectNoneStored(['evt_over_0', 'evt_over_1000']);
    const res = await batch(many(1000, 'max'));
    expect(res.status).toBe(202);
    expect(res.body.data).toHaveLength(1000);
    expect(res.body.data[999].id).toBe('evt_max_999');
    expectError(await batch([]), 422, 'validation_failed', 'messages');
  });

  it('refuses a batch holding one message larger than 256 KiB with 413, naming its index', async () => {
    const type = await newEventType(t);
    const big = { id: 'evt_big_1', type, data: { blob: 'x'.repeat(256 * 1024) } };
    const res = await batch([{ id: 'evt_small_0', type, data: {} }, big]);
    expectError(res, 413, 'payload_too_large', 'messages[1]');
    await expectNoneStored(['evt_small_0', 'evt_big_1']);
    // Several messages each within 256 KiB may together exceed it (up to 10 MiB).
    const parts = [0, 1, 2, 3, 4].map((i) => ({
      id: `evt_part_${i}`,
      type,
      data: { blob: 'y'.repeat(200_000) },
    }));
    const ok = await batch(parts);
    expect(ok.status).toBe(202);
    expect(ok.body.data).toHaveLength(5);
  });

  it('refuses a batch body over 10 MiB with 413', async () => {
    const type = await newEventType(t);
    const parts = Array.from({ length: 45 }, (_, i) => ({ type, data: { i, blob: 'z'.repeat(240_000) } }));
    expectError(await batch(parts), 413, 'payload_too_large');
    expect((await t.admin.get(`/v1/messages?type=${type}`)).body.data).toEqual([]);
  });
});
