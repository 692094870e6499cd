import { iso, isoOrNull } from '../core/clock.js';
import type { Attempt, Delivery, EventType, Message, Page, Tenant, Webhook } from '../core/model.js';

/** Model → the JSON the contract shows. Optional fields are null, never absent. */

export function pageJson<T, J>(page: Page<T>, map: (item: T) => J) {
  return { data: page.data.map(map), next_cursor: page.nextCursor };
}

export function tenantJson(t: Tenant) {
  return { id: t.id, name: t.name, created_at: iso(t.createdAt), updated_at: iso(t.updatedAt) };
}

export function eventTypeJson(e: EventType) {
  return {
    name: e.name,
    description: e.description,
    schema: e.schema,
    example: e.example,
    archived_at: isoOrNull(e.archivedAt),
    created_at: iso(e.createdAt),
    updated_at: iso(e.updatedAt),
  };
}

export function webhookJson(w: Webhook) {
  return {
    id: w.id,
    url: w.url,
    events: w.events,
    description: w.description,
    auth: w.authUsername === null ? null : { username: w.authUsername },
    headers: w.headers,
    timeout_ms: w.timeoutMs,
    rate_limit_per_sec: w.rateLimitPerSec,
    retry_schedule: w.retrySchedule,
    signature_header: w.signatureHeader,
    metadata: w.metadata,
    status: w.status,
    created_at: iso(w.createdAt),
    updated_at: iso(w.updatedAt),
    stats: {
      last_success_at: isoOrNull(w.lastSuccessAt),
      last_failure_at: isoOrNull(w.lastFailureAt),
      failing_since: isoOrNull(w.failingSince),
    },
  };
}

export function publishedJson(m: Message) {
  return { id: m.id, type: m.type, created_at: iso(m.createdAt), delivery_count: m.deliveryCount };
}

/** The envelope as receivers get it, plus the bookkeeping fields. */
export function messageJson(m: Message) {
  const body = JSON.parse(m.payload) as Record<string, unknown>;
  return { ...body, callback_url: m.callbackUrl, delivery_count: m.deliveryCount };
}

export function deliveryJson(d: Delivery) {
  return {
    id: d.id,
    message_id: d.messageId,
    webhook_id: d.webhookId,
    url: d.url,
    status: d.status,
    attempt_count: d.attemptCount,
    next_attempt_at: isoOrNull(d.nextAttemptAt),
    last_status_code: d.lastStatusCode,
    last_error: d.lastError,
    created_at: iso(d.createdAt),
    updated_at: iso(d.updatedAt),
  };
}

export function attemptJson(a: Attempt) {
  return {
    number: a.number,
    started_at: iso(a.startedAt),
    duration_ms: a.durationMs,
    status_code: a.statusCode,
    response_body: a.responseBody,
    error: a.error,
  };
}
