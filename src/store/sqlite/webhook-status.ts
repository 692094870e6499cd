import type { Webhook, WebhookStatus } from '../../core/model.js';
import { type Row, webhookFromRow } from '../rows.js';
import type { Leases } from './leases.js';
import type { Db } from './open-database.js';

/**
 * See Store.setWebhookStatus. Reactivation requeues the webhook's HELD deliveries (and the FAILED
 * ones of its failure streak); pausing holds its PENDING ones, except those leased (in flight).
 */
export function setWebhookStatus(
  db: Db,
  leases: Leases,
  tenantId: string,
  id: string,
  status: WebhookStatus,
  now: number,
): Webhook | null {
  return db
    .transaction(() => {
      const row = db.prepare('SELECT * FROM webhooks WHERE tenant_id = ? AND id = ?').get(tenantId, id) as
        | Row
        | undefined;
      if (!row) return null;
      const before = webhookFromRow(row);
      if (status === 'ACTIVE') {
        db.prepare(
          `UPDATE deliveries SET status = 'PENDING', next_attempt_at = ?, retry_base = attempt_count, first_attempt_at = NULL, updated_at = ?
             WHERE tenant_id = ? AND webhook_id = ?
               AND (status = 'HELD' OR (status = 'FAILED' AND (? IS NULL OR last_attempt_at > ?)))`,
        ).run(now, now, tenantId, id, before.lastSuccessAt, before.lastSuccessAt);
      } else {
        db.prepare(
          `UPDATE deliveries SET status = 'HELD', next_attempt_at = NULL, updated_at = ?
             WHERE tenant_id = ? AND webhook_id = ? AND status = 'PENDING' AND id NOT IN (SELECT value FROM json_each(?))`,
        ).run(now, tenantId, id, leases.heldJson(now));
      }
      const failingSince = status === 'ACTIVE' ? null : before.failingSince;
      const updated = db
        .prepare(
          'UPDATE webhooks SET status = ?, failing_since = ?, updated_at = ? WHERE tenant_id = ? AND id = ? RETURNING *',
        )
        .get(status, failingSince, now, tenantId, id) as Row;
      return webhookFromRow(updated);
    })
    .immediate();
}

/** See Store.deleteWebhook: its PENDING and HELD deliveries are CANCELLED. */
export function deleteWebhook(db: Db, tenantId: string, id: string, now: number): boolean {
  return db
    .transaction(() => {
      const gone =
        db.prepare('DELETE FROM webhooks WHERE tenant_id = ? AND id = ?').run(tenantId, id).changes > 0;
      if (gone) {
        // One status at a time: each has its own partial index (an IN list would use neither).
        for (const status of ['PENDING', 'HELD']) {
          db.prepare(
            `UPDATE deliveries SET status = 'CANCELLED', next_attempt_at = NULL, updated_at = ?
               WHERE tenant_id = ? AND webhook_id = ? AND status = ?`,
          ).run(now, tenantId, id, status);
        }
      }
      return gone;
    })
    .immediate();
}
