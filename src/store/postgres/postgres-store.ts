import type {
  ApiKey,
  Attempt,
  Delivery,
  EventType,
  Message,
  Page,
  PageRequest,
  Tenant,
  Webhook,
  WebhookStatus,
} from '../../core/model.js';
import { toPage } from '../cursor.js';
import {
  apiKeyFromRow,
  columnsOf,
  EVENT_TYPE_COLUMNS,
  eventTypeFromRow,
  TENANT_COLUMNS,
  tenantFromRow,
  WEBHOOK_COLUMNS,
  webhookFromRow,
} from '../rows.js';
import { resealRow, SEALED_COLUMNS } from '../sealed-columns.js';
import type {
  AttemptRecord,
  ClaimedDelivery,
  ClaimRequest,
  DeliveryFilter,
  MessageDraft,
  MessageFilter,
  PublishResult,
  Store,
} from '../store.js';
import { claimDue } from './claim.js';
import * as inspection from './inspection.js';
import { pageQuery, Where } from './inspection.js';
import { applyMigrations } from './migrate.js';
import {
  changes,
  checkSchemaName,
  firstRow,
  isUniqueViolation,
  lockTenant,
  openPool,
  type Pool,
  type PoolOptions,
  prepared,
  rows,
  transaction,
} from './open-pool.js';
import { publishMessages } from './publish.js';
import { recordAttempts } from './record-attempts.js';
import { recoverWebhook, redeliverMessage } from './requeue.js';
import { deleteWebhook, setWebhookStatus } from './webhook-status.js';
import { listenForWork, workChannel } from './work-notifications.js';

export type PostgresStoreOptions = PoolOptions;

const NOTIFY = prepared('SELECT pg_notify($1, $2)');

const placeholders = (n: number, from = 1): string =>
  Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ');

const assignments = (names: string[]): string => names.map((n, i) => `${n} = $${i + 1}`).join(', ');

