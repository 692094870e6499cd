/**
 * Generated hostile input against a representative set of routes: arbitrary JSON, strings with NUL,
 * lone surrogates and huge lengths, raw bytes, garbage header values and query strings. The contract:
 * never a 5xx, every 4xx carries {"error":{"code","message"}}, and the server keeps answering.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispatcherOf } from '../delivery/helpers.js';
import { startTestServer, TEST_ADMIN_KEY, type TestServer } from '../support/test-server.js';

const RUNS = 100;

/** Strings that hurt: any code unit (lone surrogates included), NUL, and occasionally very long. */
const nasty: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({
    unit: fc.constantFrom('\u0000', '\uD800', '\uDFFF', '\uFFFF', 'a', '/', '%', '.'),
    maxLength: 20,
  }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 30 }),
  fc.constantFrom('', ' ', 'x'.repeat(70_000), '\u0000'.repeat(5000), '\uD800'.repeat(3000), '*', 'http://'),
);

/** Any JSON-ish value, strings drawn from `nasty` too. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  nasty,
  fc.array(nasty, { maxLength: 5 }),
  fc.dictionary(nasty, nasty, { maxKeys: 4 }),
  fc.constantFrom(null, true, 0, -1, 1e308, -0, 2 ** 53 + 1, 1.5),
);

/** An object with the fields a route knows, each possibly present with any value, plus extras. */
function shaped(keys: string[]): fc.Arbitrary<unknown> {
  const fields = Object.fromEntries(keys.map((k) => [k, anyValue]));
  return fc.oneof(
    fc.record(fields, { requiredKeys: [] }),
    fc
      .tuple(fc.record(fields, { requiredKeys: [] }), fc.dictionary(nasty, anyValue, { maxKeys: 3 }))
      .map(([a, b]) => ({ ...b, ...a })),
    anyValue,
  );
}

/** A request body: JSON of a generated value, or raw text / bytes that may not be JSON at all. */
function bodyOf(keys: string[]): fc.Arbitrary<string | Uint8Array> {
  return fc.oneof(
    { weight: 6, arbitrary: shaped(keys).map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 1, arbitrary: nasty },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
  );
}

/** A header value fetch accepts (no CR/LF/NUL, bytes ≤ 0xFF), otherwise arbitrary. */
const headerValue: fc.Arbitrary<string> = fc
  .string({
    unit: fc
      .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }), fc.constant(0x09))
      .map((c) => String.fromCharCode(c)),
    maxLength: 300,
  })
  .map((s) => s.trim());

const extraHeaders: fc.Arbitrary<Record<string, string>> = fc.record(
  {
    'content-type': fc.oneof(
      fc.constantFrom('application/json', 'application/json; charset=utf-16', 'text/plain', ''),
      headerValue,
    ),
    'idempotency-key': headerValue,
    'x-request-id': headerValue,
    accept: headerValue,
  },
  { requiredKeys: [] },
);

const queryString: fc.Arbitrary<string> = fc
  .dictionary(
    fc.oneof(fc.constantFrom('limit', 'cursor', 'status', 'type', 'since', 'until', 'message_id'), nasty),
    fc.oneof(nasty, fc.integer().map(String), fc.constantFrom('-1', '0', '251', '1e3', 'NaN', '%', '%zz')),
    { maxKeys: 4 },
  )
  .map((q) =>
    Object.entries(q)
      .map(
        ([k, v]) =>
          `${encodeURIComponent(k.replace(/[\uD800-\uDFFF]/g, '?'))}=${encodeURIComponent(v.replace(/[\uD800-\uDFFF]/g, '?'))}`,
      )
      .join('&'),
  )
  .chain((q) => fc.oneof(fc.constant(q), fc.constantFrom('%', '%zz&limit=%ff', 'limit=1&limit=2', '&&==&')));

interface Sent {
  method: string;
  path: string;
  status: number;
  text: string;
}

