import { contentHashOf } from '../../core/envelope.js';
import { matchesEvent } from '../../core/event-types.js';
import { newId } from '../../core/ids.js';
import type { Message } from '../../core/model.js';
import { messageFromRow, type Row } from '../rows.js';
import { IdempotencyConflict, type MessageDraft, type PublishResult } from '../store.js';
import type { FreshDeliveries, FreshMessage } from './fresh-deliveries.js';
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

/**
 * Delivery rows written by one statement, and between yields (a slice of the batch's work is
 * checked against the clock). One statement of many rows binds them in one call: in process,
 * 9.1 → 6.4 µs a row against a statement run per row.
 */
const ROWS_PER_STEP = 64;

const DELIVERY_COLUMNS =
  'INSERT INTO deliveries (id, tenant_id, message_id, webhook_id, url, status, next_attempt_at, created_at, updated_at) VALUES ';
const DELIVERY_ROW = '(?, ?, ?, ?, ?, ?, ?, ?, ?)';
const DELIVERY_STEP = DELIVERY_COLUMNS + Array(ROWS_PER_STEP).fill(DELIVERY_ROW).join(', ');

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
  fresh: FreshDeliveries,
): Generator<void, PublishResult[], void> {
  const parsed = targetsOf(tenantId);
  const insertMessage = db.prepare(
    `INSERT INTO messages (tenant_id, id, type, payload, callback_url, idempotency_key, content_hash, delivery_count, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertDelivery = db.prepare(DELIVERY_COLUMNS + DELIVERY_ROW);
  const insertStep = db.prepare(DELIVERY_STEP);

  // Deliveries go in after the batch's messages, grouped by webhook: one webhook's deliveries then
  // sit side by side in the table and its indexes, so recording a run of them (the dispatcher
  // works webhook by webhook) rewrites a few pages instead of one per message.
  const byTarget = new Map<string | null, { message: FreshMessage; target: Target }[]>();
  const results = drafts.map(({ message: m, fresh }, index): PublishResult => {
    const existing = fresh ? undefined : findExisting(db, tenantId, m);
    if (existing) {
      const stored = messageFromRow(existing);
      if (contentHashOf(stored) !== contentHashOf(m)) throw new IdempotencyConflict(index);
      return { message: stored, created: false };
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
    const sent: FreshMessage = { id: m.id, payload: m.payload, deliveries: targets.length };
    for (const t of targets) {
      const list = byTarget.get(t.id) ?? [];
      if (list.length === 0) byTarget.set(t.id, list);
      list.push({ message: sent, target: t });
    }
    const message: Message = { ...m, deliveryCount: targets.length };
    return { message, created: true };
  });
  // Bound values of ROWS_PER_STEP rows, 9 a row, in table order.
  let step: unknown[] = [];
  let rows = 0;
  let last = 0;
  for (const list of byTarget.values()) {
    for (const { message, target: t } of list) {
      const due = t.status === 'PENDING' ? now : null;
      step.push(newId('dlv'), tenantId, message.id, t.id, t.url, t.status, due, now, now);
      rows++;
      if (step.length < ROWS_PER_STEP * 9) continue;
      last = Number(insertStep.run(step).lastInsertRowid);
      step = [];
      yield;
    }
  }
  for (let i = 0; i < step.length; i += 9)
    last = Number(insertDelivery.run(step.slice(i, i + 9)).lastInsertRowid);
  // The rows went in one after the other (nothing else inserts meanwhile), webhook by webhook.
  let first = last - rows + 1;
  for (const [webhookId, list] of byTarget) {
    const t = list[0]?.target;
    if (webhookId !== null && t?.status === 'PENDING') {
      const fields = { tenantId, url: t.url, createdAt: now };
      fresh.add(
        webhookId,
        first,
        list.map((x) => x.message),
        fields,
      );
    }
    first += list.length;
  }
  return results;
}
