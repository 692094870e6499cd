import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyRateLimiter } from '../../src/api/rate-limit.js';
import { ConfigError, resolveConfig } from '../../src/server/config.js';
import type { ApiClient, ApiResponse } from '../support/api-client.js';
import { expectError } from '../support/expect-error.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

describe('token bucket', () => {
  it('lets a burst through, then one request per 1/rate seconds, with an integer wait of at least 1 s', () => {
    let now = 0;
    const limiter = new KeyRateLimiter({ perSec: 2, burst: 4 }, { nowMs: () => now });
    for (let i = 0; i < 4; i++) expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(1);
    now += 499;
    expect(limiter.take('a')).toBe(1);
    now += 1;
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(1);
    now += 60_000; // refills to the burst, never beyond
    for (let i = 0; i < 4; i++) expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(1);
  });

  it('asks for longer waits when the rate is below one per second', () => {
    let now = 0;
    const limiter = new KeyRateLimiter({ perSec: 1 / 3 + 1e-9, burst: 1 }, { nowMs: () => now });
    expect(limiter.take('k')).toBe(0);
    expect(limiter.take('k')).toBe(3);
    now += 1000;
    expect(limiter.take('k')).toBe(2);
  });

  it('keeps keys apart and its memory bounded', () => {
    let now = 0;
    const limiter = new KeyRateLimiter({ perSec: 1, burst: 1 }, { nowMs: () => now, maxKeys: 3 });
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(1);
    expect(limiter.take('b')).toBe(0);
    for (let i = 0; i < 1000; i++) limiter.take(`k${i}`);
    expect(limiter.size).toBe(3);
    now += 1;
    expect(limiter.take('k999')).toBe(1); // recently used: still tracked
  });

  it('is configured by HOOKLINE_API_RATE_LIMIT', () => {
    expect(resolveConfig({}, {}).apiRateLimit).toEqual({ perSec: 100, burst: 200 });
    expect(resolveConfig({}, { HOOKLINE_API_RATE_LIMIT: '50/80' }).apiRateLimit).toEqual({
      perSec: 50,
      burst: 80,
    });
    expect(resolveConfig({}, { HOOKLINE_API_RATE_LIMIT: '50' }).apiRateLimit).toEqual({
      perSec: 50,
      burst: 100,
    });
    expect(resolveConfig({}, { HOOKLINE_API_RATE_LIMIT: 'off' }).apiRateLimit).toBeNull();
    for (const bad of ['0', '0/10', '10/0', 'fast', '1.5/3', '10/', '-1/2']) {
      expect(() => resolveConfig({}, { HOOKLINE_API_RATE_LIMIT: bad }), bad).toThrow(ConfigError);
      expect(() => resolveConfig({}, { HOOKLINE_API_RATE_LIMIT: bad }), bad).toThrow(
        /HOOKLINE_API_RATE_LIMIT/,
      );
    }
  });
});

function expectSecurityHeaders(res: ApiResponse, what: string): void {
  expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
  expect(res.headers.get('x-frame-options'), what).toBe('DENY');
  expect(res.headers.get('referrer-policy'), what).toBe('no-referrer');
  expect(res.headers.get('content-security-policy'), what).toBe("default-src 'none'; frame-ancestors 'none'");
}

/** Sends `GET path` until the first 429 (at most `max` tries); answers the 429 and how many passed. */
async function drain(
  client: ApiClient,
  path: string,
  max = 50,
): Promise<{ passed: number; limited: ApiResponse }> {
  for (let passed = 0; passed < max; passed++) {
    const res = await client.get(path);
    if (res.status === 429) return { passed, limited: res };
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }
  throw new Error(`no 429 after ${max} requests`);
}

describe('per-key rate limit and security headers on a server', () => {
  let t: TestServer;
  let tenant: ApiClient;
  beforeAll(async () => {
    t = await startTestServer({ dev: false, env: { HOOKLINE_API_RATE_LIMIT: '1/5' } });
    const tn = await t.admin.post('/v1/tenants', { id: 'acme', name: 'Acme' });
    expect(tn.status).toBe(201);
    const key = await t.admin.post('/v1/tenants/acme/keys', {});
    expect(key.status).toBe(201);
    tenant = t.admin.withKey(key.body.key);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers 429 rate_limited with Retry-After after the burst, per key', async () => {
    const admin = await drain(t.admin, '/v1/webhooks');
    expect(admin.passed).toBeGreaterThanOrEqual(1);
    expect(admin.passed).toBeLessThanOrEqual(5);
    expectError(admin.limited, 429, 'rate_limited', 'authorization');
    const retryAfter = admin.limited.headers.get('retry-after') ?? '';
    expect(retryAfter).toMatch(/^[1-9]\d*$/);
    expectSecurityHeaders(admin.limited, '429');

    // The tenant's key has its own bucket: the admin's exhaustion does not touch it.
    const own = await drain(tenant, '/v1/webhooks');
    expect(own.passed).toBeGreaterThanOrEqual(5);
    expectError(own.limited, 429, 'rate_limited');
    expect(Number(own.limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    // Operational routes need no key and are not limited; an unknown key is 401, not 429.
    for (let i = 0; i < 10; i++) expect((await t.admin.get('/healthz')).status).toBe(200);
    expectError(await t.admin.withKey('hk_nope_0123456789').get('/v1/webhooks'), 401, 'unauthorized');
  });

  it('sends the security headers on every kind of answer', async () => {
    const anon = t.admin.withKey(null);
    const answers: [string, ApiResponse][] = [
      ['healthz', await anon.get('/healthz')],
      ['readyz', await anon.get('/readyz')],
      ['metrics', await anon.get('/metrics')],
      ['openapi', await anon.get('/openapi.json')],
      ['401', await anon.get('/v1/webhooks')],
      ['404 route', await anon.get('/no/such/route')],
      ['invalid json', await anon.post('/v1/webhooks', '{')],
    ];
    for (const [what, res] of answers) expectSecurityHeaders(res, `${what} (${res.status})`);
  });
});

describe('security headers on a dev-mode server, rate limit off', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ env: { HOOKLINE_API_RATE_LIMIT: 'off' } });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('sends them on 2xx, 4xx and 422 answers, and never limits', async () => {
    const created = await t.admin.post('/v1/webhooks', { url: 'http://127.0.0.1:9/x' });
    expect(created.status).toBe(201);
    expectSecurityHeaders(created, '201');
    expectSecurityHeaders(await t.admin.get(`/v1/webhooks/${created.body.id}`), '200');
    expectSecurityHeaders(await t.admin.get('/v1/webhooks/wh_nope'), '404');
    expectSecurityHeaders(await t.admin.post('/v1/webhooks', { url: 'ftp://x' }), '422');
    expectSecurityHeaders(await t.admin.delete(`/v1/webhooks/${created.body.id}`), '204');
    const statuses = await Promise.all(Array.from({ length: 300 }, () => t.admin.get('/healthz')));
    expect(statuses.every((r) => r.status === 200)).toBe(true);
    for (let i = 0; i < 250; i++) expect((await t.admin.get('/v1/event-types')).status).toBe(200);
  });
});
