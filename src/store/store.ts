import type { ApiKey, EventType, Page, PageRequest, Tenant, Webhook, WebhookStatus } from '../core/model.js';

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
}
