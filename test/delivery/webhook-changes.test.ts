/**
 * A change to a webhook applies to the very next publish and delivery: a new URL, headers, secret,
 * event filter or status. (The SQLite store keeps webhooks in memory; this is what proves it lets
 * go of them on every change.)
 */
import { Webhook as Verifier } from 'standardwebhooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../support/backends.js';
import { Receiver } from '../support/receiver.js';
import type { TestServer } from '../support/test-server.js';
import { createWebhook, deliveryOf, newEventType, publish, startDeliveryServer } from './helpers.js';

describeEachBackend('webhook changes take effect at once', (backend) => {
  let t: TestServer;
  let rx: Receiver;
  beforeAll(async () => {
    rx = await new Receiver().start();
    t = await startDeliveryServer({ backend });
  });
  afterAll(async () => {
    await t.stop();
    await rx.close();
  });

  it('sends the next delivery with the new URL, headers and secret', async () => {
    const type = await newEventType(t);
    const wh = await createWebhook(t, { url: `${rx.url}/before`, events: [type] });
    await publish(t, { id: 'chg_1', type, data: {} });
    await rx.waitFor(() => rx.at('/before').length === 1);

    expect(
      (await t.admin.patch(`/v1/webhooks/${wh.id}`, { url: `${rx.url}/after`, headers: { 'x-v': '2' } }))
        .status,
    ).toBe(200);
    const rotated = await t.admin.post(`/v1/webhooks/${wh.id}/rotate-secret`, {});
    expect(rotated.status).toBe(200);
    await publish(t, { id: 'chg_2', type, data: {} });
    await rx.waitFor(() => rx.at('/after').length === 1);
    const [got] = rx.at('/after');
    if (!got) throw new Error('nothing arrived at the new URL');
    expect(got.headers['x-v']).toBe('2');
    // Signed with the new secret (the old one signs too during the overlap).
    expect(() =>
      new Verifier(rotated.body.secret).verify(got.body, got.headers as Record<string, string>),
    ).not.toThrow();
    expect(rx.at('/before')).toHaveLength(1);
  });

  it('fans out by the new event filter, and holds deliveries once paused', async () => {
    const type = await newEventType(t);
    const other = await newEventType(t);
    const wh = await createWebhook(t, { url: `${rx.url}/filter`, events: [type] });
    expect((await publish(t, { type, data: {} })).delivery_count).toBe(1);
    expect((await publish(t, { type: other, data: {} })).delivery_count).toBe(0);

    await t.admin.patch(`/v1/webhooks/${wh.id}`, { events: [other] });
    expect((await publish(t, { type, data: {} })).delivery_count).toBe(0);
    expect((await publish(t, { type: other, data: {} })).delivery_count).toBe(1);
    await rx.waitFor(() => rx.at('/filter').length === 2);

    await t.admin.patch(`/v1/webhooks/${wh.id}`, { status: 'DISABLED' });
    await publish(t, { id: 'chg_paused', type: other, data: {} });
    expect((await deliveryOf(t, 'chg_paused')).status).toBe('HELD');
    await new Promise((r) => setTimeout(r, 300));
    expect(rx.at('/filter')).toHaveLength(2);
  });
});
