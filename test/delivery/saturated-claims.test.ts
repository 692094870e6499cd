import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ClaimRequest } from '../../src/store/store.js';
import { describeEachBackend } from '../support/backends.js';
import type { TestServer } from '../support/test-server.js';
import { createWebhook, newEventType, POLL, startDeliveryServer } from './helpers.js';

/** Answers every request after `delayMs`; counts the requests that arrived, by path. */
async function slowReceiver(
  delayMs: number,
): Promise<{ url: string; got: Map<string, number>; server: Server }> {
  const got = new Map<string, number>();
  const server = createServer((req, res) => {
    got.set(req.url ?? '', (got.get(req.url ?? '') ?? 0) + 1);
    req.resume();
    setTimeout(() => res.end('ok'), req.url === '/slow' ? delayMs : 0);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got, server };
}

describeEachBackend('claims while a webhook is saturated', (backend) => {
  let t: TestServer;
  let rx: Awaited<ReturnType<typeof slowReceiver>>;
  beforeAll(async () => {
    // No poll within the test: only publishes, completions and retries may wake the dispatcher.
    t = await startDeliveryServer({ backend, dispatcher: { pollIntervalMs: 60_000 } });
    rx = await slowReceiver(100);
  });
  afterAll(async () => {
    rx.server.closeAllConnections();
    rx.server.close();
    await t.stop();
  });

  it('does not look for other work after every completion, yet starts new work at once', async () => {
    const slowType = await newEventType(t);
    const fastType = await newEventType(t);
    const slow = await createWebhook(t, { url: `${rx.url}/slow`, events: [slowType] });
    await createWebhook(t, { url: `${rx.url}/fast`, events: [fastType] });

    // Claims that leave out the slow webhook (it has all its 10 slots taken) and find nothing.
    const store = t.server.store;
    const claimDue = store.claimDue.bind(store);
    let fruitless = 0;
    store.claimDue = async (req: ClaimRequest) => {
      const claimed = await claimDue(req);
      if (claimed.length === 0 && req.exclude.has(slow.id)) fruitless++;
      return claimed;
    };

    // 200 deliveries, 10 at a time, 100 ms each: about 20 rounds of completions.
    const messages = Array.from({ length: 200 }, (_, i) => ({ type: slowType, data: { i } }));
    expect((await t.admin.post('/v1/messages/batch', { messages })).status).toBe(202);
    await expect.poll(() => rx.got.get('/slow') ?? 0, POLL).toBeGreaterThanOrEqual(50);

    // Work for another webhook, published mid-backlog, goes out before the backlog is through.
    expect((await t.admin.post('/v1/messages', { type: fastType, data: {} })).status).toBe(202);
    await expect.poll(() => rx.got.get('/fast') ?? 0, POLL).toBe(1);
    expect(rx.got.get('/slow') ?? 0).toBeLessThan(200);

    await expect.poll(() => rx.got.get('/slow') ?? 0, POLL).toBe(200);
    // One fruitless look per publish at most, not one per round of completions.
    expect(fruitless).toBeLessThanOrEqual(3);
  });
});
