import { matchesEvent } from '../../core/event-types.js';
import { newId } from '../../core/ids.js';
import type { Message } from '../../core/model.js';
import { messageFromRow, type Row } from '../rows.js';
import { IdempotencyConflict, type MessageDraft, type PublishResult } from '../store.js';
import type { Db } from './open-database.js';
import type { FanOutTarget } from './webhook-cache.js';

interface Target {
  id: string | null;
  url: string;
  status: 'PENDING' | 'HELD';
}

function findExisting(db: Db, tenantId: string, m: MessageDraft['message']): Row | undefined {
  const byId = db.prepare('SELECT * FROM messages WHERE tenant_id = ? AND id = ?').get(tenantId, m.id) as
    | Row
    | undefined;
  if (byId || m.idempotencyKey === null) return byId;
  return db
    .prepare('SELECT * FROM messages WHERE tenant_id = ? AND idempotency_key = ?')
    .get(tenantId, m.idempotencyKey) as Row | undefined;
}

/** Delivery rows written between yields: a slice of the batch's work is checked against the clock. */
const ROWS_PER_STEP = 64;

/**
 * See Store.publishMessages. The caller runs it in one transaction (or savepoint): all or nothing.
 * The messages go in at once, with every check that can refuse the batch (an idempotency conflict
 * throws before the first yield); the deliveries follow in steps, yielding every ROWS_PER_STEP rows
 * so that GroupCommit can let the event loop run between them (a 1,000-message batch to ten
 * webhooks is 10,000 rows: tens of milliseconds, or hundreds on a slow machine).
 */
export function* publishMessages(
  db: Db,
  targetsOf: (tenantId: string) => FanOutTarget[],
  tenantId: string,
  drafts: MessageDraft[],
  now: number,
): Generator<void, PublishResult[], void> {
  const parsed = targetsOf(tenantId);
  const insertMessage = db.prepare(
    `INSERT INTO messages (tenant_id, id, type, payload, callback_url, idempotency_key, content_hash, delivery_count, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertDelivery = db.prepare(
    `INSERT INTO deliveries (id, tenant_id, message_id, webhook_id, url, status, next_attempt_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );

  // Deliveries go in after the batch's messages, grouped by webhook: one webhook's deliveries then
  // sit side by side in the table and its indexes, so recording a run of them (the dispatcher
  // works webhook by webhook) rewrites a few pages instead of one per message.
  const byTarget = new Map<string | null, { messageId: string; target: Target }[]>();
  const results = drafts.map(({ message: m }, index): PublishResult => {
    const existing = findExisting(db, tenantId, m);
    if (existing) {
      if (existing.content_hash !== m.contentHash) throw new IdempotencyConflict(index);
      return { message: messageFromRow(existing), created: false };
    }
    const targets: Target[] = parsed
      .filter((w) => matchesEvent(w.events, m.type))
      .map((w) => ({ id: w.id, url: w.url, status: w.status === 'ACTIVE' ? 'PENDING' : 'HELD' }));
    if (m.callbackUrl) targets.push({ id: null, url: m.callbackUrl, status: 'PENDING' });
    insertMessage.run(
      tenantId,
      m.id,
      m.type,
      m.payload,
      m.callbackUrl,
      m.idempotencyKey,
      m.contentHash,
      targets.length,
      m.createdAt,
    );
    for (const t of targets) {
      const list = byTarget.get(t.id) ?? [];
      if (list.length === 0) byTarget.set(t.id, list);
      list.push({ messageId: m.id, target: t });
    }
    const message: Message = { ...m, deliveryCount: targets.length };
    return { message, created: true };
  });
  let rows = 0;
  for (const list of byTarget.values()) {
    for (const { messageId, target: t } of list) {
      const due = t.status === 'PENDING' ? now : null;
      insertDelivery.run(newId('dlv'), tenantId, messageId, t.id, t.url, t.status, due, now, now);
      if (++rows % ROWS_PER_STEP === 0) yield;
    }
  }
  return results;
}
