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
import { decodeCursor, toPage } from '../cursor.js';
import {
  apiKeyFromRow,
  columnsOf,
  EVENT_TYPE_COLUMNS,
  eventTypeFromRow,
  type Row,
  TENANT_COLUMNS,
  tenantFromRow,
  WEBHOOK_COLUMNS,
  webhookFromRow,
} from '../rows.js';
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
import { Checkpointer } from './checkpointer.js';
import { claimDue } from './claim.js';
import { DueAhead } from './due-ahead.js';
import { FreshDeliveries } from './fresh-deliveries.js';
import { GroupCommit } from './group-commit.js';
import * as inspection from './inspection.js';
import { Leases } from './leases.js';
import { applyMigrations, type Db, openDatabase } from './open-database.js';
import { recoverWebhook, redeliverMessage } from './requeue.js';
import { resealSecrets } from './reseal-secrets.js';
import { WalSync } from './wal-sync.js';
import { WebhookCache } from './webhook-cache.js';
import { deleteWebhook, setWebhookStatus } from './webhook-status.js';

const isUniqueViolation = (err: unknown): boolean =>
  err instanceof Error && 'code' in err && String(err.code).startsWith('SQLITE_CONSTRAINT_UNIQUE');
const isPrimaryKeyViolation = (err: unknown): boolean =>
  err instanceof Error && 'code' in err && String(err.code) === 'SQLITE_CONSTRAINT_PRIMARYKEY';

