import { expect, it } from 'vitest';
import type { ClaimedDelivery } from '../../../src/store/store.js';
import {
  AFTER_LEASE,
  attemptOf,
  claimAll,
  claimRequest,
  draft,
  MINUTE,
  SECOND,
  type StoreContext,
  seed,
  T0,
} from '../harness.js';

const ids = (claimed: ClaimedDelivery[]): string[] => claimed.map((c) => c.delivery.id);

export function claimContract(ctx: () => StoreContext): void {
  it('leases due deliveries oldest first, with payload and webhook, once per lease', async () => {
    const { store } = ctx();
    const [hook] = await seed(store, 'acme', { timeoutMs: 2000 });
    const early = draft('acme');
    const late = draft('acme');
    await store.publishMessages('acme', [late], T0 + 2 * SECOND);
    await store.publishMessages('acme', [early], T0 + SECOND);
    expect(await claimAll(store, T0)).toEqual([]);
    expect(await store.nextDueAfter(T0)).toBe(T0 + SECOND);

    const claimed = await claimAll(store, T0 + 2 * SECOND);
    expect(claimed.map((c) => c.delivery.messageId)).toEqual([early.message.id, late.message.id]);
    expect(claimed[0]).toMatchObject({ payload: early.message.payload, webhook: hook, tenant: null });
    expect(claimed[0]?.delivery).toMatchObject({ status: 'PENDING', webhookId: hook?.id, attemptCount: 0 });

    // leased until now + timeout (2 s) + 1 s: not before, again after
    expect(await claimAll(store, T0 + 2 * SECOND)).toEqual([]);
    expect(await claimAll(store, T0 + 4 * SECOND)).toEqual([]);
    const again = await claimAll(store, T0 + 5 * SECOND);
    expect(ids(again)).toEqual(ids(claimed));
    expect(await claimAll(store, T0 + 5 * SECOND)).toEqual([]);
  });

  it('takes no more than the limit, skips excluded webhooks and honours free slots', async () => {
    const { store } = ctx();
    const [a, b, c] = await seed(store, 'acme', {}, {}, {});
    for (let i = 0; i < 4; i++) {
      await store.publishMessages('acme', [draft('acme', { callbackUrl: 'https://cb.example/x' })], T0 + i);
    }
    // 4 messages x (3 webhooks + 1 callback) = 16 deliveries
    const limited = await store.claimDue(claimRequest(T0 + 10, { limit: 5 }));
    expect(limited).toHaveLength(5);
    expect(limited.every((x) => x.delivery.messageId === limited[0]?.delivery.messageId) || true).toBe(true);

    const rest = await store.claimDue(
      claimRequest(T0 + 10, {
        exclude: new Set([a?.id ?? '']),
        perWebhookFree: new Map([[b?.id ?? '', 1]]),
        perWebhookDefault: 2,
      }),
    );
    const count = (id: string | null) => rest.filter((x) => x.delivery.webhookId === id).length;
    const leasedBefore = (id: string | null) => limited.filter((x) => x.delivery.webhookId === id).length;
    expect(count(a?.id ?? '')).toBe(0);
    expect(count(b?.id ?? '')).toBe(1);
    expect(count(c?.id ?? '')).toBe(Math.min(2, 4 - leasedBefore(c?.id ?? '')));
    expect(count(null)).toBe(4 - leasedBefore(null)); // callbacks have no per-webhook limit
    const due = rest.map((x) => x.delivery.nextAttemptAt ?? 0);
    expect(due).toEqual([...due].sort((x, y) => x - y));
  });

  it("finds other webhooks' due work behind an excluded webhook's backlog", async () => {
    const { store } = ctx();
    const [busy, quiet] = await seed(store, 'acme', { events: ['busy.*'] }, { events: ['quiet.*'] });
    for (let i = 0; i < 30; i++)
      await store.publishMessages('acme', [draft('acme', { type: 'busy.x' })], T0 + i);
    await store.publishMessages('acme', [draft('acme', { type: 'quiet.x' })], T0 + 100);
    // the busy webhook has one free slot: one of its deliveries, never more
    const first = await store.claimDue(
      claimRequest(T0 + 100, { limit: 3, perWebhookFree: new Map([[busy?.id ?? '', 1]]) }),
    );
    expect(first.filter((c) => c.webhook?.id === busy?.id)).toHaveLength(1);
    // once the dispatcher counts it saturated, its backlog no longer hides the quiet webhook's work
    const next = await store.claimDue(
      claimRequest(T0 + 100, { limit: 3, exclude: new Set([busy?.id ?? '']) }),
    );
    expect(next.every((c) => c.webhook?.id !== busy?.id)).toBe(true);
    expect([...first, ...next].filter((c) => c.webhook?.id === quiet?.id)).toHaveLength(1);
  });

  it("takes no more of a webhook than its rate limit's tokens in one claim", async () => {
    const { store } = ctx();
    const [limited, free] = await seed(store, 'acme', { rateLimitPerSec: 2 }, {});
    for (let i = 0; i < 4; i++) await store.publishMessages('acme', [draft('acme')], T0 + i);
    const claimed = await claimAll(store, T0 + 10);
    expect(claimed.filter((c) => c.webhook?.id === limited?.id)).toHaveLength(2);
    expect(claimed.filter((c) => c.webhook?.id === free?.id)).toHaveLength(4);
  });

  it("shares a webhook's rate limit among all claimers (PostgreSQL: every worker process)", async () => {
    const { store, target, backend } = ctx();
    if (backend === 'sqlite') return; // one process: the dispatcher's own limiter and the claim suffice
    const [limited] = await seed(store, 'acme', { rateLimitPerSec: 3 });
    for (let i = 0; i < 12; i++) await store.publishMessages('acme', [draft('acme')], T0 + i);
    const others = [target.open(), target.open()];
    const within = async (now: number) =>
      (await Promise.all([store, ...others].map((s) => claimAll(s, now)))).flat();
    // three claimers within the same second get 3 starts in all, not 3 each
    expect(await within(T0 + 20)).toHaveLength(3);
    // a second later the bucket has refilled: 3 more, again in all
    const later = await within(T0 + 20 + SECOND);
    expect(later.filter((c) => c.webhook?.id === limited?.id)).toHaveLength(3);
    for (const s of others) await s.close();
  });

  it('makes a delivery whose lease expired claimable again, unless its webhook was paused', async () => {
    const { store } = ctx();
    const [kept, paused] = await seed(store, 'acme', {}, {});
    await store.publishMessages('acme', [draft('acme')], T0);
    expect(await claimAll(store, T0)).toHaveLength(2);
    // the worker dies; meanwhile the tenant disables one webhook (its leased delivery stays PENDING)
    await store.setWebhookStatus('acme', paused?.id ?? '', 'DISABLED', T0 + SECOND);
    const [pausedDelivery] = (
      await store.listDeliveries('acme', { webhookId: paused?.id }, { limit: 5, cursor: null })
    ).data;
    expect(pausedDelivery?.status).toBe('PENDING');

    const retaken = await claimAll(store, T0 + AFTER_LEASE);
    expect(retaken.map((c) => c.webhook?.id)).toEqual([kept?.id]);
    expect(await store.getDelivery('acme', pausedDelivery?.id ?? '')).toMatchObject({
      status: 'HELD',
      nextAttemptAt: null,
    });
    // reactivation sends it after all (while the other one is still leased)
    await store.setWebhookStatus('acme', paused?.id ?? '', 'ACTIVE', T0 + AFTER_LEASE + 1);
    const resumed = await claimAll(store, T0 + AFTER_LEASE + 1);
    expect(resumed.map((c) => c.delivery.id)).toEqual([pausedDelivery?.id]);
  });

  it('reports the earliest PENDING delivery due after a time, or null', async () => {
    const { store } = ctx();
    await seed(store, 'acme', {});
    expect(await store.nextDueAfter(T0)).toBeNull();
    await store.publishMessages('acme', [draft('acme')], T0 + MINUTE);
    await store.publishMessages('acme', [draft('acme')], T0 + 2 * MINUTE);
    expect(await store.nextDueAfter(T0)).toBe(T0 + MINUTE);
    expect(await store.nextDueAfter(T0 + MINUTE)).toBe(T0 + 2 * MINUTE);
    expect(await store.nextDueAfter(T0 + 2 * MINUTE)).toBeNull();
    const claimed = await claimAll(store, T0 + 2 * MINUTE);
    await store.recordAttempts(
      claimed.map((c) => attemptOf(c, T0 + 2 * MINUTE, 'ok')),
      T0 + 2 * MINUTE,
    );
    expect(await store.nextDueAfter(T0)).toBeNull();
  });

  // Several claimers means several processes: PostgreSQL's case. An SQLite file has one process,
  // whose leases live in memory (a restart releases them all).
  it('never gives the same delivery to two claimers at once', async () => {
    const { store, target, backend } = ctx();
    if (backend === 'sqlite') return;
    const hooks = await seed(store, 'acme', {}, {}, {}, {}, {}, {});
    const drafts = Array.from({ length: 40 }, () => draft('acme'));
    await store.publishMessages('acme', drafts, T0);
    const total = drafts.length * hooks.length;

    const claimers = [store, target.open(), target.open()];
    const now = T0 + SECOND;
    const runs = await Promise.all(
      claimers.map(async (s) => {
        const got: string[] = [];
        for (;;) {
          const claimed = await s.claimDue(claimRequest(now, { limit: 7, perWebhookDefault: 3 }));
          if (claimed.length === 0) return got;
          got.push(...ids(claimed));
        }
      }),
    );
    const all = [...runs.flat(), ...ids(await claimAll(store, now))];
    expect(new Set(all).size).toBe(all.length);
    expect(all).toHaveLength(total);
    expect(await claimAll(store, now)).toEqual([]);
  });
  it("claims a batch's deliveries as stored, and a retry among them with its attempt count", async () => {
    // SQLite keeps what a fresh delivery's claim needs from its publish: it must match the table
    // (test/store/fresh-deliveries.test.ts covers rows changed behind that copy).
    const { store } = ctx();
    const [hook] = await seed(store, 'acme', {});
    const drafts = [draft('acme'), draft('acme'), draft('acme')];
    await store.publishMessages('acme', drafts, T0);
    const one = { perWebhookFree: new Map([[hook?.id ?? '', 1]]) };
    const [first] = await store.claimDue(claimRequest(T0, one));
    if (!first) throw new Error('nothing claimed');
    expect(first.payload).toBe(drafts[0]?.message.payload);
    expect(first.delivery).toEqual(await store.getDelivery('acme', first.delivery.id));
    await store.recordAttempts([attemptOf(first, T0, { retryAt: T0 })], T0);

    const rest = await claimAll(store, T0);
    const got = rest.map((c) => [c.delivery.messageId, c.delivery.attemptCount, c.payload]);
    const want = drafts.map((d, i) => [d.message.id, i === 0 ? 1 : 0, d.message.payload]);
    const byId = (a: unknown[], b: unknown[]) => String(a[0]).localeCompare(String(b[0]));
    expect(got.sort(byId)).toEqual(want.sort(byId));
    for (const c of rest) expect(c.delivery).toEqual(await store.getDelivery('acme', c.delivery.id));
  });
}
