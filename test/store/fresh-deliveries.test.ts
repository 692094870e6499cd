import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FreshDeliveries, type FreshMessage } from '../../src/store/sqlite/fresh-deliveries.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../support/temp-dir.js';
import { claimAll, draft, SECOND, seed, T0 } from './harness.js';

const message = (id: string, payload = `{"id":"${id}"}`, deliveries = 1): FreshMessage => ({
  id,
  payload,
  deliveries,
});
const fields = { tenantId: 'acme', url: 'https://a.example/hook', createdAt: T0 };

describe('FreshDeliveries', () => {
  it('gives each row of a run its message once, then forgets the run', () => {
    const fresh = new FreshDeliveries();
    fresh.add('wh_a', 10, [message('m0'), message('m1'), message('m2')], fields);
    expect(fresh.take('wh_b', 10)).toBeUndefined();
    expect(fresh.take('wh_a', 13)).toBeUndefined();
    expect(fresh.take('wh_a', 11)).toEqual({ message: message('m1'), ...fields });
    expect(fresh.take('wh_a', 10)?.message.id).toBe('m0');
    expect(fresh.bytes).toBeGreaterThan(0);
    expect(fresh.take('wh_a', 12)?.message.id).toBe('m2');
    expect(fresh.bytes).toBe(0);
    expect(fresh.take('wh_a', 10)).toBeUndefined();
  });

  it('finds rows across many runs, and starts a webhook over when row numbers go back', () => {
    const fresh = new FreshDeliveries();
    for (let r = 0; r < 200; r++)
      fresh.add('wh_a', 1 + r * 2, [message(`m${r}a`), message(`m${r}b`)], fields);
    expect(fresh.take('wh_a', 2 * 150 + 2)?.message.id).toBe('m150b');
    // A rolled-back batch's rows: the next batch reuses their numbers.
    fresh.add('wh_a', 7, [message('again')], fields);
    expect(fresh.take('wh_a', 9)).toBeUndefined();
    expect(fresh.take('wh_a', 7)?.message.id).toBe('again');
    expect(fresh.bytes).toBe(0);
  });

  it('keeps nothing past its memory budget, and forgets webhooks with no due work', () => {
    const fresh = new FreshDeliveries();
    const big = 'x'.repeat(20 * 1024 * 1024);
    fresh.add('wh_a', 1, [message('m1', big)], fields);
    fresh.add('wh_b', 2, [message('m2', big)], fields);
    expect(fresh.take('wh_b', 2)).toBeUndefined();
    fresh.add('wh_c', 3, [message('m3')], fields);
    fresh.keepOnly(new Set(['wh_c']));
    expect(fresh.take('wh_a', 1)).toBeUndefined();
    expect(fresh.take('wh_c', 3)?.message.id).toBe('m3');
    expect(fresh.bytes).toBe(0);
  });
});

describe('claims of deliveries kept from their publish (SQLite)', () => {
  const dirs: { cleanup: () => void }[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) d.cleanup();
  });

  async function storeWithBatch(): Promise<{ store: SqliteStore; ids: string[] }> {
    const dir = tempDir('hookline-fresh-');
    dirs.push(dir);
    const store = new SqliteStore(join(dir.path, 'hookline.db'));
    await store.migrate();
    await seed(store, 'acme', {});
    const drafts = [draft('acme'), draft('acme'), draft('acme')];
    await store.publishMessages('acme', drafts, T0);
    return { store, ids: drafts.map((d) => d.message.id) };
  }

  it('reads a row in full when it was attempted behind the kept copy', async () => {
    const { store, ids } = await storeWithBatch();
    store.db
      .prepare(
        'UPDATE deliveries SET attempt_count = 2, retry_base = 1, last_status_code = 500 WHERE message_id = ?',
      )
      .run(ids[1]);
    const claimed = await claimAll(store, T0 + SECOND);
    const second = claimed.find((c) => c.delivery.messageId === ids[1]);
    expect(second?.delivery).toMatchObject({ attemptCount: 2, retryBase: 1, lastStatusCode: 500 });
    for (const c of claimed) expect(c.delivery).toEqual(await store.getDelivery('acme', c.delivery.id));
    await store.close();
  });

  it("sends no kept payload for another message's row (numbers reused after a rollback)", async () => {
    const { store, ids } = await storeWithBatch();
    // As a rolled-back batch would leave it: its rows gone and their numbers free again, while the
    // copy kept from its publish is still there. Rows of another message then take the numbers.
    const other = draft('acme', { payload: '{"other":true}' });
    store.db.exec(`DELETE FROM deliveries; UPDATE sqlite_sequence SET seq = 0 WHERE name = 'deliveries'`);
    store.db
      .prepare(
        `INSERT INTO messages (tenant_id, id, type, payload, content_hash, delivery_count, created_at)
         VALUES ('acme', ?, 'invoice.paid', ?, '', 3, ?)`,
      )
      .run(other.message.id, other.message.payload, T0);
    const webhookId = store.db.prepare('SELECT id FROM webhooks').pluck().get() as string;
    for (let i = 0; i < ids.length; i++) {
      store.db
        .prepare(
          `INSERT INTO deliveries (id, tenant_id, message_id, webhook_id, url, status, next_attempt_at, created_at, updated_at)
           VALUES (?, 'acme', ?, ?, 'https://a.example/hook', 'PENDING', ?, ?, ?)`,
        )
        .run(`dlv_other_${i}`, other.message.id, webhookId, T0, T0, T0);
    }
    const claimed = await claimAll(store, T0 + SECOND);
    expect(claimed.map((c) => [c.delivery.messageId, c.payload])).toEqual(
      ids.map(() => [other.message.id, other.message.payload]),
    );
    await store.close();
  });
});
