import { shouldSuspend } from '../../core/retry-policy.js';
import type { Row } from '../rows.js';
import type { AttemptRecord } from '../store.js';
import type { Leases } from './leases.js';
import type { Db } from './open-database.js';

/** See Store.recordAttempts. The caller runs it in one transaction (or savepoint): all or nothing. */
export function recordAttempts(
  db: Db,
  leases: Leases,
  records: AttemptRecord[],
  now: number,
  onSuspend: () => void,
): void {
  const seqOf = new Map<string, number>();
  for (const r of records) {
    const id = r.attempt.deliveryId;
    const seq = leases.seqOf(id);
    if (seq !== undefined) seqOf.set(id, seq);
    leases.release(id);
  }
  const insertAttempt = db.prepare(
    `INSERT INTO attempts (tenant_id, delivery_id, number, started_at, duration_ms, status_code, response_body, error)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const getDelivery = db.prepare('SELECT status, first_attempt_at FROM deliveries WHERE seq = ?');
  const getWebhook = db.prepare('SELECT status, last_success_at FROM webhooks WHERE id = ?');
  const SET = `SET status = ?, attempt_count = attempt_count + 1, next_attempt_at = ?,
       last_status_code = ?, last_error = ?, first_attempt_at = COALESCE(first_attempt_at, ?), last_attempt_at = ?,
       url = ?, updated_at = ?`;
  // The usual case in one statement: the delivery is still PENDING (nobody cancelled or held it),
  // found by its row number (from the lease; one that ran out leaves only the id to go by). A
  // failure needs the first attempt's time back (suspension), a success nothing.
  const seqOfId = db.prepare('SELECT seq FROM deliveries WHERE id = ?').pluck();
  const succeedPending = db.prepare(`UPDATE deliveries ${SET} WHERE seq = ? AND status = 'PENDING'`);
  const failPending = db.prepare(
    `UPDATE deliveries ${SET} WHERE seq = ? AND status = 'PENDING' RETURNING first_attempt_at`,
  );
  const updateDelivery = db.prepare(`UPDATE deliveries ${SET} WHERE seq = ?`);
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

  // A webhook's last success, once per batch: the row is written once, not once per attempt.
  const succeeded = new Set<string>();
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
    // The webhook's row matters only to a failure (suspension) or a retry (paused meanwhile?);
    // a success of this batch recorded before it must count, as if written one by one.
    const failedWebhook = r.success ? null : r.webhookId;
    if (failedWebhook && succeeded.delete(failedWebhook)) webhookSuccess.run(now, failedWebhook);
    const webhook = failedWebhook ? (getWebhook.get(failedWebhook) as Row | undefined) : undefined;
    const webhookActive = r.webhookId === null || r.success || webhook?.status === 'ACTIVE';
    let status: string = r.next.status;
    let due = r.next.nextAttemptAt;
    if (status === 'PENDING' && !webhookActive) {
      status = 'HELD';
      due = null;
    }
    const seq = seqOf.get(a.deliveryId) ?? (seqOfId.get(a.deliveryId) as number | undefined);
    if (seq === undefined) continue; // gone with its tenant
    const set = [a.statusCode, a.error, a.startedAt, a.startedAt, r.url, now] as const;
    let firstAttemptAt = a.startedAt;
    let updated: boolean;
    if (r.success) {
      updated = succeedPending.run(status, due, ...set, seq).changes > 0;
    } else {
      const row = failPending.get(status, due, ...set, seq) as Row | undefined;
      updated = row !== undefined;
      if (row && row.first_attempt_at !== null) firstAttemptAt = Number(row.first_attempt_at);
    }
    if (!updated) {
      const current = getDelivery.get(seq) as Row | undefined;
      if (!current) continue;
      // Cancelled or held while this attempt was in flight: keep that, unless it succeeded.
      status = r.success ? 'SUCCEEDED' : String(current.status);
      updateDelivery.run(status, null, ...set, seq);
      if (current.first_attempt_at !== null) firstAttemptAt = Number(current.first_attempt_at);
    }
    if (!r.webhookId) continue;
    if (r.success) {
      succeeded.add(r.webhookId);
      continue;
    }
    if (!webhook) continue;
    webhookFailure.run(now, a.startedAt, r.webhookId);
    const lastSuccess = webhook.last_success_at === null ? null : Number(webhook.last_success_at);
    if (status === 'FAILED' && webhook.status === 'ACTIVE' && shouldSuspend(lastSuccess, firstAttemptAt)) {
      suspend.run(now, r.webhookId);
      onSuspend();
      holdPending.run(now, r.webhookId, leases.heldJson(now));
    }
  }
  for (const id of succeeded) webhookSuccess.run(now, id);
}
