import { shouldSuspend } from '../../core/retry-policy.js';
import type { AttemptRecord } from '../store.js';
import { changes, type Pool, prepared, rows, transaction } from './open-pool.js';

/** A delivery of the batch as it stands after the records so far (read locked, written once). */
interface DeliveryState {
  webhookId: string | null;
  status: string;
  lockedUntil: number | null;
  due: number | null;
  firstAttemptAt: number | null;
  // what the records of this batch did
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  lastAttemptAt: number | null;
  url: string | null;
}

interface WebhookState {
  status: string;
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  failingSince: number | null;
  suspended: boolean;
  /** A record of the batch changed it: written back. */
  dirty: boolean;
}

const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const sortedUnique = (ids: (string | null)[]): string[] =>
  [...new Set(ids.filter((id): id is string => id !== null))].sort();

const LOCK_WEBHOOKS = prepared(`
  SELECT id, status, last_success_at, last_failure_at, failing_since FROM webhooks
  WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE`);

const LOCK_DELIVERIES = prepared(`
  SELECT id, webhook_id, status, locked_until, next_attempt_at, first_attempt_at FROM deliveries
  WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE`);

const INSERT_ATTEMPTS = prepared(`
  INSERT INTO attempts (tenant_id, delivery_id, number, started_at, duration_ms, status_code, response_body, error)
  SELECT tenant_id, delivery_id, number, started_at, duration_ms, status_code, response_body, error
  FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::int[], $6::int[], $7::text[], $8::text[])
    WITH ORDINALITY AS a(tenant_id, delivery_id, number, started_at, duration_ms, status_code, response_body, error, n)
  ORDER BY n`);

const UPDATE_DELIVERIES = prepared(`
  UPDATE deliveries d SET status = v.status, attempt_count = d.attempt_count + v.attempts,
    next_attempt_at = v.due, locked_until = NULL, last_status_code = v.code, last_error = v.error,
    first_attempt_at = v.first_at, last_attempt_at = v.last_at, url = v.url, updated_at = $10
  FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::int[], $6::text[], $7::bigint[], $8::bigint[],
    $9::text[]) AS v(id, status, attempts, due, code, error, first_at, last_at, url)
  WHERE d.id = v.id`);

const UPDATE_WEBHOOKS = prepared(`
  UPDATE webhooks w SET status = v.status, last_success_at = v.success_at, last_failure_at = v.failure_at,
    failing_since = v.failing_since, updated_at = CASE WHEN v.suspended THEN $7 ELSE w.updated_at END
  FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::boolean[])
    AS v(id, status, success_at, failure_at, failing_since, suspended)
  WHERE w.id = v.id`);

/**
 * See Store.recordAttempts and the SQLite version, whose record-by-record semantics this follows
 * exactly. The batch's webhooks, then its deliveries, are read and locked (in id order, so
 * concurrent batches, setWebhookStatus and deleteWebhook, which also lock the webhook before its
 * deliveries, cannot deadlock); the records are applied in memory in order; then each table is
 * written with one statement. A fixed number of round trips, however large the batch.
 */
