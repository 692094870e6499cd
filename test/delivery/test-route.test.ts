import { createHmac } from 'node:crypto';
import { Webhook as Verifier } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../support/expect-error.js';
import { Receiver } from '../support/receiver.js';
import type { TestServer } from '../support/test-server.js';
import {
  closedPort,
  createWebhook,
  deleteAllWebhooks,
  deliveriesOf,
  getWebhook,
  newEventType,
  nth,
  POLL,
  publish,
  receivedFor,
  startDeliveryServer,
  VERSION,
  waitForDeliveryStatus,
} from './helpers.js';

const TEST_RESULT_FIELDS = ['duration_ms', 'error', 'message_id', 'response_body', 'status_code', 'success'];

describe('sending a test event to a webhook', () => {
  let t: TestServer;
  let rx: Receiver;
  beforeAll(async () => {
    rx = await new Receiver().start();
    t = await startDeliveryServer();
  });
  afterEach(async () => deleteAllWebhooks(t));
  afterAll(async () => {
    await t.stop();
    await rx.close();
  });

  /** A webhook SUSPENDED for real: no retries, so its first failed delivery suspends it. */
  async function suspendedWebhook(extra: Record<string, unknown> = {}): Promise<any> {
    const type = await newEventType(t);
    const wh = await createWebhook(t, {
      url: `${rx.url}/status/500`,
      events: [type],
      retry_schedule: [],
      ...extra,
    });
    const pub = await publish(t, { type, data: {} });
    await waitForDeliveryStatus(t, pub.id, 'FAILED');
    await expect.poll(async () => (await getWebhook(t, wh.id)).status, POLL).toBe('SUSPENDED');
    return wh;
  }

  it("sends one signed attempt even to a SUSPENDED webhook, with the type's example, and changes nothing", async () => {
    const wh = await suspendedWebhook({
      auth: { username: 'u', password: 'p' },
      headers: { 'X-Env': 'test' },
      signature_header: 'X-Signature',
    });
    const typed = await newEventType(t, {
      schema: { type: 'object', properties: { amount: { type: 'integer' } } },
      example: { amount: 42, currency: 'EUR' },
    });
    const before = await getWebhook(t, wh.id);
    const deliveriesBefore = (await t.admin.get(`/v1/deliveries?webhook_id=${wh.id}`)).body.data;

    const res = await t.admin.post(`/v1/webhooks/${wh.id}/test`, { event_type: typed });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(TEST_RESULT_FIELDS);
    expect(res.body).toMatchObject({
      success: false,
      status_code: 500,
      response_body: 'status 500',
      error: 'http_error',
    });
    expect(Number.isInteger(res.body.duration_ms) && res.body.duration_ms >= 0).toBe(true);
    const messageId: string = res.body.message_id;
    expect(messageId).toMatch(/^msg_/);

    const got = receivedFor(rx, messageId);
    expect(got).toHaveLength(1);
    const r = nth(got, 0);
    const headers = r.headers as Record<string, string>;
    expect(new Verifier(wh.secret).verify(r.body, headers)).toEqual({
      id: messageId,
      type: typed,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      data: { amount: 42, currency: 'EUR' },
      previous_data: null,
    });
    expect(headers['webhook-attempt']).toBe('1');
    expect(headers['user-agent']).toBe(`Hookline/${VERSION}`);
    expect(headers['content-type']).toBe('application/json');
    expect(headers.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(headers['x-env']).toBe('test');
    expect(headers['x-signature']).toBe(
      createHmac('sha256', Buffer.from(wh.secret, 'utf8')).update(r.body).digest('hex'),
    );

    // Still suspended, same stats, no delivery recorded for the test.
    const after = await getWebhook(t, wh.id);
    expect(after.status).toBe('SUSPENDED');
    expect(after.stats).toEqual(before.stats);
    expect(await deliveriesOf(t, messageId)).toEqual([]);
    expect((await t.admin.get(`/v1/deliveries?webhook_id=${wh.id}`)).body.data).toEqual(deliveriesBefore);
  });

  it('a failing test never suspends an ACTIVE webhook nor touches its stats', async () => {
    const wh = await createWebhook(t, { url: `${rx.url}/status/500`, retry_schedule: [] });
    for (let i = 0; i < 3; i++) {
      const res = await t.admin.post(`/v1/webhooks/${wh.id}/test`, {});
      expect(res.status).toBe(200);
      expect(res.body.success).toBe(false);
      expect(await deliveriesOf(t, res.body.message_id)).toEqual([]);
    }
    const after = await getWebhook(t, wh.id);
    expect(after.status).toBe('ACTIVE');
    expect(after.stats).toEqual({ last_success_at: null, last_failure_at: null, failing_since: null });
    expect((await t.admin.get(`/v1/deliveries?webhook_id=${wh.id}`)).body.data).toEqual([]);
  });

  it('POST /v1/webhooks/test {webhook_id} sends webhook.test with data {} by default', async () => {
    const wh = await createWebhook(t, { url: `${rx.url}/ok` });
    const res = await t.admin.post('/v1/webhooks/test', { webhook_id: wh.id });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, status_code: 200, response_body: 'ok', error: null });
    const r = nth(receivedFor(rx, res.body.message_id), 0);
    expect(new Verifier(wh.secret).verify(r.body, r.headers as Record<string, string>)).toMatchObject({
      type: 'webhook.test',
      data: {},
      previous_data: null,
    });
    // A type without an example sends {} too.
    const bare = await newEventType(t);
    const res2 = await t.admin.post('/v1/webhooks/test', { webhook_id: wh.id, event_type: bare });
    expect(res2.body.success).toBe(true);
    expect(JSON.parse(nth(receivedFor(rx, res2.body.message_id), 0).body)).toMatchObject({
      type: bare,
      data: {},
    });
    // The test left no trace a later publish could trip over.
    expect((await getWebhook(t, wh.id)).stats.last_success_at).toBeNull();
  });

  it('reports a network failure with status_code null and the error code', async () => {
    const port = await closedPort();
    const wh = await createWebhook(t, { url: `http://127.0.0.1:${port}/hook` });
    const res = await t.admin.post(`/v1/webhooks/${wh.id}/test`, {});
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      success: false,
      status_code: null,
      response_body: null,
      error: 'connection_refused',
    });
    const redirect = await createWebhook(t, { url: `${rx.url}/redirect` });
    const res2 = await t.admin.post(`/v1/webhooks/${redirect.id}/test`, {});
    expect(res2.body).toMatchObject({ success: false, status_code: 302, error: 'redirect' });
    expect(receivedFor(rx, res2.body.message_id).map((x) => x.path)).toEqual(['/redirect']);
  });

  it('refuses an unknown event type or webhook, and is open to the tenant key', async () => {
    const wh = await createWebhook(t, { url: `${rx.url}/ok` });
    expectError(
      await t.admin.post(`/v1/webhooks/${wh.id}/test`, { event_type: 'no.such.type' }),
      422,
      'unknown_event_type',
      'event_type',
    );
    expectError(await t.admin.post('/v1/webhooks/wh_nope/test', {}), 404, 'not_found');
    expectError(await t.admin.post('/v1/webhooks/test', { webhook_id: 'wh_nope' }), 404, 'not_found');
    expectError(await t.admin.post('/v1/webhooks/test', {}), 422, 'validation_failed', 'webhook_id');
    const key = await t.admin.post('/v1/tenants/default/keys', {});
    const res = await t.admin.withKey(key.body.key).post(`/v1/webhooks/${wh.id}/test`);
    expect(res.status).toBe(200);
    expect(res.body.success).toBe(true);
  });
});
