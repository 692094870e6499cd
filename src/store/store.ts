import type {
  ApiKey,
  Attempt,
  Delivery,
  DeliveryStatus,
  EventType,
  Message,
  Page,
  PageRequest,
  Tenant,
  Webhook,
  WebhookStatus,
} from '../core/model.js';

/** A message ready to store: its deliveries are made by the store from the webhooks it matches. */
export interface MessageDraft {
  message: Omit<Message, 'deliveryCount'>;
  /**
   * Its id was generated for it and it has no idempotency key: no stored message can be the same
   * one, so the store need not look (and its contentHash is left '', see contentHashOf).
   */
  fresh?: boolean;
}

export type PublishResult = { message: Message; created: boolean };

/** An idempotency key reused with other content; `index` is the draft's position in the batch. */
export class IdempotencyConflict extends Error {
  constructor(readonly index: number) {
    super('idempotency key reused with different content');
  }
}

export interface ClaimRequest {
  now: number;
  limit: number;
  /** Lease end for a claimed delivery of a webhook with this timeout. */
  leaseUntil: (timeoutMs: number) => number;
  /** Webhooks that may take no more now (at their concurrency or rate limit). */
  exclude: ReadonlySet<string>;
  /** How many more a webhook may take; webhooks absent from the map may take `perWebhookDefault`. */
  perWebhookFree: ReadonlyMap<string, number>;
  perWebhookDefault: number;
}

/** A leased delivery with everything needed to attempt it. */
export interface ClaimedDelivery {
  delivery: Delivery;
  payload: string;
  /** null for a callback delivery (signed with the tenant's callback secret). */
  webhook: Webhook | null;
  tenant: Tenant | null;
}

export interface AttemptRecord {
  attempt: Attempt;
  url: string;
  success: boolean;
  /** The delivery's next state; PENDING becomes HELD if the webhook was paused meanwhile. */
  next: { status: 'SUCCEEDED' | 'FAILED' | 'PENDING'; nextAttemptAt: number | null };
  webhookId: string | null;
}

export interface DeliveryFilter {
  webhookId?: string;
  messageId?: string;
  status?: DeliveryStatus;
}

export interface MessageFilter {
  type?: string;
  since?: number;
  until?: number;
}

