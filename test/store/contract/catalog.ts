import { expect, it } from 'vitest';
import type { Webhook } from '../../../src/core/model.js';
import { MINUTE, type StoreContext, T0, tenant, webhook } from '../harness.js';

/** Walks every page of a list, `limit` at a time, and returns the ids in order. */
async function allPages<T>(
  list: (page: { limit: number; cursor: string | null }) => Promise<{ data: T[]; nextCursor: string | null }>,
  limit: number,
  key: (item: T) => string,
): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | null = null;
  do {
    const page = await list({ limit, cursor });
    pages.push(page.data.map(key));
    cursor = page.nextCursor;
  } while (cursor !== null);
  return pages;
}

export function catalogContract(ctx: () => StoreContext): void {
  it('re-seals every sealed column, and nothing else, in one call', async () => {
    const { store } = ctx();
    await store.createTenant(tenant('acme'));
    const w = { ...webhook('acme'), secret: 's1', secretPrev: 's0', authPassword: null };
    await store.createWebhook(w);
    await store.initSetting('encryption_check', 'check');
    await store.initSetting('admin_key_hash', 'hash');
    const before = await store.getTenant('acme');
    const changed = await store.resealSecrets((v) => `${v}!`);
    const after = await store.getWebhook('acme', w.id);
    expect(after?.secret).toBe('s1!');
    expect(after?.secretPrev).toBe('s0!');
    expect(after?.authPassword).toBeNull();
    expect((await store.getTenant('acme'))?.callbackSecret).toBe(`${before?.callbackSecret}!`);
    expect(await store.getSetting('encryption_check')).toBe('check!');
    expect(await store.getSetting('admin_key_hash')).toBe('hash');
    expect(changed).toBeGreaterThanOrEqual(4);
    // a reseal that changes nothing writes nothing
    expect(await store.resealSecrets((v) => v)).toBe(0);
  });

  it('migrate is idempotent and safe when several stores run it at once', async () => {
    const target = ctx().target;
    const others = [target.open(), target.open(), target.open()];
    await Promise.all(others.map((s) => s.migrate()));
    await ctx().store.migrate();
    await ctx().store.ping();
    expect(await ctx().store.createTenant(tenant('t1'))).toBe(true);
  });

  it('keeps settings: initSetting stores only the first value', async () => {
    const { store } = ctx();
    expect(await store.getSetting('admin_key_hash')).toBeNull();
    expect(await store.initSetting('admin_key_hash', 'first')).toBe('first');
    expect(await store.initSetting('admin_key_hash', 'second')).toBe('first');
    expect(await store.getSetting('admin_key_hash')).toBe('first');
  });

  it('creates, reads, updates, lists and deletes tenants', async () => {
    const { store } = ctx();
    expect(await store.createTenant(tenant('acme'))).toBe(true);
    expect(await store.createTenant({ ...tenant('acme'), name: 'Other' })).toBe(false);
    expect(await store.getTenant('acme')).toEqual(tenant('acme'));
    expect(await store.getTenant('nobody')).toBeNull();

    const updated = await store.updateTenant(
      'acme',
      { name: 'Acme Inc', callbackSecretPrev: 'old', callbackSecretPrevUntil: T0 + MINUTE },
      T0 + 5,
    );
    expect(updated).toEqual({
      ...tenant('acme'),
      name: 'Acme Inc',
      callbackSecretPrev: 'old',
      callbackSecretPrevUntil: T0 + MINUTE,
      updatedAt: T0 + 5,
    });
    expect(await store.updateTenant('nobody', { name: 'x' }, T0)).toBeNull();

    for (let i = 0; i < 6; i++) await store.createTenant(tenant(`t${i}`));
    const pages = await allPages(
      (p) => store.listTenants(p),
      3,
      (t) => t.id,
    );
    expect(pages).toEqual([['t5', 't4', 't3'], ['t2', 't1', 't0'], ['acme']]);

    const hook = webhook('t0');
    await store.createWebhook(hook);
    await store.createApiKey({ id: 'key_1', tenantId: 't0', name: null, keyHash: 'h1', createdAt: T0 });
    expect(await store.deleteTenant('t0')).toBe(true);
    expect(await store.deleteTenant('t0')).toBe(false);
    expect(await store.getTenant('t0')).toBeNull();
    expect(await store.getWebhook('t0', hook.id)).toBeNull();
    expect(await store.findApiKeyByHash('h1')).toBeNull();
  });

  it('creates, finds and deletes API keys within their tenant', async () => {
    const { store } = ctx();
    await store.createTenant(tenant('acme'));
    await store.createTenant(tenant('other'));
    const key = { id: 'key_1', tenantId: 'acme', name: 'ci', keyHash: 'sha-1', createdAt: T0 };
    await store.createApiKey(key);
    await store.createApiKey({ ...key, id: 'key_2', name: null, keyHash: 'sha-2' });
    expect(await store.findApiKeyByHash('sha-1')).toEqual(key);
    expect(await store.findApiKeyByHash('sha-3')).toBeNull();
    await expect(store.createApiKey({ ...key, id: 'key_3' })).rejects.toThrow();
    expect(await store.deleteApiKey('other', 'key_1')).toBe(false);
    expect(await store.deleteApiKey('acme', 'key_1')).toBe(true);
    expect(await store.findApiKeyByHash('sha-1')).toBeNull();
    expect((await store.findApiKeyByHash('sha-2'))?.name).toBeNull();
  });

  it('creates, reads, updates and lists event types, JSON columns included', async () => {
    const { store } = ctx();
    const schema = { type: 'object', properties: { amount: { type: 'integer' } } };
    const paid = {
      name: 'invoice.paid',
      description: 'paid',
      schema,
      example: { amount: 3 },
      archivedAt: null,
      createdAt: T0,
      updatedAt: T0,
    };
    expect(await store.createEventType(paid)).toBe(true);
    expect(await store.createEventType({ ...paid, description: 'again' })).toBe(false);
    expect(await store.getEventType('invoice.paid')).toEqual(paid);
    expect(await store.getEventType('nope')).toBeNull();
    const archived = await store.updateEventType(
      'invoice.paid',
      { archivedAt: T0 + 1, schema: null },
      T0 + 2,
    );
    expect(archived).toEqual({ ...paid, schema: null, archivedAt: T0 + 1, updatedAt: T0 + 2 });
    expect(await store.updateEventType('nope', { description: 'x' }, T0)).toBeNull();

    for (const name of ['a.one', 'a.two', 'a.three']) {
      await store.createEventType({ ...paid, name, schema: null, example: null });
    }
    const pages = await allPages(
      (p) => store.listEventTypes(p),
      2,
      (e) => e.name,
    );
    expect(pages).toEqual([
      ['a.three', 'a.two'],
      ['a.one', 'invoice.paid'],
    ]);
  });

  it('creates, reads, updates and lists webhooks within their tenant', async () => {
    const { store } = ctx();
    await store.createTenant(tenant('acme'));
    await store.createTenant(tenant('other'));
    const full: Webhook = webhook('acme', {
      events: ['invoice.*', 'user.created'],
      description: 'prod',
      authUsername: 'bubblegum',
      authPassword: 'sealed-pw',
      headers: { 'X-Env': 'prod' },
      timeoutMs: 7000,
      rateLimitPerSec: 50,
      retrySchedule: [1, 60],
      signatureHeader: 'X-Sig',
      metadata: { team: { name: 'billing' } },
      secretPrev: 'sealed-old',
      secretPrevUntil: T0 + MINUTE,
    });
    await store.createWebhook(full);
    expect(await store.getWebhook('acme', full.id)).toEqual(full);
    expect(await store.getWebhook('other', full.id)).toBeNull();

    const patched = await store.updateWebhook(
      'acme',
      full.id,
      { url: 'https://example.com/v2', events: [], headers: {}, rateLimitPerSec: null, retrySchedule: null },
      T0 + 9,
    );
    expect(patched).toEqual({
      ...full,
      url: 'https://example.com/v2',
      events: [],
      headers: {},
      rateLimitPerSec: null,
      retrySchedule: null,
      updatedAt: T0 + 9,
    });
    expect(await store.updateWebhook('other', full.id, { url: 'https://x.example' }, T0)).toBeNull();

    const more = [webhook('acme'), webhook('acme', { status: 'DISABLED' }), webhook('acme')];
    for (const w of more) await store.createWebhook(w);
    await store.createWebhook(webhook('other'));
    const pages = await allPages(
      (p) => store.listWebhooks('acme', {}, p),
      3,
      (w) => w.id,
    );
    expect(pages).toEqual([[more[2]?.id, more[1]?.id, more[0]?.id], [full.id]]);
    const disabled = await store.listWebhooks('acme', { status: 'DISABLED' }, { limit: 10, cursor: null });
    expect(disabled).toEqual({ data: [more[1]], nextCursor: null });
  });
}