export async function recordAttempts(pool: Pool, records: AttemptRecord[], now: number): Promise<void> {
  if (records.length === 0) return;
  await transaction(pool, async (c) => {
    const webhooks = new Map<string, WebhookState>();
    const webhookIds = sortedUnique(records.map((r) => r.webhookId));
    if (webhookIds.length > 0) {
      const found = await rows(c, LOCK_WEBHOOKS, [webhookIds]);
      for (const r of found) {
        webhooks.set(String(r.id), {
          status: String(r.status),
          lastSuccessAt: numOrNull(r.last_success_at),
          lastFailureAt: numOrNull(r.last_failure_at),
          failingSince: numOrNull(r.failing_since),
          suspended: false,
          dirty: false,
        });
      }
    }
    const deliveries = new Map<string, DeliveryState>();
    const found = await rows(c, LOCK_DELIVERIES, [sortedUnique(records.map((r) => r.attempt.deliveryId))]);
    for (const r of found) {
      deliveries.set(String(r.id), {
        webhookId: r.webhook_id === null ? null : String(r.webhook_id),
        status: String(r.status),
        lockedUntil: numOrNull(r.locked_until),
        due: numOrNull(r.next_attempt_at),
        firstAttemptAt: numOrNull(r.first_attempt_at),
        attempts: 0,
        lastStatusCode: null,
        lastError: null,
        lastAttemptAt: null,
        url: null,
      });
    }

    for (const r of records) apply(r, deliveries, webhooks, now);

    const a = records.map((r) => r.attempt);
    await rows(c, INSERT_ATTEMPTS, [
      a.map((x) => x.tenantId),
      a.map((x) => x.deliveryId),
      a.map((x) => x.number),
      a.map((x) => x.startedAt),
      a.map((x) => x.durationMs),
      a.map((x) => x.statusCode),
      a.map((x) => x.responseBody),
      a.map((x) => x.error),
    ]);
    const touched = [...deliveries].filter(([, d]) => d.attempts > 0);
    await rows(c, UPDATE_DELIVERIES, [
      touched.map(([id]) => id),
      touched.map(([, d]) => d.status),
      touched.map(([, d]) => d.attempts),
      touched.map(([, d]) => d.due),
      touched.map(([, d]) => d.lastStatusCode),
      touched.map(([, d]) => d.lastError),
      touched.map(([, d]) => d.firstAttemptAt),
      touched.map(([, d]) => d.lastAttemptAt),
      touched.map(([, d]) => d.url),
      now,
    ]);
    const ws = [...webhooks].filter(([, w]) => w.dirty);
    if (ws.length > 0) {
      await rows(c, UPDATE_WEBHOOKS, [
        ws.map(([id]) => id),
        ws.map(([, w]) => w.status),
        ws.map(([, w]) => w.lastSuccessAt),
        ws.map(([, w]) => w.lastFailureAt),
        ws.map(([, w]) => w.failingSince),
        ws.map(([, w]) => w.suspended),
        now,
      ]);
    }
    const suspended = ws.filter(([, w]) => w.suspended).map(([id]) => id);
    if (suspended.length > 0) {
      // The batch's own deliveries were settled in memory; this holds the webhook's others.
      await changes(
        c,
        `UPDATE deliveries SET status = 'HELD', next_attempt_at = NULL, updated_at = $2
         WHERE webhook_id = ANY($1::text[]) AND status = 'PENDING' AND (locked_until IS NULL OR locked_until <= $2)
           AND NOT (id = ANY($3::text[]))`,
        [suspended, now, [...deliveries.keys()]],
      );
    }
  });
}

/** One record, exactly as the SQLite version applies it, on the in-memory state. */
function apply(
  r: AttemptRecord,
  deliveries: Map<string, DeliveryState>,
  webhooks: Map<string, WebhookState>,
  now: number,
): void {
  const a = r.attempt;
  const current = deliveries.get(a.deliveryId);
  if (!current) return;
  const webhook = r.webhookId ? webhooks.get(r.webhookId) : undefined;
  const webhookActive = r.webhookId === null || webhook?.status === 'ACTIVE';
  let status: string = r.next.status;
  let due = r.next.nextAttemptAt;
  if (current.status !== 'PENDING') {
    // Cancelled or held while this attempt was in flight: keep that, unless it succeeded.
    status = r.success ? 'SUCCEEDED' : current.status;
    due = null;
  } else if (status === 'PENDING' && !webhookActive) {
    status = 'HELD';
    due = null;
  }
  const firstAttemptAt = current.firstAttemptAt ?? a.startedAt;
  Object.assign(current, {
    status,
    due,
    lockedUntil: null,
    firstAttemptAt,
    attempts: current.attempts + 1,
    lastStatusCode: a.statusCode,
    lastError: a.error,
    lastAttemptAt: a.startedAt,
    url: r.url,
  });
  if (!r.webhookId || !webhook) return;
  webhook.dirty = true;
  if (r.success) {
    webhook.lastSuccessAt = Math.max(webhook.lastSuccessAt ?? 0, now);
    webhook.failingSince = null;
    return;
  }
  const lastSuccess = webhook.lastSuccessAt;
  webhook.lastFailureAt = now;
  webhook.failingSince = webhook.failingSince ?? a.startedAt;
  if (status === 'FAILED' && webhook.status === 'ACTIVE' && shouldSuspend(lastSuccess, firstAttemptAt)) {
    webhook.status = 'SUSPENDED';
    webhook.suspended = true;
    for (const d of deliveries.values()) {
      if (d.webhookId !== r.webhookId || d.status !== 'PENDING') continue;
      if (d.lockedUntil !== null && d.lockedUntil > now) continue;
      d.status = 'HELD';
      d.due = null;
    }
  }
}
