import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../support/api-client.js';
import { expectError } from '../support/expect-error.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/** Every validation rule of API.md, one row each: what is sent, and the field the 422 must name. */
interface Case {
  name: string;
  method?: 'POST' | 'PATCH' | 'GET';
  /** `{wh}` is replaced by a webhook created in beforeAll. */
  path: string;
  body?: unknown;
  status?: number;
  code?: string;
  field: string;
}

const URL_OK = 'https://example.com/hooks';
const b64 = (bytes: number) => `whsec_${Buffer.alloc(bytes, 7).toString('base64')}`;
const manyHeaders = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`X-H${i}`, 'v']));
const hook = (extra: Record<string, unknown>) => ({ url: URL_OK, ...extra });
const RESERVED = [
  'host',
  'Content-Length',
  'content-type',
  'Transfer-Encoding',
  'connection',
  'User-Agent',
  'Authorization',
  'webhook-id',
  'Webhook-Signature',
  'webhook-timestamp',
  'WEBHOOK-anything',
];

const tenantCases: Case[] = [
  { name: 'tenant name missing', path: '/v1/tenants', body: {}, field: 'name' },
  { name: 'tenant name not a string', path: '/v1/tenants', body: { name: 5 }, field: 'name' },
  { name: 'tenant name empty', path: '/v1/tenants', body: { name: '' }, field: 'name' },
  { name: 'tenant unknown field', path: '/v1/tenants', body: { name: 'A', plan: 'gold' }, field: 'plan' },
  { name: 'tenant id with a space', path: '/v1/tenants', body: { id: 'a b', name: 'A' }, field: 'id' },
  { name: 'tenant id with a dot', path: '/v1/tenants', body: { id: 'a.b', name: 'A' }, field: 'id' },
  { name: 'tenant id with a slash', path: '/v1/tenants', body: { id: 'a/b', name: 'A' }, field: 'id' },
  { name: 'tenant id empty', path: '/v1/tenants', body: { id: '', name: 'A' }, field: 'id' },
  { name: 'tenant id 65 chars', path: '/v1/tenants', body: { id: 'a'.repeat(65), name: 'A' }, field: 'id' },
  { name: 'tenant id not a string', path: '/v1/tenants', body: { id: 7, name: 'A' }, field: 'id' },
  {
    name: 'tenant patch name type',
    method: 'PATCH',
    path: '/v1/tenants/default',
    body: { name: 1 },
    field: 'name',
  },
  {
    name: 'tenant patch unknown',
    method: 'PATCH',
    path: '/v1/tenants/default',
    body: { id: 'x' },
    field: 'id',
  },
  { name: 'key name not a string', path: '/v1/tenants/default/keys', body: { name: 5 }, field: 'name' },
  { name: 'key unknown field', path: '/v1/tenants/default/keys', body: { scope: 'all' }, field: 'scope' },
];

const eventTypeCases: Case[] = [
  { name: 'type name missing', path: '/v1/event-types', body: {}, field: 'name' },
  { name: 'type name not a string', path: '/v1/event-types', body: { name: 1 }, field: 'name' },
  { name: 'type name empty', path: '/v1/event-types', body: { name: '' }, field: 'name' },
  ...['a..b', '.a', 'a.', 'a b', 'a/b', 'a.*', '*', 'ä.b', 'a:b'].map((name) => ({
    name: `type name ${JSON.stringify(name)}`,
    path: '/v1/event-types',
    body: { name },
    field: 'name',
  })),
  { name: 'type name 129 chars', path: '/v1/event-types', body: { name: 'a'.repeat(129) }, field: 'name' },
  { name: 'type unknown field', path: '/v1/event-types', body: { name: 'x.y', tags: [] }, field: 'tags' },
  {
    name: 'type description',
    path: '/v1/event-types',
    body: { name: 'x.y', description: 5 },
    field: 'description',
  },
  {
    name: 'type bad schema',
    path: '/v1/event-types',
    body: { name: 'x.y', schema: { type: 'nope' } },
    field: 'schema',
  },
  {
    name: 'type example not matching schema',
    path: '/v1/event-types',
    body: { name: 'x.y', schema: { type: 'object', required: ['n'] }, example: {} },
    field: 'example',
  },
  {
    name: 'type patch archived',
    method: 'PATCH',
    path: '/v1/event-types/invoice.paid',
    body: { archived: 'y' },
    field: 'archived',
  },
  {
    name: 'type patch name',
    method: 'PATCH',
    path: '/v1/event-types/invoice.paid',
    body: { name: 'z' },
    field: 'name',
  },
];

