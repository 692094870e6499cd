import { deliveryFromRow, type Row, tenantFromRow, webhookFromRow } from '../rows.js';
import type { ClaimedDelivery, ClaimRequest } from '../store.js';
import type { Db } from './open-database.js';

const CALLBACK_TIMEOUT_MS = 5000;

/**
 * Picks due deliveries oldest-first, skipping webhooks that are saturated, and takes at most
 * each webhook's free slots, so a webhook with a deep backlog cannot crowd out the others.
 */
export function claimDue(db: Db, req: ClaimRequest): ClaimedDelivery[] {
  const candidates = db
    .prepare(
      `SELECT id, webhook_id,
         (SELECT rate_limit_per_sec FROM webhooks w WHERE w.id = deliveries.webhook_id) AS rate
       FROM deliveries
       WHERE status = 'PENDING' AND next_attempt_at <= ? AND (locked_until IS NULL OR locked_until <= ?)
         AND (webhook_id IS NULL OR webhook_id NOT IN (SELECT value FROM json_each(?)))
       ORDER BY next_attempt_at LIMIT ?`,
    )
    .all(req.now, req.now, JSON.stringify([...req.exclude]), Math.min(req.limit * 4, 2000)) as {
    id: string;
    webhook_id: string | null;
    rate: number | null;
  }[];
  const taken: string[] = [];
  const used = new Map<string, number>();
  for (const c of candidates) {
    if (taken.length >= req.limit) break;
    if (c.webhook_id !== null) {
      // A webhook the limiter has no bucket for yet has a full one: rate_limit_per_sec tokens.
      const free = Math.min(
        req.perWebhookFree.get(c.webhook_id) ?? req.perWebhookDefault,
        c.rate ?? Number.POSITIVE_INFINITY,
      );
      const n = used.get(c.webhook_id) ?? 0;
      if (n >= free) continue;
      used.set(c.webhook_id, n + 1);
    }
    taken.push(c.id);
  }
  if (taken.length === 0) return [];

  const getDelivery = db.prepare('SELECT * FROM deliveries WHERE id = ?');
  const getPayload = db.prepare('SELECT payload FROM messages WHERE tenant_id = ? AND id = ?');
  const getWebhook = db.prepare('SELECT * FROM webhooks WHERE id = ?');
  const getTenant = db.prepare('SELECT * FROM tenants WHERE id = ?');
  const lease = db.prepare('UPDATE deliveries SET locked_until = ? WHERE id = ?');
  const hold = db.prepare(
    "UPDATE deliveries SET status = 'HELD', next_attempt_at = NULL, updated_at = ? WHERE id = ?",
  );
  const webhooks = new Map<string, ReturnType<typeof webhookFromRow> | null>();
  const claimed: ClaimedDelivery[] = [];
  for (const id of taken) {
    const delivery = deliveryFromRow(getDelivery.get(id) as Row);
    let webhook = null;
    if (delivery.webhookId !== null) {
      if (!webhooks.has(delivery.webhookId)) {
        const row = getWebhook.get(delivery.webhookId) as Row | undefined;
        webhooks.set(delivery.webhookId, row ? webhookFromRow(row) : null);
      }
      webhook = webhooks.get(delivery.webhookId) ?? null;
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
    const payload = getPayload.get(delivery.tenantId, delivery.messageId) as { payload: string } | undefined;
    if (!payload) continue;
    lease.run(req.leaseUntil(webhook?.timeoutMs ?? CALLBACK_TIMEOUT_MS), id);
    claimed.push({
      delivery,
      payload: payload.payload,
      webhook,
      tenant: tenantRow ? tenantFromRow(tenantRow) : null,
    });
  }
  return claimed;
}
