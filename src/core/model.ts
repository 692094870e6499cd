/**
 * Glossary.
 * - Tenant: one customer of the provider; owns keys, webhooks, messages, deliveries.
 * - Webhook: an endpoint (URL + options) subscribed to event-type patterns.
 * - Message: one published event; makes one Delivery per matching webhook (+1 for a callback_url).
 * - Delivery: the job of getting one message to one URL; made of Attempts (HTTP POSTs).
 * - Sealed: a secret encrypted with the SecretBox; the store never sees plaintext secrets.
 * Times are epoch milliseconds inside the process and ISO strings only at the API edge.
 */

export const DEFAULT_TENANT = 'default';

export interface Tenant {
  id: string;
  name: string;
  callbackSecret: string; // sealed
  callbackSecretPrev: string | null; // sealed
  callbackSecretPrevUntil: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface ApiKey {
  id: string;
  tenantId: string;
  name: string | null;
  keyHash: string;
  createdAt: number;
}

export interface EventType {
  name: string;
  description: string | null;
  schema: unknown | null;
  example: unknown | null;
  archivedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export const WEBHOOK_STATUSES = ['ACTIVE', 'SUSPENDED', 'DISABLED'] as const;
export type WebhookStatus = (typeof WEBHOOK_STATUSES)[number];

export interface Webhook {
  id: string;
  tenantId: string;
  url: string;
  events: string[];
  secret: string; // sealed
  secretPrev: string | null; // sealed
  secretPrevUntil: number | null;
  description: string | null;
  authUsername: string | null;
  authPassword: string | null; // sealed
  headers: Record<string, string>;
  timeoutMs: number;
  rateLimitPerSec: number | null;
  retrySchedule: number[] | null; // seconds
  signatureHeader: string | null;
  metadata: Record<string, unknown>;
  status: WebhookStatus;
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  failingSince: number | null;
  createdAt: number;
  updatedAt: number;
}

/** The fields a tenant sets; everything else belongs to the server. */
export type WebhookSettings = Pick<
  Webhook,
  | 'url'
  | 'events'
  | 'description'
  | 'authUsername'
  | 'authPassword'
  | 'headers'
  | 'timeoutMs'
  | 'rateLimitPerSec'
  | 'retrySchedule'
  | 'signatureHeader'
  | 'metadata'
>;

export const DELIVERY_STATUSES = ['PENDING', 'SUCCEEDED', 'FAILED', 'HELD', 'CANCELLED'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface Message {
  id: string;
  tenantId: string;
  type: string;
  /** The exact body every attempt sends. */
  payload: string;
  callbackUrl: string | null;
  idempotencyKey: string | null;
  /**
   * Hash of type, data, previous_data and callback_url: tells an idempotent repeat from a conflict.
   * '' when not computed at publish (nothing could repeat the message then); see contentHashOf.
   */
  contentHash: string;
  deliveryCount: number;
  createdAt: number;
}

export interface Delivery {
  id: string;
  tenantId: string;
  messageId: string;
  webhookId: string | null;
  url: string;
  status: DeliveryStatus;
  attemptCount: number;
  /** attemptCount when the current schedule started: a requeue starts a fresh schedule. */
  retryBase: number;
  nextAttemptAt: number | null;
  lastStatusCode: number | null;
  lastError: string | null;
  firstAttemptAt: number | null;
  lastAttemptAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface Attempt {
  deliveryId: string;
  tenantId: string;
  number: number;
  startedAt: number;
  durationMs: number;
  statusCode: number | null;
  responseBody: string | null;
  error: string | null;
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface PageRequest {
  limit: number;
  cursor: string | null;
}
