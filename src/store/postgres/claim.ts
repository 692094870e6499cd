import type { Webhook } from '../../core/model.js';
import { deliveryFromRow, tenantFromRow, WEBHOOK_COLUMNS, webhookFromRow } from '../rows.js';
import type { ClaimedDelivery, ClaimRequest } from '../store.js';
import {
  type Client,
  changes,
  lockTenantShared,
  type Pool,
  prepared,
  rows,
  transaction,
} from './open-pool.js';
import { takeRateTokens } from './rate-tokens.js';

const CALLBACK_TIMEOUT_MS = 5000;

/**
 * Due, unleased PENDING deliveries, oldest due first. FOR UPDATE OF d SKIP LOCKED: rows another
 * worker is claiming right now are passed over, not waited for; a row another worker leased and
 * committed meanwhile is re-checked against the WHERE (its locked_until is now in the future) and
 * dropped. So two workers never lease the same delivery, and neither blocks the other.
 */
const CANDIDATES = prepared(`
  SELECT d.id, d.tenant_id, d.webhook_id, w.status AS webhook_status, w.rate_limit_per_sec AS rate
  FROM deliveries d LEFT JOIN webhooks w ON w.id = d.webhook_id
  WHERE d.status = 'PENDING' AND d.next_attempt_at <= $1 AND (d.locked_until IS NULL OR d.locked_until <= $1)
    AND (d.webhook_id IS NULL OR NOT (d.webhook_id = ANY($2::text[])))
  ORDER BY d.next_attempt_at
  LIMIT $3
  FOR UPDATE OF d SKIP LOCKED`);

/**
 * The only good plan for CANDIDATES walks deliveries_due in order and stops at the LIMIT. Planner
 * statistics lag a queue table (a fresh one has none; a backlog arriving in a table of millions of
 * finished rows is estimated at a handful), and then PostgreSQL picks a bitmap scan of every due
 * row and sorts them all, on every claim: 57 ms for a 50,000-row backlog instead of under 1 ms.
 */
const CLAIM_BEGIN = 'BEGIN; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off';

/** Leases the chosen rows (still locked by this transaction) and returns them with their payloads. */
const LEASE = prepared(`
  UPDATE deliveries d SET locked_until = v.until
  FROM unnest($1::text[], $2::bigint[]) AS v(id, until), messages m
  WHERE d.id = v.id AND m.tenant_id = d.tenant_id AND m.id = d.message_id
  RETURNING d.id, d.tenant_id, d.message_id, d.webhook_id, d.url, d.status, d.attempt_count, d.retry_base,
    d.next_attempt_at, d.last_status_code, d.last_error, d.first_attempt_at, d.last_attempt_at, d.created_at,
    d.updated_at, m.payload`);

// Columns named, not *: a prepared SELECT * fails once a migration adds a column.
const WEBHOOKS_BY_ID = prepared(
  `SELECT ${Object.values(WEBHOOK_COLUMNS)
    .map(([column]) => column)
    .join(', ')} FROM webhooks WHERE id = ANY($1::text[])`,
);

interface Candidate {
  id: string;
  tenantId: string;
  webhookId: string | null;
  /** null when the webhook row is gone. */
  webhookStatus: string | null;
  rate: number | null;
}

/**
 * See Store.claimDue and the SQLite version: picks due deliveries oldest-first, skipping webhooks
 * that are saturated, and takes at most each webhook's free slots. A delivery whose webhook is no
 * longer ACTIVE (its lease expired after the webhook was paused) is held instead, one whose webhook
 * is gone is cancelled, after this transaction (see settleStranded).
 */
export async function claimDue(pool: Pool, req: ClaimRequest): Promise<ClaimedDelivery[]> {
  if (req.limit <= 0) return [];
  const stranded: Candidate[] = [];
  const claimed = await transaction(
    pool,
    (c) => {
      stranded.length = 0; // a retried transaction starts over
      return leaseDue(c, req, stranded);
    },
    { begin: CLAIM_BEGIN },
  );
  if (stranded.length > 0) await settleStranded(pool, stranded, req.now);
  return claimed;
}

