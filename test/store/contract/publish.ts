import { expect, it } from 'vitest';
import { IdempotencyConflict } from '../../../src/store/store.js';
import { claimAll, draft, MINUTE, type StoreContext, seed, T0, tenant } from '../harness.js';

const ALL = { limit: 250, cursor: null };

export function publishContract(ctx: () => StoreContext): void {
  it('makes one delivery per matching webhook of the tenant, due now', async () => {
    const { store } = ctx();
    const [invoices, users, everything] = await seed(
      store,
      'acme',
      { events: ['invoice.*'] },
      { events: ['user.created'] },
      { events: [] },
    );
    await seed(store, 'other', { events: [] });
    const d = draft('acme', { type: 'invoice.paid' });
    const [result] = await store.publishMessages('acme', [d], T0 + 1);
    expect(result).toEqual({ message: { ...d.message, deliveryCount: 2 }, created: true });
    expect(await store.getMessage('acme', d.message.id)).toEqual({ ...d.message, deliveryCount: 2 });
    expect(await store.getMessage('other', d.message.id)).toBeNull();

    const deliveries = (await store.listDeliveries('acme', { messageId: d.message.id }, ALL)).data;
    expect(deliveries.map((x) => x.webhookId).sort()).toEqual([invoices?.id, everything?.id].sort());
    expect(deliveries.map((x) => x.webhookId)).not.toContain(users?.id);
    for (const x of deliveries) {
      expect(x).toMatchObject({
        tenantId: 'acme',
        messageId: d.message.id,
        url: 'https://example.com/hook',
        status: 'PENDING',
        attemptCount: 0,
        retryBase: 0,
        nextAttemptAt: T0 + 1,
        lastStatusCode: null,
        lastError: null,
        firstAttemptAt: null,
        lastAttemptAt: null,
        createdAt: T0 + 1,
        updatedAt: T0 + 1,
      });
      expect(await store.getDelivery('acme', x.id)).toEqual(x);
      expect(await store.getDelivery('other', x.id)).toBeNull();
    }
    expect((await store.listDeliveries('other', {}, ALL)).data).toEqual([]);
  });

  it('holds the deliveries of suspended and disabled webhooks', async () => {
    const { store } = ctx();
    const [active, suspended, disabled] = await seed(
      store,
      'acme',
      {},
      { status: 'SUSPENDED' },
      { status: 'DISABLED' },
    );
    const d = draft('acme');
    await store.publishMessages('acme', [d], T0);
    const byWebhook = new Map(
      (await store.listDeliveries('acme', {}, ALL)).data.map((x) => [x.webhookId, x] as const),
    );
    expect(byWebhook.get(active?.id ?? '')).toMatchObject({ status: 'PENDING', nextAttemptAt: T0 });
    expect(byWebhook.get(suspended?.id ?? '')).toMatchObject({ status: 'HELD', nextAttemptAt: null });
    expect(byWebhook.get(disabled?.id ?? '')).toMatchObject({ status: 'HELD', nextAttemptAt: null });
    const held = await store.listDeliveries('acme', { status: 'HELD' }, ALL);
    expect(held.data).toHaveLength(2);
  });

  it('adds a callback delivery, signed with the tenant: webhook null, tenant given', async () => {
    const { store } = ctx();
    await store.createTenant(tenant('acme'));
    const d = draft('acme', { callbackUrl: 'https://caller.example/done' });
    const [result] = await store.publishMessages('acme', [d], T0);
    expect(result?.message.deliveryCount).toBe(1);
    const [delivery] = (await store.listDeliveries('acme', {}, ALL)).data;
    expect(delivery).toMatchObject({
      webhookId: null,
      url: 'https://caller.example/done',
      status: 'PENDING',
    });
    const [claimed] = await claimAll(store, T0);
    expect(claimed).toEqual({
      delivery,
      payload: d.message.payload,
      webhook: null,
      tenant: tenant('acme'),
    });
  });

  it('returns the stored message for a repeat of its id or idempotency key', async () => {
    const { store } = ctx();
    await seed(store, 'acme', {});
    const first = draft('acme', { id: 'evt_1' });
    await store.publishMessages('acme', [first], T0);
    const again = await store.publishMessages(
      'acme',
      [draft('acme', { id: 'evt_1' }, T0 + MINUTE)],
      T0 + MINUTE,
    );
    expect(again).toEqual([{ message: { ...first.message, deliveryCount: 1 }, created: false }]);

    const keyed = draft('acme', { idempotencyKey: 'k-1' });
    await store.publishMessages('acme', [keyed], T0);
    const repeat = await store.publishMessages('acme', [draft('acme', { idempotencyKey: 'k-1' })], T0 + 5);
    expect(repeat).toEqual([{ message: { ...keyed.message, deliveryCount: 1 }, created: false }]);
    // the same key in another tenant is another message
    await seed(store, 'other');
    const elsewhere = await store.publishMessages('other', [draft('other', { idempotencyKey: 'k-1' })], T0);
    expect(elsewhere[0]?.created).toBe(true);

    expect((await store.listDeliveries('acme', {}, ALL)).data).toHaveLength(2);
    expect((await store.listMessages('acme', {}, ALL)).data).toHaveLength(2);
  });

  it('refuses a reused id or key with other content, naming its index, and stores nothing', async () => {
    const { store } = ctx();
    await seed(store, 'acme', {});
    await store.publishMessages('acme', [draft('acme', { id: 'evt_1', contentHash: 'h1' })], T0);
    await store.publishMessages('acme', [draft('acme', { idempotencyKey: 'k', contentHash: 'h1' })], T0);

    const batch = [draft('acme', { id: 'evt_new' }), draft('acme', { id: 'evt_1', contentHash: 'h2' })];
    const err = await store.publishMessages('acme', batch, T0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdempotencyConflict);
    expect((err as IdempotencyConflict).index).toBe(1);
    expect(await store.getMessage('acme', 'evt_new')).toBeNull();

    const byKey = [draft('acme'), draft('acme'), draft('acme', { idempotencyKey: 'k', contentHash: 'h9' })];
    await expect(store.publishMessages('acme', byKey, T0)).rejects.toMatchObject({ index: 2 });
    expect((await store.listMessages('acme', {}, ALL)).data).toHaveLength(2);
    expect((await store.listDeliveries('acme', {}, ALL)).data).toHaveLength(2);
  });

  it('treats a duplicate inside one batch like a repeat', async () => {
    const { store } = ctx();
    await seed(store, 'acme', {});
    const d = draft('acme', { id: 'evt_1' });
    const results = await store.publishMessages('acme', [d, d, draft('acme')], T0);
    expect(results.map((r) => r.created)).toEqual([true, false, true]);
    expect(results[1]?.message).toEqual({ ...d.message, deliveryCount: 1 });
    expect((await store.listDeliveries('acme', { messageId: 'evt_1' }, ALL)).data).toHaveLength(1);

    // the same idempotency key under another id is a repeat too
    const keyed = draft('acme', { idempotencyKey: 'k-2' });
    const byKey = await store.publishMessages('acme', [keyed, draft('acme', { idempotencyKey: 'k-2' })], T0);
    expect(byKey).toEqual([
      { message: { ...keyed.message, deliveryCount: 1 }, created: true },
      { message: { ...keyed.message, deliveryCount: 1 }, created: false },
    ]);
  });

  it('names the first conflicting draft, whether it repeats the batch or the store', async () => {
    const { store } = ctx();
    await seed(store, 'acme', {});
    await store.publishMessages('acme', [draft('acme', { id: 'evt_1', contentHash: 'h1' })], T0);
    const batch = [
      draft('acme', { id: 'evt_2', contentHash: 'h1' }),
      draft('acme', { id: 'evt_2', contentHash: 'h2' }), // repeats draft 0 with other content
      draft('acme', { id: 'evt_1', contentHash: 'h2' }), // repeats the stored one with other content
    ];
    await expect(store.publishMessages('acme', batch, T0)).rejects.toMatchObject({ index: 1 });
    await expect(store.publishMessages('acme', [batch[0], batch[2]], T0)).rejects.toMatchObject({ index: 1 });
    expect((await store.listMessages('acme', {}, ALL)).data).toHaveLength(1);
  });

  it('fans a batch of messages out to their own deliveries', async () => {
    const { store } = ctx();
    const hooks = await seed(store, 'acme', {}, {});
    const drafts = Array.from({ length: 50 }, (_, i) => draft('acme', { id: `evt_${i}` }));
    const results = await store.publishMessages('acme', drafts, T0);
    expect(results.map((r) => [r.message.id, r.created, r.message.deliveryCount])).toEqual(
      drafts.map((d) => [d.message.id, true, 2]),
    );
    for (const id of ['evt_0', 'evt_49']) {
      const ds = (await store.listDeliveries('acme', { messageId: id }, ALL)).data;
      expect(ds.map((d) => d.webhookId).sort()).toEqual(hooks.map((w) => w.id).sort());
    }
    expect((await store.listDeliveries('acme', {}, ALL)).data).toHaveLength(100);
  });

  it('creates a message once when the same id is published concurrently', async () => {
    const { store, target } = ctx();
    await seed(store, 'acme', {}, { events: ['invoice.*'] });
    const second = target.open();
    const stores = [store, second, store, second, store, second];
    const results = await Promise.all(
      stores.map((s) => s.publishMessages('acme', [draft('acme', { id: 'evt_race' })], T0)),
    );
    expect(results.flat().filter((r) => r.created)).toHaveLength(1);
    expect((await store.listDeliveries('acme', {}, ALL)).data).toHaveLength(2);
    const conflicting = await Promise.allSettled(
      stores.map((s, i) =>
        s.publishMessages('acme', [draft('acme', { idempotencyKey: 'k', contentHash: `h${i}` })], T0),
      ),
    );
    expect(conflicting.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of conflicting) {
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(IdempotencyConflict);
    }
  });

  it('lists messages newest first, filtered by type and time, page by page', async () => {
    const { store } = ctx();
    await seed(store, 'acme');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const d = draft('acme', { type: i % 2 ? 'user.created' : 'invoice.paid' }, T0 + i * MINUTE);
      ids.push(d.message.id);
      await store.publishMessages('acme', [d], T0 + i * MINUTE);
    }
    const first = await store.listMessages('acme', {}, { limit: 2, cursor: null });
    expect(first.data.map((m) => m.id)).toEqual([ids[4], ids[3]]);
    const second = await store.listMessages('acme', {}, { limit: 2, cursor: first.nextCursor });
    expect(second.data.map((m) => m.id)).toEqual([ids[2], ids[1]]);
    const last = await store.listMessages('acme', {}, { limit: 2, cursor: second.nextCursor });
    expect(last).toMatchObject({ nextCursor: null });
    expect(last.data.map((m) => m.id)).toEqual([ids[0]]);

    const invoices = await store.listMessages('acme', { type: 'invoice.paid' }, ALL);
    expect(invoices.data.map((m) => m.id)).toEqual([ids[4], ids[2], ids[0]]);
    const window = await store.listMessages('acme', { since: T0 + MINUTE, until: T0 + 3 * MINUTE }, ALL);
    expect(window.data.map((m) => m.id)).toEqual([ids[2], ids[1]]);
    expect((await store.listMessages('other', {}, ALL)).data).toEqual([]);
  });
}