describe('property: hostile input never breaks the contract', () => {
  let t: TestServer;
  let webhookId: string;
  let eventType: string;

  beforeAll(async () => {
    t = await startTestServer({ env: { HOOKLINE_API_RATE_LIMIT: 'off' } });
    // Generated webhooks may name arbitrary URLs: nothing is delivered during this suite.
    await dispatcherOf(t).stop(0);
    eventType = 'prop.test';
    expect((await t.admin.post('/v1/event-types', { name: eventType })).status).toBe(201);
    const w = await t.admin.post('/v1/webhooks', { url: 'http://127.0.0.1:9/hook', events: [eventType] });
    expect(w.status).toBe(201);
    webhookId = w.body.id;
  });
  afterAll(async () => t?.stop());

  async function send(
    method: string,
    path: string,
    body?: string | Uint8Array,
    headers: Record<string, string> = {},
  ): Promise<Sent> {
    const h: Record<string, string> = { authorization: `Bearer ${TEST_ADMIN_KEY}` };
    if (body !== undefined) h['content-type'] = 'application/json';
    Object.assign(h, headers);
    if (h['content-type'] === '') delete h['content-type'];
    const res = await fetch(t.server.url + path, { method, headers: h, body });
    return { method, path, status: res.status, text: await res.text() };
  }

  function checkContract(r: Sent): void {
    const what = `${r.method} ${r.path.slice(0, 200)} → ${r.status} ${r.text.slice(0, 300)}`;
    expect(r.status, what).toBeLessThan(500);
    if (r.status >= 400) {
      const parsed = JSON.parse(r.text);
      expect(parsed, what).toEqual({
        error: { code: expect.any(String), message: expect.any(String) },
      });
    }
  }

  async function property(
    gen: fc.Arbitrary<[string | Uint8Array, Record<string, string>]>,
    method: string,
    path: () => string,
  ): Promise<void> {
    await fc.assert(
      fc.asyncProperty(gen, async ([body, headers]) => {
        checkContract(await send(method, path(), body, headers));
      }),
      { numRuns: RUNS },
    );
    expect((await fetch(`${t.server.url}/healthz`)).status).toBe(200);
  }

  const WEBHOOK_KEYS = [
    'url',
    'events',
    'description',
    'secret',
    'headers',
    'auth',
    'timeout_ms',
    'rate_limit_per_sec',
    'status',
    'metadata',
    'filter',
  ];

  it('POST /v1/webhooks', async () => {
    await property(fc.tuple(bodyOf(WEBHOOK_KEYS), extraHeaders), 'POST', () => '/v1/webhooks');
  });

  it('PATCH /v1/webhooks/:id', async () => {
    await property(fc.tuple(bodyOf(WEBHOOK_KEYS), extraHeaders), 'PATCH', () => `/v1/webhooks/${webhookId}`);
  });

  it('POST /v1/tenants', async () => {
    await property(fc.tuple(bodyOf(['id', 'name']), extraHeaders), 'POST', () => '/v1/tenants');
  });

  it('POST /v1/event-types', async () => {
    await property(
      fc.tuple(bodyOf(['name', 'description', 'schema', 'payload_schema', 'deprecated']), extraHeaders),
      'POST',
      () => '/v1/event-types',
    );
  });

  it('POST /v1/messages (with generated idempotency keys)', async () => {
    const body = fc.oneof(
      bodyOf(['type', 'data', 'id', 'event_id', 'timestamp']),
      fc.record({ type: fc.constant(eventType), data: anyValue }).map((v) => JSON.stringify(v)),
    );
    await property(fc.tuple(body, extraHeaders), 'POST', () => '/v1/messages');
  });

  it('GET list routes with generated query strings and ids', async () => {
    const lists = ['/v1/webhooks', '/v1/tenants', '/v1/event-types', '/v1/messages', '/v1/deliveries'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...lists), queryString, extraHeaders, async (route, q, headers) => {
        checkContract(await send('GET', `${route}?${q}`, undefined, headers));
      }),
      { numRuns: RUNS * 2 },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...lists), nasty, async (route, id) => {
        checkContract(
          await send('GET', `${route}/${encodeURIComponent(id.replace(/[\uD800-\uDFFF]/g, '?'))}`),
        );
      }),
      { numRuns: RUNS },
    );
    expect((await fetch(`${t.server.url}/healthz`)).status).toBe(200);
  });

  it('a URL or headers over 16 KiB get 431 in the contract shape (Node rejects them before Fastify)', async () => {
    for (const init of [
      { path: `/v1/webhooks?cursor=${'x'.repeat(70_000)}`, headers: {} },
      { path: '/v1/webhooks', headers: { 'x-pad': 'y'.repeat(20_000) } },
    ]) {
      const res = await fetch(t.server.url + init.path, {
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, ...init.headers },
      });
      expect(res.status).toBe(431);
      expect(await res.json()).toEqual({ error: { code: 'payload_too_large', message: expect.any(String) } });
    }
    expect((await fetch(`${t.server.url}/healthz`)).status).toBe(200);
  });

  it('garbage Authorization headers get 401 in the contract shape', async () => {
    await fc.assert(
      fc.asyncProperty(headerValue, async (auth) => {
        const res = await fetch(`${t.server.url}/v1/webhooks`, { headers: { authorization: auth } });
        const r = { method: 'GET', path: '/v1/webhooks', status: res.status, text: await res.text() };
        checkContract(r);
        expect(r.status, r.text).toBe(401);
      }),
      { numRuns: RUNS },
    );
  });
});
