import { matchesEvent } from '../../core/event-types.js';
import { newId } from '../../core/ids.js';
import type { Message } from '../../core/model.js';
import { messageFromRow, type Row } from '../rows.js';
import { IdempotencyConflict, type MessageDraft, type PublishResult } from '../store.js';
import { type Client, firstRow, lockTenantShared, type Pool, rows, transaction } from './open-pool.js';

interface Target {
  id: string | null;
  url: string;
  status: 'PENDING' | 'HELD';
}

async function findExisting(c: Client, tenantId: string, m: MessageDraft['message']): Promise<Row | null> {
  const byId = await firstRow(c, 'SELECT * FROM messages WHERE tenant_id = $1 AND id = $2', [tenantId, m.id]);
  if (byId || m.idempotencyKey === null) return byId;
  return firstRow(c, 'SELECT * FROM messages WHERE tenant_id = $1 AND idempotency_key = $2', [
    tenantId,
    m.idempotencyKey,
  ]);
}

/**
 * The message and its deliveries in one statement. ON CONFLICT DO NOTHING (any unique key: the id
 * or the idempotency key) makes a concurrent duplicate wait for the first one's outcome instead of
 * failing, and no delivery is inserted unless the message was.
 */
const INSERT_MESSAGE = `
  WITH m AS (
    INSERT INTO messages (tenant_id, id, type, payload, callback_url, idempotency_key, content_hash, delivery_count, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
    ON CONFLICT DO NOTHING
    RETURNING id
  ), d AS (
    INSERT INTO deliveries (id, tenant_id, message_id, webhook_id, url, status, next_attempt_at, created_at, updated_at)
    SELECT t.id, $1, m.id, t.webhook_id, t.url, t.status, t.due, $10, $10
    FROM m CROSS JOIN unnest($11::text[], $12::text[], $13::text[], $14::text[], $15::bigint[])
      WITH ORDINALITY AS t(id, webhook_id, url, status, due, n)
    ORDER BY t.n
  )
  SELECT count(*)::int AS inserted FROM m`;

/** See Store.publishMessages. One transaction: all or nothing. */
export async function publishMessages(
  pool: Pool,
  tenantId: string,
  drafts: MessageDraft[],
  now: number,
): Promise<PublishResult[]> {
  return transaction(pool, async (c) => {
    await lockTenantShared(c, tenantId);
    const webhooks = (
      await rows(c, 'SELECT id, url, events, status FROM webhooks WHERE tenant_id = $1 ORDER BY seq', [
        tenantId,
      ])
    ).map((w) => ({
      id: String(w.id),
      url: String(w.url),
      events: JSON.parse(String(w.events)) as string[],
      status: String(w.status),
    }));

    const results: PublishResult[] = [];
    for (const [index, { message: m }] of drafts.entries()) {
      const targets: Target[] = webhooks
        .filter((w) => matchesEvent(w.events, m.type))
        .map((w) => ({ id: w.id, url: w.url, status: w.status === 'ACTIVE' ? 'PENDING' : 'HELD' }));
      if (m.callbackUrl) targets.push({ id: null, url: m.callbackUrl, status: 'PENDING' });
      const inserted = await firstRow(c, INSERT_MESSAGE, [
        tenantId,
        m.id,
        m.type,
        m.payload,
        m.callbackUrl,
        m.idempotencyKey,
        m.contentHash,
        targets.length,
        m.createdAt,
        now,
        targets.map(() => newId('dlv')),
        targets.map((t) => t.id),
        targets.map((t) => t.url),
        targets.map((t) => t.status),
        targets.map((t) => (t.status === 'PENDING' ? now : null)),
      ]);
      if (Number(inserted?.inserted) === 1) {
        const message: Message = { ...m, deliveryCount: targets.length };
        results.push({ message, created: true });
        continue;
      }
      const existing = await findExisting(c, tenantId, m);
      // A conflicting row that is gone again by now: rare enough to report rather than loop on.
      if (!existing) throw new Error(`message ${m.id}: stored concurrently and removed again; retry`);
      if (existing.content_hash !== m.contentHash) throw new IdempotencyConflict(index);
      results.push({ message: messageFromRow(existing), created: false });
    }
    return results;
  });
}
