import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/test-server.js';
import { createWebhook, newEventType, POLL, startDeliveryServer } from './helpers.js';

describe('recording answers', () => {
  let t: TestServer;
  beforeAll(async () => {
    // A wide window, so that the test does not hang on the timer's precision under load.
    t = await startDeliveryServer({ dispatcher: { recordWaitMs: 300 } });
  });
  afterAll(async () => t.stop());

  it('writes answers that arrive while others are in flight in shared commits, and loses none', async () => {
    // Holds every request, then answers them one every 2 ms: each answer arrives on its own,
    // with the rest still in flight.
    const held: ServerResponse[] = [];
    const server = createServer((req, res) => {
      req.resume();
      held.push(res);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

    const store = t.server.store;
    const record = store.recordAttempts.bind(store);
    const batches: number[] = [];
    store.recordAttempts = (records, now) => {
      batches.push(records.length);
      return record(records, now);
    };
    try {
      const type = await newEventType(t);
      const hook = await createWebhook(t, { url, events: [type] });
      const messages = Array.from({ length: 10 }, (_, i) => ({ type, data: { i } }));
      expect((await t.admin.post('/v1/messages/batch', { messages })).status).toBe(202);
      await expect.poll(() => held.length, POLL).toBe(10);
      for (const res of held) {
        res.end('ok');
        await new Promise((r) => setTimeout(r, 10));
      }
      await expect
        .poll(async () => {
          const res = await t.admin.get(`/v1/deliveries?webhook_id=${hook.id}&status=SUCCEEDED`);
          return res.body.data.length;
        }, POLL)
        .toBe(10);
      // One commit per answer would be 10; waiting for company makes it one or two.
      expect(batches.reduce((a, b) => a + b, 0)).toBe(10);
      expect(batches.length, `batches of ${batches.join(', ')}`).toBeLessThanOrEqual(3);
    } finally {
      store.recordAttempts = record;
      server.closeAllConnections();
      server.close();
    }
  });
});