/** The claim's transaction: chooses due deliveries within the limits and leases them. */
async function leaseDue(c: Client, req: ClaimRequest, stranded: Candidate[]): Promise<ClaimedDelivery[]> {
  const candidates = (
    await rows(c, CANDIDATES, [req.now, [...req.exclude], Math.min(req.limit * 2, 100)])
  ).map(
    (r): Candidate => ({
      id: String(r.id),
      tenantId: String(r.tenant_id),
      webhookId: r.webhook_id === null ? null : String(r.webhook_id),
      webhookStatus: r.webhook_status === null ? null : String(r.webhook_status),
      rate: r.rate === null ? null : Number(r.rate),
    }),
  );
  const taken: Candidate[] = [];
  const used = new Map<string, number>();
  for (const cand of candidates) {
    if (taken.length >= req.limit) break;
    if (cand.webhookId !== null) {
      if (cand.webhookStatus !== 'ACTIVE') {
        stranded.push(cand);
        continue;
      }
      // A webhook the limiter has no bucket for yet has a full one: rate_limit_per_sec tokens.
      const free = Math.min(
        req.perWebhookFree.get(cand.webhookId) ?? req.perWebhookDefault,
        cand.rate ?? Number.POSITIVE_INFINITY,
      );
      const n = used.get(cand.webhookId) ?? 0;
      if (n >= free) continue;
      used.set(cand.webhookId, n + 1);
    }
    taken.push(cand);
  }
  // The rate limit is the cluster's: spend tokens of the shared bucket, drop what it refuses.
  const rates = new Map(
    taken
      .filter((t) => t.rate !== null && t.webhookId !== null)
      .map((t) => [t.webhookId as string, t.rate as number]),
  );
  for (const [webhookId, rate] of [...rates].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const wanted = used.get(webhookId) ?? 0;
    const granted = await takeRateTokens(c, webhookId, rate, wanted, req.now);
    let drop = wanted - granted;
    for (let i = taken.length - 1; i >= 0 && drop > 0; i--) {
      if (taken[i]?.webhookId === webhookId) {
        taken.splice(i, 1);
        drop--;
      }
    }
    if (granted === 0) used.delete(webhookId);
  }
  if (taken.length === 0) return [];

  const webhooks = new Map<string, Webhook>();
  const webhookIds = [...used.keys()];
  if (webhookIds.length > 0) {
    for (const r of await rows(c, WEBHOOKS_BY_ID, [webhookIds])) {
      webhooks.set(String(r.id), webhookFromRow(r));
    }
  }
  const leased = taken.filter((t) => t.webhookId === null || webhooks.has(t.webhookId));
  const until = leased.map((t) =>
    req.leaseUntil(t.webhookId === null ? CALLBACK_TIMEOUT_MS : (webhooks.get(t.webhookId)?.timeoutMs ?? 0)),
  );
  const byId = new Map(
    (await rows(c, LEASE, [leased.map((t) => t.id), until])).map((r) => [String(r.id), r] as const),
  );
  const callbackTenants = [...new Set(leased.filter((t) => t.webhookId === null).map((t) => t.tenantId))];
  const tenants = new Map(
    callbackTenants.length === 0
      ? []
      : (await rows(c, 'SELECT * FROM tenants WHERE id = ANY($1::text[])', [callbackTenants])).map(
          (r) => [String(r.id), tenantFromRow(r)] as const,
        ),
  );
  const out: ClaimedDelivery[] = [];
  for (const t of leased) {
    const row = byId.get(t.id);
    if (!row) continue; // its message is gone: not leased
    out.push({
      delivery: deliveryFromRow(row),
      payload: String(row.payload),
      webhook: t.webhookId === null ? null : (webhooks.get(t.webhookId) ?? null),
      tenant: t.webhookId === null ? (tenants.get(t.tenantId) ?? null) : null,
    });
  }
  return out;
}

/**
 * PENDING deliveries of a paused webhook become HELD (reactivation requeues them), those of a
 * deleted webhook CANCELLED, as setWebhookStatus and deleteWebhook would have done had they not
 * been leased then. Its own transaction, under the tenant's shared lock, re-checking everything,
 * so a webhook reactivated meanwhile keeps its deliveries PENDING.
 */
async function settleStranded(pool: Pool, stranded: Candidate[], now: number): Promise<void> {
  const byTenant = new Map<string, string[]>();
  for (const s of stranded) byTenant.set(s.tenantId, [...(byTenant.get(s.tenantId) ?? []), s.id]);
  for (const [tenantId, ids] of [...byTenant].sort(([a], [b]) => (a < b ? -1 : 1))) {
    await transaction(pool, async (c) => {
      await lockTenantShared(c, tenantId);
      await changes(
        c,
        `UPDATE deliveries d SET next_attempt_at = NULL, updated_at = $3,
           status = CASE WHEN EXISTS (SELECT 1 FROM webhooks w WHERE w.id = d.webhook_id) THEN 'HELD' ELSE 'CANCELLED' END
         WHERE d.tenant_id = $1 AND d.id = ANY($2::text[])
           AND d.status = 'PENDING' AND (d.locked_until IS NULL OR d.locked_until <= $3)
           AND NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.id = d.webhook_id AND w.status = 'ACTIVE')`,
        [tenantId, ids, now],
      );
    });
  }
}
