import { createHmac } from 'node:crypto';
import { Webhook as Verifier } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signatureHeader, signEntry } from '../../src/core/signing.js';
import { Receiver } from '../support/receiver.js';
import type { TestServer } from '../support/test-server.js';
import {
  createWebhook,
  deleteAllWebhooks,
  newEventType,
  nth,
  publish,
  receivedFor,
  startDeliveryServer,
  VERSION,
  waitForDeliveryStatus,
} from './helpers.js';

// VECTORS.md: from the Standard Webhooks reference libraries' own tests.
const VECTORS = [
  {
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    timestamp: 1614265330,
    body: '{"test": 2432232314}',
    signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  },
  {
    secret: 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD',
    id: 'msg_27UH4WbU6Z5A5EzD8u03UvzRbpk',
    timestamp: 1649367553,
    body: '{"email":"test@example.com","username":"test_user"}',
    signature: 'v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=',
  },
];

const hexHmac = (key: string, body: string) =>
  createHmac('sha256', Buffer.from(key, 'utf8')).update(body).digest('hex');

const headersOf = (r: { headers: Record<string, unknown> }) => r.headers as Record<string, string>;

describe('signEntry (unit)', () => {
  it.each(VECTORS)('reproduces the reference vector for $id', (v) => {
    expect(signEntry(v.secret, v.id, v.timestamp, v.body)).toBe(v.signature);
    expect(signEntry(v.secret, v.id, v.timestamp, Buffer.from(v.body))).toBe(v.signature);
  });

  it('joins one entry per live secret with a space', () => {
    const [a, b] = VECTORS as [(typeof VECTORS)[0], (typeof VECTORS)[0]];
    expect(signatureHeader([a.secret, b.secret], a.id, a.timestamp, a.body)).toBe(
      `${a.signature} ${signEntry(b.secret, a.id, a.timestamp, a.body)}`,
    );
  });
});

