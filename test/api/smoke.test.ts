import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/test-server.js';

describe('server smoke', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t.stop();
  });

  it('answers health and creates a webhook', async () => {
    expect((await t.admin.get('/healthz')).status).toBe(200);
    const res = await t.admin.post('/v1/webhooks', { url: 'http://127.0.0.1:1/hook' });
    expect(res.status).toBe(201);
    expect(res.body.secret).toMatch(/^whsec_/);
    const key = await t.admin.post('/v1/tenants/default/keys');
    expect(key.status).toBe(201);
  });
});
