import { expect, it } from 'vitest';
import type { Delivery } from '../../../src/core/model.js';
import type { Store } from '../../../src/store/store.js';
import {
  AFTER_LEASE,
  attemptOf,
  claimAll,
  draft,
  MINUTE,
  SECOND,
  type StoreContext,
  seed,
  T0,
} from '../harness.js';

const ALL = { limit: 250, cursor: null };

async function deliveryOf(store: Store, webhookId: string | undefined): Promise<Delivery> {
  const [d] = (await store.listDeliveries('acme', { webhookId: webhookId ?? '' }, ALL)).data;
  if (!d) throw new Error(`no delivery for ${webhookId}`);
  return d;
}

export function recordContract(ctx: () => StoreContext): void {
  it('schedules a retry: attempt stored, delivery PENDING at the next time, lease released', async () => {
    const { store } = ctx();
    const [hook] = await seed(store, 'acme', {});
    await store.publishMessages('acme', [draft('acme')], T0);
    const [c] = await claimAll(store, T0);
    if (!c) throw new Error('nothing claimed');
    const record = attemptOf(c, T0 + 1, { retryAt: T0 + MINUTE });
    await store.recordAttempts([record], T0 + 20);

    expect(await store.getDelivery('acme', c.delivery.id)).toEqual({
      ...c.delivery,
      status: 'PENDING',
      attemptCount: 1,
      nextAttemptAt: T0 + MINUTE,
      lastStatusCode: 500,
      lastError: 'HTTP 500',
      firstAttemptAt: T0 + 1,
      lastAttemptAt: T0 + 1,
      updatedAt: T0 + 20,
    });
    expect(await store.listAttempts('acme', c.delivery.id)).toEqual([record.attempt]);
    expect(await store.listAttempts('other', c.delivery.id)).toEqual([]);
    expect(await store.getWebhook('acme', hook?.id ?? '')).toMatchObject({
      status: 'ACTIVE',
      lastFailureAt: T0 + 20,
      failingSince: T0 + 1,
      lastSuccessAt: null,
    });
    // the lease is gone: due again at the retry time, not before
    expect(await claimAll(store, T0 + MINUTE - 1)).toEqual([]);
    const [retry] = await claimAll(store, T0 + MINUTE);
    expect(retry?.delivery.attemptCount).toBe(1);
    const second = attemptOf(retry ?? c, T0 + MINUTE, 'ok');
    await store.recordAttempts([second], T0 + MINUTE + 5);
    expect((await store.listAttempts('acme', c.delivery.id)).map((a) => a.number)).toEqual([1, 2]);
  });

  it('marks success: delivery SUCCEEDED, webhook healthy again', async () => {
    const { store } = ctx();
    const [hook] = await seed(store, 'acme', { failingSince: T0 - MINUTE, lastFailureAt: T0 - MINUTE });
    await store.publishMessages('acme', [draft('acme')], T0);
    const [c] = await claimAll(store, T0);
    if (!c) throw new Error('nothing claimed');
    await store.recordAttempts([attemptOf(c, T0 + 1, 'ok')], T0 + 30);
    expect(await store.getDelivery('acme', c.delivery.id)).toMatchObject({
      status: 'SUCCEEDED',
      attemptCount: 1,
      nextAttemptAt: null,
      lastStatusCode: 200,
      lastError: null,
    });
    expect(await store.getWebhook('acme', hook?.id ?? '')).toMatchObject({
      status: 'ACTIVE',
      lastSuccessAt: T0 + 30,
      failingSince: null,
      lastFailureAt: T0 - MINUTE,
    });
    expect(await claimAll(store, T0 + AFTER_LEASE)).toEqual([]);
  });

  it('fails for good and suspends a webhook that never succeeded, holding its other deliveries', async () => {
    const { store } = ctx();
    const [hook, bystander] = await seed(store, 'acme', {}, {});
    await store.publishMessages('acme', [draft('acme')], T0);
    const [c, other] = await claimAll(store, T0);
    if (!c || !other) throw new Error('nothing claimed');
    const dying = c.webhook?.id === hook?.id ? c : other;
    // a second delivery of the same webhook is in flight (leased), a third is waiting
    await store.publishMessages('acme', [draft('acme')], T0 + 1);
    const inFlight = (await claimAll(store, T0 + 1)).find((x) => x.webhook?.id === hook?.id);
    await store.publishMessages('acme', [draft('acme')], T0 + 2);

    await store.recordAttempts([attemptOf(dying, T0 + 3, 'final')], T0 + 4);
    expect(await store.getDelivery('acme', dying.delivery.id)).toMatchObject({
      status: 'FAILED',
      nextAttemptAt: null,
    });
    expect(await store.getWebhook('acme', hook?.id ?? '')).toMatchObject({
      status: 'SUSPENDED',
      updatedAt: T0 + 4,
      failingSince: T0 + 3,
    });
    const statuses = (await store.listDeliveries('acme', { webhookId: hook?.id }, ALL)).data.map(
      (d) => [d.id, d.status] as const,
    );
    expect(new Map(statuses).get(inFlight?.delivery.id ?? '')).toBe('PENDING');
    expect(statuses.filter(([, s]) => s === 'HELD')).toHaveLength(1);
    // the in-flight attempt fails too, with a retry planned: held rather than retried
    if (!inFlight) throw new Error('nothing in flight');
    await store.recordAttempts([attemptOf(inFlight, T0 + 5, { retryAt: T0 + MINUTE })], T0 + 6);
    expect(await store.getDelivery('acme', inFlight.delivery.id)).toMatchObject({
      status: 'HELD',
      nextAttemptAt: null,
      attemptCount: 1,
    });
    expect((await store.getWebhook('acme', bystander?.id ?? ''))?.status).toBe('ACTIVE');
  });

  it('does not suspend a webhook that succeeded since the failed delivery began', async () => {
    const { store } = ctx();
    const [hook] = await seed(store, 'acme', {});
    await store.publishMessages('acme', [draft('acme'), draft('acme')], T0);
    const [a, b] = await claimAll(store, T0);
    if (!a || !b) throw new Error('nothing claimed');
    await store.recordAttempts([attemptOf(a, T0 + 1, { retryAt: T0 + MINUTE })], T0 + 2);
    await store.recordAttempts([attemptOf(b, T0 + 3, 'ok')], T0 + 4);
    const [retry] = await claimAll(store, T0 + MINUTE);
    if (!retry) throw new Error('no retry');
    await store.recordAttempts([attemptOf(retry, T0 + MINUTE, 'final')], T0 + MINUTE + 1);
    expect((await store.getDelivery('acme', a.delivery.id))?.status).toBe('FAILED');
    expect(await store.getWebhook('acme', hook?.id ?? '')).toMatchObject({
      status: 'ACTIVE',
      lastSuccessAt: T0 + 4,
      failingSince: T0 + MINUTE,
    });
  });

  it('applies a batch in order: a retry recorded before the suspension is held by it', async () => {
    const { store } = ctx();
    const [hook] = await seed(store, 'acme', {});
    await store.publishMessages('acme', [draft('acme'), draft('acme'), draft('acme')], T0);
    const [a, b, c] = await claimAll(store, T0);
    if (!a || !b || !c) throw new Error('nothing claimed');
    await store.recordAttempts(
      [
        attemptOf(a, T0 + 1, { retryAt: T0 + MINUTE }),
        attemptOf(b, T0 + 2, 'final'),
        attemptOf(c, T0 + 3, 'ok'),
      ],
      T0 + 10,
    );
    const status = async (id: string) => (await store.getDelivery('acme', id))?.status;
    expect(await status(a.delivery.id)).toBe('HELD');
    expect(await status(b.delivery.id)).toBe('FAILED');
    expect(await status(c.delivery.id)).toBe('SUCCEEDED');
    expect(await store.getWebhook('acme', hook?.id ?? '')).toMatchObject({
      status: 'SUSPENDED',
      lastSuccessAt: T0 + 10,
      failingSince: null,
      lastFailureAt: T0 + 10,
    });
    expect(await store.nextDueAfter(0)).toBeNull();
  });

  it('holds a retry when the webhook was disabled while the attempt was in flight', async () => {
    const { store } = ctx();
    const [hook] = await seed(store, 'acme', {});
    await store.publishMessages('acme', [draft('acme')], T0);
    const [c] = await claimAll(store, T0);
    if (!c) throw new Error('nothing claimed');
    await store.setWebhookStatus('acme', hook?.id ?? '', 'DISABLED', T0 + 1);
    expect((await deliveryOf(store, hook?.id)).status).toBe('PENDING'); // leased: left to the attempt
    await store.recordAttempts([attemptOf(c, T0 + 2, { retryAt: T0 + MINUTE })], T0 + 3);
    expect(await deliveryOf(store, hook?.id)).toMatchObject({
      status: 'HELD',
      nextAttemptAt: null,
      attemptCount: 1,
    });
    expect((await store.getWebhook('acme', hook?.id ?? ''))?.status).toBe('DISABLED');
  });

  it('keeps a delivery cancelled meanwhile cancelled, unless its attempt succeeded', async () => {
    const { store } = ctx();
    const [hook, other] = await seed(store, 'acme', {}, {});
    await store.publishMessages('acme', [draft('acme')], T0);
    const claimed = await claimAll(store, T0);
    const failing = claimed.find((x) => x.webhook?.id === hook?.id);
    const succeeding = claimed.find((x) => x.webhook?.id === other?.id);
    if (!failing || !succeeding) throw new Error('nothing claimed');
    expect(await store.deleteWebhook('acme', hook?.id ?? '', T0 + 1)).toBe(true);
    expect(await store.deleteWebhook('acme', other?.id ?? '', T0 + 1)).toBe(true);
    await store.recordAttempts(
      [attemptOf(failing, T0 + 2, { retryAt: T0 + MINUTE }), attemptOf(succeeding, T0 + 2, 'ok')],
      T0 + 3,
    );
    expect(await store.getDelivery('acme', failing.delivery.id)).toMatchObject({
      status: 'CANCELLED',
      nextAttemptAt: null,
      attemptCount: 1,
    });
    expect((await store.getDelivery('acme', succeeding.delivery.id))?.status).toBe('SUCCEEDED');
    expect(await store.listAttempts('acme', failing.delivery.id)).toHaveLength(1);
    expect(await claimAll(store, T0 + MINUTE + AFTER_LEASE)).toEqual([]);
  });

  it('records a callback delivery without touching any webhook', async () => {
    const { store } = ctx();
    await seed(store, 'acme');
    await store.publishMessages('acme', [draft('acme', { callbackUrl: 'https://cb.example/' })], T0);
    const [c] = await claimAll(store, T0);
    if (!c) throw new Error('nothing claimed');
    await store.recordAttempts([attemptOf(c, T0, { retryAt: T0 + SECOND })], T0 + 1);
    expect(await store.getDelivery('acme', c.delivery.id)).toMatchObject({
      status: 'PENDING',
      nextAttemptAt: T0 + SECOND,
    });
    await store.recordAttempts([], T0 + 2);
  });
}
