import { afterAll, beforeAll, expect, it } from 'vitest';
import { Receiver } from '../support/receiver.js';
import { slowFlushes } from '../support/slow-flush.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * API.md: nothing is sent to a receiver before its message is on disk. With SQLite, a publish is
 * on disk once the WAL's fdatasync returns (wal-sync.ts). Every WAL flush is slowed down
 * (slowFlushes) and each delivery's arrival is compared with the end of the flushes.
 */
const SLOW_FLUSH_MS = 150;

let t: TestServer;
let rx: Receiver;
let flushes: ReturnType<typeof slowFlushes>;

beforeAll(async () => {
  flushes = slowFlushes(SLOW_FLUSH_MS);
  rx = await new Receiver().start();
  t = await startTestServer({ env: { HOOKLINE_API_RATE_LIMIT: 'off' } });
  await t.admin.post('/v1/event-types', { name: 'order.placed' });
  await t.admin.post('/v1/webhooks', { url: `${rx.url}/ok`, events: ['order.placed'] });
});
afterAll(async () => {
  flushes.restore();
  await t?.stop();
  await rx?.close();
});

it('sends no delivery before the flush that puts its message on disk has returned', async () => {
  // Publishes one after another, some while the previous flush still runs (then the message
  // waits for the next flush, which starts after that one).
  const published: Promise<{ sentAt: number; answeredAt: number }>[] = [];
  for (let i = 0; i < 6; i++) {
    const sentAt = Date.now();
    published.push(
      t.admin.post('/v1/messages', { id: `ord_${i}`, type: 'order.placed', data: { i } }).then((r) => {
        expect(r.status).toBe(202);
        return { sentAt, answeredAt: Date.now() };
      }),
    );
    await new Promise((r) => setTimeout(r, 40));
  }
  const times = await Promise.all(published);
  // The slowed flush is in effect: a 202 waits for it.
  for (const { sentAt, answeredAt } of times)
    expect(answeredAt - sentAt).toBeGreaterThanOrEqual(SLOW_FLUSH_MS);
  await rx.waitFor(() => rx.at('/ok').length === 6);
  for (const got of rx.at('/ok')) {
    const id = String(got.headers['webhook-id']);
    const { sentAt } = times[Number(id.split('_')[1])] ?? { sentAt: Number.NaN };
    // The flush covering a message starts after its commit, so it ends SLOW_FLUSH_MS or more
    // after the publish was sent; the claim itself comes a few ms after the commit.
    expect(got.at - sentAt, `${id}: ms from publish to arrival`).toBeGreaterThanOrEqual(SLOW_FLUSH_MS);
  }
  expect(flushes.ends.length).toBeGreaterThan(0);
});