const webhookCases: Case[] = [
  { name: 'url missing', path: '/v1/webhooks', body: {}, field: 'url' },
  { name: 'url not a string', path: '/v1/webhooks', body: { url: 5 }, field: 'url' },
  { name: 'url relative', path: '/v1/webhooks', body: { url: '/hooks' }, field: 'url' },
  { name: 'url without scheme', path: '/v1/webhooks', body: { url: 'example.com/hooks' }, field: 'url' },
  { name: 'url ftp', path: '/v1/webhooks', body: { url: 'ftp://example.com/x' }, field: 'url' },
  { name: 'url javascript', path: '/v1/webhooks', body: { url: 'javascript:alert(1)' }, field: 'url' },
  {
    name: 'url credentials',
    path: '/v1/webhooks',
    body: { url: 'https://user:pass@example.com/' },
    field: 'url',
  },
  { name: 'url user only', path: '/v1/webhooks', body: { url: 'https://user@example.com/' }, field: 'url' },
  {
    name: 'url 2049 chars',
    path: '/v1/webhooks',
    body: { url: `${URL_OK}/${'a'.repeat(2023)}` },
    field: 'url',
  },
  {
    name: 'url 5000 chars',
    path: '/v1/webhooks',
    body: { url: `${URL_OK}/${'a'.repeat(5000)}` },
    field: 'url',
  },
  {
    name: 'callbackUrl ftp',
    path: '/v1/webhooks',
    body: { callbackUrl: 'ftp://x.com/' },
    field: 'callbackUrl',
  },
  { name: 'unknown field', path: '/v1/webhooks', body: hook({ colour: 'red' }), field: 'colour' },
  { name: 'status on create', path: '/v1/webhooks', body: hook({ status: 'ACTIVE' }), field: 'status' },
  { name: 'description type', path: '/v1/webhooks', body: hook({ description: 5 }), field: 'description' },
  { name: 'events not a list', path: '/v1/webhooks', body: hook({ events: 'a.b' }), field: 'events' },
  { name: 'events item type', path: '/v1/webhooks', body: hook({ events: [5] }), field: 'events[0]' },
  ...['bad pattern', 'a.*.b', '*.a', 'a*', 'a.**', '', '.*'].map((p) => ({
    name: `events pattern ${JSON.stringify(p)}`,
    path: '/v1/webhooks',
    body: hook({ events: ['invoice.paid', p] }),
    field: 'events[1]',
  })),
  {
    name: 'events 101 items',
    path: '/v1/webhooks',
    body: hook({ events: Array.from({ length: 101 }, (_, i) => `p${i}.*`) }),
    field: 'events',
  },
  {
    name: 'events unknown exact name',
    path: '/v1/webhooks',
    body: hook({ events: ['invoice.paid', 'no.such.type'] }),
    code: 'unknown_event_type',
    field: 'events[1]',
  },
  { name: 'secret type', path: '/v1/webhooks', body: hook({ secret: 5 }), field: 'secret' },
  {
    name: 'secret whsec not base64',
    path: '/v1/webhooks',
    body: hook({ secret: 'whsec_!!!!not-base64!!!!' }),
    field: 'secret',
  },
  { name: 'secret whsec 23 bytes', path: '/v1/webhooks', body: hook({ secret: b64(23) }), field: 'secret' },
  { name: 'secret whsec 65 bytes', path: '/v1/webhooks', body: hook({ secret: b64(65) }), field: 'secret' },
  { name: 'secret whsec empty', path: '/v1/webhooks', body: hook({ secret: 'whsec_' }), field: 'secret' },
  {
    name: 'secret plain 15 chars',
    path: '/v1/webhooks',
    body: hook({ secret: 'x'.repeat(15) }),
    field: 'secret',
  },
  {
    name: 'secret plain 129 chars',
    path: '/v1/webhooks',
    body: hook({ secret: 'x'.repeat(129) }),
    field: 'secret',
  },
  {
    name: 'secret plain 300 chars',
    path: '/v1/webhooks',
    body: hook({ secret: 'x'.repeat(300) }),
    field: 'secret',
  },
  { name: 'auth not an object', path: '/v1/webhooks', body: hook({ auth: 'u:p' }), field: 'auth' },
  {
    name: 'auth without password',
    path: '/v1/webhooks',
    body: hook({ auth: { username: 'u' } }),
    field: 'auth.password',
  },
  {
    name: 'auth unknown field',
    path: '/v1/webhooks',
    body: hook({ auth: { username: 'u', password: 'p', x: 1 } }),
    field: 'auth.x',
  },
  {
    name: 'auth username with colon',
    path: '/v1/webhooks',
    body: hook({ auth: { username: 'a:b', password: 'p' } }),
    field: 'username',
  },
  {
    name: 'authPassword alone',
    path: '/v1/webhooks',
    body: hook({ authPassword: 'p' }),
    field: 'authUsername',
  },
  { name: 'authUsername type', path: '/v1/webhooks', body: hook({ authUsername: 5 }), field: 'authUsername' },
  { name: 'headers not an object', path: '/v1/webhooks', body: hook({ headers: ['X-A'] }), field: 'headers' },
  { name: 'headers 21', path: '/v1/webhooks', body: hook({ headers: manyHeaders(21) }), field: 'headers' },
  {
    name: 'header value type',
    path: '/v1/webhooks',
    body: hook({ headers: { 'X-A': 5 } }),
    field: 'headers.X-A',
  },
  {
    name: 'header name with space',
    path: '/v1/webhooks',
    body: hook({ headers: { 'X A': 'v' } }),
    field: 'headers',
  },
  {
    name: 'header name with colon',
    path: '/v1/webhooks',
    body: hook({ headers: { 'X:A': 'v' } }),
    field: 'headers',
  },
  { name: 'header name empty', path: '/v1/webhooks', body: hook({ headers: { '': 'v' } }), field: 'headers' },
  {
    name: 'header name non-ascii',
    path: '/v1/webhooks',
    body: hook({ headers: { 'X-Ä': 'v' } }),
    field: 'headers',
  },
  {
    name: 'header value CRLF',
    path: '/v1/webhooks',
    body: hook({ headers: { 'X-A': 'a\r\nX-B: b' } }),
    field: 'headers.X-A',
  },
  {
    name: 'header value LF',
    path: '/v1/webhooks',
    body: hook({ headers: { 'X-A': 'a\nb' } }),
    field: 'headers.X-A',
  },
  {
    name: 'header value CR',
    path: '/v1/webhooks',
    body: hook({ headers: { 'X-A': 'a\rb' } }),
    field: 'headers.X-A',
  },
  ...RESERVED.map((h) => ({
    name: `reserved header ${h}`,
    path: '/v1/webhooks',
    body: hook({ headers: { 'X-Ok': 'v', [h]: 'v' } }),
    field: `headers.${h}`,
  })),
  {
    name: 'timeout_ms as string',
    path: '/v1/webhooks',
    body: hook({ timeout_ms: '5000' }),
    field: 'timeout_ms',
  },
  { name: 'timeout_ms 999', path: '/v1/webhooks', body: hook({ timeout_ms: 999 }), field: 'timeout_ms' },
  { name: 'timeout_ms 30001', path: '/v1/webhooks', body: hook({ timeout_ms: 30001 }), field: 'timeout_ms' },
  {
    name: 'timeout_ms fraction',
    path: '/v1/webhooks',
    body: hook({ timeout_ms: 1500.5 }),
    field: 'timeout_ms',
  },
  { name: 'timeout_ms null', path: '/v1/webhooks', body: hook({ timeout_ms: null }), field: 'timeout_ms' },
  {
    name: 'rate limit 0',
    path: '/v1/webhooks',
    body: hook({ rate_limit_per_sec: 0 }),
    field: 'rate_limit_per_sec',
  },
  {
    name: 'rate limit 10001',
    path: '/v1/webhooks',
    body: hook({ rate_limit_per_sec: 10001 }),
    field: 'rate_limit_per_sec',
  },
  {
    name: 'rate limit string',
    path: '/v1/webhooks',
    body: hook({ rate_limit_per_sec: '5' }),
    field: 'rate_limit_per_sec',
  },
  {
    name: 'rate limit fraction',
    path: '/v1/webhooks',
    body: hook({ rate_limit_per_sec: 1.5 }),
    field: 'rate_limit_per_sec',
  },
  {
    name: 'retry_schedule scalar',
    path: '/v1/webhooks',
    body: hook({ retry_schedule: 60 }),
    field: 'retry_schedule',
  },
  {
    name: 'retry_schedule item 0',
    path: '/v1/webhooks',
    body: hook({ retry_schedule: [60, 0] }),
    field: 'retry_schedule[1]',
  },
  {
    name: 'retry_schedule item 259201',
    path: '/v1/webhooks',
    body: hook({ retry_schedule: [259201] }),
    field: 'retry_schedule[0]',
  },
  {
    name: 'retry_schedule item string',
    path: '/v1/webhooks',
    body: hook({ retry_schedule: ['60'] }),
    field: 'retry_schedule[0]',
  },
  {
    name: 'retry_schedule item fraction',
    path: '/v1/webhooks',
    body: hook({ retry_schedule: [1.5] }),
    field: 'retry_schedule[0]',
  },
  {
    name: 'retry_schedule 21 items',
    path: '/v1/webhooks',
    body: hook({ retry_schedule: Array(21).fill(1) }),
    field: 'retry_schedule',
  },
  {
    name: 'signature_header type',
    path: '/v1/webhooks',
    body: hook({ signature_header: 5 }),
    field: 'signature_header',
  },
  {
    name: 'signature_header bad name',
    path: '/v1/webhooks',
    body: hook({ signature_header: 'X Sig' }),
    field: 'signature_header',
  },
  {
    name: 'signature_header empty',
    path: '/v1/webhooks',
    body: hook({ signature_header: '' }),
    field: 'signature_header',
  },
  {
    name: 'signature_header reserved',
    path: '/v1/webhooks',
    body: hook({ signature_header: 'webhook-signature' }),
    field: 'signature_header',
  },
  { name: 'metadata not an object', path: '/v1/webhooks', body: hook({ metadata: 'x' }), field: 'metadata' },
  { name: 'metadata array', path: '/v1/webhooks', body: hook({ metadata: [1] }), field: 'metadata' },
  // The same rules on PATCH, and the fields only PATCH or rotate-secret take.
  {
    name: 'patch url ftp',
    method: 'PATCH',
    path: '/v1/webhooks/{wh}',
    body: { url: 'ftp://x.com/' },
    field: 'url',
  },
  {
    name: 'patch timeout 999',
    method: 'PATCH',
    path: '/v1/webhooks/{wh}',
    body: { timeout_ms: 999 },
    field: 'timeout_ms',
  },
  {
    name: 'patch header CRLF',
    method: 'PATCH',
    path: '/v1/webhooks/{wh}',
    body: { headers: { A: '\r\n' } },
    field: 'headers.A',
  },
  {
    name: 'patch unknown event',
    method: 'PATCH',
    path: '/v1/webhooks/{wh}',
    body: { events: ['nope.nope'] },
    code: 'unknown_event_type',
    field: 'events[0]',
  },
  {
    name: 'patch status SUSPENDED',
    method: 'PATCH',
    path: '/v1/webhooks/{wh}',
    body: { status: 'SUSPENDED' },
    field: 'status',
  },
  {
    name: 'patch status bogus',
    method: 'PATCH',
    path: '/v1/webhooks/{wh}',
    body: { status: 'PAUSED' },
    field: 'status',
  },
  {
    name: 'patch secret',
    method: 'PATCH',
    path: '/v1/webhooks/{wh}',
    body: { secret: 'x'.repeat(20) },
    field: 'secret',
  },
  {
    name: 'patch unknown field',
    method: 'PATCH',
    path: '/v1/webhooks/{wh}',
    body: { id: 'wh_x' },
    field: 'id',
  },
  {
    name: 'rotate short secret',
    path: '/v1/webhooks/{wh}/rotate-secret',
    body: { secret: 'short' },
    field: 'secret',
  },
  {
    name: 'rotate whsec 23 bytes',
    path: '/v1/webhooks/{wh}/rotate-secret',
    body: { secret: b64(23) },
    field: 'secret',
  },
  { name: 'rotate unknown field', path: '/v1/webhooks/{wh}/rotate-secret', body: { key: 'x' }, field: 'key' },
];

