import { expect, it } from 'vitest';
import type { DeliveryStatus } from '../../../src/core/model.js';
import type { Store } from '../../../src/store/store.js';
import { attemptOf, claimAll, draft, MINUTE, type StoreContext, seed, T0 } from '../harness.js';

const ALL = { limit: 250, cursor: null };

async function statusesOf(store: Store, webhookId: string | undefined): Promise<Map<string, DeliveryStatus>> {
  const page = await store.listDeliveries('acme', { webhookId: webhookId ?? '' }, ALL);
  return new Map(page.data.map((d) => [d.id, d.status] as const));
}

/**
 * Deliveries of the tenant's one webhook in every state: FAILED (after a success, so part of the
 * current failure streak, not suspended), SUCCEEDED, PENDING and leased, PENDING and waiting.
 * `at` is a time after all of it, while the lease still runs.
 */
async function history(store: Store) {
  await store.publishMessages('acme', [draft('acme'), draft('acme')], T0);
  const [f, s] = await claimAll(store, T0);
  if (!f || !s) throw new Error('nothing claimed');
  await store.recordAttempts([attemptOf(f, T0 + 1, { retryAt: T0 + MINUTE })], T0 + 1);
  await store.recordAttempts([attemptOf(s, T0 + 2, 'ok')], T0 + 2);
  const [retry] = await claimAll(store, T0 + MINUTE);
  if (!retry) throw new Error('no retry');
  await store.recordAttempts([attemptOf(retry, T0 + MINUTE, 'final')], T0 + MINUTE);
  await store.publishMessages('acme', [draft('acme')], T0 + MINUTE + 1);
  const [l] = await claimAll(store, T0 + MINUTE + 1);
  if (!l) throw new Error('nothing claimed');
  await store.publishMessages('acme', [draft('acme')], T0 + MINUTE + 2);
  return { failed: f.delivery.id, succeeded: s.delivery.id, leased: l.delivery.id, at: T0 + MINUTE + 10 };
}

