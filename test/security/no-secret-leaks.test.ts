/**
 * Secrets never reach the logs or an error body: the real server (child process, debug logging)
 * is given a webhook secret, an auth password, the admin key and a tenant key, is driven through
 * successes, bad requests and failing receivers, and everything it printed and every error it
 * answered is searched for them.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChildServer, freePort, waitUntil } from '../robustness/child-server.js';
import type { ApiClient, ApiResponse } from '../support/api-client.js';
import { tempDir } from '../support/temp-dir.js';
import { TEST_ADMIN_KEY } from '../support/test-server.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
const USERNAME = 'leak-test-user';

describe('no secret leaks into logs or error bodies', () => {
  const tmp = tempDir();
  let server: ChildServer;
  let receiver: Server;
  let receiverUrl: string;
  let tenantKey: string;
  let tenant: ApiClient;
  const errorBodies: { what: string; text: string }[] = [];

  /** Records the body of every 4xx/5xx answer for the final search. */
  function keep(what: string, res: ApiResponse): ApiResponse {
    if (res.status >= 400) {
      errorBodies.push({ what: `${what} → ${res.status}`, text: JSON.stringify(res.body) });
    }
    return res;
  }

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      req.resume();
      // Fails every time, so attempts record errors (and the server logs whatever it logs for them).
      res.writeHead(500, { 'content-type': 'text/plain' }).end('receiver exploded');
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    server = await ChildServer.start(join(tmp.path, 'hookline.db'), { HOOKLINE_LOG_LEVEL: 'debug' });
  });

  afterAll(async () => {
    await server?.stop();
    receiver?.closeAllConnections();
    receiver?.close();
    tmp.cleanup();
  });

  it('never prints or answers the webhook secret, the auth password or an API key', async () => {
    const admin = server.admin;
    expect((await admin.post('/v1/tenants', { id: 'leaky', name: 'Leaky' })).status).toBe(201);
    const k = await admin.post('/v1/tenants/leaky/keys', { name: 'test' });
    expect(k.status).toBe(201);
    tenantKey = k.body.key;
    tenant = admin.withKey(tenantKey);

    const type = 'leak.test';
    expect((await admin.post('/v1/event-types', { name: type })).status).toBe(201);

    // A webhook that fails (500), one on a port nobody listens on, both with the secret and auth.
    const deadUrl = `http://127.0.0.1:${await freePort()}/hook`;
    const hooks: string[] = [];
    for (const url of [receiverUrl, deadUrl]) {
      const w = keep(
        'create webhook',
        await tenant.post('/v1/webhooks', {
          url,
          events: [type],
          secret: SECRET,
          auth: { username: USERNAME, password: PASSWORD },
          timeout_ms: 1000,
        }),
      );
      expect(w.status, JSON.stringify(w.body)).toBe(201);
      hooks.push(w.body.id);
    }

    // Publishing is the provider's job (admin key), into the tenant.
    const m = keep('publish', await admin.post('/v1/tenants/leaky/messages', { type, data: { hi: 1 } }));
    expect(m.status, JSON.stringify(m.body)).toBe(202);
    const messageId: string = m.body.id;

    // Requests that fail while carrying the secrets in bodies and headers. (Not in URLs: the debug
    // log has a line per request with its URL, so a caller who puts a secret there logs it.)
    const creds = { secret: SECRET, auth: { username: USERNAME, password: PASSWORD } };
    keep('bad url', await tenant.post('/v1/webhooks', { url: 'not a url', events: [type], ...creds }));
    keep('bad events', await tenant.post('/v1/webhooks', { url: receiverUrl, events: 42, ...creds }));
    keep(
      'unknown field',
      await tenant.post('/v1/webhooks', { url: receiverUrl, events: [type], x: 1, ...creds }),
    );
    keep(
      'bad timeout',
      await tenant.post('/v1/webhooks', { url: receiverUrl, events: [type], timeout_ms: 1, ...creds }),
    );
    keep(
      'short secret',
      await tenant.post('/v1/webhooks', { url: receiverUrl, events: [type], secret: PASSWORD.slice(0, 10) }),
    );
    keep('bad patch', await tenant.patch(`/v1/webhooks/${hooks[0]}`, { timeout_ms: -5, ...creds }));
    keep(
      'malformed json',
      await tenant.post('/v1/webhooks', `{"secret":"${SECRET}","auth":{"password":"${PASSWORD}"`),
    );
    keep(
      'rotate bad secret',
      await tenant.post(`/v1/webhooks/${hooks[0]}/secret/rotate`, { secret: `${SECRET}!` }),
    );
    keep('admin route with tenant key', await tenant.post('/v1/tenants', { name: 'nope' }));
    keep('other tenant', await tenant.get('/v1/tenants/default/webhooks'));
    keep('wrong admin key', await admin.withKey(`${TEST_ADMIN_KEY}x`).get('/v1/webhooks'));
    keep('wrong tenant key', await admin.withKey(`${tenantKey}x`).get('/v1/webhooks'));
    keep('no auth', await admin.withKey(null).post('/v1/webhooks', { url: receiverUrl, ...creds }));
    expect(errorBodies.length).toBeGreaterThanOrEqual(12);

    // Wait until both deliveries have a failed attempt recorded.
    await waitUntil(
      async () => {
        const res = await tenant.get(`/v1/deliveries?message_id=${messageId}`);
        if (res.status !== 200 || res.body.data.length < 2) return false;
        for (const d of res.body.data) {
          const one = await tenant.get(`/v1/deliveries/${d.id}`);
          if ((one.body.attempts ?? []).length < 1) return false;
        }
        return true;
      },
      10_000,
      'both deliveries to have a failed attempt',
      50,
    );

    const keyFile = readFileSync(join(tmp.path, 'hookline.db.key'), 'utf8').trim();
    const forbidden: Record<string, string> = {
      'webhook secret': SECRET,
      'webhook secret (base64 part)': SECRET.slice('whsec_'.length),
      'auth password': PASSWORD,
      'basic auth header': Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64'),
      'admin key': TEST_ADMIN_KEY,
      'tenant key': tenantKey,
      'encryption key': keyFile,
    };

    const lines = server.output.split('\n').filter((l) => l.trim() !== '');
    // Debug logging is on: there is something to search (a line per request at least).
    expect(lines.length, server.output).toBeGreaterThan(10);
    console.log(`[leaks] searched ${lines.length} log lines and ${errorBodies.length} error bodies`);
    for (const [name, value] of Object.entries(forbidden)) {
      expect(value.length).toBeGreaterThan(8);
      const inLog = lines.find((l) => l.includes(value));
      expect(inLog, `${name} in a log line`).toBeUndefined();
      const inBody = errorBodies.find((b) => b.text.includes(value));
      expect(inBody, `${name} in an error body (${inBody?.what})`).toBeUndefined();
    }

    // At rest: the SQLite files (database and WAL) hold neither the secret nor the password in clear.
    const files = readdirSync(tmp.path).filter((f) => f.startsWith('hookline.db') && !f.endsWith('.key'));
    expect(files).toContain('hookline.db');
    const raw = Buffer.concat(files.map((f) => readFileSync(join(tmp.path, f))));
    // Control: what is stored in clear (the auth username) is found, so the search sees the rows.
    expect(raw.includes(Buffer.from(USERNAME))).toBe(true);
    for (const [name, value] of Object.entries({ SECRET, PASSWORD, tenantKey, TEST_ADMIN_KEY })) {
      expect(raw.includes(Buffer.from(value)), `${name} in the database files`).toBe(false);
    }
  }, 30_000);
});
