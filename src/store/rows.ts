import type {
  ApiKey,
  Attempt,
  Delivery,
  DeliveryStatus,
  EventType,
  Message,
  Tenant,
  Webhook,
  WebhookStatus,
} from '../core/model.js';

/** Row shapes shared by both backends (same column names); numbers may arrive as strings from pg. */
export type Row = Record<string, unknown>;

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const json = (v: unknown): unknown => (v === null || v === undefined ? null : JSON.parse(String(v)));

export const seqOf = (row: Row): number => num(row.seq);

export function tenantFromRow(r: Row): Tenant {
  return {
    id: String(r.id),
    name: String(r.name),
    callbackSecret: String(r.callback_secret),
    callbackSecretPrev: strOrNull(r.callback_secret_prev),
    callbackSecretPrevUntil: numOrNull(r.callback_secret_prev_until),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

export function apiKeyFromRow(r: Row): ApiKey {
  return {
    id: String(r.id),
    tenantId: String(r.tenant_id),
    name: strOrNull(r.name),
    keyHash: String(r.key_hash),
    createdAt: num(r.created_at),
  };
}

export function eventTypeFromRow(r: Row): EventType {
  return {
    name: String(r.name),
    description: strOrNull(r.description),
    schema: json(r.schema),
    example: json(r.example),
    archivedAt: numOrNull(r.archived_at),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

export function webhookFromRow(r: Row): Webhook {
  return {
    id: String(r.id),
    tenantId: String(r.tenant_id),
    url: String(r.url),
    events: json(r.events) as string[],
    secret: String(r.secret),
    secretPrev: strOrNull(r.secret_prev),
    secretPrevUntil: numOrNull(r.secret_prev_until),
    description: strOrNull(r.description),
    authUsername: strOrNull(r.auth_username),
    authPassword: strOrNull(r.auth_password),
    headers: json(r.headers) as Record<string, string>,
    timeoutMs: num(r.timeout_ms),
    rateLimitPerSec: numOrNull(r.rate_limit_per_sec),
    retrySchedule: json(r.retry_schedule) as number[] | null,
    signatureHeader: strOrNull(r.signature_header),
    metadata: json(r.metadata) as Record<string, unknown>,
    status: String(r.status) as WebhookStatus,
    lastSuccessAt: numOrNull(r.last_success_at),
    lastFailureAt: numOrNull(r.last_failure_at),
    failingSince: numOrNull(r.failing_since),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

export function messageFromRow(r: Row): Message {
  return {
    id: String(r.id),
    tenantId: String(r.tenant_id),
    type: String(r.type),
    payload: String(r.payload),
    callbackUrl: strOrNull(r.callback_url),
    idempotencyKey: strOrNull(r.idempotency_key),
    contentHash: String(r.content_hash),
    deliveryCount: num(r.delivery_count),
    createdAt: num(r.created_at),
  };
}

export function deliveryFromRow(r: Row): Delivery {
  return {
    id: String(r.id),
    tenantId: String(r.tenant_id),
    messageId: String(r.message_id),
    webhookId: strOrNull(r.webhook_id),
    url: String(r.url),
    status: String(r.status) as DeliveryStatus,
    attemptCount: num(r.attempt_count),
    retryBase: num(r.retry_base),
    nextAttemptAt: numOrNull(r.next_attempt_at),
    lastStatusCode: numOrNull(r.last_status_code),
    lastError: strOrNull(r.last_error),
    firstAttemptAt: numOrNull(r.first_attempt_at),
    lastAttemptAt: numOrNull(r.last_attempt_at),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

export function attemptFromRow(r: Row): Attempt {
  return {
    deliveryId: String(r.delivery_id),
    tenantId: String(r.tenant_id),
    number: num(r.number),
    startedAt: num(r.started_at),
    durationMs: num(r.duration_ms),
    statusCode: numOrNull(r.status_code),
    responseBody: strOrNull(r.response_body),
    error: strOrNull(r.error),
  };
}

type ColumnValue = string | number | null;
const toJson = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));

/** Model field → column, with the serialization the column needs. Used for inserts and patches. */
export const WEBHOOK_COLUMNS: Record<keyof Webhook, [string, (v: never) => ColumnValue]> = {
  id: ['id', (v: string) => v],
  tenantId: ['tenant_id', (v: string) => v],
  url: ['url', (v: string) => v],
  events: ['events', toJson],
  secret: ['secret', (v: string) => v],
  secretPrev: ['secret_prev', (v: string | null) => v],
  secretPrevUntil: ['secret_prev_until', (v: number | null) => v],
  description: ['description', (v: string | null) => v],
  authUsername: ['auth_username', (v: string | null) => v],
  authPassword: ['auth_password', (v: string | null) => v],
  headers: ['headers', toJson],
  timeoutMs: ['timeout_ms', (v: number) => v],
  rateLimitPerSec: ['rate_limit_per_sec', (v: number | null) => v],
  retrySchedule: ['retry_schedule', toJson],
  signatureHeader: ['signature_header', (v: string | null) => v],
  metadata: ['metadata', toJson],
  status: ['status', (v: string) => v],
  lastSuccessAt: ['last_success_at', (v: number | null) => v],
  lastFailureAt: ['last_failure_at', (v: number | null) => v],
  failingSince: ['failing_since', (v: number | null) => v],
  createdAt: ['created_at', (v: number) => v],
  updatedAt: ['updated_at', (v: number) => v],
};

export const TENANT_COLUMNS: Record<keyof Tenant, [string, (v: never) => ColumnValue]> = {
  id: ['id', (v: string) => v],
  name: ['name', (v: string) => v],
  callbackSecret: ['callback_secret', (v: string) => v],
  callbackSecretPrev: ['callback_secret_prev', (v: string | null) => v],
  callbackSecretPrevUntil: ['callback_secret_prev_until', (v: number | null) => v],
  createdAt: ['created_at', (v: number) => v],
  updatedAt: ['updated_at', (v: number) => v],
};

export const EVENT_TYPE_COLUMNS: Record<keyof EventType, [string, (v: never) => ColumnValue]> = {
  name: ['name', (v: string) => v],
  description: ['description', (v: string | null) => v],
  schema: ['schema', toJson],
  example: ['example', toJson],
  archivedAt: ['archived_at', (v: number | null) => v],
  createdAt: ['created_at', (v: number) => v],
  updatedAt: ['updated_at', (v: number) => v],
};

/** Column names and values for the fields present in `obj`, in a stable order. */
export function columnsOf<T extends object>(
  map: Record<keyof T, [string, (v: never) => ColumnValue]>,
  obj: Partial<T>,
): { names: string[]; values: ColumnValue[] } {
  const names: string[] = [];
  const values: ColumnValue[] = [];
  for (const key of Object.keys(obj) as (keyof T)[]) {
    const entry = map[key];
    if (!entry || obj[key] === undefined) continue;
    names.push(entry[0]);
    values.push(entry[1](obj[key] as never));
  }
  return { names, values };
}
