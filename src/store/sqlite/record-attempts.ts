import { shouldSuspend } from '../../core/retry-policy.js';
import type { Row } from '../rows.js';
import type { AttemptRecord } from '../store.js';
import type { Leases } from './leases.js';
import type { Db } from './open-database.js';

/** See Store.recordAttempts. One transaction for the whole batch: group commit. */
export function recordAttempts(db: Db, leases: Leases, records: AttemptRecord[], now: number): void {
  for (const r of records) leases.release(r.attempt.deliveryId);
  const held = leases.heldJson(now);
  const insertAttempt = db.prepare(
    `INSERT INTO attempts (tenant_id, delivery_id, number, started_at, duration_ms, status_code, response_body, error)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const getDelivery = db.prepare('SELECT status, first_attempt_at FROM deliveries WHERE id = ?');
  const getWebhook = db.prepare('SELECT status, last_success_at FROM webhooks WHERE id = ?');
  const updateDelivery = db.prepare(
    `UPDATE deliveries SET status = ?, attempt_count = attempt_count + 1, next_attempt_at = ?,
       last_status_code = ?, last_error = ?, first_attempt_at = COALESCE(first_attempt_at, ?), last_attempt_at = ?,
       url = ?, updated_at = ?
     WHERE id = ?`,
  );
  const webhookSuccess = db.prepare(
    'UPDATE webhooks SET last_success_at = MAX(COALESCE(last_success_at, 0), ?), failing_since = NULL WHERE id = ?',
  );
  const webhookFailure = db.prepare(
    'UPDATE webhooks SET last_failure_at = ?, failing_since = COALESCE(failing_since, ?) WHERE id = ?',
  );
  const suspend = db.prepare(
    "UPDATE webhooks SET status = 'SUSPENDED', updated_at = ? WHERE id = ? AND status = 'ACTIVE'",
  );
  const holdPending = db.prepare(
    `UPDATE deliveries SET status = 'HELD', next_attempt_at = NULL, updated_at = ?
     WHERE webhook_id = ? AND status = 'PENDING' AND id NOT IN (SELECT value FROM json_each(?))`,
  );

  db.transaction(() => {
    for (const r of records) {
      const a = r.attempt;
      insertAttempt.run(
        a.tenantId,
        a.deliveryId,
        a.number,
        a.startedAt,
        a.durationMs,
        a.statusCode,
        a.responseBody,
        a.error,
      );
      const current = getDelivery.get(a.deliveryId) as Row | undefined;
      if (!current) continue;
      const webhook = r.webhookId ? (getWebhook.get(r.webhookId) as Row | undefined) : undefined;
      const webhookActive = r.webhookId === null || webhook?.status === 'ACTIVE';
      let status: string = r.next.status;
      let due = r.next.nextAttemptAt;
      if (current.status !== 'PENDING') {
        // Cancelled or held while this attempt was in flight: keep that, unless it succeeded.
        status = r.success ? 'SUCCEEDED' : String(current.status);
        due = null;
      } else if (status === 'PENDING' && !webhookActive) {
        status = 'HELD';
        due = null;
      }
      const firstAttemptAt =
        current.first_attempt_at === null ? a.startedAt : Number(current.first_attempt_at);
      updateDelivery.run(
        status,
        due,
        a.statusCode,
        a.error,
        a.startedAt,
        a.startedAt,
        r.url,
        now,
        a.deliveryId,
      );
      if (!r.webhookId || !webhook) continue;
      if (r.success) {
        webhookSuccess.run(now, r.webhookId);
        continue;
      }
      webhookFailure.run(now, a.startedAt, r.webhookId);
      const lastSuccess = webhook.last_success_at === null ? null : Number(webhook.last_success_at);
      if (status === 'FAILED' && webhook.status === 'ACTIVE' && shouldSuspend(lastSuccess, firstAttemptAt)) {
        suspend.run(now, r.webhookId);
        holdPending.run(now, r.webhookId, held);
      }
    }
  }).immediate();
}
