import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Receiver } from '../support/receiver.js';
import type { TestServer } from '../support/test-server.js';
import { createWebhook, newEventType, POLL, startDeliveryServer } from './helpers.js';

describe('claim order', () => {
  let t: TestServer;
  let rx: Receiver;
  beforeAll(async () => {
    // One attempt at a time per webhook and two in all: each claim finds three webhooks with work
    // and room, and can start only two of them.
    t = await startDeliveryServer({ dispatcher: { maxInFlight: 2, maxPerWebhook: 1 } });
    rx = await new Receiver().start();
  });
  afterAll(async () => {
    await t.stop();
    await rx.close();
  });

  it("sends each webhook's deliveries oldest first, also those a claim had to leave for later", async () => {
    const type = await newEventType(t);
    const names = ['a', 'b', 'c'];
    for (const name of names) await createWebhook(t, { url: `${rx.url}/ok/${type}/${name}`, events: [type] });
    const messages = Array.from({ length: 12 }, (_, i) => ({ type, data: { i } }));
    expect((await t.admin.post('/v1/messages/batch', { messages })).status).toBe(202);

    const ofWebhook = (name: string) =>
      rx.received
        .filter((r) => r.path === `/ok/${type}/${name}`)
        .map((r) => JSON.parse(r.body).data.i as number);
    await expect.poll(() => names.map((n) => ofWebhook(n).length), POLL).toEqual([12, 12, 12]);
    const inOrder = Array.from({ length: 12 }, (_, i) => i);
    for (const name of names) expect(ofWebhook(name), `webhook ${name}`).toEqual(inOrder);
  });
});
