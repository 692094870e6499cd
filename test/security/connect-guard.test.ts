import { once } from 'node:events';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AddressPolicy, type Cidr, parseCidrList } from '../../src/core/address-policy.js';
import { AddressGuard, type HostLookup } from '../../src/delivery/address-guard.js';
import { createSender, type Sender } from '../../src/delivery/http-sender.js';
import { Receiver } from '../support/receiver.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { FakeDns } from './fake-dns.js';

const PUBLIC_IP = '93.184.215.14';

/** A TCP listener on 127.0.0.1 that counts connections: an https:// target must never be reached. */
async function countingListener(): Promise<{ server: Server; port: number; connections: () => number }> {
  let n = 0;
  const server = createServer((socket) => {
    n++;
    socket.destroy();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, connections: () => n };
}

async function firstAttempt(t: TestServer, messageId: string): Promise<any> {
  const list = await t.admin.get(`/v1/deliveries?message_id=${messageId}`);
  expect(list.body.data, JSON.stringify(list.body)).toHaveLength(1);
  const id = list.body.data[0].id;
  await expect.poll(async () => (await t.admin.get(`/v1/deliveries/${id}`)).body.attempts.length).toBe(1);
  return (await t.admin.get(`/v1/deliveries/${id}`)).body;
}

describe('DNS rebinding against a production-mode server', () => {
  const dns = new FakeDns();
  let t: TestServer;
  let target: Awaited<ReturnType<typeof countingListener>>;
  beforeAll(async () => {
    target = await countingListener();
    t = await startTestServer({ dev: false, lookup: dns.lookup });
    for (const name of ['order.created', 'order.cb', 'order.mixed'])
      await t.admin.post('/v1/event-types', { name });
  });
  afterAll(async () => {
    await t?.stop();
    target?.server.close();
  });

  it('refuses the attempt with blocked_address when a name registered public now answers 127.0.0.1', async () => {
    dns.set('rebind.example', [PUBLIC_IP]);
    const wh = await t.admin.post('/v1/webhooks', {
      url: `https://rebind.example:${target.port}/ok`,
      events: ['order.created'],
    });
    expect(wh.status, JSON.stringify(wh.body)).toBe(201);
    dns.set('rebind.example', ['127.0.0.1']);
    const pub = await t.admin.post('/v1/messages', { id: 'evt_rebind', type: 'order.created', data: {} });
    expect(pub.status).toBe(202);
    const delivery = await firstAttempt(t, 'evt_rebind');
    expect(delivery.attempts[0].error).toBe('blocked_address');
    expect(delivery.attempts[0].status_code).toBeNull();
    expect(delivery.last_error).toBe('blocked_address');
    expect(delivery.status).toBe('PENDING'); // retried later, and checked again then
    expect(target.connections()).toBe(0);

    const test = await t.admin.post(`/v1/webhooks/${wh.body.id}/test`, {});
    expect(test.body).toMatchObject({ success: false, status_code: null, error: 'blocked_address' });
    expect(target.connections()).toBe(0);
    await t.admin.delete(`/v1/webhooks/${wh.body.id}`);
  });

  it('refuses a callback_url rebound to a mapped IPv6 loopback, and an answer mixing public and private', async () => {
    dns.rebind('cb.example', [PUBLIC_IP], ['::ffff:127.0.0.1']).set('mixed.example', [PUBLIC_IP]);
    const cb = await t.admin.post('/v1/messages', {
      id: 'evt_cb_rebind',
      type: 'order.cb',
      data: {},
      callback_url: `https://cb.example:${target.port}/cb`,
    });
    expect(cb.status, JSON.stringify(cb.body)).toBe(202);
    expect((await firstAttempt(t, 'evt_cb_rebind')).attempts[0].error).toBe('blocked_address');

    const wh = await t.admin.post('/v1/webhooks', {
      url: `https://mixed.example:${target.port}/`,
      events: ['order.mixed'],
    });
    expect(wh.status).toBe(201);
    dns.set('mixed.example', [PUBLIC_IP, '127.0.0.1']);
    await t.admin.post('/v1/messages', { id: 'evt_mixed', type: 'order.mixed', data: {} });
    expect((await firstAttempt(t, 'evt_mixed')).attempts[0].error).toBe('blocked_address');
    expect(target.connections()).toBe(0);
  });
});

const makeSender = (allow: Cidr[], lookup: HostLookup): Sender =>
  createSender({ connect: new AddressGuard({ policy: new AddressPolicy(allow), lookup }).connector() });

describe('the connect-time guard of the sender', () => {
  const dns = new FakeDns();
  let rx: Receiver;
  let guarded: Sender;
  let allowing: Sender;
  let port: string;
  beforeAll(async () => {
    rx = await new Receiver().start();
    port = new URL(rx.url).port;
    guarded = makeSender([], dns.lookup);
    allowing = makeSender(parseCidrList('127.0.0.0/8'), dns.lookup);
  });
  afterAll(async () => {
    await guarded?.close();
    await allowing?.close();
    await rx?.close();
  });

  const send = (sender: Sender, url: string) =>
    sender.send(
      url,
      {
        messageId: 'msg_1',
        payload: '{}',
        timestampSec: 1,
        attempt: 1,
        secrets: [],
        signatureHeaderName: null,
        basicAuth: null,
        customHeaders: {},
        userAgent: 'test',
      },
      3000,
    );

  it('refuses literal non-global addresses before connecting, in any spelling', async () => {
    for (const host of [
      '127.0.0.1',
      '2130706433',
      '0x7f.1',
      '[::1]',
      '[::ffff:127.0.0.1]',
      '[::ffff:7f00:1]',
    ]) {
      const r = await send(guarded, `http://${host}:${port}/ok`);
      expect(r, host).toMatchObject({ error: 'blocked_address', statusCode: null });
    }
    expect(rx.received).toHaveLength(0);
  });

  it('refuses names resolving to any non-global address, whatever the family asked', async () => {
    dns
      .set('loop.example', ['127.0.0.1'])
      .set('loop6.example', ['::1'])
      .set('both.example', ['127.0.0.1', '2606:4700:4700::1111'])
      .set('meta.example', ['169.254.169.254']);
    for (const name of ['loop.example', 'loop6.example', 'both.example', 'meta.example']) {
      const r = await send(guarded, `http://${name}:${port}/ok`);
      expect(r.error, name).toBe('blocked_address');
    }
    expect(rx.received).toHaveLength(0);
  });

  it('connects through the checked lookup when the address is allowed', async () => {
    dns.set('partner.internal', ['127.0.0.1']);
    expect(await send(allowing, `http://partner.internal:${port}/ok`)).toMatchObject({
      statusCode: 200,
      error: null,
    });
    expect(await send(allowing, `http://127.0.0.1:${port}/ok`)).toMatchObject({
      statusCode: 200,
      error: null,
    });
    expect(rx.at('/ok')).toHaveLength(2);
    expect((await send(allowing, `http://[::1]:${port}/ok`)).error).toBe('blocked_address');
  });

  it('reports a name that does not resolve as dns', async () => {
    expect((await send(guarded, `http://nowhere.example:${port}/ok`)).error).toBe('dns');
  });
});
