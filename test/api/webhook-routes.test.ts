import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../support/api-client.js';
import { expectError } from '../support/expect-error.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const URL_OK = 'https://example.com/hooks';

describe('webhook routes', () => {
  let t: TestServer;
  let admin: ApiClient;
  beforeAll(async () => {
    t = await startTestServer();
    admin = t.admin;
    for (const name of ['invoice.paid', 'invoice.voided', 'user.created']) {
      expect((await admin.post('/v1/event-types', { name })).status).toBe(201);
    }
  });
  afterAll(async () => {
    await t?.stop();
  });

  describe('webhooks', () => {
    const full = {
      url: 'https://example.com/full',
      events: ['invoice.paid', 'user.*'],
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      description: 'prod handler',
      auth: { username: 'bubblegum', password: 'hello-secret-pw' },
      headers: { 'X-Env': 'prod' },
      timeout_ms: 7000,
      rate_limit_per_sec: 100,
      retry_schedule: [60, 300, 1800, 7200],
      signature_header: 'X-Webhook-Signature',
      metadata: { team: 'billing', n: 1 },
    };

    it('create with every field, then read, update and delete', async () => {
      const created = await admin.post('/v1/webhooks', full);
      expect(created.status).toBe(201);
      const { auth, ...rest } = full;
      expect(created.body).toMatchObject({ ...rest, auth: { username: 'bubblegum' }, status: 'ACTIVE' });
      expect(created.body.id).toMatch(/^wh_[0-9A-Z]{26}$/);
      expect(created.body.created_at).toMatch(ISO);
      expect(created.body.updated_at).toMatch(ISO);
      expect(created.body.stats).toEqual({
        last_success_at: null,
        last_failure_at: null,
        failing_since: null,
      });
      const id = created.body.id;

      const got = await admin.get(`/v1/webhooks/${id}`);
      expect(got.status).toBe(200);
      expect(got.body).not.toHaveProperty('secret');
      const { secret, ...withoutSecret } = created.body;
      expect(got.body).toEqual(withoutSecret);
      expect((await admin.get(`/v1/webhooks/${id}/secret`)).body).toEqual({ secret: full.secret });

      const patched = await admin.patch(`/v1/webhooks/${id}`, {
        description: null,
        timeout_ms: 1000,
        headers: {},
        rate_limit_per_sec: null,
        retry_schedule: null,
        signature_header: null,
        auth: null,
      });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({
        url: full.url,
        events: full.events,
        description: null,
        timeout_ms: 1000,
        headers: {},
        rate_limit_per_sec: null,
        retry_schedule: null,
        signature_header: null,
        auth: null,
        metadata: full.metadata,
      });
      expect(Date.parse(patched.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(created.body.updated_at));
      expect((await admin.get(`/v1/webhooks/${id}`)).body).toEqual(patched.body);
      expect((await admin.get(`/v1/webhooks/${id}/secret`)).body.secret).toBe(full.secret);

      expect((await admin.delete(`/v1/webhooks/${id}`)).status).toBe(204);
      for (const res of [
        await admin.get(`/v1/webhooks/${id}`),
        await admin.patch(`/v1/webhooks/${id}`, { description: 'x' }),
        await admin.delete(`/v1/webhooks/${id}`),
        await admin.get(`/v1/webhooks/${id}/secret`),
        await admin.post(`/v1/webhooks/${id}/rotate-secret`),
      ]) {
        expectError(res, 404, 'not_found');
      }
    });

    it('aliases callbackUrl / authUsername / authPassword; the password is never returned', async () => {
      const created = await admin.post('/v1/webhooks', {
        callbackUrl: 'https://example.com/alias',
        authUsername: 'alice',
        authPassword: 'p4ssw0rd-never-shown',
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ url: 'https://example.com/alias', auth: { username: 'alice' } });
      const id = created.body.id;
      const patched = await admin.patch(`/v1/webhooks/${id}`, { callbackUrl: 'https://example.com/moved' });
      expect(patched.body.url).toBe('https://example.com/moved');
      const renamed = await admin.patch(`/v1/webhooks/${id}`, { authUsername: 'bob' });
      expect(renamed.body.auth).toEqual({ username: 'bob' });
      const list = await admin.get('/v1/webhooks?limit=250');
      const answers = [created, patched, renamed, list, await admin.get(`/v1/webhooks/${id}`)];
      for (const res of answers) {
        const text = JSON.stringify(res.body);
        expect(text).not.toContain('p4ssw0rd-never-shown');
        expect(text).not.toContain('hello-secret-pw');
        expect(text).not.toContain('password');
      }
      const cleared = await admin.patch(`/v1/webhooks/${id}`, { authUsername: null });
      expect(cleared.body.auth).toBeNull();
    });

    it('unset optional fields are null or {}', async () => {
      const res = await admin.post('/v1/webhooks', { url: URL_OK });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        url: URL_OK,
        events: [],
        description: null,
        auth: null,
        headers: {},
        timeout_ms: 5000,
        rate_limit_per_sec: null,
        retry_schedule: null,
        signature_header: null,
        metadata: {},
        status: 'ACTIVE',
      });
      expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(res.body.secret.slice(6), 'base64')).toHaveLength(32);
      const keys = Object.keys(res.body).sort();
      expect(keys).toEqual(
        [...Object.keys(full), 'id', 'status', 'created_at', 'updated_at', 'stats']
          .filter((k) => k !== 'secret')
          .concat('secret')
          .sort(),
      );
    });

    it('rotate-secret with and without a given secret', async () => {
      const wh = (await admin.post('/v1/webhooks', { url: URL_OK })).body;
      const generated = await admin.post(`/v1/webhooks/${wh.id}/rotate-secret`);
      expect(generated.status).toBe(200);
      expect(generated.body.secret).toMatch(/^whsec_/);
      expect(generated.body.secret).not.toBe(wh.secret);
      expect((await admin.get(`/v1/webhooks/${wh.id}/secret`)).body.secret).toBe(generated.body.secret);

      const emptyBody = await admin.post(`/v1/webhooks/${wh.id}/rotate-secret`, {});
      expect(emptyBody.status).toBe(200);
      expect(emptyBody.body.secret).not.toBe(generated.body.secret);

      const chosen = 'my-own-secret-of-some-length';
      const given = await admin.post(`/v1/webhooks/${wh.id}/rotate-secret`, { secret: chosen });
      expect(given.status).toBe(200);
      expect(given.body).toEqual({ secret: chosen });
      expect((await admin.get(`/v1/webhooks/${wh.id}/secret`)).body).toEqual({ secret: chosen });
      expect((await admin.get(`/v1/webhooks/${wh.id}`)).body).not.toHaveProperty('secret');
    });

    it('PATCH status DISABLED / ACTIVE; SUSPENDED is refused', async () => {
      const wh = (await admin.post('/v1/webhooks', { url: URL_OK })).body;
      const disabled = await admin.patch(`/v1/webhooks/${wh.id}`, { status: 'DISABLED' });
      expect(disabled.status).toBe(200);
      expect(disabled.body.status).toBe('DISABLED');
      expect((await admin.get(`/v1/webhooks/${wh.id}`)).body.status).toBe('DISABLED');
      expectError(
        await admin.patch(`/v1/webhooks/${wh.id}`, { status: 'SUSPENDED' }),
        422,
        'validation_failed',
        'status',
      );
      const both = await admin.patch(`/v1/webhooks/${wh.id}`, { status: 'ACTIVE', description: 'back' });
      expect(both.status).toBe(200);
      expect(both.body).toMatchObject({ status: 'ACTIVE', description: 'back' });
      expect((await admin.patch(`/v1/webhooks/${wh.id}`, { status: 'ACTIVE' })).body.status).toBe('ACTIVE');
    });

    it('lists newest first across pages, and filters by status', async () => {
      await admin.post('/v1/tenants', { id: 'pager', name: 'Pager' });
      const base = '/v1/tenants/pager/webhooks';
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) ids.push((await admin.post(base, { url: `${URL_OK}/${i}` })).body.id);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: any = await admin.get(`${base}?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.status).toBe(200);
        expect(res.body.data.length).toBeLessThanOrEqual(3);
        seen.push(...res.body.data.map((w: { id: string }) => w.id));
        cursor = res.body.next_cursor;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(3);
      expect(seen).toEqual([...ids].reverse());
      const exact = await admin.get(`${base}?limit=7`);
      expect(exact.body.data).toHaveLength(7);
      expect(exact.body.next_cursor).toBeNull();
      expect((await admin.get(base)).body.data).toHaveLength(7);

      await admin.patch(`${base}/${ids[1]}`, { status: 'DISABLED' });
      await admin.patch(`${base}/${ids[4]}`, { status: 'DISABLED' });
      const disabled = await admin.get(`${base}?status=DISABLED`);
      expect(disabled.body.data.map((w: { id: string }) => w.id)).toEqual([ids[4], ids[1]]);
      const active = await admin.get(`${base}?status=ACTIVE&limit=2`);
      expect(active.body.data.map((w: { id: string }) => w.id)).toEqual([ids[6], ids[5]]);
      const rest = await admin.get(`${base}?status=ACTIVE&limit=250&cursor=${active.body.next_cursor}`);
      expect(rest.body.data.map((w: { id: string }) => w.id)).toEqual([ids[3], ids[2], ids[0]]);
      expect((await admin.get(`${base}?status=SUSPENDED`)).body).toEqual({ data: [], next_cursor: null });
    });

    it('short form and /v1/tenants/{tid}/… are the same resources', async () => {
      const short = await admin.post('/v1/webhooks', { url: URL_OK, description: 'short' });
      const long = await admin.post('/v1/tenants/default/webhooks', { url: URL_OK, description: 'long' });
      for (const wh of [short.body, long.body]) {
        const a = await admin.get(`/v1/webhooks/${wh.id}`);
        const b = await admin.get(`/v1/tenants/default/webhooks/${wh.id}`);
        expect(a.status).toBe(200);
        expect(b.body).toEqual(a.body);
        expect((await admin.get(`/v1/tenants/default/webhooks/${wh.id}/secret`)).body.secret).toBe(wh.secret);
      }
      const listShort = await admin.get('/v1/webhooks?limit=250');
      const listLong = await admin.get('/v1/tenants/default/webhooks?limit=250');
      expect(listLong.body).toEqual(listShort.body);
      await admin.patch(`/v1/tenants/default/webhooks/${short.body.id}`, { description: 'via long' });
      expect((await admin.get(`/v1/webhooks/${short.body.id}`)).body.description).toBe('via long');
      // The admin key's short form is `default`, not another tenant.
      expectError(await admin.get(`/v1/tenants/pager/webhooks/${short.body.id}`), 404, 'not_found');

      // A tenant key's short form is its own tenant.
      const key = (await admin.post('/v1/tenants/pager/keys')).body.key;
      const mine = await admin.withKey(key).get('/v1/webhooks?limit=250');
      expect(mine.body).toEqual((await admin.get('/v1/tenants/pager/webhooks?limit=250')).body);
      expect((await admin.withKey(key).get('/v1/tenants/pager/webhooks?limit=250')).body).toEqual(mine.body);
      expectError(await admin.get('/v1/tenants/nope/webhooks'), 404, 'not_found');
    });
  });
});
