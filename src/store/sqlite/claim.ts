import type { Webhook } from '../../core/model.js';
import { type Row, tenantFromRow } from '../rows.js';
import type { ClaimedDelivery, ClaimRequest } from '../store.js';
import type { Due, DueAhead } from './due-ahead.js';
import type { FreshDeliveries } from './fresh-deliveries.js';
import type { Leases } from './leases.js';
import type { Db } from './open-database.js';
import { readTaken, takenDelivery } from './taken-rows.js';

const CALLBACK_TIMEOUT_MS = 5000;

/**
 * Webhooks with PENDING work, each with its earliest next_attempt_at: a loose index scan, one seek
 * per webhook, however deep a webhook's backlog is. A row with a NULL id: callback deliveries are due.
 */
const PENDING_WEBHOOKS = `
  WITH RECURSIVE w(id, due) AS (
    SELECT * FROM (SELECT webhook_id, next_attempt_at FROM deliveries WHERE status = 'PENDING' AND webhook_id IS NOT NULL
      ORDER BY webhook_id, next_attempt_at LIMIT 1)
    UNION ALL
    SELECT (SELECT webhook_id FROM deliveries d WHERE d.status = 'PENDING' AND d.webhook_id > w.id
              ORDER BY d.webhook_id, d.next_attempt_at LIMIT 1),
           (SELECT next_attempt_at FROM deliveries d WHERE d.status = 'PENDING' AND d.webhook_id > w.id
              ORDER BY d.webhook_id, d.next_attempt_at LIMIT 1)
    FROM w WHERE w.id IS NOT NULL
  )
  SELECT w.id, w.due, h.rate_limit_per_sec AS rate FROM w CROSS JOIN webhooks h ON h.id = w.id WHERE w.id IS NOT NULL AND w.due <= ?
  UNION ALL
  SELECT NULL, MIN(next_attempt_at), NULL FROM deliveries WHERE status = 'PENDING' AND webhook_id IS NULL
  HAVING MIN(next_attempt_at) <= ?`;

/**
 * One webhook's due deliveries, oldest first, its leased ones included (skipped by the caller).
 * Row numbers only: read from the index alone, however many leased rows are passed over.
 */
const DUE_OF_WEBHOOK = `
  SELECT seq, next_attempt_at AS due FROM deliveries
  WHERE webhook_id = ? AND status = 'PENDING' AND next_attempt_at <= ? AND seq <= ?
  ORDER BY next_attempt_at LIMIT ?`;

const DUE_CALLBACKS = `
  SELECT seq, next_attempt_at AS due FROM deliveries
  WHERE webhook_id IS NULL AND status = 'PENDING' AND next_attempt_at <= ? AND seq <= ?
  ORDER BY next_attempt_at LIMIT ?`;

/**
 * `want` unleased rows of `rows`, which hold the first `want` + (leases of that webhook) due rows:
 * the leased ones are still PENDING and due, so reading that many more is enough to pass them.
 */
function unleased(rows: Due[], leases: Leases, want: number): Due[] {
  const out: Due[] = [];
  for (const r of rows) {
    if (out.length === want) break;
    if (!leases.hasSeq(r[0])) out.push(r);
  }
  return out;
}

/** A due row picked for the claim, with its webhook (null: a callback, not read ahead). */
type Pick = { row: Due; webhookId: string | null };

/** Picks past the claim's limit go back to the front of their webhook's read-ahead, oldest first. */
function giveBack(ahead: DueAhead, left: Pick[]): void {
  const byWebhook = new Map<string, Due[]>();
  for (const { row, webhookId } of left) {
    if (webhookId === null) continue; // callbacks are read afresh each claim
    const list = byWebhook.get(webhookId) ?? [];
    if (list.length === 0) byWebhook.set(webhookId, list);
    list.push(row);
  }
  for (const [id, rows] of byWebhook) ahead.giveBack(id, rows);
}