describe('what a webhook receives (end to end)', () => {
  let t: TestServer;
  let rx: Receiver;
  beforeAll(async () => {
    rx = await new Receiver().start();
    // Real clock (the verifier checks the timestamp against real time) and short retries.
    t = await startDeliveryServer({ env: { HOOKLINE_RETRY_SCHEDULE: '50ms,50ms,50ms' } });
  });
  afterEach(async () => deleteAllWebhooks(t));
  afterAll(async () => {
    await t.stop();
    await rx.close();
  });

  it('signs every attempt verifiably, with the same body and webhook-id, numbering the attempts', async () => {
    const type = await newEventType(t);
    const wh = await createWebhook(t, {
      url: `${rx.url}/flaky/2`,
      events: [type],
      signature_header: 'X-Webhook-Signature',
      auth: { username: 'bubblegum', password: 'hello' },
      headers: { 'X-Env': 'prod', 'X-Trace': 'abc 123' },
    });
    expect(wh.secret).toMatch(/^whsec_/);
    const data = { amount: 1250, note: 'héllo ✓ "quoted" \\ \u2028', list: [1, 2.5, null] };
    const previous = { amount: 1000 };
    const pub = await publish(t, { id: 'evt_sign_1', type, data, previous_data: previous });
    await waitForDeliveryStatus(t, 'evt_sign_1', 'SUCCEEDED');
    const got = receivedFor(rx, 'evt_sign_1');
    expect(got).toHaveLength(3);

    const expectedBody = JSON.stringify({
      id: 'evt_sign_1',
      type,
      created_at: pub.created_at,
      data,
      previous_data: previous,
    });
    const verifier = new Verifier(wh.secret);
    for (const r of got) {
      expect(r.body).toBe(expectedBody);
      expect(verifier.verify(r.body, headersOf(r))).toEqual(JSON.parse(expectedBody));
      expect(r.headers['webhook-id']).toBe('evt_sign_1');
      expect(Math.abs(Number(r.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(30);
      expect(r.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
      // The legacy header is keyed with the secret string as registered, whsec_ prefix and all.
      expect(r.headers['x-webhook-signature']).toBe(hexHmac(wh.secret, r.body));
      expect(r.headers['x-webhook-signature']).toMatch(/^[0-9a-f]{64}$/);
      expect(r.headers.authorization).toBe(`Basic ${Buffer.from('bubblegum:hello').toString('base64')}`);
      expect(r.headers['x-env']).toBe('prod');
      expect(r.headers['x-trace']).toBe('abc 123');
      expect(r.headers['user-agent']).toBe(`Hookline/${VERSION}`);
      expect(r.headers['content-type']).toBe('application/json');
    }
    expect(got.map((r) => r.headers['webhook-attempt'])).toEqual(['1', '2', '3']);
  });

  it('uses a non-whsec secret as its UTF-8 bytes for both signatures', async () => {
    const type = await newEventType(t);
    const secret = 'sécret-ünïcode-0123456789';
    const wh = await createWebhook(t, {
      url: `${rx.url}/ok`,
      events: [type],
      secret,
      signature_header: 'X-Hotspotsystem-Hmac-Sha256',
    });
    expect(wh.secret).toBe(secret);
    await publish(t, { id: 'evt_sign_plain', type, data: { ok: true } });
    await rx.waitFor(() => receivedFor(rx, 'evt_sign_plain').length === 1);
    const r = nth(receivedFor(rx, 'evt_sign_plain'), 0);
    const verifier = new Verifier(Buffer.from(secret, 'utf8'), { format: 'raw' });
    expect(verifier.verify(r.body, headersOf(r))).toMatchObject({
      id: 'evt_sign_plain',
      data: { ok: true },
    });
    expect(r.headers['x-hotspotsystem-hmac-sha256']).toBe(hexHmac(secret, r.body));
    // No Basic auth header when auth is not set.
    expect(r.headers.authorization).toBeUndefined();
  });

  it("a custom header named like the signature_header cannot add to Hookline's value", async () => {
    const type = await newEventType(t);
    const wh = await createWebhook(t, {
      url: `${rx.url}/ok`,
      events: [type],
      headers: { 'X-Sig': 'forged', 'X-Other': 'kept' },
      signature_header: 'X-Sig',
    });
    await publish(t, { id: 'evt_sign_collide', type, data: {} });
    await rx.waitFor(() => receivedFor(rx, 'evt_sign_collide').length === 1);
    const r = nth(receivedFor(rx, 'evt_sign_collide'), 0);
    expect(r.headers['x-sig']).toBe(hexHmac(wh.secret, r.body));
    expect(r.headers['x-other']).toBe('kept');
  });

  it('signs with both the old and the new secret during a rotation', async () => {
    const type = await newEventType(t);
    const wh = await createWebhook(t, { url: `${rx.url}/ok`, events: [type] });
    const oldSecret: string = wh.secret;

    await publish(t, { id: 'evt_rot_before', type, data: {} });
    await rx.waitFor(() => receivedFor(rx, 'evt_rot_before').length === 1);
    const before = nth(receivedFor(rx, 'evt_rot_before'), 0);
    expect(String(before.headers['webhook-signature']).split(' ')).toHaveLength(1);

    const given = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const rot = await t.admin.post(`/v1/webhooks/${wh.id}/rotate-secret`, { secret: given });
    expect(rot.status).toBe(200);
    expect(rot.body).toEqual({ secret: given });
    expect((await t.admin.get(`/v1/webhooks/${wh.id}/secret`)).body).toEqual({ secret: given });

    await publish(t, { id: 'evt_rot_during', type, data: { n: 2 } });
    await rx.waitFor(() => receivedFor(rx, 'evt_rot_during').length === 1);
    const during = nth(receivedFor(rx, 'evt_rot_during'), 0);
    const entries = String(during.headers['webhook-signature']).split(' ');
    expect(entries).toHaveLength(2);
    for (const e of entries) expect(e).toMatch(/^v1,/);
    for (const secret of [oldSecret, given]) {
      expect(new Verifier(secret).verify(during.body, headersOf(during))).toMatchObject({
        id: 'evt_rot_during',
      });
    }
    // A secret that was never registered does not verify.
    const stranger = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
    expect(() => new Verifier(stranger).verify(during.body, headersOf(during))).toThrow();

    // A generated secret on a second rotation: the newest two sign.
    const rot2 = await t.admin.post(`/v1/webhooks/${wh.id}/rotate-secret`);
    expect(rot2.status).toBe(200);
    expect(rot2.body.secret).toMatch(/^whsec_/);
    await publish(t, { id: 'evt_rot_again', type, data: {} });
    await rx.waitFor(() => receivedFor(rx, 'evt_rot_again').length === 1);
    const again = nth(receivedFor(rx, 'evt_rot_again'), 0);
    expect(String(again.headers['webhook-signature']).split(' ')).toHaveLength(2);
    for (const secret of [given, rot2.body.secret]) {
      expect(() => new Verifier(secret).verify(again.body, headersOf(again))).not.toThrow();
    }
  });

  it('keeps body and webhook-id on a redelivery, signing it afresh', async () => {
    const type = await newEventType(t);
    const wh = await createWebhook(t, { url: `${rx.url}/ok`, events: [type] });
    await publish(t, { id: 'evt_sign_redeliver', type, data: { v: 1 } });
    await waitForDeliveryStatus(t, 'evt_sign_redeliver', 'SUCCEEDED');
    const res = await t.admin.post('/v1/messages/evt_sign_redeliver/redeliver', {});
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ requeued: 1 });
    await rx.waitFor(() => receivedFor(rx, 'evt_sign_redeliver').length === 2);
    const [first, second] = receivedFor(rx, 'evt_sign_redeliver') as [any, any];
    expect(second.body).toBe(first.body);
    expect(second.headers['webhook-id']).toBe('evt_sign_redeliver');
    expect(() => new Verifier(wh.secret).verify(second.body, headersOf(second))).not.toThrow();
  });
});
