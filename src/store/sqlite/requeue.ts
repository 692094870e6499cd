import { matchesEvent } from '../../core/event-types.js';
import { newId } from '../../core/ids.js';
import type { Db } from './open-database.js';

/** PENDING again with a fresh schedule, or HELD when the webhook is paused. */
const REQUEUE_SET = `status = CASE WHEN webhook_id IS NULL OR
      (SELECT status FROM webhooks w WHERE w.id = deliveries.webhook_id) = 'ACTIVE' THEN 'PENDING' ELSE 'HELD' END,
    next_attempt_at = CASE WHEN webhook_id IS NULL OR
      (SELECT status FROM webhooks w WHERE w.id = deliveries.webhook_id) = 'ACTIVE' THEN @now ELSE NULL END,
    retry_base = attempt_count, first_attempt_at = NULL, updated_at = @now`;

/**
 * Finished deliveries of the message go back in the queue. Given a webhook that matches the
 * message's type but never had a delivery of it (created later), one is made.
 */
export function redeliverMessage(
  db: Db,
  tenantId: string,
  messageId: string,
  webhookId: string | null,
  now: number,
): number {
  return db
    .transaction(() => {
      const requeued = db
        .prepare(
          `UPDATE deliveries SET ${REQUEUE_SET}
           WHERE tenant_id = @tenantId AND message_id = @messageId AND status IN ('SUCCEEDED', 'FAILED')
             AND (@webhookId IS NULL OR webhook_id = @webhookId)
             AND (webhook_id IS NULL OR EXISTS (SELECT 1 FROM webhooks w WHERE w.id = deliveries.webhook_id))`,
        )
        .run({ tenantId, messageId, webhookId, now }).changes;
      if (webhookId === null) return requeued;
      const has = db
        .prepare('SELECT 1 FROM deliveries WHERE tenant_id = ? AND message_id = ? AND webhook_id = ?')
        .get(tenantId, messageId, webhookId);
      if (has) return requeued;
      const w = db
        .prepare('SELECT url, events, status FROM webhooks WHERE tenant_id = ? AND id = ?')
        .get(tenantId, webhookId) as { url: string; events: string; status: string } | undefined;
      const m = db
        .prepare('SELECT type FROM messages WHERE tenant_id = ? AND id = ?')
        .get(tenantId, messageId) as { type: string } | undefined;
      if (!w || !m || !matchesEvent(JSON.parse(w.events) as string[], m.type)) return requeued;
      const active = w.status === 'ACTIVE';
      db.prepare(
        `INSERT INTO deliveries (id, tenant_id, message_id, webhook_id, url, status, next_attempt_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        newId('dlv'),
        tenantId,
        messageId,
        webhookId,
        w.url,
        active ? 'PENDING' : 'HELD',
        active ? now : null,
        now,
        now,
      );
      db.prepare(
        'UPDATE messages SET delivery_count = delivery_count + 1 WHERE tenant_id = ? AND id = ?',
      ).run(tenantId, messageId);
      return requeued + 1;
    })
    .immediate();
}

export function recoverWebhook(
  db: Db,
  tenantId: string,
  webhookId: string,
  since: number,
  now: number,
): number {
  return db
    .prepare(
      `UPDATE deliveries SET ${REQUEUE_SET}
       WHERE tenant_id = @tenantId AND webhook_id = @webhookId AND status = 'FAILED' AND created_at >= @since`,
    )
    .run({ tenantId, webhookId, since, now }).changes;
}
