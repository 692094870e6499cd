import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { Receiver } from '../support/receiver.js';
import { slowFlushes } from '../support/slow-flush.js';
import type { TestServer } from '../support/test-server.js';
import { createWebhook, startDeliveryServer } from './helpers.js';

/**
 * A large batch is written in slices (SQLite's GroupCommit): deliveries already published go on
 * meanwhile, and the batch's own wait for its commit and flush. Each batch here is 1,000 messages
 * to one webhook that answers after 20 ms (at most 10 at once: ~500 a second) and to `PAUSED`
 * DISABLED ones, whose rows are written (HELD) but never sent: 20,000 rows, 100–500 ms of writing.
 */
const PAUSED = 19;

async function setUp(t: TestServer, rx: Receiver, type: string): Promise<void> {
  expect((await t.admin.post('/v1/event-types', { name: type })).status).toBe(201);
  await createWebhook(t, { url: `${rx.url}/slow/20`, events: [type] });
  for (let i = 0; i < PAUSED; i++) {
    const w = await createWebhook(t, { url: `${rx.url}/ok`, events: [type] });
    expect((await t.admin.patch(`/v1/webhooks/${w.id}`, { status: 'DISABLED' })).status).toBe(200);
  }
}

async function publishBatch(t: TestServer, type: string, n: number, prefix: string) {
  const messages = Array.from({ length: n }, (_, i) => ({ id: `${prefix}_${i}`, type, data: { i } }));
  const sentAt = Date.now();
  const res = await t.admin.post('/v1/messages/batch', { messages });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return { sentAt, answeredAt: Date.now() };
}

const fromBatch = (prefix: string) => (r: { headers: Record<string, unknown> }) =>
  String(r.headers['webhook-id']).startsWith(`${prefix}_`);

describe('while a large batch is written', () => {
  let t: TestServer;
  let rx: Receiver;
  beforeAll(async () => {
    rx = await new Receiver().start();
    t = await startDeliveryServer();
  });
  afterAll(async () => {
    await t?.stop();
    await rx?.close();
  });

  it('deliveries published before it go on', async () => {
    await setUp(t, rx, 'slices.flowing');
    const slow = () => rx.at('/slow/20');
    await publishBatch(t, 'slices.flowing', 600, 'early');
    await rx.waitFor(() => slow().length >= 20);
    const big = await publishBatch(t, 'slices.flowing', 1000, 'big');
    // The receiver runs in this process too: it takes a request in only when the event loop
    // turns, which a batch written in one piece did not let it do until the end.
    const during = slow().filter((r) => r.at > big.sentAt && r.at < big.answeredAt && fromBatch('early')(r));
    expect(
      during.length,
      `${during.length} arrived in the ${big.answeredAt - big.sentAt} ms of the batch's publish`,
    ).toBeGreaterThanOrEqual(15);
    await rx.waitFor(() => slow().length === 1600, 30_000);
    expect(new Set(slow().map((r) => r.headers['webhook-id'])).size).toBe(1600);
  });

  it('a write made meanwhile waits for it, and is committed when answered', async () => {
    await setUp(t, rx, 'slices.writes');
    const store = t.server.store;
    if (!(store instanceof SqliteStore)) throw new Error('this test is about the SQLite store');
    const hook = await createWebhook(t, { url: `${rx.url}/ok`, events: ['slices.writes'] });
    const big = publishBatch(t, 'slices.writes', 1000, 'writes');
    // The batch's transaction is open across turns of the event loop: write then.
    await expect.poll(() => store.db.inTransaction, { interval: 0, timeout: 10_000 }).toBe(true);
    const patched = await t.admin.patch(`/v1/webhooks/${hook.id}`, { description: 'during the batch' });
    expect(patched.status).toBe(200);
    // Another connection sees only what is committed: had the write joined the batch's
    // transaction, it would not be there yet.
    const other = new Database(t.dbPath, { readonly: true });
    try {
      const row = other.prepare('SELECT description FROM webhooks WHERE id = ?').get(hook.id);
      expect(row).toEqual({ description: 'during the batch' });
    } finally {
      other.close();
    }
    await big;
  });
});

describe('with every WAL flush slowed down', () => {
  const SLOW_FLUSH_MS = 150;
  let flushes: ReturnType<typeof slowFlushes>;
  let t: TestServer;
  let rx: Receiver;
  beforeAll(async () => {
    flushes = slowFlushes(SLOW_FLUSH_MS);
    rx = await new Receiver().start();
    t = await startDeliveryServer();
  });
  afterAll(async () => {
    flushes.restore();
    await t?.stop();
    await rx?.close();
  });

  it("claims between the slices leave the batch's own rows alone until it is on disk", async () => {
    await setUp(t, rx, 'slices.durable');
    // A short backlog, done well before the batch is: the claims made while it is written find
    // the batch's rows (due, to a webhook with free slots) and must not take them.
    await publishBatch(t, 'slices.durable', 30, 'early');
    await rx.waitFor(() => rx.at('/slow/20').length >= 1);
    const big = await publishBatch(t, 'slices.durable', 1000, 'big');
    await rx.waitFor(() => rx.at('/slow/20').filter(fromBatch('big')).length === 1000, 30_000);
    const first = Math.min(
      ...rx
        .at('/slow/20')
        .filter(fromBatch('big'))
        .map((r) => r.at),
    );
    // The flush that put the batch on disk is the last to end before its 202.
    const onDisk = Math.max(...flushes.ends.filter((at) => at <= big.answeredAt));
    expect(onDisk - big.sentAt).toBeGreaterThanOrEqual(SLOW_FLUSH_MS);
    expect(first - onDisk, 'ms from the batch on disk to its first delivery').toBeGreaterThanOrEqual(0);
  });
});
