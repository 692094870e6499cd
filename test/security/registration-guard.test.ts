import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AddressPolicy, parseCidrList } from '../../src/core/address-policy.js';
import { AddressGuard } from '../../src/delivery/address-guard.js';
import { expectError } from '../support/expect-error.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { FakeDns } from './fake-dns.js';

const dns = new FakeDns()
  .set('public.example', ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'])
  .set('internal.example', ['10.0.0.5'])
  .set('metadata.example', ['169.254.169.254'])
  .set('mixed.example', ['93.184.215.14', '127.0.0.1'])
  .set('v6-loopback.example', ['::1'])
  .set('v6-mapped.example', ['::ffff:127.0.0.1'])
  .set('nat64-private.example', ['64:ff9b::c0a8:101'])
  .set('cgnat.example', ['100.64.1.1'])
  .set('localhost', ['93.184.215.14']) // a lying resolver: localhost is loopback whatever it says
  .set('partner.internal', ['10.1.4.4']);

/** Hostile spellings: every one is, or resolves to, an address that is not globally routable. */
const HOSTILE: string[] = [
  // IPv4 loopback in every spelling `new URL()` normalises to 127.0.0.1
  'https://127.0.0.1/hooks',
  'https://127.0.0.1:8443/hooks',
  'https://127.1/',
  'https://127.0.1/',
  'https://2130706433/',
  'https://0x7f000001/',
  'https://0x7f.1/',
  'https://0x7F.0.0.1/',
  'https://0177.0.0.1/',
  'https://0000000177.0.0.1/',
  'https://017700000001/',
  'https://127.0.0.1./',
  'https://%31%32%37.0.0.1/',
  'https://１２７.０.０.１/',
  'https://127。0。0。1/',
  'https://127.255.255.254/',
  // unspecified, private, link-local (cloud metadata), CGNAT
  'https://0.0.0.0/',
  'https://0/',
  'https://10.0.0.1/',
  'https://012.0.0.1/',
  'https://172.16.0.1/',
  'https://172.31.255.255/',
  'https://192.168.1.1/',
  'https://0xc0a80101/',
  'https://169.254.169.254/latest/meta-data/',
  'https://2852039166/',
  'https://0xa9.0xfe.0xa9.0xfe/',
  'https://100.64.0.1/',
  'https://100.127.255.255/',
  // multicast, broadcast, reserved, IANA special-purpose
  'https://224.0.0.1/',
  'https://239.255.255.250/',
  'https://255.255.255.255/',
  'https://4294967295/',
  'https://240.0.0.1/',
  'https://192.0.0.8/',
  'https://192.0.2.1/',
  'https://198.18.0.1/',
  'https://198.51.100.7/',
  'https://203.0.113.9/',
  // IPv6 literals
  'https://[::1]/',
  'https://[::1]:443/hooks',
  'https://[0:0:0:0:0:0:0:1]/',
  'https://[::]/',
  'https://[fe80::1]/',
  'https://[febf:ffff::1]/',
  'https://[fc00::1]/',
  'https://[fd12:3456::1]/',
  'https://[fec0::1]/',
  'https://[ff02::1]/',
  'https://[2001:db8::1]/',
  'https://[2001::1]/',
  'https://[100::1]/',
  // IPv6 forms embedding a non-global IPv4
  'https://[::ffff:127.0.0.1]/',
  'https://[::ffff:7f00:1]/',
  'https://[0:0:0:0:0:ffff:127.0.0.1]/',
  'https://[::ffff:169.254.169.254]/',
  'https://[::ffff:a9fe:a9fe]/',
  'https://[::ffff:10.0.0.1]/',
  'https://[::127.0.0.1]/',
  'https://[::7f00:1]/',
  'https://[::ffff:0:127.0.0.1]/',
  'https://[2002:7f00:1::]/',
  'https://[2002:a9fe:a9fe::1]/',
  'https://[2002:c0a8:101::]/',
  'https://[64:ff9b::127.0.0.1]/',
  'https://[64:ff9b::a9fe:a9fe]/',
  'https://[64:ff9b:1::a00:1]/',
  // names
  'https://localhost/',
  'https://LOCALHOST./',
  'https://localhost:8420/',
  'https://api.localhost/',
  'https://internal.example/',
  'https://metadata.example/latest/meta-data/',
  'https://mixed.example/',
  'https://v6-loopback.example/',
  'https://v6-mapped.example/',
  'https://nat64-private.example/',
  'https://cgnat.example/',
];

const PUBLIC: string[] = [
  'https://1.1.1.1/hooks',
  'https://8.8.8.8:8443/',
  'https://134744072/', // 8.8.8.8 in decimal: odd, but global
  'https://[2606:4700:4700::1111]/',
  'https://[::ffff:1.1.1.1]/',
  'https://[64:ff9b::8.8.8.8]/',
  'https://[2002:808:808::1]/',
  'https://public.example/hooks',
  'https://does-not-resolve.example/hooks', // checked again at each connection
];

describe('registration in production mode', () => {
  let t: TestServer;
  beforeAll(async () => {
    // Well over 200 requests in a burst: the rate limit is tested elsewhere.
    t = await startTestServer({ dev: false, lookup: dns.lookup, env: { HOOKLINE_API_RATE_LIMIT: 'off' } });
    await t.admin.post('/v1/event-types', { name: 'order.created' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it(`has a table of at least 40 hostile URLs (${HOSTILE.length})`, () => {
    expect(HOSTILE.length).toBeGreaterThanOrEqual(40);
  });

  it.each(HOSTILE)('refuses %s as a webhook url and as a message callback_url', async (url) => {
    const wh = await t.admin.post('/v1/webhooks', { url });
    expectError(wh, 422, 'validation_failed', 'url: ');
    expect(wh.body.error.message).toMatch(/not a globally routable address|loopback name/);
    const msg = await t.admin.post('/v1/messages', { type: 'order.created', data: {}, callback_url: url });
    expectError(msg, 422, 'validation_failed', 'callback_url: ');
  });

  it.each(PUBLIC)('accepts %s', async (url) => {
    const wh = await t.admin.post('/v1/webhooks', { url });
    expect(wh.status, JSON.stringify(wh.body)).toBe(201);
    const msg = await t.admin.post('/v1/messages', { type: 'order.created', data: {}, callback_url: url });
    expect(msg.status, JSON.stringify(msg.body)).toBe(202);
  });

  it('checks the alias, updates and batches too, naming the field as sent', async () => {
    expectError(
      await t.admin.post('/v1/webhooks', { callbackUrl: 'https://[::1]/' }),
      422,
      'validation_failed',
      'callbackUrl: host ::1',
    );
    const ok = await t.admin.post('/v1/webhooks', { url: 'https://public.example/a' });
    expect(ok.status).toBe(201);
    expectError(
      await t.admin.patch(`/v1/webhooks/${ok.body.id}`, { url: 'https://169.254.169.254/' }),
      422,
      'validation_failed',
      'url: host 169.254.169.254',
    );
    expect((await t.admin.get(`/v1/webhooks/${ok.body.id}`)).body.url).toBe('https://public.example/a');
    const batch = await t.admin.post('/v1/messages/batch', {
      messages: [
        { type: 'order.created', data: {}, callback_url: 'https://public.example/cb' },
        { type: 'order.created', data: {}, callback_url: 'https://internal.example/cb' },
      ],
    });
    expectError(
      batch,
      422,
      'validation_failed',
      'messages[1].callback_url: host internal.example resolves to 10.0.0.5',
    );
  });

  it('says why: the name, the address it resolves to and the kind of range', async () => {
    const res = await t.admin.post('/v1/webhooks', { url: 'https://metadata.example/' });
    expect(res.body.error.message).toContain('url: host metadata.example resolves to 169.254.169.254');
    expect(res.body.error.message).toContain('link-local');
    const mapped = await t.admin.post('/v1/webhooks', { url: 'https://[::ffff:7f00:1]/' });
    expect(mapped.body.error.message).toContain('IPv4-mapped form of 127.0.0.1');
  });
});

describe('registration with HOOKLINE_ALLOW_ADDRESSES', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({
      dev: false,
      lookup: dns.lookup,
      env: { HOOKLINE_ALLOW_ADDRESSES: '10.1.0.0/16,fd00::/8' },
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('accepts listed blocks, by literal or by name, and still refuses the rest', async () => {
    for (const url of [
      'https://10.1.2.3/',
      'https://[fd00::1]/',
      'https://[::ffff:10.1.0.9]/',
      'https://partner.internal/',
    ]) {
      const res = await t.admin.post('/v1/webhooks', { url });
      expect(res.status, `${url} ${JSON.stringify(res.body)}`).toBe(201);
    }
    for (const url of [
      'https://10.2.0.1/',
      'https://[fc00::1]/',
      'https://127.0.0.1/',
      'https://internal.example/',
    ]) {
      expectError(await t.admin.post('/v1/webhooks', { url }), 422, 'validation_failed', 'url: ');
    }
  });
});

describe('registration-time lookups', () => {
  it('give up after the timeout and accept the name (the connection is checked again)', async () => {
    const slow = new FakeDns().set('slow.example', 'hang');
    const guard = new AddressGuard({ policy: new AddressPolicy(), lookup: slow.lookup, lookupTimeoutMs: 50 });
    const started = performance.now();
    expect(await guard.urlProblem('https://slow.example/')).toBeNull();
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('resolve a name once for a burst of registrations', async () => {
    const counted = new FakeDns().set('once.example', ['10.9.9.9']);
    const guard = new AddressGuard({ policy: new AddressPolicy(parseCidrList('')), lookup: counted.lookup });
    for (let i = 0; i < 5; i++)
      expect(await guard.urlProblem(`https://once.example/${i}`)).toMatch(/10\.9\.9\.9/);
    expect(counted.queries).toEqual(['once.example']);
  });

  it('are not made in dev mode, where private targets are the point', async () => {
    const devDns = new FakeDns();
    const t = await startTestServer({ dev: true, lookup: devDns.lookup });
    try {
      for (const url of ['http://127.0.0.1:9/', 'https://internal.example/', 'http://localhost/']) {
        const res = await t.admin.post('/v1/webhooks', { url });
        expect(res.status, `${url} ${JSON.stringify(res.body)}`).toBe(201);
      }
      expect(devDns.queries).toEqual([]);
    } finally {
      await t.stop();
    }
  });
});