const queryCases: Case[] = ['/v1/webhooks', '/v1/tenants', '/v1/event-types'].flatMap((p) => [
  ...['0', '251', 'abc', '-1', '1.5'].map((v) => ({
    name: `${p}?limit=${v}`,
    method: 'GET' as const,
    path: `${p}?limit=${v}`,
    field: 'limit',
  })),
  { name: `${p}?cursor=garbage`, method: 'GET' as const, path: `${p}?cursor=garbage`, field: 'cursor' },
  { name: `${p}?bogus=1`, method: 'GET' as const, path: `${p}?bogus=1`, field: 'bogus' },
]);
queryCases.push({
  name: 'webhooks ?status=nope',
  method: 'GET',
  path: '/v1/webhooks?status=nope',
  field: 'status',
});

describe('validation', () => {
  let t: TestServer;
  /** Webhook rows go through a tenant key of `default`, so no single key sends every request. */
  let tenant: ApiClient;
  let wh: string;

  beforeAll(async () => {
    t = await startTestServer();
    expect((await t.admin.post('/v1/event-types', { name: 'invoice.paid' })).status).toBe(201);
    const key = await t.admin.post('/v1/tenants/default/keys', { name: 'validation' });
    tenant = t.admin.withKey(key.body.key);
    const created = await tenant.post('/v1/webhooks', { url: URL_OK });
    expect(created.status).toBe(201);
    wh = created.body.id;
  });
  afterAll(async () => {
    await t?.stop();
  });

  const run = (client: () => ApiClient) => async (c: Case) => {
    const res = await client().request(c.method ?? 'POST', c.path.replace('{wh}', wh), c.body);
    expectError(res, c.status ?? 422, c.code ?? 'validation_failed', c.field);
  };

  it.each(tenantCases)(
    'refuses $name',
    run(() => t.admin),
  );
  it.each(eventTypeCases)(
    'refuses $name',
    run(() => t.admin),
  );
  it.each(webhookCases)(
    'refuses $name',
    run(() => tenant),
  );
  it.each(queryCases)(
    'refuses $name',
    run(() => tenant),
  );

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
      { headers: { "X-Tok!#$%&'*+.^_`|~": 'tab\tis fine' } },
      { auth: { username: 'u', password: '' }, metadata: { nested: { a: [1, 'b', null] } } },
    ];
    for (const extra of accepted) {
      const res = await tenant.post('/v1/webhooks', { url: URL_OK, ...extra });
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
