import { Webhook as Verifier } from 'standardwebhooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../support/backends.js';
import { Receiver } from '../support/receiver.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

describeEachBackend('delivery basics', (backend) => {
  let t: TestServer;
  let rx: Receiver;
  beforeAll(async () => {
    rx = await new Receiver().start();
    t = await startTestServer({ backend });
    await t.admin.post('/v1/event-types', { name: 'invoice.paid' });
  });
  afterAll(async () => {
    await t.stop();
    await rx.close();
  });

  it('delivers a published message, signed, once', async () => {
    const wh = await t.admin.post('/v1/webhooks', { url: `${rx.url}/ok`, events: ['invoice.*'] });
    expect(wh.status).toBe(201);
    const pub = await t.admin.post('/v1/messages', { id: 'evt_1', type: 'invoice.paid', data: { n: 1 } });
    expect(pub.status).toBe(202);
    expect(pub.body.delivery_count).toBe(1);
    await rx.waitFor(() => rx.at('/ok').length === 1);
    const [got] = rx.at('/ok');
    if (!got) throw new Error('the receiver got nothing');
    const verified = new Verifier(wh.body.secret).verify(got.body, got.headers as Record<string, string>);
    expect(verified).toMatchObject({
      id: 'evt_1',
      type: 'invoice.paid',
      data: { n: 1 },
      previous_data: null,
    });
    expect(got.headers['webhook-attempt']).toBe('1');
    const deliveries = await t.admin.get('/v1/deliveries?message_id=evt_1');
    await expect
      .poll(async () => (await t.admin.get(`/v1/deliveries/${deliveries.body.data[0].id}`)).body.status)
      .toBe('SUCCEEDED');
  });
});
