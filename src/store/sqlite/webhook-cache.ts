import type { Webhook } from '../../core/model.js';
import { type Row, webhookFromRow } from '../rows.js';
import type { Db } from './open-database.js';

/** What a publish needs of each of a tenant's webhooks to fan a message out. */
export interface FanOutTarget {
  id: string;
  url: string;
  events: string[];
  status: string;
}

/** Entries kept before the cache starts over: far above any normal number of webhooks. */
const MAX_ENTRIES = 10_000;

/**
 * Webhooks as claims and publishes read them, kept in memory: this process is the only writer of
 * its SQLite file, and every write to a webhook's configuration or status (SqliteStore's methods,
 * a suspension) clears the cache. Only the success/failure timestamps are written without
 * clearing it; neither claims nor publishes read those.
 */
export class WebhookCache {
  readonly #db: Db;
  readonly #byId = new Map<string, Webhook | null>();
  readonly #byTenant = new Map<string, FanOutTarget[]>();

  constructor(db: Db) {
    this.#db = db;
  }

  /** null: no such webhook (deleted). */
  get(id: string): Webhook | null {
    let webhook = this.#byId.get(id);
    if (webhook === undefined) {
      const row = this.#db.prepare('SELECT * FROM webhooks WHERE id = ?').get(id) as Row | undefined;
      webhook = row ? webhookFromRow(row) : null;
      if (this.#byId.size >= MAX_ENTRIES) this.#byId.clear();
      this.#byId.set(id, webhook);
    }
    return webhook;
  }

  ofTenant(tenantId: string): FanOutTarget[] {
    let targets = this.#byTenant.get(tenantId);
    if (!targets) {
      const rows = this.#db
        .prepare('SELECT id, url, events, status FROM webhooks WHERE tenant_id = ?')
        .all(tenantId) as { id: string; url: string; events: string; status: string }[];
      targets = rows.map((w) => ({ ...w, events: JSON.parse(w.events) as string[] }));
      if (this.#byTenant.size >= MAX_ENTRIES) this.#byTenant.clear();
      this.#byTenant.set(tenantId, targets);
    }
    return targets;
  }

  clear(): void {
    this.#byId.clear();
    this.#byTenant.clear();
  }
}