/**
 * The Store on PostgreSQL, for several processes sharing one database. Same semantics as the SQLite
 * store; what differs is concurrency: claims lease with FOR UPDATE SKIP LOCKED, publishes and
 * status changes order themselves with per-tenant advisory locks (see open-pool.ts). There is no
 * releaseAllLeases: other processes may hold leases; a dead process's leases simply expire.
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly claimsAllDue = false;
  readonly pool: Pool;
  readonly schema: string | null;
  #closed = false;

  readonly #connectionString: string;

  constructor(opts: PostgresStoreOptions) {
    this.#connectionString = opts.connectionString;
    this.schema = opts.schema === undefined ? null : checkSchemaName(opts.schema);
    this.pool = openPool(opts);
  }

  async migrate(): Promise<void> {
    await applyMigrations(this.pool, this.schema);
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.pool.end();
  }

  async announceWork(): Promise<void> {
    await rows(this.pool, NOTIFY, [workChannel(this.schema), '']);
  }

  async watchForWork(
    listener: () => void,
    onError: (err: Error) => void = () => {},
  ): Promise<() => Promise<void>> {
    return listenForWork(this.#connectionString, workChannel(this.schema), listener, onError);
  }

  async resealSecrets(reseal: (sealed: string) => string): Promise<number> {
    return transaction(this.pool, async (c) => {
      let changed = 0;
      for (const [table, key, columns, where] of SEALED_COLUMNS) {
        const found = await rows(
          c,
          `SELECT ${key} AS k, ${columns.join(', ')} FROM ${table} WHERE ${where} ORDER BY ${key} FOR UPDATE`,
        );
        for (const row of found) {
          const next = resealRow(row, columns, reseal);
          if (next.changed === 0) continue;
          await c.query(
            `UPDATE ${table} SET ${columns.map((col, i) => `${col} = $${i + 1}`).join(', ')} WHERE ${key} = $${columns.length + 1}`,
            [...next.values, row.k],
          );
          changed += next.changed;
        }
      }
      return changed;
    });
  }

  async getSetting(name: string): Promise<string | null> {
    const row = await firstRow(this.pool, 'SELECT value FROM settings WHERE name = $1', [name]);
    return row ? String(row.value) : null;
  }

  async initSetting(name: string, value: string): Promise<string> {
    await this.pool.query(
      'INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING',
      [name, value],
    );
    return (await this.getSetting(name)) ?? value;
  }

  /** false when a row with the same unique key exists. */
  async #insert(table: string, names: string[], values: unknown[]): Promise<boolean> {
    try {
      await this.pool.query(
        `INSERT INTO ${table} (${names.join(', ')}) VALUES (${placeholders(names.length)})`,
        values,
      );
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async createTenant(tenant: Tenant): Promise<boolean> {
    const { names, values } = columnsOf(TENANT_COLUMNS, tenant);
    return this.#insert('tenants', names, values);
  }

  async getTenant(id: string): Promise<Tenant | null> {
    const row = await firstRow(this.pool, 'SELECT * FROM tenants WHERE id = $1', [id]);
    return row ? tenantFromRow(row) : null;
  }

  async listTenants(page: PageRequest): Promise<Page<Tenant>> {
    return toPage(await pageQuery(this.pool, 'tenants', new Where(), page), page.limit, tenantFromRow);
  }

  async updateTenant(id: string, patch: Partial<Tenant>, now: number): Promise<Tenant | null> {
    const { names, values } = columnsOf(TENANT_COLUMNS, { ...patch, updatedAt: now });
    const row = await firstRow(
      this.pool,
      `UPDATE tenants SET ${assignments(names)} WHERE id = $${names.length + 1} RETURNING *`,
      [...values, id],
    );
    return row ? tenantFromRow(row) : null;
  }

  /** Cascades to everything the tenant owns; exclusive on the tenant like a webhook deletion. */
  async deleteTenant(id: string): Promise<boolean> {
    return transaction(this.pool, async (c) => {
      await lockTenant(c, id);
      return (await changes(c, 'DELETE FROM tenants WHERE id = $1', [id])) > 0;
    });
  }

  async createApiKey(key: ApiKey): Promise<void> {
    await this.pool.query(
      'INSERT INTO api_keys (id, tenant_id, name, key_hash, created_at) VALUES ($1, $2, $3, $4, $5)',
      [key.id, key.tenantId, key.name, key.keyHash, key.createdAt],
    );
  }

  async findApiKeyByHash(hash: string): Promise<ApiKey | null> {
    const row = await firstRow(this.pool, 'SELECT * FROM api_keys WHERE key_hash = $1', [hash]);
    return row ? apiKeyFromRow(row) : null;
  }

  async deleteApiKey(tenantId: string, keyId: string): Promise<boolean> {
    return (
      (await changes(this.pool, 'DELETE FROM api_keys WHERE tenant_id = $1 AND id = $2', [tenantId, keyId])) >
      0
    );
  }

  async createEventType(eventType: EventType): Promise<boolean> {
    const { names, values } = columnsOf(EVENT_TYPE_COLUMNS, eventType);
    return this.#insert('event_types', names, values);
  }

  async getEventType(name: string): Promise<EventType | null> {
    const row = await firstRow(this.pool, 'SELECT * FROM event_types WHERE name = $1', [name]);
    return row ? eventTypeFromRow(row) : null;
  }

  async listEventTypes(page: PageRequest): Promise<Page<EventType>> {
    return toPage(await pageQuery(this.pool, 'event_types', new Where(), page), page.limit, eventTypeFromRow);
  }

  async updateEventType(name: string, patch: Partial<EventType>, now: number): Promise<EventType | null> {
    const { names, values } = columnsOf(EVENT_TYPE_COLUMNS, { ...patch, updatedAt: now });
    const row = await firstRow(
      this.pool,
      `UPDATE event_types SET ${assignments(names)} WHERE name = $${names.length + 1} RETURNING *`,
      [...values, name],
    );
    return row ? eventTypeFromRow(row) : null;
  }

  async createWebhook(webhook: Webhook): Promise<void> {
    const { names, values } = columnsOf(WEBHOOK_COLUMNS, webhook);
    await this.pool.query(
      `INSERT INTO webhooks (${names.join(', ')}) VALUES (${placeholders(names.length)})`,
      values,
    );
  }

  async getWebhook(tenantId: string, id: string): Promise<Webhook | null> {
    const row = await firstRow(this.pool, 'SELECT * FROM webhooks WHERE tenant_id = $1 AND id = $2', [
      tenantId,
      id,
    ]);
    return row ? webhookFromRow(row) : null;
  }

  async listWebhooks(
    tenantId: string,
    filter: { status?: WebhookStatus },
    page: PageRequest,
  ): Promise<Page<Webhook>> {
    const where = new Where().add('tenant_id = ?', tenantId);
    if (filter.status) where.add('status = ?', filter.status);
    return toPage(await pageQuery(this.pool, 'webhooks', where, page), page.limit, webhookFromRow);
  }

  async updateWebhook(
    tenantId: string,
    id: string,
    patch: Partial<Webhook>,
    now: number,
  ): Promise<Webhook | null> {
    const { names, values } = columnsOf(WEBHOOK_COLUMNS, { ...patch, updatedAt: now });
    const n = names.length;
    const row = await firstRow(
      this.pool,
      `UPDATE webhooks SET ${assignments(names)} WHERE tenant_id = $${n + 1} AND id = $${n + 2} RETURNING *`,
      [...values, tenantId, id],
    );
    return row ? webhookFromRow(row) : null;
  }

  async setWebhookStatus(
    tenantId: string,
    id: string,
    status: WebhookStatus,
    now: number,
  ): Promise<Webhook | null> {
    return setWebhookStatus(this.pool, tenantId, id, status, now);
  }

  async deleteWebhook(tenantId: string, id: string, now: number): Promise<boolean> {
    return deleteWebhook(this.pool, tenantId, id, now);
  }

  async publishMessages(tenantId: string, drafts: MessageDraft[], now: number): Promise<PublishResult[]> {
    return publishMessages(this.pool, tenantId, drafts, now);
  }

  async getMessage(tenantId: string, id: string): Promise<Message | null> {
    return inspection.getMessage(this.pool, tenantId, id);
  }

  async listMessages(tenantId: string, filter: MessageFilter, page: PageRequest): Promise<Page<Message>> {
    return inspection.listMessages(this.pool, tenantId, filter, page);
  }

  async claimDue(req: ClaimRequest): Promise<ClaimedDelivery[]> {
    return claimDue(this.pool, req);
  }

  async nextDueAfter(now: number): Promise<number | null> {
    return inspection.nextDueAfter(this.pool, now);
  }

  async recordAttempts(records: AttemptRecord[], now: number): Promise<void> {
    await recordAttempts(this.pool, records, now);
  }

  async getDelivery(tenantId: string, id: string): Promise<Delivery | null> {
    return inspection.getDelivery(this.pool, tenantId, id);
  }

  async listDeliveries(tenantId: string, filter: DeliveryFilter, page: PageRequest): Promise<Page<Delivery>> {
    return inspection.listDeliveries(this.pool, tenantId, filter, page);
  }

  async listAttempts(tenantId: string, deliveryId: string): Promise<Attempt[]> {
    return inspection.listAttempts(this.pool, tenantId, deliveryId);
  }

  async redeliverMessage(
    tenantId: string,
    messageId: string,
    webhookId: string | null,
    now: number,
  ): Promise<number> {
    return redeliverMessage(this.pool, tenantId, messageId, webhookId, now);
  }

  async recoverWebhook(tenantId: string, webhookId: string, since: number, now: number): Promise<number> {
    return recoverWebhook(this.pool, tenantId, webhookId, since, now);
  }
}
