import { contentHashOf } from '../../core/envelope.js';
import { matchesEvent } from '../../core/event-types.js';
import { newId } from '../../core/ids.js';
import type { Message } from '../../core/model.js';
import { messageFromRow, type Row } from '../rows.js';
import { IdempotencyConflict, type MessageDraft, type PublishResult } from '../store.js';
import {
  type Client,
  firstRow,
  lockTenantShared,
  type Pool,
  prepared,
  rows,
  transaction,
} from './open-pool.js';

interface Target {
  id: string | null;
  url: string;
  status: 'PENDING' | 'HELD';
}

interface WebhookTarget {
  id: string;
  url: string;
  events: string[];
  status: string;
}

/** A draft with the deliveries it fans out to. */
interface Planned {
  message: MessageDraft['message'];
  targets: Target[];
}

async function findExisting(c: Client, tenantId: string, m: MessageDraft['message']): Promise<Row | null> {
  const byId = await firstRow(c, 'SELECT * FROM messages WHERE tenant_id = $1 AND id = $2', [tenantId, m.id]);
  if (byId || m.idempotencyKey === null) return byId;
  return firstRow(c, 'SELECT * FROM messages WHERE tenant_id = $1 AND idempotency_key = $2', [
    tenantId,
    m.idempotencyKey,
  ]);
}

/**
 * Messages and their deliveries in one statement, however many. ON CONFLICT DO NOTHING (any
 * unique key: the id or the idempotency key) skips a message stored before, and makes a concurrent
 * duplicate wait for the first one's outcome instead of failing; a delivery is inserted only for a
 * message that was. Returns the ids inserted.
 */
const INSERT_MESSAGES = prepared(`
  WITH m AS (
    INSERT INTO messages (tenant_id, id, type, payload, callback_url, idempotency_key, content_hash, delivery_count, created_at)
    SELECT $1, id, type, payload, callback_url, idempotency_key, content_hash, delivery_count, created_at
    FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::bigint[])
      WITH ORDINALITY AS i(id, type, payload, callback_url, idempotency_key, content_hash, delivery_count, created_at, n)
    ORDER BY n
    ON CONFLICT DO NOTHING
    RETURNING id
  ), d AS (
    INSERT INTO deliveries (id, tenant_id, message_id, webhook_id, url, status, next_attempt_at, created_at, updated_at)
    SELECT t.id, $1, t.message_id, t.webhook_id, t.url, t.status, t.due, $10, $10
    FROM unnest($11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::bigint[])
      WITH ORDINALITY AS t(id, message_id, webhook_id, url, status, due, n)
    JOIN m ON m.id = t.message_id
    ORDER BY t.n
  )
  SELECT id FROM m`);

const TENANT_WEBHOOKS = prepared(
  'SELECT id, url, events, status FROM webhooks WHERE tenant_id = $1 ORDER BY seq',
);

/** Inserts `batch` (ids and idempotency keys all distinct); returns the ids that were new. */
async function insertMessages(
  c: Client,
  tenantId: string,
  batch: Planned[],
  now: number,
): Promise<Set<string>> {
  const ms = batch.map((p) => p.message);
  const ts = batch.flatMap((p) => p.targets.map((t) => ({ ...t, messageId: p.message.id })));
  const inserted = await rows(c, INSERT_MESSAGES, [
    tenantId,
    ms.map((m) => m.id),
    ms.map((m) => m.type),
    ms.map((m) => m.payload),
    ms.map((m) => m.callbackUrl),
    ms.map((m) => m.idempotencyKey),
    ms.map((m) => m.contentHash),
    batch.map((p) => p.targets.length),
    ms.map((m) => m.createdAt),
    now,
    ts.map(() => newId('dlv')),
    ts.map((t) => t.messageId),
    ts.map((t) => t.id),
    ts.map((t) => t.url),
    ts.map((t) => t.status),
    ts.map((t) => (t.status === 'PENDING' ? now : null)),
  ]);
  return new Set(inserted.map((r) => String(r.id)));
}

/**
 * The drafts that share an id or idempotency key with an earlier draft of the call. The others
 * are inserted together (none can conflict with another); these after, one by one in order,
 * exactly as if each draft had been stored alone after the ones before it.
 */
function repeatsOfEarlier(planned: Planned[]): Set<Planned> {
  const ids = new Set<string>();
  const keys = new Set<string>();
  const repeats = new Set<Planned>();
  for (const p of planned) {
    const key = p.message.idempotencyKey;
    if (ids.has(p.message.id) || (key !== null && keys.has(key))) repeats.add(p);
    ids.add(p.message.id);
    if (key !== null) keys.add(key);
  }
  return repeats;
}

/** See Store.publishMessages. One transaction: all or nothing. */
export async function publishMessages(
  pool: Pool,
  tenantId: string,
  drafts: MessageDraft[],
  now: number,
): Promise<PublishResult[]> {
  return transaction(pool, async (c) => {
    await lockTenantShared(c, tenantId);
    const webhooks: WebhookTarget[] = (await rows(c, TENANT_WEBHOOKS, [tenantId])).map((w) => ({
      id: String(w.id),
      url: String(w.url),
      events: JSON.parse(String(w.events)) as string[],
      status: String(w.status),
    }));
    const planned = drafts.map(({ message: m }): Planned => {
      const targets: Target[] = webhooks
        .filter((w) => matchesEvent(w.events, m.type))
        .map((w) => ({ id: w.id, url: w.url, status: w.status === 'ACTIVE' ? 'PENDING' : 'HELD' }));
      if (m.callbackUrl) targets.push({ id: null, url: m.callbackUrl, status: 'PENDING' });
      return { message: m, targets };
    });

    const repeats = repeatsOfEarlier(planned);
    const firsts = planned.filter((p) => !repeats.has(p));
    const created = firsts.length > 0 ? await insertMessages(c, tenantId, firsts, now) : new Set<string>();
    // In draft order, so that the conflict reported is the first draft's that has one.
    const results: PublishResult[] = [];
    for (const [index, p] of planned.entries()) {
      const isNew = repeats.has(p)
        ? (await insertMessages(c, tenantId, [p], now)).size === 1
        : created.has(p.message.id);
      if (isNew) {
        const message: Message = { ...p.message, deliveryCount: p.targets.length };
        results.push({ message, created: true });
        continue;
      }
      const existing = await findExisting(c, tenantId, p.message);
      // A conflicting row that is gone again by now: rare enough to report rather than loop on.
      if (!existing) throw new Error(`message ${p.message.id}: stored concurrently and removed again; retry`);
      const stored = messageFromRow(existing);
      if (contentHashOf(stored) !== contentHashOf(p.message)) throw new IdempotencyConflict(index);
      results.push({ message: stored, created: false });
    }
    return results;
  });
}
