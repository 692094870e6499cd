import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ApiClient, ApiResponse } from '../support/api-client.js';
import { describeEachBackend } from '../support/backends.js';
import { expectError } from '../support/expect-error.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

type Method = 'GET' | 'HEAD' | 'POST' | 'PATCH' | 'DELETE';
/** [method, path, body?]; `{A}`, `{B}`, `{wh}`, `{msg}`, `{dlv}`, `{key}` are filled in at run time. */
type Call = [Method, string, unknown?];

/** Every route that acts on a tenant's resources, with a body that would pass validation. */
const TENANT_ROUTES: Call[] = [
  ['GET', '/webhooks'],
  ['POST', '/webhooks', { url: 'https://example.com/b' }],
  ['GET', '/webhooks/{wh}'],
  ['HEAD', '/webhooks/{wh}'],
  ['PATCH', '/webhooks/{wh}', { description: 'hijacked' }],
  ['PATCH', '/webhooks/{wh}', { status: 'DISABLED' }],
  ['DELETE', '/webhooks/{wh}'],
  ['GET', '/webhooks/{wh}/secret'],
  ['POST', '/webhooks/{wh}/rotate-secret'],
  ['POST', '/webhooks/{wh}/rotate-secret', { secret: 'attacker-chosen-secret' }],
  ['POST', '/webhooks/{wh}/recover', { since: '2000-01-01T00:00:00.000Z' }],
  ['POST', '/webhooks/{wh}/test', {}],
  ['POST', '/webhooks/test', { webhook_id: '{wh}' }],
  ['GET', '/callback-secret'],
  ['POST', '/callback-secret/rotate'],
  ['GET', '/messages'],
  ['GET', '/messages/{msg}'],
  ['POST', '/messages/{msg}/redeliver', {}],
  ['GET', '/deliveries'],
  ['GET', '/deliveries/{dlv}'],
  ['GET', '/deliveries?webhook_id={wh}'],
];

/** The same as TENANT_ROUTES but with bodies the validator refuses: 404 must still come first. */
const INVALID_BODIES: Call[] = [
  ['POST', '/webhooks', { url: 'ftp://nope', timeout_ms: 1 }],
  ['PATCH', '/webhooks/{wh}', { timeout_ms: 'soon' }],
  ['POST', '/webhooks/{wh}/rotate-secret', { secret: 5 }],
  ['POST', '/webhooks/{wh}/recover', { since: 'yesterday' }],
  ['POST', '/webhooks/test', { nope: 1 }],
  ['POST', '/messages', { type: 5 }],
  ['GET', '/webhooks?limit=0'],
];

/** Admin-only routes under a tenant path: 403 on the key's own tenant, 404 on another. */
const ADMIN_TENANT_ROUTES: Call[] = [
  ['GET', ''],
  ['PATCH', '', { name: 'Renamed' }],
  ['DELETE', ''],
  ['POST', '/keys', { name: 'more' }],
  ['POST', '/keys'],
  ['DELETE', '/keys/{key}'],
  ['POST', '/messages', { type: 'invoice.paid', data: {} }],
  ['POST', '/messages/batch', { messages: [{ type: 'invoice.paid', data: {} }] }],
  ['POST', '/keys', { scope: 'everything' }],
  ['PATCH', '', { name: 5 }],
];

