import type { Attempt, Delivery, Message, Page, PageRequest } from '../../core/model.js';
import { decodeCursor, toPage } from '../cursor.js';
import { attemptFromRow, deliveryFromRow, messageFromRow, type Row } from '../rows.js';
import type { DeliveryFilter, MessageFilter } from '../store.js';
import type { Db } from './open-database.js';

function page(db: Db, table: string, where: string[], args: unknown[], req: PageRequest): Row[] {
  const clauses = [...where];
  const params = [...args];
  if (req.cursor) {
    clauses.push('seq < ?');
    params.push(decodeCursor(req.cursor));
  }
  const sql = `SELECT * FROM ${table} WHERE ${clauses.join(' AND ')} ORDER BY seq DESC LIMIT ?`;
  return db.prepare(sql).all(...params, req.limit + 1) as Row[];
}

export function getMessage(db: Db, tenantId: string, id: string): Message | null {
  const row = db.prepare('SELECT * FROM messages WHERE tenant_id = ? AND id = ?').get(tenantId, id) as
    | Row
    | undefined;
  return row ? messageFromRow(row) : null;
}

export function listMessages(db: Db, tenantId: string, f: MessageFilter, req: PageRequest): Page<Message> {
  const where = ['tenant_id = ?'];
  const args: unknown[] = [tenantId];
  if (f.type !== undefined) where.push('type = ?') && args.push(f.type);
  if (f.since !== undefined) where.push('created_at >= ?') && args.push(f.since);
  if (f.until !== undefined) where.push('created_at < ?') && args.push(f.until);
  return toPage(page(db, 'messages', where, args, req), req.limit, messageFromRow);
}

export function getDelivery(db: Db, tenantId: string, id: string): Delivery | null {
  const row = db.prepare('SELECT * FROM deliveries WHERE tenant_id = ? AND id = ?').get(tenantId, id) as
    | Row
    | undefined;
  return row ? deliveryFromRow(row) : null;
}

export function listDeliveries(
  db: Db,
  tenantId: string,
  f: DeliveryFilter,
  req: PageRequest,
): Page<Delivery> {
  const where = ['tenant_id = ?'];
  const args: unknown[] = [tenantId];
  if (f.webhookId !== undefined) where.push('webhook_id = ?') && args.push(f.webhookId);
  if (f.messageId !== undefined) where.push('message_id = ?') && args.push(f.messageId);
  if (f.status !== undefined) where.push('status = ?') && args.push(f.status);
  return toPage(page(db, 'deliveries', where, args, req), req.limit, deliveryFromRow);
}

export function listAttempts(db: Db, tenantId: string, deliveryId: string): Attempt[] {
  return (
    db
      .prepare('SELECT * FROM attempts WHERE tenant_id = ? AND delivery_id = ? ORDER BY number, seq')
      .all(tenantId, deliveryId) as Row[]
  ).map(attemptFromRow);
}

export function nextDueAfter(db: Db, now: number): number | null {
  const row = db
    .prepare(
      "SELECT MIN(next_attempt_at) AS due FROM deliveries WHERE status = 'PENDING' AND next_attempt_at > ?",
    )
    .get(now) as { due: number | null };
  return row.due;
}
