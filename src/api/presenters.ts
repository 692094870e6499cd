import { iso, isoOrNull } from '../core/clock.js';
import type { EventType, Page, Tenant, Webhook } from '../core/model.js';

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
