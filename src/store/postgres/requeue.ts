import { matchesEvent } from '../../core/event-types.js';
import { newId } from '../../core/ids.js';
import { changes, firstRow, lockTenantShared, type Pool, transaction } from './open-pool.js';

/** PENDING again with a fresh schedule, or HELD when the webhook is paused. `$1` is now. */
const REQUEUE_SET = `status = CASE WHEN webhook_id IS NULL OR
      (SELECT status FROM webhooks w WHERE w.id = deliveries.webhook_id) = 'ACTIVE' THEN 'PENDING' ELSE 'HELD' END,
    next_attempt_at = CASE WHEN webhook_id IS NULL OR
      (SELECT status FROM webhooks w WHERE w.id = deliveries.webhook_id) = 'ACTIVE' THEN $1::bigint ELSE NULL END,
    retry_base = attempt_count, first_attempt_at = NULL, updated_at = $1`;

/**
 * Finished deliveries of the message go back in the queue. Given a webhook that matches the
 * message's type but never had a delivery of it (created later), one is made. Under the tenant's
 * shared lock, like publishing: the webhook's status cannot change until this commits.
 */
export async function redeliverMessage(
  pool: Pool,
  tenantId: string,
  messageId: string,
  webhookId: string | null,
  now: number,
): Promise<number> {
  return transaction(pool, async (c) => {
    await lockTenantShared(c, tenantId);
    const requeued = await changes(
      c,
      `UPDATE deliveries SET ${REQUEUE_SET}
       WHERE tenant_id = $2 AND message_id = $3 AND status IN ('SUCCEEDED', 'FAILED')
         AND ($4::text IS NULL OR webhook_id = $4)
         AND (webhook_id IS NULL OR EXISTS (SELECT 1 FROM webhooks w WHERE w.id = deliveries.webhook_id))`,
      [now, tenantId, messageId, webhookId],
    );
    if (webhookId === null) return requeued;
    const has = await firstRow(
      c,
      'SELECT 1 FROM deliveries WHERE tenant_id = $1 AND message_id = $2 AND webhook_id = $3',
      [tenantId, messageId, webhookId],
    );
    if (has) return requeued;
    const w = await firstRow(c, 'SELECT url, events, status FROM webhooks WHERE tenant_id = $1 AND id = $2', [
      tenantId,
      webhookId,
    ]);
    const m = await firstRow(c, 'SELECT type FROM messages WHERE tenant_id = $1 AND id = $2', [
      tenantId,
      messageId,
    ]);
    if (!w || !m || !matchesEvent(JSON.parse(String(w.events)) as string[], String(m.type))) return requeued;
    const active = w.status === 'ACTIVE';
    // A concurrent redelivery may have made it first: the unique (tenant, message, webhook) index.
    const made = await changes(
      c,
      `INSERT INTO deliveries (id, tenant_id, message_id, webhook_id, url, status, next_attempt_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT DO NOTHING`,
      [
        newId('dlv'),
        tenantId,
        messageId,
        webhookId,
        w.url,
        active ? 'PENDING' : 'HELD',
        active ? now : null,
        now,
      ],
    );
    if (made === 0) return requeued;
    await c.query(
      'UPDATE messages SET delivery_count = delivery_count + 1 WHERE tenant_id = $1 AND id = $2',
      [tenantId, messageId],
    );
    return requeued + 1;
  });
}

export async function recoverWebhook(
  pool: Pool,
  tenantId: string,
  webhookId: string,
  since: number,
  now: number,
): Promise<number> {
  return transaction(pool, async (c) => {
    await lockTenantShared(c, tenantId);
    return changes(
      c,
      `UPDATE deliveries SET ${REQUEUE_SET}
       WHERE tenant_id = $2 AND webhook_id = $3 AND status = 'FAILED' AND created_at >= $4`,
      [now, tenantId, webhookId, since],
    );
  });
}
