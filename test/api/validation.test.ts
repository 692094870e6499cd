import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../support/api-client.js';
import { expectError } from '../support/expect-error.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { b64, cases, manyHeaders, URL_OK } from './validation-cases.js';

describe('validation', () => {
  let t: TestServer;
  /** Webhook rows go through a tenant key of `default`, so no single key sends every request. */
  let tenant: ApiClient;
  let wh: string;

  beforeAll(async () => {
    t = await startTestServer();
    expect((await t.admin.post('/v1/event-types', { name: 'invoice.paid', example: { n: 1 } })).status).toBe(
      201,
    );
    const key = await t.admin.post('/v1/tenants/default/keys', { name: 'validation' });
    tenant = t.admin.withKey(key.body.key);
    const created = await tenant.post('/v1/webhooks', { url: URL_OK });
    expect(created.status).toBe(201);
    wh = created.body.id;
  });
  afterAll(async () => {
    await t?.stop();
  });

  it.each(cases)('$method $path refuses $name', async (c) => {
    const client = c.as === 'admin' ? t.admin : tenant;
    const res = await client.request(c.method, c.path.replace('{wh}', wh), c.body);
    expectError(res, 422, c.code, c.field);
  });

  it('refused writes changed nothing', async () => {
    const list = await t.admin.get('/v1/webhooks?limit=250');
    expect(list.body.data.map((w: { id: string }) => w.id)).toEqual([wh]);
    const types = await t.admin.get('/v1/event-types');
    expect(types.body.data.map((e: { name: string }) => e.name)).toEqual(['invoice.paid']);
    const tenants = await t.admin.get('/v1/tenants');
    expect(tenants.body.data.map((x: { id: string }) => x.id)).toEqual(['default']);
  });

  it('accepts every boundary value', async () => {
    const accepted: Record<string, unknown>[] = [
      { url: `${URL_OK}/${'a'.repeat(2022)}` }, // exactly 2048 chars
      { callbackUrl: 'http://localhost:9/x' }, // http:// in dev mode
      { timeout_ms: 1000, rate_limit_per_sec: 1, retry_schedule: [1, 259200] },
      { timeout_ms: 30000, rate_limit_per_sec: 10000, retry_schedule: Array(20).fill(259200) },
      { rate_limit_per_sec: null, retry_schedule: null, signature_header: null, description: null },
      { events: ['*'] },
      { events: ['invoice.*', 'never.registered.*', 'invoice.paid'] },
      { events: [] },
      { events: Array.from({ length: 100 }, (_, i) => `p${i}.*`) },
      { secret: b64(24) },
      { secret: b64(64) },
      { secret: 'x'.repeat(16) },
      { secret: 'y'.repeat(128) },
      { headers: manyHeaders(20), signature_header: 'X-Webhook-Signature' },
      { headers: { "X-Tok!#$%&'*+.^_`|~": 'tab\tis fine, café' } },
      { auth: { username: 'u', password: '' }, metadata: { nested: { a: [1, 'b', null] } } },
    ];
    for (const extra of accepted) {
      const res = await tenant.post(
        '/v1/webhooks',
        'callbackUrl' in extra ? extra : { url: URL_OK, ...extra },
      );
      expect(res.status, `${JSON.stringify(extra).slice(0, 200)} → ${JSON.stringify(res.body)}`).toBe(201);
    }
    const longName = `${'a'.repeat(63)}.${'b'.repeat(64)}`;
    for (const name of [longName, 'A-b_c.9', 'single']) {
      expect((await t.admin.post('/v1/event-types', { name })).status).toBe(201);
    }
    for (const id of ['a'.repeat(64), 'A-b_9', '0']) {
      expect((await t.admin.post('/v1/tenants', { id, name: 'ok' })).status).toBe(201);
    }
  });

  describe('request bodies', () => {
    const big = (bytes: number) => JSON.stringify({ url: URL_OK, description: 'x'.repeat(bytes) });

    it('malformed JSON → 400 invalid_json', async () => {
      for (const text of ['{"url": ', '{url: 1}', "{'a': 1}", '[1,]', 'nul']) {
        expectError(await tenant.post('/v1/webhooks', text), 400, 'invalid_json', 'body');
      }
    });

    it('a content type other than JSON → 415', async () => {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
        const res = await tenant.post('/v1/webhooks', JSON.stringify({ url: URL_OK }), {
          'content-type': type,
        });
        expectError(res, 415, 'unsupported_media_type', 'content-type');
      }
      const withCharset = await tenant.post('/v1/webhooks', JSON.stringify({ url: URL_OK }), {
        'content-type': 'application/json; charset=utf-8',
      });
      expect(withCharset.status).toBe(201);
    });

    it('a body over 256 KiB → 413, a 1 MB string → 413', async () => {
      const many = JSON.stringify({
        url: URL_OK,
        metadata: Object.fromEntries(Array.from({ length: 30_000 }, (_, i) => [`k${i}`, i])),
      });
      expect(many.length).toBeGreaterThan(256 * 1024);
      expectError(await tenant.post('/v1/webhooks', many), 413, 'payload_too_large');
      expectError(await tenant.post('/v1/webhooks', big(1024 * 1024)), 413, 'payload_too_large');
      expectError(
        await t.admin.post('/v1/tenants', { name: 'x'.repeat(1024 * 1024) }),
        413,
        'payload_too_large',
      );
      // Just under the limit is parsed (and refused by the field's own length rule).
      expectError(
        await tenant.post('/v1/webhooks', big(250 * 1024)),
        422,
        'validation_failed',
        'description',
      );
    });

    it('NUL in a string or a key → 422 naming the field', async () => {
      const cases: [string, unknown, string, ApiClient][] = [
        ['/v1/webhooks', { url: `${URL_OK}/\u0000` }, 'url', tenant],
        ['/v1/webhooks', { url: URL_OK, description: 'a\u0000b' }, 'description', tenant],
        ['/v1/webhooks', { url: URL_OK, metadata: { 'k\u0000': 1 } }, 'metadata', tenant],
        ['/v1/webhooks', { url: URL_OK, headers: { 'X-A': '\u0000' } }, 'headers', tenant],
        ['/v1/tenants', { name: 'a\u0000' }, 'name', t.admin],
        ['/v1/event-types', { name: 'x.y', description: '\u0000' }, 'description', t.admin],
      ];
      for (const [path, body, field, client] of cases) {
        expectError(await client.post(path, body), 422, 'validation_failed', field);
      }
    });

    it('deep nesting → 4xx, never 500', async () => {
      const depth = 10_000;
      const deepObject = `{"url":"${URL_OK}","metadata":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
      const deepArray = `${'['.repeat(depth)}${']'.repeat(depth)}`;
      for (const text of [deepObject, deepArray]) {
        for (const [client, path] of [
          [tenant, '/v1/webhooks'],
          [t.admin, '/v1/event-types'],
          [t.admin, '/v1/tenants'],
        ] as const) {
          const res = await client.post(path, text);
          expect(res.status, JSON.stringify(res.body)).toBeGreaterThanOrEqual(400);
          expect(res.status).toBeLessThan(500);
          expect(res.body.error.code).toMatch(/^(validation_failed|invalid_json|payload_too_large)$/);
        }
      }
      // A schema that nests deeply is refused the same way.
      const deepSchema = `{"name":"deep.schema","schema":${'{"items":'.repeat(depth)}{}${'}'.repeat(depth)}}`;
      const res = await t.admin.post('/v1/event-types', deepSchema);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    });

    it('the server is still healthy afterwards', async () => {
      expect((await t.admin.get('/healthz')).status).toBe(200);
      expect((await t.admin.get('/readyz')).status).toBe(200);
      expect((await tenant.get('/v1/webhooks')).status).toBe(200);
    });
  });
});

describe('validation in production mode', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ dev: false });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('refuses http:// and accepts https://', async () => {
    for (const url of ['http://example.com/hooks', 'http://1.1.1.1/hooks']) {
      expectError(await t.admin.post('/v1/webhooks', { url }), 422, 'validation_failed', 'url');
      expectError(
        await t.admin.post('/v1/webhooks', { callbackUrl: url }),
        422,
        'validation_failed',
        'callbackUrl',
      );
    }
    const ok = await t.admin.post('/v1/webhooks', { url: 'https://1.1.1.1/hooks' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expectError(
      await t.admin.patch(`/v1/webhooks/${ok.body.id}`, { url: 'http://1.1.1.1/x' }),
      422,
      'validation_failed',
      'url',
    );
  });
});