/**
 * Takes due deliveries webhook by webhook, at most each webhook's free slots (concurrency and rate
 * limit), oldest first across the result. Saturated webhooks are not even looked at, so one with a
 * deep backlog costs nothing and cannot crowd out the others. Rows past `bound` (a batch being
 * written, uncommitted: see GroupCommit.claimBound) are not taken.
 */
export function claimDue(
  db: Db,
  leases: Leases,
  ahead: DueAhead,
  fresh: FreshDeliveries,
  webhookOf: (id: string) => Webhook | null,
  req: ClaimRequest,
  bound: number,
): ClaimedDelivery[] {
  leases.expire(req.now);
  const picked: Pick[] = [];
  const pending = db.prepare(PENDING_WEBHOOKS).all(req.now, req.now) as {
    id: string | null;
    due: number;
    rate: number | null;
  }[];
  const withDue = new Set(pending.map((w) => w.id ?? ''));
  ahead.keepOnly(withDue);
  fresh.keepOnly(withDue);
  const dueOf = db.prepare(DUE_OF_WEBHOOK).raw(true);
  for (const w of pending) {
    if (w.id === null) {
      const callbacks = db
        .prepare(DUE_CALLBACKS)
        .raw(true)
        .all(req.now, bound, req.limit + leases.count('')) as Due[];
      for (const row of unleased(callbacks, leases, req.limit)) picked.push({ row, webhookId: null });
      continue;
    }
    if (req.exclude.has(w.id)) continue;
    // A webhook the limiter has no bucket for yet has a full one: rate_limit_per_sec tokens.
    const free = Math.min(
      req.perWebhookFree.get(w.id) ?? req.perWebhookDefault,
      w.rate ?? Number.POSITIVE_INFINITY,
    );
    if (free <= 0) continue;
    const want = Math.min(free, req.limit);
    const webhookId = w.id;
    const rows = ahead.take(
      webhookId,
      want,
      leases,
      (limit) => dueOf.all(webhookId, req.now, bound, limit) as Due[],
    );
    for (const row of rows) picked.push({ row, webhookId });
  }
  picked.sort((a, b) => a.row[1] - b.row[1]);
  giveBack(ahead, picked.slice(req.limit));
  const taken = picked.slice(0, req.limit).map((p) => ({ seq: p.row[0], webhookId: p.webhookId }));
  if (taken.length === 0) return [];

  const rows = readTaken(db, fresh, taken, req.now);
  const getTenant = db.prepare('SELECT * FROM tenants WHERE id = ?');
  const hold = db.prepare(
    "UPDATE deliveries SET status = 'HELD', next_attempt_at = NULL, updated_at = ? WHERE id = ?",
  );
  const claimed: ClaimedDelivery[] = [];
  for (const { seq } of taken) {
    const row = rows.get(seq);
    if (!row) continue; // no longer PENDING and due (read ahead), or its tenant was deleted
    const delivery = takenDelivery(row);
    const id = delivery.id;
    let webhook = null;
    if (delivery.webhookId !== null) {
      webhook = webhookOf(delivery.webhookId);
      if (!webhook) continue; // deleted between publish and now; its delivery was cancelled
      if (webhook.status !== 'ACTIVE') {
        // Leased when its webhook was paused, and the lease expired (the worker died): hold it,
        // as setWebhookStatus would have done had it not been leased then.
        hold.run(req.now, id);
        continue;
      }
    }
    const tenantRow =
      delivery.webhookId === null ? (getTenant.get(delivery.tenantId) as Row | undefined) : undefined;
    leases.take(id, seq, req.leaseUntil(webhook?.timeoutMs ?? CALLBACK_TIMEOUT_MS), delivery.webhookId ?? '');
    claimed.push({
      delivery,
      payload: row[16],
      webhook,
      tenant: tenantRow ? tenantFromRow(tenantRow) : null,
    });
  }
  return claimed;
}
