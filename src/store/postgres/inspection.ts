import type { Attempt, Delivery, Message, Page, PageRequest } from '../../core/model.js';
import { decodeCursor, toPage } from '../cursor.js';
import { attemptFromRow, deliveryFromRow, messageFromRow, type Row } from '../rows.js';
import type { DeliveryFilter, MessageFilter } from '../store.js';
import { firstRow, prepared, type Queryable, rows } from './open-pool.js';

/** WHERE clauses with numbered parameters: `where.add('tenant_id = ?', id)`. */
export class Where {
  readonly clauses: string[] = [];
  readonly params: unknown[] = [];

  add(clause: string, value: unknown): this {
    this.params.push(value);
    this.clauses.push(clause.replace('?', `$${this.params.length}`));
    return this;
  }

  toString(): string {
    return this.clauses.length ? `WHERE ${this.clauses.join(' AND ')}` : '';
  }
}

/** Newest-first page over `table`, narrowed by `where`. */
export async function pageQuery(
  db: Queryable,
  table: string,
  where: Where,
  req: PageRequest,
): Promise<Row[]> {
  if (req.cursor) where.add('seq < ?', decodeCursor(req.cursor));
  where.params.push(req.limit + 1);
  const sql = `SELECT * FROM ${table} ${where} ORDER BY seq DESC LIMIT $${where.params.length}`;
  return rows(db, sql, where.params);
}

export async function getMessage(db: Queryable, tenantId: string, id: string): Promise<Message | null> {
  const row = await firstRow(db, 'SELECT * FROM messages WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  return row ? messageFromRow(row) : null;
}

export async function listMessages(
  db: Queryable,
  tenantId: string,
  f: MessageFilter,
  req: PageRequest,
): Promise<Page<Message>> {
  const where = new Where().add('tenant_id = ?', tenantId);
  if (f.type !== undefined) where.add('type = ?', f.type);
  if (f.since !== undefined) where.add('created_at >= ?', f.since);
  if (f.until !== undefined) where.add('created_at < ?', f.until);
  return toPage(await pageQuery(db, 'messages', where, req), req.limit, messageFromRow);
}

export async function getDelivery(db: Queryable, tenantId: string, id: string): Promise<Delivery | null> {
  const row = await firstRow(db, 'SELECT * FROM deliveries WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  return row ? deliveryFromRow(row) : null;
}

export async function listDeliveries(
  db: Queryable,
  tenantId: string,
  f: DeliveryFilter,
  req: PageRequest,
): Promise<Page<Delivery>> {
  const where = new Where().add('tenant_id = ?', tenantId);
  if (f.webhookId !== undefined) where.add('webhook_id = ?', f.webhookId);
  if (f.messageId !== undefined) where.add('message_id = ?', f.messageId);
  if (f.status !== undefined) where.add('status = ?', f.status);
  return toPage(await pageQuery(db, 'deliveries', where, req), req.limit, deliveryFromRow);
}

export async function listAttempts(db: Queryable, tenantId: string, deliveryId: string): Promise<Attempt[]> {
  return (
    await rows(db, 'SELECT * FROM attempts WHERE tenant_id = $1 AND delivery_id = $2 ORDER BY number, seq', [
      tenantId,
      deliveryId,
    ])
  ).map(attemptFromRow);
}

const NEXT_DUE = prepared(
  "SELECT MIN(next_attempt_at) AS due FROM deliveries WHERE status = 'PENDING' AND next_attempt_at > $1",
);

export async function nextDueAfter(db: Queryable, now: number): Promise<number | null> {
  const row = await firstRow(db, NEXT_DUE, [now]);
  return row?.due === null || row?.due === undefined ? null : Number(row.due);
}
