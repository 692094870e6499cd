import { Webhook as Verifier } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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
  publish,
  receivedFor,
  startDeliveryServer,
  waitForDeliveryStatus,
} from './helpers.js';

describeEachBackend('publishing messages', (backend) => {
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

  /** Every delivery of these messages has settled as SUCCEEDED. */
  async function allSucceeded(ids: string[]): Promise<void> {
    await expect
      .poll(async () => {
        const all = (await Promise.all(ids.map((id) => deliveriesOf(t, id)))).flat();
        return all.every((d) => d.status === 'SUCCEEDED');
      }, POLL)
      .toBe(true);
  }

  it('makes one delivery per matching webhook: exact, prefix.*, *, and [] / omitted', async () => {
    const root = (await newEventType(t)).replace(/\.e\d+$/, '.pub');
    for (const name of [`${root}.pay.succeeded`, `${root}.pay.refund.created`, `${root}.user.created`]) {
      expect((await t.admin.post('/v1/event-types', { name })).status).toBe(201);
    }
    const url = `${rx.url}/ok`;
    const exact = await createWebhook(t, { url, events: [`${root}.pay.succeeded`] });
    const prefix = await createWebhook(t, { url, events: [`${root}.pay.*`] });
    const star = await createWebhook(t, { url, events: ['*'] });
    const empty = await createWebhook(t, { url, events: [] });
    const omitted = await createWebhook(t, { url });
    const user = await createWebhook(t, { url, events: [`${root}.user.created`] });
    expect(omitted.events).toEqual([]);

    const cases = [
      { type: `${root}.pay.succeeded`, to: [exact, prefix, star, empty, omitted] },
      { type: `${root}.pay.refund.created`, to: [prefix, star, empty, omitted] },
      { type: `${root}.user.created`, to: [user, star, empty, omitted] },
    ];
    const ids: string[] = [];
    for (const c of cases) {
      const pub = await publish(t, { type: c.type, data: {} });
      expect(pub.id).toMatch(/^msg_/);
      expect(pub.type).toBe(c.type);
      expect(pub.delivery_count).toBe(c.to.length);
      const deliveries = await deliveriesOf(t, pub.id);
      expect(deliveries.map((d) => d.webhook_id).sort()).toEqual(c.to.map((w) => w.id).sort());
      ids.push(pub.id);
    }
    await allSucceeded(ids);
    // At the receiver: exactly one request per delivery, nothing for the webhooks that did not match.
    for (const [i, c] of cases.entries()) expect(receivedFor(rx, nth(ids, i))).toHaveLength(c.to.length);
    const userDeliveries = (await t.admin.get(`/v1/deliveries?webhook_id=${user.id}`)).body.data;
    expect(userDeliveries.map((d: any) => d.message_id)).toEqual([ids[2]]);
    const exactDeliveries = (await t.admin.get(`/v1/deliveries?webhook_id=${exact.id}`)).body.data;
    expect(exactDeliveries.map((d: any) => d.message_id)).toEqual([ids[0]]);
  });

  it('answers delivery_count 0 and sends nothing when no webhook matches', async () => {
    const type = await newEventType(t);
    const other = await newEventType(t);
    await createWebhook(t, { url: `${rx.url}/ok`, events: [other] });
    const pub = await publish(t, { id: 'evt_nobody', type, data: {} });
    expect(pub.delivery_count).toBe(0);
    expect(await deliveriesOf(t, 'evt_nobody')).toEqual([]);
  });

  it('refuses an unknown or archived type with 422 unknown_event_type, storing nothing', async () => {
    expectError(
      await t.admin.post('/v1/messages', { id: 'evt_unknown', type: 'no.such.type', data: {} }),
      422,
      'unknown_event_type',
      'type',
    );
    const type = await newEventType(t);
    await createWebhook(t, { url: `${rx.url}/ok`, events: [type] });
    expect((await t.admin.delete(`/v1/event-types/${type}`)).status).toBe(204);
    expectError(
      await t.admin.post('/v1/messages', { id: 'evt_archived', type, data: {} }),
      422,
      'unknown_event_type',
      type,
    );
    for (const id of ['evt_unknown', 'evt_archived']) {
      expect((await t.admin.get(`/v1/messages/${id}`)).status).toBe(404);
    }
  });

  it("checks data against the type's JSON Schema and names the failing path", async () => {
    const type = await newEventType(t, {
      schema: {
        type: 'object',
        required: ['amount'],
        properties: {
          amount: { type: 'integer', minimum: 1 },
          customer: { type: 'object', properties: { email: { type: 'string', format: 'email' } } },
        },
      },
    });
    expectError(
      await t.admin.post('/v1/messages', { type, data: { amount: 'ten' } }),
      422,
      'validation_failed',
      'data.amount',
    );
    expectError(
      await t.admin.post('/v1/messages', { type, data: { amount: 0 } }),
      422,
      'validation_failed',
      'data.amount',
    );
    expectError(
      await t.admin.post('/v1/messages', { type, data: { amount: 5, customer: { email: 'nope' } } }),
      422,
      'validation_failed',
      'data.customer.email',
    );
    // A missing required property is named by its own path too.
    expectError(
      await t.admin.post('/v1/messages', { type, data: {} }),
      422,
      'validation_failed',
      'data.amount',
    );
    expect((await t.admin.post('/v1/messages', { type, data: { amount: 5 } })).status).toBe(202);
  });

  it('is idempotent on the message id: a repeat answers 200 with the first answer and sends nothing new', async () => {
    const type = await newEventType(t);
    await createWebhook(t, { url: `${rx.url}/ok`, events: [type] });
    const body = { id: 'evt_idem_1', type, data: { a: 1 }, previous_data: { a: 0 } };
    const first = await publish(t, body);
    expect(first).toMatchObject({ id: 'evt_idem_1', type, delivery_count: 1 });
    await waitForDeliveryStatus(t, 'evt_idem_1', 'SUCCEEDED');

    const again = await t.admin.post('/v1/messages', body);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first);
    // Even with an Idempotency-Key header: the body id is the key.
    const withHeader = await t.admin.post('/v1/messages', body, { 'Idempotency-Key': 'unrelated' });
    expect(withHeader.status).toBe(200);
    expect(withHeader.body).toEqual(first);
    expect(await deliveriesOf(t, 'evt_idem_1')).toHaveLength(1);

    const changed = [
      { ...body, data: { a: 2 } },
      { ...body, previous_data: null },
      { ...body, callback_url: `${rx.url}/ok` },
      { ...body, type: await newEventType(t) },
    ];
    for (const c of changed) {
      expectError(await t.admin.post('/v1/messages', c), 409, 'conflict', 'id');
    }
    expect(await deliveriesOf(t, 'evt_idem_1')).toHaveLength(1);
    expect(receivedFor(rx, 'evt_idem_1')).toHaveLength(1);
  });

  it('compares content as JSON values: the order of object keys does not matter', async () => {
    const type = await newEventType(t);
    const body = {
      id: 'evt_idem_order',
      type,
      data: { a: 1, b: { c: [1, 2], d: null } },
      previous_data: { x: 1, y: 2 },
    };
    const first = await publish(t, body);
    const reordered = {
      previous_data: { y: 2, x: 1 },
      data: { b: { d: null, c: [1, 2] }, a: 1 },
      type,
      id: body.id,
    };
    const again = await t.admin.post('/v1/messages', reordered);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body).toEqual(first);
    // Array order does matter.
    const swapped = { ...body, data: { a: 1, b: { c: [2, 1], d: null } } };
    expectError(await t.admin.post('/v1/messages', swapped), 409, 'conflict', 'id');
  });

  it('is idempotent on the Idempotency-Key header when the body has no id', async () => {
    const type = await newEventType(t);
    await createWebhook(t, { url: `${rx.url}/ok`, events: [type] });
    const headers = { 'Idempotency-Key': `key-${type}` };
    const first = await publish(t, { type, data: { n: 1 } }, headers);
    expect(first.id).toMatch(/^msg_/);
    // previous_data absent and previous_data null are the same content.
    const again = await t.admin.post('/v1/messages', { type, data: { n: 1 }, previous_data: null }, headers);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first);
    expectError(await t.admin.post('/v1/messages', { type, data: { n: 2 } }, headers), 409, 'conflict');
    // Without the header the same content is a new message.
    const fresh = await publish(t, { type, data: { n: 1 } });
    expect(fresh.id).not.toBe(first.id);
    await waitForDeliveryStatus(t, first.id, 'SUCCEEDED');
    await waitForDeliveryStatus(t, fresh.id, 'SUCCEEDED');
    expect(receivedFor(rx, first.id)).toHaveLength(1);
  });

  it('keeps idempotency keys per tenant', async () => {
    const type = await newEventType(t);
    expect((await t.admin.post('/v1/tenants', { id: 'acme', name: 'Acme' })).status).toBe(201);
    const body = { id: 'evt_shared_id', type, data: { x: 1 } };
    expect((await t.admin.post('/v1/messages', body)).status).toBe(202);
    const acme = await t.admin.post('/v1/tenants/acme/messages', { ...body, data: { x: 2 } });
    expect(acme.status).toBe(202);
    expect((await t.admin.get('/v1/tenants/acme/messages/evt_shared_id')).body.data).toEqual({ x: 2 });
    expect((await t.admin.get('/v1/messages/evt_shared_id')).body.data).toEqual({ x: 1 });
  });

  it("delivers only to the publishing tenant's webhooks", async () => {
    const type = await newEventType(t);
    expect((await t.admin.post('/v1/tenants', { id: 'globex', name: 'Globex' })).status).toBe(201);
    const mine = await t.admin.post('/v1/tenants/globex/webhooks', { url: `${rx.url}/ok`, events: [type] });
    expect(mine.status).toBe(201);
    await createWebhook(t, { url: `${rx.url}/ok`, events: ['*'] });
    const pub = await t.admin.post('/v1/tenants/globex/messages', { id: 'evt_globex', type, data: {} });
    expect(pub.status).toBe(202);
    expect(pub.body.delivery_count).toBe(1);
    await rx.waitFor(() => receivedFor(rx, 'evt_globex').length === 1);
    const ds = (await t.admin.get('/v1/tenants/globex/deliveries?message_id=evt_globex')).body.data;
    expect(ds.map((d: any) => d.webhook_id)).toEqual([mine.body.id]);
    expect(await deliveriesOf(t, 'evt_globex')).toEqual([]);
    expect((await t.admin.delete(`/v1/tenants/globex/webhooks/${mine.body.id}`)).status).toBe(204);
  });

  it('refuses a single message larger than 256 KiB with 413', async () => {
    const type = await newEventType(t);
    const res = await t.admin.post('/v1/messages', { type, data: { blob: 'x'.repeat(256 * 1024) } });
    expectError(res, 413, 'payload_too_large');
    // Just under the limit is fine.
    const ok = await t.admin.post('/v1/messages', { type, data: { blob: 'x'.repeat(250 * 1024) } });
    expect(ok.status).toBe(202);
  });

  it('is admin-only: a tenant key gets 403 on its own tenant and 404 on another', async () => {
    const type = await newEventType(t);
    const key = await t.admin.post('/v1/tenants/default/keys', { name: 'tenant' });
    expect(key.status).toBe(201);
    const tenant = t.admin.withKey(key.body.key);
    const body = { type, data: {} };
    expectError(await tenant.post('/v1/messages', body), 403, 'forbidden');
    expectError(await tenant.post('/v1/tenants/default/messages', body), 403, 'forbidden');
    expectError(await tenant.post('/v1/messages/batch', { messages: [body] }), 403, 'forbidden');
    expect((await tenant.post('/v1/tenants/acme/messages', body)).status).toBe(404);
    expectError(await t.admin.withKey(null).post('/v1/messages', body), 401, 'unauthorized');
    // Reading is open to the tenant's own key.
    expect((await tenant.get('/v1/messages')).status).toBe(200);
  });

  describe('callback_url', () => {
    let cb: Receiver;
    beforeAll(async () => {
      cb = await new Receiver().start();
    });
    afterAll(async () => cb.close());

    it('is delivered once, signed with the tenant callback secret, with webhook_id null', async () => {
      const type = await newEventType(t);
      const wh = await createWebhook(t, { url: `${rx.url}/ok`, events: [type] });
      const pub = await publish(t, { id: 'evt_cb_1', type, data: { job: 7 }, callback_url: `${cb.url}/ok` });
      expect(pub.delivery_count).toBe(2);

      await expect
        .poll(async () => (await deliveriesOf(t, 'evt_cb_1')).map((d) => d.status), POLL)
        .toEqual(['SUCCEEDED', 'SUCCEEDED']);
      const deliveries = await deliveriesOf(t, 'evt_cb_1');
      const callback = deliveries.find((d) => d.webhook_id === null);
      expect(callback).toMatchObject({ url: `${cb.url}/ok`, attempt_count: 1, last_status_code: 200 });
      expect(deliveries.filter((d) => d.webhook_id === wh.id)).toHaveLength(1);

      expect(receivedFor(cb, 'evt_cb_1')).toHaveLength(1);
      expect(receivedFor(rx, 'evt_cb_1')).toHaveLength(1);
      const got = nth(receivedFor(cb, 'evt_cb_1'), 0);
      const secret = (await t.admin.get('/v1/tenants/default/callback-secret')).body.secret;
      expect(secret).toMatch(/^whsec_/);
      const headers = got.headers as Record<string, string>;
      expect(new Verifier(secret).verify(got.body, headers)).toMatchObject({
        id: 'evt_cb_1',
        data: { job: 7 },
      });
      expect(() => new Verifier(wh.secret).verify(got.body, headers)).toThrow();
      // The same bytes as the webhook got.
      expect(got.body).toBe(nth(receivedFor(rx, 'evt_cb_1'), 0).body);
    });

    it('is signed with both callback secrets during a rotation', async () => {
      const type = await newEventType(t);
      const old = (await t.admin.get('/v1/tenants/default/callback-secret')).body.secret;
      const rot = await t.admin.post('/v1/tenants/default/callback-secret/rotate');
      expect(rot.status).toBe(200);
      expect(rot.body.secret).not.toBe(old);
      await publish(t, { id: 'evt_cb_rotated', type, data: {}, callback_url: `${cb.url}/ok` });
      await cb.waitFor(() => receivedFor(cb, 'evt_cb_rotated').length === 1);
      const got = nth(receivedFor(cb, 'evt_cb_rotated'), 0);
      const headers = got.headers as Record<string, string>;
      expect(headers['webhook-signature']?.split(' ')).toHaveLength(2);
      for (const secret of [old, rot.body.secret]) {
        expect(() => new Verifier(secret).verify(got.body, headers)).not.toThrow();
      }
    });

    it('is made even when no webhook matches, and counted', async () => {
      const type = await newEventType(t);
      const pub = await publish(t, { id: 'evt_cb_alone', type, data: {}, callback_url: `${cb.url}/ok` });
      expect(pub.delivery_count).toBe(1);
      await waitForDeliveryStatus(t, 'evt_cb_alone', 'SUCCEEDED');
      expect(receivedFor(cb, 'evt_cb_alone')).toHaveLength(1);
      const msg = await t.admin.get('/v1/messages/evt_cb_alone');
      expect(msg.body).toMatchObject({ callback_url: `${cb.url}/ok`, delivery_count: 1 });
    });

    it('is refused when it is not a URL', async () => {
      const type = await newEventType(t);
      expectError(
        await t.admin.post('/v1/messages', { type, data: {}, callback_url: 'not a url' }),
        422,
        'validation_failed',
        'callback_url',
      );
    });
  });
});
