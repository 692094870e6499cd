import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../support/api-client.js';
import { expectError } from '../support/expect-error.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const URL_OK = 'https://example.com/hooks';

describe('routes', () => {
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

  /** Every id (or name) of a list, page by page. */
  async function walk(path: string, limit: number): Promise<string[]> {
    const out: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 50; pages++) {
      const res: any = await admin.get(`${path}?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(limit);
      out.push(...res.body.data.map((x: { id?: string; name: string }) => x.id ?? x.name));
      cursor = res.body.next_cursor;
      if (!cursor) return out;
    }
    throw new Error(`${path}: more than 50 pages`);
  }

  describe('tenants', () => {
    it('the default tenant exists and cannot be deleted', async () => {
      const res = await admin.get('/v1/tenants/default');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: 'default', name: expect.any(String) });
      expect(res.body.created_at).toMatch(ISO);
      expectError(await admin.delete('/v1/tenants/default'), 409, 'conflict');
      expect((await admin.get('/v1/tenants/default')).status).toBe(200);
    });

    it('create, read, list, update, delete', async () => {
      const created = await admin.post('/v1/tenants', { id: 'acme', name: 'Acme' });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ id: 'acme', name: 'Acme' });
      expect(created.body.created_at).toMatch(ISO);
      expectError(await admin.post('/v1/tenants', { id: 'acme', name: 'Again' }), 409, 'conflict', 'id');

      const generated = await admin.post('/v1/tenants', { name: 'No id' });
      expect(generated.status).toBe(201);
      expect(generated.body.id).toMatch(/^tn_[0-9A-Z]{26}$/);

      expect((await admin.get('/v1/tenants/acme')).body).toEqual(created.body);
      const list = await admin.get('/v1/tenants');
      expect(list.status).toBe(200);
      expect(list.body.next_cursor).toBeNull();
      expect(list.body.data.map((x: { id: string }) => x.id)).toEqual([generated.body.id, 'acme', 'default']);

      expectError(await admin.post('/v1/tenants', { id: 'default', name: 'Again' }), 409, 'conflict');
      expect(await walk('/v1/tenants', 1)).toEqual([generated.body.id, 'acme', 'default']);

      const patched = await admin.patch('/v1/tenants/acme', { name: 'Acme Inc' });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({
        id: 'acme',
        name: 'Acme Inc',
        created_at: created.body.created_at,
      });
      expect((await admin.get('/v1/tenants/acme')).body.name).toBe('Acme Inc');

      const del = await admin.delete(`/v1/tenants/${generated.body.id}`);
      expect(del.status).toBe(204);
      expect(del.body).toBe('');
      expectError(await admin.get(`/v1/tenants/${generated.body.id}`), 404, 'not_found');
      expectError(await admin.delete(`/v1/tenants/${generated.body.id}`), 404, 'not_found');
      expectError(await admin.patch('/v1/tenants/nope', { name: 'x' }), 404, 'not_found');
    });

    it('deleting a tenant deletes its webhooks and keys', async () => {
      await admin.post('/v1/tenants', { id: 'doomed', name: 'Doomed' });
      const key = (await admin.post('/v1/tenants/doomed/keys')).body.key;
      const wh = await admin.post('/v1/tenants/doomed/webhooks', { url: URL_OK });
      expect(wh.status).toBe(201);
      expect((await admin.withKey(key).get('/v1/webhooks')).body.data).toHaveLength(1);

      expect((await admin.delete('/v1/tenants/doomed')).status).toBe(204);
      expectError(await admin.withKey(key).get('/v1/webhooks'), 401, 'unauthorized');
      expectError(await admin.get('/v1/tenants/doomed/webhooks'), 404, 'not_found');
      // A new tenant with the same id starts empty.
      expect((await admin.post('/v1/tenants', { id: 'doomed', name: 'Reborn' })).status).toBe(201);
      expect((await admin.get('/v1/tenants/doomed/webhooks')).body.data).toEqual([]);
      expectError(await admin.get(`/v1/tenants/doomed/webhooks/${wh.body.id}`), 404, 'not_found');
      expectError(await admin.withKey(key).get('/v1/webhooks'), 401, 'unauthorized');
    });
  });

  describe('keys', () => {
    it('a key is shown once, works, and stops working at once when deleted', async () => {
      await admin.post('/v1/tenants', { id: 'keyed', name: 'Keyed' });
      const created = await admin.post('/v1/tenants/keyed/keys', { name: 'ci' });
      expect(created.status).toBe(201);
      expect(created.body.id).toMatch(/^key_[0-9A-Z]{26}$/);
      expect(typeof created.body.key).toBe('string');
      expect(created.body.key.length).toBeGreaterThanOrEqual(32);
      const other = await admin.post('/v1/tenants/keyed/keys');
      expect(other.status).toBe(201);
      expect(other.body.key).not.toBe(created.body.key);

      // Shown once: no route reads a key back.
      expectError(await admin.get(`/v1/tenants/keyed/keys/${created.body.id}`), 404, 'not_found');
      expect(JSON.stringify((await admin.get('/v1/tenants/keyed')).body)).not.toContain(created.body.key);
      const client = admin.withKey(created.body.key);
      const wh = await client.post('/v1/webhooks', { url: URL_OK });
      expect(wh.status).toBe(201);
      expect((await admin.get(`/v1/tenants/keyed/webhooks/${wh.body.id}`)).status).toBe(200);

      expectError(await admin.delete(`/v1/tenants/default/keys/${created.body.id}`), 404, 'not_found');
      expect((await client.get('/v1/webhooks')).status).toBe(200);
      expect((await admin.delete(`/v1/tenants/keyed/keys/${created.body.id}`)).status).toBe(204);
      expectError(await client.get('/v1/webhooks'), 401, 'unauthorized');
      expectError(await admin.delete(`/v1/tenants/keyed/keys/${created.body.id}`), 404, 'not_found');
      // The tenant's other key is untouched.
      expect((await admin.withKey(other.body.key).get('/v1/webhooks')).body.data).toHaveLength(1);
      expectError(await admin.post('/v1/tenants/nope/keys'), 404, 'not_found');
    });
  });

  describe('event types', () => {
    it('create, list, get, patch, delete archives', async () => {
      const body = {
        name: 'order.shipped',
        description: 'An order left the warehouse',
        schema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
        example: { id: 'o_1' },
      };
      const created = await admin.post('/v1/event-types', body);
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ ...body, archived_at: null });
      expect(created.body.created_at).toMatch(ISO);
      expectError(await admin.post('/v1/event-types', { name: 'order.shipped' }), 409, 'conflict', 'name');

      const bare = await admin.post('/v1/event-types', { name: 'order.bare' });
      expect(bare.body).toMatchObject({ description: null, schema: null, example: null, archived_at: null });

      const list = await admin.get('/v1/event-types');
      expect(list.body.data.map((e: { name: string }) => e.name).slice(0, 2)).toEqual([
        'order.bare',
        'order.shipped',
      ]);
      expect((await admin.get('/v1/event-types/order.shipped')).body).toEqual(created.body);
      const all = (await admin.get('/v1/event-types?limit=250')).body.data.map(
        (e: { name: string }) => e.name,
      );
      expect(await walk('/v1/event-types', 2)).toEqual(all);
      expectError(await admin.get('/v1/event-types/order.nope'), 404, 'not_found');

      const patched = await admin.patch('/v1/event-types/order.shipped', { description: 'Shipped' });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({
        description: 'Shipped',
        schema: body.schema,
        example: body.example,
      });

      expect((await admin.delete('/v1/event-types/order.shipped')).status).toBe(204);
      const archived = await admin.get('/v1/event-types/order.shipped');
      expect(archived.status).toBe(200);
      expect(archived.body.archived_at).toMatch(ISO);
      expect((await admin.delete('/v1/event-types/order.shipped')).status).toBe(204);
      expectError(await admin.delete('/v1/event-types/order.nope'), 404, 'not_found');
    });

    it('an archived type cannot be newly subscribed; existing subscriptions stay', async () => {
      await admin.post('/v1/event-types', { name: 'legacy.event' });
      const before = await admin.post('/v1/webhooks', { url: URL_OK, events: ['legacy.event'] });
      expect(before.status).toBe(201);
      expect((await admin.delete('/v1/event-types/legacy.event')).status).toBe(204);

      const after = await admin.post('/v1/webhooks', { url: URL_OK, events: ['legacy.event'] });
      expectError(after, 422, 'unknown_event_type', 'events[0]');
      const other = (await admin.post('/v1/webhooks', { url: URL_OK, events: ['invoice.paid'] })).body;
      const add = await admin.patch(`/v1/webhooks/${other.id}`, { events: ['invoice.paid', 'legacy.event'] });
      expectError(add, 422, 'unknown_event_type', 'events[1]');
      // The webhook that had it keeps it, also when a PATCH sends its events back unchanged.
      expect((await admin.get(`/v1/webhooks/${before.body.id}`)).body.events).toEqual(['legacy.event']);
      const resend = await admin.patch(`/v1/webhooks/${before.body.id}`, {
        events: ['legacy.event', 'invoice.paid'],
        description: 'resent',
      });
      expect(resend.status, JSON.stringify(resend.body)).toBe(200);
      expect(resend.body.events).toEqual(['legacy.event', 'invoice.paid']);
      // A wildcard covering it is still fine.
      expect((await admin.post('/v1/webhooks', { url: URL_OK, events: ['legacy.*'] })).status).toBe(201);

      // PATCH {"archived": false} restores it (README), and it can be subscribed again.
      const restored = await admin.patch('/v1/event-types/legacy.event', { archived: false });
      expect(restored.status).toBe(200);
      expect(restored.body.archived_at).toBeNull();
      expect((await admin.patch(`/v1/webhooks/${other.id}`, { events: ['legacy.event'] })).status).toBe(200);
      await admin.delete(`/v1/webhooks/${other.id}`);
      await admin.delete(`/v1/webhooks/${before.body.id}`);
    });
  });

  describe('callback secret', () => {
    it('reads and rotates, by short and long path', async () => {
      const first = await admin.get('/v1/callback-secret');
      expect(first.status).toBe(200);
      expect(first.body.secret).toMatch(/^whsec_/);
      expect((await admin.get('/v1/tenants/default/callback-secret')).body).toEqual(first.body);

      const rotated = await admin.post('/v1/callback-secret/rotate');
      expect(rotated.status).toBe(200);
      expect(rotated.body.secret).toMatch(/^whsec_/);
      expect(rotated.body.secret).not.toBe(first.body.secret);
      expect((await admin.get('/v1/callback-secret')).body.secret).toBe(rotated.body.secret);

      const long = await admin.post('/v1/tenants/default/callback-secret/rotate', {});
      expect(long.status).toBe(200);
      expect((await admin.get('/v1/callback-secret')).body.secret).toBe(long.body.secret);

      // Tenants have their own; a tenant key reads and rotates its own.
      await admin.post('/v1/tenants', { id: 'cb', name: 'Callbacks' });
      const key = (await admin.post('/v1/tenants/cb/keys')).body.key;
      const own = await admin.withKey(key).get('/v1/callback-secret');
      expect(own.status).toBe(200);
      expect(own.body.secret).not.toBe(long.body.secret);
      expect((await admin.get('/v1/tenants/cb/callback-secret')).body).toEqual(own.body);
      const ownRotated = await admin.withKey(key).post('/v1/tenants/cb/callback-secret/rotate');
      expect(ownRotated.status).toBe(200);
      expect((await admin.get('/v1/tenants/cb/callback-secret')).body).toEqual(ownRotated.body);
      expectError(await admin.get('/v1/tenants/nope/callback-secret'), 404, 'not_found');
    });
  });

  describe('operational routes', () => {
    it('/healthz and /readyz answer without a key', async () => {
      const anon = admin.withKey(null);
      expect((await anon.get('/healthz')).status).toBe(200);
      expect((await anon.get('/readyz')).status).toBe(200);
    });

    it('/metrics is Prometheus text and counts requests', async () => {
      const anon = admin.withKey(null);
      const count = async () => {
        const res = await anon.get('/metrics');
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
        const line = String(res.body)
          .split('\n')
          .find((l) => l.startsWith('hookline_http_requests_total{') && l.includes('route="/healthz"'));
        return line ? Number(line.split(' ').pop()) : 0;
      };
      const before = await count();
      for (let i = 0; i < 3; i++) await anon.get('/healthz');
      expect(await count()).toBe(before + 3);
    });

    it('/openapi.json is OpenAPI 3.1 with the webhook paths', async () => {
      const res = await admin.withKey(null).get('/openapi.json');
      expect(res.status).toBe(200);
      expect(res.body.openapi).toBe('3.1.0');
      const paths = Object.keys(res.body.paths);
      for (const p of [
        '/v1/webhooks',
        '/v1/webhooks/{id}',
        '/v1/webhooks/{id}/secret',
        '/v1/tenants',
        '/v1/event-types',
      ]) {
        expect(paths).toContain(p);
      }
      expect(res.body.paths['/v1/webhooks'].post).toBeDefined();
    });

    it('an unknown route is a 404 in the contract shape', async () => {
      expectError(await admin.get('/v1/nothing-here'), 404, 'not_found');
      expectError(await admin.withKey(null).get('/nothing-here'), 404, 'not_found');
      // Ids the router itself refuses (over its length limit, broken %-escapes) answer the same way.
      for (const id of ['x'.repeat(300), '%E0%A4%A', '%zz']) {
        expectError(await admin.get(`/v1/webhooks/${id}`), 404, 'not_found');
        expectError(await admin.get(`/v1/tenants/default/webhooks/${id}/secret`), 404, 'not_found');
      }
    });
  });
});