/**
 * Everything the API and the delivery engine need from storage. Both backends implement it with the
 * same semantics; every method is async so that a networked backend fits without changing callers.
 * Tenant-owned calls take the tenant id first, so a row of another tenant is simply "not found".
 */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  migrate(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;

  getSetting(name: string): Promise<string | null>;
  /** Sets the value only if none is stored; returns the value that is stored afterwards. */
  initSetting(name: string, value: string): Promise<string>;

  /**
   * Rewrites every sealed secret (webhook secrets and auth passwords, tenant callback secrets) with
   * `reseal`, in one transaction; returns how many values changed. Used to rotate the encryption key.
   */
  resealSecrets(reseal: (sealed: string) => string): Promise<number>;

  createTenant(tenant: Tenant): Promise<boolean>;
  getTenant(id: string): Promise<Tenant | null>;
  listTenants(page: PageRequest): Promise<Page<Tenant>>;
  updateTenant(
    id: string,
    patch: Partial<
      Pick<Tenant, 'name' | 'callbackSecret' | 'callbackSecretPrev' | 'callbackSecretPrevUntil'>
    >,
    now: number,
  ): Promise<Tenant | null>;
  deleteTenant(id: string): Promise<boolean>;

  createApiKey(key: ApiKey): Promise<void>;
  findApiKeyByHash(hash: string): Promise<ApiKey | null>;
  deleteApiKey(tenantId: string, keyId: string): Promise<boolean>;

  createEventType(eventType: EventType): Promise<boolean>;
  getEventType(name: string): Promise<EventType | null>;
  listEventTypes(page: PageRequest): Promise<Page<EventType>>;
  updateEventType(
    name: string,
    patch: Partial<Pick<EventType, 'description' | 'schema' | 'example' | 'archivedAt'>>,
    now: number,
  ): Promise<EventType | null>;

  createWebhook(webhook: Webhook): Promise<void>;
  getWebhook(tenantId: string, id: string): Promise<Webhook | null>;
  listWebhooks(
    tenantId: string,
    filter: { status?: WebhookStatus },
    page: PageRequest,
  ): Promise<Page<Webhook>>;
  updateWebhook(tenantId: string, id: string, patch: Partial<Webhook>, now: number): Promise<Webhook | null>;
  /**
   * ACTIVE reactivates: HELD deliveries and the FAILED ones of the current failure streak go back
   * to PENDING with a fresh schedule. DISABLED/SUSPENDED hold the webhook's PENDING deliveries.
   */
  setWebhookStatus(tenantId: string, id: string, status: WebhookStatus, now: number): Promise<Webhook | null>;
  /** Deletes the webhook and cancels its PENDING and HELD deliveries, atomically. */
  deleteWebhook(tenantId: string, id: string, now: number): Promise<boolean>;

  /**
   * Stores messages and one delivery per matching webhook (+1 per callback_url) in one
   * transaction. A repeat of a stored id or idempotency key with the same content returns the
   * stored message (created: false); with other content the whole call throws IdempotencyConflict.
   */
  publishMessages(tenantId: string, drafts: MessageDraft[], now: number): Promise<PublishResult[]>;
  getMessage(tenantId: string, id: string): Promise<Message | null>;
  listMessages(tenantId: string, filter: MessageFilter, page: PageRequest): Promise<Page<Message>>;

  /** Leases due PENDING deliveries (oldest due first) within the request's per-webhook limits. */
  claimDue(req: ClaimRequest): Promise<ClaimedDelivery[]>;
  /**
   * true: a claim takes every due delivery the request's limits allow, so one that returned fewer
   * than `limit` left nothing claimable behind. false: it looks at a window of due rows only (and
   * other workers claim too), so only an empty claim says there is nothing left.
   */
  readonly claimsAllDue: boolean;
  /**
   * Earliest next_attempt_at after `now` of a PENDING delivery (a retry to wake up for), or null.
   * Only later ones: the index holds finished deliveries' entries at its due end until vacuumed,
   * and a scan from there walks them all (PostgreSQL: the busiest statement of a backlog's drain).
   */
  nextDueAfter(now: number): Promise<number | null>;
  /**
   * Tells other processes sharing this store that work may be due now (PostgreSQL NOTIFY after a
   * publish, requeue or reactivation). A no-op where one process does everything (SQLite).
   */
  announceWork(): Promise<void>;
  /**
   * Calls `listener` whenever another process announces work (SQLite: as soon as publishes are
   * committed, before their flush to disk completes, so a claim can get ready meanwhile); resolves
   * to a stop function.
   */
  watchForWork(listener: () => void, onError?: (err: Error) => void): Promise<() => Promise<void>>;
  /** Records attempts and moves their deliveries on (retry, success, failure, suspension): one transaction. */
  recordAttempts(records: AttemptRecord[], now: number): Promise<void>;

  getDelivery(tenantId: string, id: string): Promise<Delivery | null>;
  listDeliveries(tenantId: string, filter: DeliveryFilter, page: PageRequest): Promise<Page<Delivery>>;
  listAttempts(tenantId: string, deliveryId: string): Promise<Attempt[]>;
  /** Puts a message's finished deliveries (optionally one webhook's) back in the queue; returns how many. */
  redeliverMessage(
    tenantId: string,
    messageId: string,
    webhookId: string | null,
    now: number,
  ): Promise<number>;
  /** FAILED deliveries of the webhook created at or after `since` go back in the queue; returns how many. */
  recoverWebhook(tenantId: string, webhookId: string, since: number, now: number): Promise<number>;
}
