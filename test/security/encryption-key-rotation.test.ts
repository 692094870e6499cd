import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Webhook as Verifier } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Receiver } from '../support/receiver.js';
import { tempDir } from '../support/temp-dir.js';
import { startTestServer } from '../support/test-server.js';

const key = () => randomBytes(32).toString('base64');

/** HOOKLINE_ENCRYPTION_KEY_PREVIOUS: start once with the old key beside the new one. */
describe('rotating the encryption key', () => {
  const dir = tempDir();
  let rx: Receiver;
  beforeAll(async () => {
    rx = await new Receiver().start();
  });
  afterAll(async () => {
    await rx.close();
    dir.cleanup();
  });
  const start = (env: Record<string, string>) => startTestServer({ dir: dir.path, env });

  it('re-seals every stored secret with the new key, and the old key stops working', async () => {
    const oldKey = key();
    const newKey = key();
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const first = await start({ HOOKLINE_ENCRYPTION_KEY: oldKey });
    await first.admin.post('/v1/event-types', { name: 'key.rotated' });
    const wh = await first.admin.post('/v1/webhooks', {
      url: `${rx.url}/ok`,
      secret,
      auth: { username: 'hook', password: 'p4ssw0rd-rotation' },
    });
    expect(wh.status).toBe(201);
    const callbackSecret = (await first.admin.get('/v1/callback-secret')).body.secret;
    await first.server.close();

    // the new key alone: refused, nothing changed
    await expect(start({ HOOKLINE_ENCRYPTION_KEY: newKey })).rejects.toThrow(/encryption key does not match/);

    const rotated = await start({
      HOOKLINE_ENCRYPTION_KEY: newKey,
      HOOKLINE_ENCRYPTION_KEY_PREVIOUS: oldKey,
    });
    expect((await rotated.admin.get(`/v1/webhooks/${wh.body.id}/secret`)).body.secret).toBe(secret);
    expect((await rotated.admin.get('/v1/callback-secret')).body.secret).toBe(callbackSecret);
    await rotated.server.close();

    // from now on the new key alone works, and the old one is refused
    const after = await start({ HOOKLINE_ENCRYPTION_KEY: newKey });
    await after.admin.post('/v1/messages', { id: 'evt_rotated', type: 'key.rotated', data: {} });
    await rx.waitFor(() => rx.at('/ok').length === 1);
    const [got] = rx.at('/ok');
    if (!got) throw new Error('nothing received');
    expect(new Verifier(secret).verify(got.body, got.headers as Record<string, string>)).toMatchObject({
      id: 'evt_rotated',
    });
    expect(got.headers.authorization).toBe(
      `Basic ${Buffer.from('hook:p4ssw0rd-rotation').toString('base64')}`,
    );
    await after.server.close();
    await expect(start({ HOOKLINE_ENCRYPTION_KEY: oldKey })).rejects.toThrow(/encryption key does not match/);
    // still encrypted at rest
    expect(readFileSync(`${dir.path}/hookline.db`).includes('p4ssw0rd-rotation')).toBe(false);
  });

  it('says which key is wrong when neither key matches', async () => {
    const other = tempDir();
    const t = await startTestServer({ dir: other.path, env: { HOOKLINE_ENCRYPTION_KEY: key() } });
    await t.server.close();
    await expect(
      startTestServer({
        dir: other.path,
        env: { HOOKLINE_ENCRYPTION_KEY: key(), HOOKLINE_ENCRYPTION_KEY_PREVIOUS: key() },
      }),
    ).rejects.toThrow(/neither HOOKLINE_ENCRYPTION_KEY nor HOOKLINE_ENCRYPTION_KEY_PREVIOUS/);
    other.cleanup();
  });
});
