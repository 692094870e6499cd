import type { Webhook, WebhookStatus } from '../../core/model.js';
import { webhookFromRow } from '../rows.js';
import { changes, firstRow, lockTenant, type Pool, transaction } from './open-pool.js';

/**
 * See Store.setWebhookStatus. The tenant's exclusive lock waits for publishes and requeues in
 * flight (they choose PENDING or HELD from the status), then the webhook row is locked before its
 * deliveries, the order recordAttempts uses too.
 */
export async function setWebhookStatus(
  pool: Pool,
  tenantId: string,
  id: string,
  status: WebhookStatus,
  now: number,
): Promise<Webhook | null> {
  return transaction(pool, async (c) => {
    await lockTenant(c, tenantId);
    const row = await firstRow(
      c,
      'SELECT * FROM webhooks WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE',
      [tenantId, id],
    );
    if (!row) return null;
    const before = webhookFromRow(row);
    if (status === 'ACTIVE') {
      await changes(
        c,
        `UPDATE deliveries SET status = 'PENDING', next_attempt_at = $1, retry_base = attempt_count, first_attempt_at = NULL, updated_at = $1
         WHERE tenant_id = $2 AND webhook_id = $3
           AND (status = 'HELD' OR (status = 'FAILED' AND ($4::bigint IS NULL OR last_attempt_at > $4)))`,
        [now, tenantId, id, before.lastSuccessAt],
      );
    } else {
      await changes(
        c,
        `UPDATE deliveries SET status = 'HELD', next_attempt_at = NULL, updated_at = $1
         WHERE tenant_id = $2 AND webhook_id = $3 AND status = 'PENDING' AND (locked_until IS NULL OR locked_until <= $1)`,
        [now, tenantId, id],
      );
    }
    const failingSince = status === 'ACTIVE' ? null : before.failingSince;
    const updated = await firstRow(
      c,
      `UPDATE webhooks SET status = $1, failing_since = $2, updated_at = $3
       WHERE tenant_id = $4 AND id = $5 RETURNING *`,
      [status, failingSince, now, tenantId, id],
    );
    return updated ? webhookFromRow(updated) : null;
  });
}

/** See Store.deleteWebhook: the webhook goes and its PENDING and HELD deliveries are cancelled. */
export async function deleteWebhook(pool: Pool, tenantId: string, id: string, now: number): Promise<boolean> {
  return transaction(pool, async (c) => {
    await lockTenant(c, tenantId);
    const gone =
      (await changes(c, 'DELETE FROM webhooks WHERE tenant_id = $1 AND id = $2', [tenantId, id])) > 0;
    if (gone) {
      await changes(
        c,
        `UPDATE deliveries SET status = 'CANCELLED', next_attempt_at = NULL, updated_at = $1
         WHERE tenant_id = $2 AND webhook_id = $3 AND status IN ('PENDING', 'HELD')`,
        [now, tenantId, id],
      );
    }
    return gone;
  });
}