/** Newest-first page over `table`, optionally narrowed by `where` (with its params). */
function pageQuery(db: Db, table: string, where: string, params: unknown[], page: PageRequest): Row[] {
  const clauses = where ? [where] : [];
  const args = [...params];
  if (page.cursor) {
    clauses.push('seq < ?');
    args.push(decodeCursor(page.cursor));
  }
  const sql = `SELECT * FROM ${table} ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
  return db.prepare(sql).all(...args, page.limit + 1) as Row[];
}

function insert(db: Db, table: string, names: string[], values: unknown[]): void {
  db.prepare(`INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})`).run(
    ...values,
  );
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly claimsAllDue = true;
  readonly db: Db;
  readonly #leases = new Leases();
  readonly #dueAhead = new DueAhead();
  readonly #fresh = new FreshDeliveries();
  readonly #wal: WalSync;
  readonly #checkpointer: Checkpointer | null;
  /**
   * Publishes and attempt records. Its transaction may stay open across turns (a large batch is
   * written in slices), so every other write here first waits for `idle()`: run meanwhile, it
   * would join that transaction, and be answered before its commit.
   */
  readonly #writes: GroupCommit;
  readonly #webhooks: WebhookCache;
  /** Every publish looks its type up; this process is the only writer of the catalog. */
  readonly #eventTypes = new Map<string, EventType | null>();

  constructor(path: string) {
    this.db = openDatabase(path);
    this.#wal = new WalSync(this.db, path);
    this.#checkpointer = this.#wal.enabled
      ? new Checkpointer(this.db, path, (m) => process.emitWarning(`SQLite checkpoint worker: ${m}`))
      : null;
    this.#webhooks = new WebhookCache(this.db);
    this.#writes = new GroupCommit(this.db, this.#wal, this.#leases, this.#webhooks, this.#fresh);
  }

  async migrate(): Promise<void> {
    applyMigrations(this.db);
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    // A batch being written in slices finishes first (its publish is answered).
    await this.#writes.idle();
    await this.#checkpointer?.stop();
    this.#wal.close();
    if (this.db.open) this.db.close();
  }

  async getSetting(name: string): Promise<string | null> {
    const row = this.db.prepare('SELECT value FROM settings WHERE name = ?').get(name) as Row | undefined;
    return row ? String(row.value) : null;
  }

  async initSetting(name: string, value: string): Promise<string> {
    await this.#writes.idle();
    this.db
      .prepare('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING')
      .run(name, value);
    return (await this.getSetting(name)) ?? value;
  }

  async resealSecrets(reseal: (sealed: string) => string): Promise<number> {
    await this.#writes.idle();
    this.#webhooks.clear();
    return resealSecrets(this.db, reseal);
  }

  async createTenant(tenant: Tenant): Promise<boolean> {
    await this.#writes.idle();
    const { names, values } = columnsOf(TENANT_COLUMNS, tenant);
    try {
      insert(this.db, 'tenants', names, values);
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async getTenant(id: string): Promise<Tenant | null> {
    const row = this.db.prepare('SELECT * FROM tenants WHERE id = ?').get(id) as Row | undefined;
    return row ? tenantFromRow(row) : null;
  }

  async listTenants(page: PageRequest): Promise<Page<Tenant>> {
    return toPage(pageQuery(this.db, 'tenants', '', [], page), page.limit, tenantFromRow);
  }

  async updateTenant(id: string, patch: Partial<Tenant>, now: number): Promise<Tenant | null> {
    await this.#writes.idle();
    const { names, values } = columnsOf(TENANT_COLUMNS, { ...patch, updatedAt: now });
    const sets = names.map((n) => `${n} = ?`).join(', ');
    const row = this.db.prepare(`UPDATE tenants SET ${sets} WHERE id = ? RETURNING *`).get(...values, id) as
      | Row
      | undefined;
    return row ? tenantFromRow(row) : null;
  }

  async deleteTenant(id: string): Promise<boolean> {
    await this.#writes.idle();
    this.#webhooks.clear();
    return this.db.prepare('DELETE FROM tenants WHERE id = ?').run(id).changes > 0;
  }

  async createApiKey(key: ApiKey): Promise<void> {
    await this.#writes.idle();
    insert(
      this.db,
      'api_keys',
      ['id', 'tenant_id', 'name', 'key_hash', 'created_at'],
      [key.id, key.tenantId, key.name, key.keyHash, key.createdAt],
    );
  }

  async findApiKeyByHash(hash: string): Promise<ApiKey | null> {
    const row = this.db.prepare('SELECT * FROM api_keys WHERE key_hash = ?').get(hash) as Row | undefined;
    return row ? apiKeyFromRow(row) : null;
  }

  async deleteApiKey(tenantId: string, keyId: string): Promise<boolean> {
    await this.#writes.idle();
    return (
      this.db.prepare('DELETE FROM api_keys WHERE tenant_id = ? AND id = ?').run(tenantId, keyId).changes > 0
    );
  }

  async createEventType(eventType: EventType): Promise<boolean> {
    await this.#writes.idle();
    const { names, values } = columnsOf(EVENT_TYPE_COLUMNS, eventType);
    try {
      insert(this.db, 'event_types', names, values);
      this.#eventTypes.delete(eventType.name);
      return true;
    } catch (err) {
      if (isUniqueViolation(err) || isPrimaryKeyViolation(err)) return false;
      throw err;
    }
  }

  async getEventType(name: string): Promise<EventType | null> {
    const cached = this.#eventTypes.get(name);
    if (cached !== undefined) return cached;
    const row = this.db.prepare('SELECT * FROM event_types WHERE name = ?').get(name) as Row | undefined;
    const eventType = row ? eventTypeFromRow(row) : null;
    // Names are client input: unknown ones are not remembered, so the map stays as big as the catalog.
    if (eventType) this.#eventTypes.set(name, eventType);
    return eventType;
  }

  async listEventTypes(page: PageRequest): Promise<Page<EventType>> {
    return toPage(pageQuery(this.db, 'event_types', '', [], page), page.limit, eventTypeFromRow);
  }

  async updateEventType(name: string, patch: Partial<EventType>, now: number): Promise<EventType | null> {
    await this.#writes.idle();
    const { names, values } = columnsOf(EVENT_TYPE_COLUMNS, { ...patch, updatedAt: now });
    const sets = names.map((n) => `${n} = ?`).join(', ');
    const row = this.db
      .prepare(`UPDATE event_types SET ${sets} WHERE name = ? RETURNING *`)
      .get(...values, name) as Row | undefined;
    this.#eventTypes.delete(name);
    return row ? eventTypeFromRow(row) : null;
  }

  async createWebhook(webhook: Webhook): Promise<void> {
    await this.#writes.idle();
    this.#webhooks.clear();
    const { names, values } = columnsOf(WEBHOOK_COLUMNS, webhook);
    insert(this.db, 'webhooks', names, values);
  }

  async getWebhook(tenantId: string, id: string): Promise<Webhook | null> {
    const row = this.db.prepare('SELECT * FROM webhooks WHERE tenant_id = ? AND id = ?').get(tenantId, id) as
      | Row
      | undefined;
    return row ? webhookFromRow(row) : null;
  }

  async listWebhooks(
    tenantId: string,
    filter: { status?: WebhookStatus },
    page: PageRequest,
  ): Promise<Page<Webhook>> {
    const where = filter.status ? 'tenant_id = ? AND status = ?' : 'tenant_id = ?';
    const params = filter.status ? [tenantId, filter.status] : [tenantId];
    return toPage(pageQuery(this.db, 'webhooks', where, params, page), page.limit, webhookFromRow);
  }

  async updateWebhook(
    tenantId: string,
    id: string,
    patch: Partial<Webhook>,
    now: number,
  ): Promise<Webhook | null> {
    await this.#writes.idle();
    this.#webhooks.clear();
    const { names, values } = columnsOf(WEBHOOK_COLUMNS, { ...patch, updatedAt: now });
    const sets = names.map((n) => `${n} = ?`).join(', ');
    const row = this.db
      .prepare(`UPDATE webhooks SET ${sets} WHERE tenant_id = ? AND id = ? RETURNING *`)
      .get(...values, tenantId, id) as Row | undefined;
    return row ? webhookFromRow(row) : null;
  }

  async setWebhookStatus(
    tenantId: string,
    id: string,
    status: WebhookStatus,
    now: number,
  ): Promise<Webhook | null> {
    await this.#writes.idle();
    this.#webhooks.clear();
    return setWebhookStatus(this.db, this.#leases, tenantId, id, status, now);
  }

  async deleteWebhook(tenantId: string, id: string, now: number): Promise<boolean> {
    await this.#writes.idle();
    this.#webhooks.clear();
    return deleteWebhook(this.db, tenantId, id, now);
  }

  /** Group-committed with other publishes and attempt records: see GroupCommit. */
  publishMessages(tenantId: string, drafts: MessageDraft[], now: number): Promise<PublishResult[]> {
    return this.#writes.publish(tenantId, drafts, now);
  }

  async getMessage(tenantId: string, id: string): Promise<Message | null> {
    return inspection.getMessage(this.db, tenantId, id);
  }

  async listMessages(tenantId: string, filter: MessageFilter, page: PageRequest): Promise<Page<Message>> {
    return inspection.listMessages(this.db, tenantId, filter, page);
  }

  async claimDue(req: ClaimRequest): Promise<ClaimedDelivery[]> {
    // Nothing else writes between its statements (one connection, one thread). A transaction may
    // be open across turns (a batch written in slices): its rows are left alone (the bound).
    const claimed = claimDue(
      this.db,
      this.#leases,
      this.#dueAhead,
      this.#fresh,
      (id) => this.#webhooks.get(id),
      req,
      this.#writes.claimBound,
    );
    // Nothing goes out before its publish is on disk (the flush is already under way).
    await this.#wal.flushed();
    return claimed;
  }

  async nextDueAfter(now: number): Promise<number | null> {
    return inspection.nextDueAfter(this.db, now);
  }

  // One process owns an SQLite file: the in-process wake-up is all there is to do.
  async announceWork(): Promise<void> {}

  /**
   * The listener hears of publishes when they are committed, a flush ahead of their answer: the
   * dispatcher claims while the flush runs, and sends once it is done (claimDue waits for it).
   */
  async watchForWork(listener: () => void): Promise<() => Promise<void>> {
    this.#writes.onPublished = listener;
    return async () => {
      this.#writes.onPublished = null;
    };
  }

  async recordAttempts(records: AttemptRecord[], now: number): Promise<void> {
    await this.#writes.record(records, now);
  }

  async getDelivery(tenantId: string, id: string): Promise<Delivery | null> {
    return inspection.getDelivery(this.db, tenantId, id);
  }

  async listDeliveries(tenantId: string, filter: DeliveryFilter, page: PageRequest): Promise<Page<Delivery>> {
    return inspection.listDeliveries(this.db, tenantId, filter, page);
  }

  async listAttempts(tenantId: string, deliveryId: string): Promise<Attempt[]> {
    return inspection.listAttempts(this.db, tenantId, deliveryId);
  }

  async redeliverMessage(
    tenantId: string,
    messageId: string,
    webhookId: string | null,
    now: number,
  ): Promise<number> {
    await this.#writes.idle();
    return redeliverMessage(this.db, tenantId, messageId, webhookId, now);
  }

  async recoverWebhook(tenantId: string, webhookId: string, since: number, now: number): Promise<number> {
    await this.#writes.idle();
    return recoverWebhook(this.db, tenantId, webhookId, since, now);
  }
}
