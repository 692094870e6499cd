import type { Delivery, DeliveryStatus } from '../../core/model.js';
import type { Fresh, FreshDeliveries } from './fresh-deliveries.js';
import type { Db } from './open-database.js';

/**
 * The taken deliveries with their payloads, in one statement however many there are. Read as
 * arrays (`raw`): building a named-column object per row cost more than the read itself.
 */
const TAKEN = `
  SELECT d.seq, d.id, d.tenant_id, d.message_id, d.webhook_id, d.url, d.status, d.attempt_count,
         d.retry_base, d.next_attempt_at, d.last_status_code, d.last_error, d.first_attempt_at,
         d.last_attempt_at, d.created_at, d.updated_at, m.payload
  FROM deliveries d JOIN messages m ON m.tenant_id = d.tenant_id AND m.id = d.message_id
  WHERE d.seq IN (SELECT value FROM json_each(?)) AND d.status = 'PENDING' AND d.next_attempt_at <= ?`;

/**
 * The state of taken rows kept from their publish (FreshDeliveries): only those still never
 * attempted, whose other columns are then as published (a requeue of a HELD row sets retry_base
 * to attempt_count, 0, and first_attempt_at to NULL, which it was).
 */
const STILL_FRESH = `
  SELECT seq, id, message_id, next_attempt_at, updated_at FROM deliveries
  WHERE seq IN (SELECT value FROM json_each(?)) AND status = 'PENDING' AND next_attempt_at <= ?
    AND attempt_count = 0`;

export type TakenRow = [
  seq: number,
  id: string,
  tenantId: string,
  messageId: string,
  webhookId: string | null,
  url: string,
  status: DeliveryStatus,
  attemptCount: number,
  retryBase: number,
  nextAttemptAt: number | null,
  lastStatusCode: number | null,
  lastError: string | null,
  firstAttemptAt: number | null,
  lastAttemptAt: number | null,
  createdAt: number,
  updatedAt: number,
  payload: string,
];

export function takenDelivery(r: TakenRow): Delivery {
  return {
    id: r[1],
    tenantId: r[2],
    messageId: r[3],
    webhookId: r[4],
    url: r[5],
    status: r[6],
    attemptCount: r[7],
    retryBase: r[8],
    nextAttemptAt: r[9],
    lastStatusCode: r[10],
    lastError: r[11],
    firstAttemptAt: r[12],
    lastAttemptAt: r[13],
    createdAt: r[14],
    updatedAt: r[15],
  };
}

/**
 * The taken rows (row number and webhook, null for a callback) that are still PENDING and due, by
 * row number: rows read ahead may have been held, cancelled or rescheduled since. A row kept from
 * its publish is read in part, and in full only if it is not as kept (attempted, or another
 * message's row after a rolled-back batch).
 */
export function readTaken(
  db: Db,
  fresh: FreshDeliveries,
  taken: { seq: number; webhookId: string | null }[],
  now: number,
): Map<number, TakenRow> {
  const rows = new Map<number, TakenRow>();
  const full: number[] = [];
  const kept = new Map<number, { webhookId: string; at: Fresh }>();
  for (const { seq, webhookId } of taken) {
    const at = webhookId === null ? undefined : fresh.take(webhookId, seq);
    if (webhookId !== null && at) kept.set(seq, { webhookId, at });
    else full.push(seq);
  }
  if (kept.size > 0) {
    const current = db
      .prepare(STILL_FRESH)
      .raw(true)
      .all(JSON.stringify([...kept.keys()]), now) as [number, string, string, number, number][];
    for (const [seq, id, messageId, due, updatedAt] of current) {
      const k = kept.get(seq);
      if (!k || k.at.message.id !== messageId) continue;
      const { at } = k;
      kept.delete(seq);
      // Never attempted: no status code, error or attempt times yet.
      rows.set(seq, [
        seq,
        id,
        at.tenantId,
        messageId,
        k.webhookId,
        at.url,
        'PENDING',
        0,
        0,
        due,
        null,
        null,
        null,
        null,
        at.createdAt,
        updatedAt,
        at.message.payload,
      ]);
    }
    full.push(...kept.keys());
  }
  if (full.length > 0) {
    for (const row of db.prepare(TAKEN).raw(true).all(JSON.stringify(full), now) as TakenRow[])
      rows.set(row[0], row);
  }
  return rows;
}