export function webhookStatusContract(ctx: () => StoreContext): void {
  it('DISABLED holds the unleased PENDING deliveries and keeps failingSince', async () => {
    const { store } = ctx();
    const [hook] = await seed(store, 'acme', { failingSince: T0 - MINUTE });
    const h = await history(store);
    expect((await store.getWebhook('acme', hook?.id ?? ''))?.status).toBe('ACTIVE');
    const updated = await store.setWebhookStatus('acme', hook?.id ?? '', 'DISABLED', h.at);
    expect(updated).toMatchObject({ status: 'DISABLED', updatedAt: h.at });
    expect(updated?.failingSince).not.toBeNull();
    const s = await statusesOf(store, hook?.id);
    expect(s.get(h.failed)).toBe('FAILED');
    expect(s.get(h.succeeded)).toBe('SUCCEEDED');
    expect(s.get(h.leased)).toBe('PENDING');
    expect([...s.values()].filter((x) => x === 'HELD')).toHaveLength(1);
    expect(await store.setWebhookStatus('other', hook?.id ?? '', 'ACTIVE', T0)).toBeNull();
    expect(await store.setWebhookStatus('acme', 'wh_nope', 'ACTIVE', T0)).toBeNull();
  });

  it('ACTIVE requeues HELD deliveries and the FAILED ones since the last success, with a fresh schedule', async () => {
    const { store } = ctx();
    const [hook] = await seed(store, 'acme', {});
    // an old failure, before the last success: not part of the current streak
    await store.publishMessages('acme', [draft('acme')], T0 - MINUTE);
    const [old] = await claimAll(store, T0 - MINUTE);
    if (!old) throw new Error('nothing claimed');
    await store.recordAttempts([attemptOf(old, T0 - MINUTE, 'final')], T0 - MINUTE);
    expect((await store.getWebhook('acme', hook?.id ?? ''))?.status).toBe('SUSPENDED');
    await store.setWebhookStatus('acme', hook?.id ?? '', 'ACTIVE', T0 - MINUTE + 1);
    const [requeued] = await claimAll(store, T0 - MINUTE + 1);
    await store.recordAttempts([attemptOf(requeued ?? old, T0 - 2, 'ok')], T0 - 1);

    const h = await history(store);
    await store.setWebhookStatus('acme', hook?.id ?? '', 'DISABLED', h.at);
    const active = await store.setWebhookStatus('acme', hook?.id ?? '', 'ACTIVE', h.at + 1);
    expect(active).toMatchObject({ status: 'ACTIVE', failingSince: null, updatedAt: h.at + 1 });
    const s = await statusesOf(store, hook?.id);
    expect(s.get(old.delivery.id)).toBe('SUCCEEDED');
    expect(s.get(h.succeeded)).toBe('SUCCEEDED');
    expect(s.get(h.failed)).toBe('PENDING');
    expect(s.get(h.leased)).toBe('PENDING');
    expect([...s.values()].filter((x) => x === 'PENDING')).toHaveLength(3);
    expect(await store.getDelivery('acme', h.failed)).toMatchObject({
      attemptCount: 2,
      retryBase: 2,
      nextAttemptAt: h.at + 1,
      updatedAt: h.at + 1,
    });
  });

  it('deleteWebhook cancels its PENDING and HELD deliveries, leased ones included', async () => {
    const { store } = ctx();
    const [hook, kept] = await seed(store, 'acme', {}, { events: ['nothing.matches'] });
    const h = await history(store);
    await store.publishMessages('acme', [draft('acme')], h.at);
    await store.setWebhookStatus('acme', hook?.id ?? '', 'DISABLED', h.at + 1);
    expect(await store.deleteWebhook('other', hook?.id ?? '', h.at + 2)).toBe(false);
    expect(await store.deleteWebhook('acme', hook?.id ?? '', h.at + 2)).toBe(true);
    expect(await store.deleteWebhook('acme', hook?.id ?? '', h.at + 2)).toBe(false);
    expect(await store.getWebhook('acme', hook?.id ?? '')).toBeNull();
    const s = await statusesOf(store, hook?.id);
    expect(s.get(h.failed)).toBe('FAILED');
    expect(s.get(h.succeeded)).toBe('SUCCEEDED');
    expect(s.get(h.leased)).toBe('CANCELLED');
    expect([...s.values()].filter((x) => x === 'CANCELLED')).toHaveLength(3);
    expect(await store.getWebhook('acme', kept?.id ?? '')).not.toBeNull();
    expect(await store.nextDueAfter(0)).toBeNull();
  });

  it('redeliverMessage requeues finished deliveries, and makes one for a webhook created later', async () => {
    const { store } = ctx();
    const [hook, paused] = await seed(store, 'acme', {}, {});
    const d = draft('acme', { type: 'invoice.paid' });
    await store.publishMessages('acme', [d], T0);
    const claimed = await claimAll(store, T0);
    await store.recordAttempts(
      claimed.map((c) => attemptOf(c, T0 + 1, c.webhook?.id === hook?.id ? 'ok' : { retryAt: T0 + MINUTE })),
      T0 + 2,
    );
    // only finished deliveries go back: the paused webhook's is still PENDING
    expect(await store.redeliverMessage('acme', d.message.id, null, T0 + 3)).toBe(1);
    expect(await store.redeliverMessage('other', d.message.id, null, T0 + 3)).toBe(0);
    const [again] = (await store.listDeliveries('acme', { webhookId: hook?.id }, ALL)).data;
    expect(again).toMatchObject({ status: 'PENDING', nextAttemptAt: T0 + 3, attemptCount: 1, retryBase: 1 });

    // a webhook made after the message, matching it: a new delivery; one that does not match: nothing
    const [late, unrelated] = await seed(store, 'acme', { events: ['invoice.*'] }, { events: ['user.*'] });
    await store.setWebhookStatus('acme', late?.id ?? '', 'DISABLED', T0 + 4);
    expect(await store.redeliverMessage('acme', d.message.id, late?.id ?? '', T0 + 5)).toBe(1);
    expect(await store.redeliverMessage('acme', d.message.id, unrelated?.id ?? '', T0 + 5)).toBe(0);
    expect(await store.redeliverMessage('acme', d.message.id, 'wh_nope', T0 + 5)).toBe(0);
    const [made] = (await store.listDeliveries('acme', { webhookId: late?.id }, ALL)).data;
    expect(made).toMatchObject({ status: 'HELD', nextAttemptAt: null, messageId: d.message.id });
    expect((await store.getMessage('acme', d.message.id))?.deliveryCount).toBe(3);
    // asked again for that webhook: it has its delivery now (not finished): nothing more
    expect(await store.redeliverMessage('acme', d.message.id, late?.id ?? '', T0 + 6)).toBe(0);
    // a finished delivery of a deleted webhook stays finished
    const [sent] = (await store.listDeliveries('acme', { webhookId: hook?.id }, ALL)).data;
    const [retried] = await claimAll(store, T0 + 3);
    if (retried?.delivery.id !== sent?.id || !retried) throw new Error('redelivery not claimed');
    await store.recordAttempts([attemptOf(retried, T0 + 7, 'ok')], T0 + 7);
    expect(await store.deleteWebhook('acme', hook?.id ?? '', T0 + 8)).toBe(true);
    expect(await store.redeliverMessage('acme', d.message.id, null, T0 + 9)).toBe(0);
    expect((await store.getDelivery('acme', sent?.id ?? ''))?.status).toBe('SUCCEEDED');
    expect(paused).toBeDefined();
  });

  it('recoverWebhook requeues FAILED deliveries created at or after `since`', async () => {
    const { store } = ctx();
    // a success later than every attempt here: failures do not suspend it
    const [hook] = await seed(store, 'acme', { lastSuccessAt: T0 + 60 * MINUTE });
    const ids: string[] = [];
    for (const at of [T0, T0 + MINUTE, T0 + 2 * MINUTE]) {
      await store.publishMessages('acme', [draft('acme', {}, at)], at);
      const [c] = await claimAll(store, at);
      if (!c) throw new Error('nothing claimed');
      ids.push(c.delivery.id);
      await store.recordAttempts([attemptOf(c, at, 'final')], at);
    }
    expect((await store.listDeliveries('acme', { status: 'FAILED' }, ALL)).data).toHaveLength(3);
    expect((await store.getWebhook('acme', hook?.id ?? ''))?.status).toBe('ACTIVE');

    expect(await store.recoverWebhook('acme', hook?.id ?? '', T0 + 4 * MINUTE, T0 + 5 * MINUTE)).toBe(0);
    expect(await store.recoverWebhook('other', hook?.id ?? '', T0, T0 + 5 * MINUTE)).toBe(0);
    expect(await store.recoverWebhook('acme', hook?.id ?? '', T0 + MINUTE, T0 + 5 * MINUTE)).toBe(2);
    const statuses = async () => (await store.listDeliveries('acme', {}, ALL)).data.map((d) => d.status);
    expect(await statuses()).toEqual(['PENDING', 'PENDING', 'FAILED']);
    expect(await store.getDelivery('acme', ids[1] ?? '')).toMatchObject({
      nextAttemptAt: T0 + 5 * MINUTE,
      retryBase: 1,
      updatedAt: T0 + 5 * MINUTE,
    });
    // recovered while paused: held until reactivation
    await store.setWebhookStatus('acme', hook?.id ?? '', 'DISABLED', T0 + 6 * MINUTE);
    expect(await store.recoverWebhook('acme', hook?.id ?? '', T0, T0 + 7 * MINUTE)).toBe(1);
    expect(await statuses()).toEqual(['HELD', 'HELD', 'HELD']);
  });
}