describeEachBackend('tenant isolation', (backend) => {
  let t: TestServer;
  let a: ApiClient;
  let b: ApiClient;
  const ids: Record<string, string> = { A: 'tenant-a', B: 'tenant-b' };
  let secretA: string;
  let callbackSecretA: string;

  const fill = (text: string) => text.replace(/\{(\w+)\}/g, (_, k: string) => ids[k] ?? `{${k}}`);
  const fillBody = (body: unknown) =>
    body === undefined ? undefined : JSON.parse(fill(JSON.stringify(body)));
  const send = (client: ApiClient, [method, path, body]: Call, prefix: string) =>
    client.request(method, fill(prefix + path), fillBody(body));

  /** 404 in the contract's shape, and nothing of A's in the answer. */
  function expectHidden(res: ApiResponse, what: string) {
    if (res.status === 404 && res.body === '') return; // HEAD: no body at all
    expectError(res, 404, 'not_found');
    const text = JSON.stringify(res.body);
    for (const leak of [ids.wh, ids.msg, ids.dlv, secretA, callbackSecretA, 'tenant-a'].filter(Boolean)) {
      expect(text, `${what} leaked ${leak}`).not.toContain(leak as string);
    }
  }

  beforeAll(async () => {
    t = await startTestServer({ backend });
    await t.admin.post('/v1/event-types', { name: 'invoice.paid' });
    for (const tid of ['tenant-a', 'tenant-b']) {
      expect((await t.admin.post('/v1/tenants', { id: tid, name: tid })).status).toBe(201);
    }
    const keyA = await t.admin.post('/v1/tenants/tenant-a/keys');
    const keyB = await t.admin.post('/v1/tenants/tenant-b/keys');
    a = t.admin.withKey(keyA.body.key);
    b = t.admin.withKey(keyB.body.key);
    ids.keyA = keyA.body.id;
    ids.key = keyB.body.id;

    const wh = await a.post('/v1/webhooks', {
      url: 'http://127.0.0.1:9/a',
      description: 'A',
      auth: { username: 'a', password: 'a-password-1' },
    });
    expect(wh.status).toBe(201);
    ids.wh = wh.body.id;
    secretA = wh.body.secret;
    callbackSecretA = (await a.get('/v1/callback-secret')).body.secret;
    const msg = await t.admin.post('/v1/tenants/tenant-a/messages', { type: 'invoice.paid', data: { n: 1 } });
    expect(msg.status).toBe(202);
    ids.msg = msg.body.id;
    const dlv = await a.get(`/v1/deliveries?message_id=${ids.msg}`);
    expect(dlv.body.data).toHaveLength(1);
    ids.dlv = dlv.body.data[0].id;
    // B has resources of its own, so "empty" answers are not empty by accident.
    expect((await b.post('/v1/webhooks', { url: 'http://127.0.0.1:9/b' })).status).toBe(201);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it.each(TENANT_ROUTES)("B's key: %s /v1/tenants/{A}%s → 404", async (...call) => {
    expectHidden(await send(b, call as Call, '/v1/tenants/{A}'), call.join(' '));
  });

  it.each(INVALID_BODIES)("B's key with a refused body: %s /v1/tenants/{A}%s → 404", async (...call) => {
    expectHidden(await send(b, call as Call, '/v1/tenants/{A}'), call.join(' '));
  });

  it.each(ADMIN_TENANT_ROUTES)("B's key: %s /v1/tenants/{A}%s (admin-only) → 404", async (...call) => {
    expectHidden(await send(b, call as Call, '/v1/tenants/{A}'), call.join(' '));
  });

  it("B's key on a tenant that does not exist looks the same as on A", async () => {
    for (const call of TENANT_ROUTES.slice(0, 4)) {
      expectHidden(await send(b, call, '/v1/tenants/no-such-tenant'), call.join(' '));
    }
  });

  it.each(TENANT_ROUTES.filter(([, path]) => /\{(wh|msg|dlv)\}/.test(path) && !path.includes('?')))(
    "B's key: short form %s /v1%s with A's ids → 404",
    async (...call) => {
      expectHidden(await send(b, call as Call, '/v1'), call.join(' '));
    },
  );

  it("B's lists and filters never show A's resources", async () => {
    for (const path of [
      '/v1/webhooks',
      '/v1/messages',
      '/v1/deliveries',
      `/v1/deliveries?webhook_id=${ids.wh}`,
      `/v1/deliveries?message_id=${ids.msg}`,
      '/v1/tenants/tenant-b/webhooks',
    ]) {
      const res = await b.get(path);
      expect(res.status, path).toBe(200);
      const text = JSON.stringify(res.body);
      for (const leak of [ids.wh, ids.msg, ids.dlv, 'http://127.0.0.1:9/a']) {
        expect(text, `${path} leaked ${leak}`).not.toContain(leak);
      }
    }
    expect((await b.get(`/v1/deliveries?webhook_id=${ids.wh}`)).body.data).toEqual([]);
    expect((await b.get('/v1/webhooks')).body.data).toHaveLength(1);
  });

  it("a message id reused by another tenant is that tenant's own message", async () => {
    const res = await t.admin.post('/v1/tenants/tenant-b/messages', {
      id: ids.msg,
      type: 'invoice.paid',
      data: { other: true },
    });
    expect(res.status).toBe(202);
    expect((await b.get(`/v1/messages/${ids.msg}`)).body.data).toEqual({ other: true });
    expect((await a.get(`/v1/messages/${ids.msg}`)).body.data).toEqual({ n: 1 });
  });

  it("A's resources are untouched after all of B's attempts", async () => {
    const wh = await a.get(`/v1/webhooks/${ids.wh}`);
    expect(wh.status).toBe(200);
    expect(wh.body).toMatchObject({ description: 'A', status: 'ACTIVE', url: 'http://127.0.0.1:9/a' });
    expect((await a.get(`/v1/webhooks/${ids.wh}/secret`)).body.secret).toBe(secretA);
    expect((await a.get('/v1/callback-secret')).body.secret).toBe(callbackSecretA);
    expect((await a.get('/v1/webhooks')).body.data).toHaveLength(1);
    expect((await t.admin.get('/v1/tenants/tenant-a')).body.name).toBe('tenant-a');
  });

  it.each(ADMIN_TENANT_ROUTES)(
    "B's key: %s /v1/tenants/{B}%s (own tenant, admin-only) → 403",
    async (...call) => {
      expectError(await send(b, call as Call, '/v1/tenants/{B}'), 403, 'forbidden');
    },
  );

  it('a tenant key gets 403 on the admin-only routes outside tenant paths', async () => {
    const calls: Call[] = [
      ['GET', '/v1/tenants'],
      ['GET', '/v1/tenants?limit=0'],
      ['POST', '/v1/tenants', { name: 'Mine now' }],
      ['POST', '/v1/tenants', { id: 'x', nope: 1 }],
      ['POST', '/v1/event-types', { name: 'b.made.this' }],
      ['POST', '/v1/event-types', { name: 'bad name' }],
      ['PATCH', '/v1/event-types/invoice.paid', { description: 'by B' }],
      ['DELETE', '/v1/event-types/invoice.paid'],
      ['POST', '/v1/messages', { type: 'invoice.paid', data: {} }],
      ['POST', '/v1/messages/batch', { messages: [{ type: 'invoice.paid', data: {} }] }],
    ];
    for (const call of calls) {
      expectError(await send(b, call, ''), 403, 'forbidden');
    }
    for (const path of ['/v1/tenants', '/v1/tenants/tenant-b']) {
      expect((await b.request('HEAD', path)).status).toBe(403);
    }
    expect((await b.request('HEAD', '/v1/tenants/tenant-a')).status).toBe(404);
    // Nothing changed, and the key keeps its own tenant and the catalog.
    const type = await b.get('/v1/event-types/invoice.paid');
    expect(type.status).toBe(200);
    expect(type.body).toMatchObject({ description: null, archived_at: null });
    expect((await b.get('/v1/event-types')).status).toBe(200);
    expect((await t.admin.get('/v1/tenants/tenant-b')).status).toBe(200);
    expect((await b.get('/v1/webhooks')).status).toBe(200);
  });

  it('a missing, malformed or unknown bearer → 401', async () => {
    const url = `${t.server.url}/v1/webhooks`;
    const keyB = b.key as string;
    const headers: (Record<string, string> | undefined)[] = [
      undefined,
      { authorization: '' },
      { authorization: 'Bearer' },
      { authorization: 'Bearer ' },
      { authorization: 'Bearer garbage' },
      { authorization: `Bearer ${keyB}x` },
      { authorization: `Bearer ${keyB} ${keyB}` },
      { authorization: `Basic ${Buffer.from(`${keyB}:`).toString('base64')}` },
      { authorization: keyB },
      { authorization: `Bearer ${'x'.repeat(5000)}` },
      { 'x-api-key': keyB },
    ];
    for (const h of headers) {
      for (const path of [
        '/v1/webhooks',
        '/v1/tenants',
        '/v1/event-types',
        `/v1/tenants/tenant-a/webhooks/${ids.wh}`,
      ]) {
        const res = await fetch(url.replace('/v1/webhooks', path), { headers: h });
        const body = (await res.json()) as { error: { code: string } };
        expect(res.status, `${JSON.stringify(h)?.slice(0, 80)} ${path}`).toBe(401);
        expect(body.error.code).toBe('unauthorized');
      }
    }
    expectError(
      await b.withKey(null).post('/v1/webhooks', { url: 'https://example.com' }),
      401,
      'unauthorized',
    );
    expect((await b.get('/v1/webhooks')).status).toBe(200);
  });

  it('a key of a deleted tenant stops working', async () => {
    await t.admin.post('/v1/tenants', { id: 'tenant-c', name: 'C' });
    const c = t.admin.withKey((await t.admin.post('/v1/tenants/tenant-c/keys')).body.key);
    expect((await c.get('/v1/webhooks')).status).toBe(200);
    expect((await t.admin.delete('/v1/tenants/tenant-c')).status).toBe(204);
    expectError(await c.get('/v1/webhooks'), 401, 'unauthorized');
    // Re-creating the id does not revive the old key.
    await t.admin.post('/v1/tenants', { id: 'tenant-c', name: 'C again' });
    expectError(await c.get('/v1/webhooks'), 401, 'unauthorized');
  });
});
