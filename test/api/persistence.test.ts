import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../support/api-client.js';
import { freePort, ServeProcess } from '../support/serve-process.js';
import { tempDir } from '../support/temp-dir.js';

/** A start-up mistake: exit status 1, one line on stderr, no stack trace anywhere. */
function expectOneLineFailure(p: ServeProcess, code: number | null, mention?: RegExp): void {
  const what = `exit ${code}; stdout: ${p.stdout}; stderr: ${p.stderr}`;
  expect(code, what).toBe(1);
  const lines = p.stderr.trimEnd().split('\n');
  expect(lines, what).toHaveLength(1);
  expect(lines[0]?.trim().length, what).toBeGreaterThan(0);
  expect(p.stderr + p.stdout, what).not.toContain('    at ');
  if (mention) expect(lines[0], what).toMatch(mention);
}

/** Every byte SQLite keeps for the database: the file and its WAL (and shared-memory index). */
function databaseBytes(dbPath: string): Buffer {
  return Buffer.concat(
    [dbPath, `${dbPath}-wal`, `${dbPath}-shm`].filter((f) => existsSync(f)).map((f) => readFileSync(f)),
  );
}

describe('a real `hookline serve` process', () => {
  const tmp = tempDir();
  const dbPath = join(tmp.path, 'data.db');
  const running: ServeProcess[] = [];
  const tag = randomBytes(6).toString('hex');
  const plainSecret = `known-webhook-secret-${tag}`;
  const whsecBytes = randomBytes(32);
  const whsecSecret = `whsec_${whsecBytes.toString('base64')}`;
  const password = `known-auth-password-${tag}`;
  let adminKey: string;
  let tenantKey: string;
  let webhookId: string;
  let callbackSecret: string;

  async function serve(env: Record<string, string> = {}) {
    const port = await freePort();
    const p = new ServeProcess(['serve', '--port', String(port), '--db', dbPath], { cwd: tmp.path, env });
    running.push(p);
    return p;
  }

  afterAll(async () => {
    await Promise.all(running.map((p) => p.stop('SIGKILL')));
    tmp.cleanup();
  });

  it('first start prints the admin key once, and it works', async () => {
    const p = await serve();
    const [, url] = await p.waitForStdout(/Hookline listening on (\S+)/);
    const matches = [...p.stdout.matchAll(/^Admin API key: (\S+)$/gm)];
    expect(matches).toHaveLength(1);
    adminKey = matches[0]?.[1] as string;
    const admin = new ApiClient(url as string, adminKey);
    expect((await admin.get('/v1/tenants/default')).status).toBe(200);
    expect((await admin.withKey(`${adminKey}x`).get('/v1/webhooks')).status).toBe(401);

    await admin.post('/v1/tenants', { id: 'acme', name: 'Acme' });
    tenantKey = (await admin.post('/v1/tenants/acme/keys')).body.key;
    const wh = await admin.post('/v1/tenants/acme/webhooks', {
      url: 'https://1.1.1.1/hook',
      secret: plainSecret,
      auth: { username: 'bubblegum', password },
      description: 'kept across restarts',
    });
    expect(wh.status).toBe(201);
    webhookId = wh.body.id;
    const other = await admin.post('/v1/webhooks', { url: 'https://1.1.1.1/other', secret: whsecSecret });
    expect(other.status).toBe(201);
    callbackSecret = (await admin.get('/v1/tenants/acme/callback-secret')).body.secret;

    // While it runs, recent writes live in the WAL: no secret in any of the files.
    assertNoPlaintext();
    const keyFile = `${dbPath}.key`;
    expect(existsSync(keyFile)).toBe(true);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);

    expect(await p.stop('SIGTERM')).toBe(0);
    expect(p.stderr).toBe('');
    assertNoPlaintext();
  });

  function assertNoPlaintext() {
    const bytes = databaseBytes(dbPath);
    expect(bytes.length).toBeGreaterThan(0);
    const forbidden: [string, string | Buffer][] = [
      ['webhook secret', plainSecret],
      ['whsec secret', whsecSecret],
      ['whsec secret body', whsecSecret.slice('whsec_'.length)],
      ['whsec key bytes', whsecBytes],
      ['auth password', password],
      ['callback secret', callbackSecret],
      ['admin key', adminKey],
      ['tenant key', tenantKey],
    ];
    for (const [what, needle] of forbidden) {
      expect(bytes.includes(needle), `${what} found in the database files`).toBe(false);
    }
    // The test itself is sound: non-secret values of the same rows are found.
    expect(bytes.includes('kept across restarts')).toBe(true);
  }

  it('a restart prints no key; the same key, data and secrets are still there', async () => {
    const p = await serve();
    const [, url] = await p.waitForStdout(/Hookline listening on (\S+)/);
    expect(p.stdout).not.toContain('Admin API key');
    const admin = new ApiClient(url as string, adminKey);
    const wh = await admin.get(`/v1/tenants/acme/webhooks/${webhookId}`);
    expect(wh.status).toBe(200);
    expect(wh.body).toMatchObject({ description: 'kept across restarts', auth: { username: 'bubblegum' } });
    expect((await admin.get(`/v1/tenants/acme/webhooks/${webhookId}/secret`)).body.secret).toBe(plainSecret);
    expect((await admin.get('/v1/tenants/acme/callback-secret')).body.secret).toBe(callbackSecret);
    const tenant = admin.withKey(tenantKey);
    expect((await tenant.get('/v1/webhooks')).body.data.map((w: { id: string }) => w.id)).toEqual([
      webhookId,
    ]);
    const defaults = await admin.get('/v1/webhooks');
    expect(defaults.body.data).toHaveLength(1);
    expect((await admin.get(`/v1/webhooks/${defaults.body.data[0].id}/secret`)).body.secret).toBe(
      whsecSecret,
    );
    expect(await p.stop('SIGINT')).toBe(0);
  });

  it('another encryption key than the database was written with → exit 1, one line', async () => {
    const runs = await Promise.all(
      [
        [randomBytes(32).toString('base64'), /encryption key/i],
        ['not base64 at all!', /HOOKLINE_ENCRYPTION_KEY/],
      ].map(async ([key, mention]) => {
        const p = await serve({ HOOKLINE_ENCRYPTION_KEY: key as string });
        return { p, mention: mention as RegExp, code: await p.exitCode() };
      }),
    );
    for (const { p, mention, code } of runs) expectOneLineFailure(p, code, mention);
  });

  it('the key file key given in the env works; HOOKLINE_ADMIN_KEY wins while set', async () => {
    const key = readFileSync(`${dbPath}.key`, 'utf8').trim();
    const chosen = `hk_admin_chosen_${tag}_0123456789abcdef`;
    const p = await serve({ HOOKLINE_ENCRYPTION_KEY: key, HOOKLINE_ADMIN_KEY: chosen });
    const [, url] = await p.waitForStdout(/Hookline listening on (\S+)/);
    expect(p.stdout).not.toContain('Admin API key');
    const admin = new ApiClient(url as string, chosen);
    expect((await admin.get(`/v1/tenants/acme/webhooks/${webhookId}/secret`)).body.secret).toBe(plainSecret);
    expect((await admin.withKey(adminKey).get('/v1/webhooks')).status).toBe(401);
    expect(await p.stop()).toBe(0);
  });
});

describe('start-up mistakes', () => {
  const tmp = tempDir();
  const db = join(tmp.path, 'x.db');
  let blocker: ReturnType<typeof createServer>;
  let busyPort: number;
  let again: ServeProcess | undefined;

  beforeAll(async () => {
    blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    busyPort = (blocker.address() as { port: number }).port;
    writeFileSync(join(tmp.path, 'garbage.db'), randomBytes(8192));
  });
  afterAll(async () => {
    await again?.stop('SIGKILL');
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
    tmp.cleanup();
  });

  it('each prints one line and exits 1', async () => {
    const cases: [string, () => string[], RegExp][] = [
      ['unknown flag', () => ['serve', '--bogus'], /bogus/],
      ['misspelt flag', () => ['serve', '--prot', '1'], /prot/],
      ['--port abc', () => ['serve', '--port', 'abc', '--db', db], /port/],
      ['--role nope', () => ['serve', '--role', 'nope', '--db', db], /role/],
      [
        '--db in a missing directory',
        () => ['serve', '--port', '0', '--db', join(tmp.path, 'no/such/x.db')],
        /no\/such/,
      ],
      // Root may write anywhere on disk; /proc refuses new files even to root.
      ['--db not writable', () => ['serve', '--port', '0', '--db', '/proc/hookline-test.db'], /proc/],
      [
        '--db not a database',
        () => ['serve', '--port', '0', '--db', join(tmp.path, 'garbage.db')],
        /garbage\.db/,
      ],
      [
        'port in use',
        () => ['serve', '--port', String(busyPort), '--db', db],
        new RegExp(`${busyPort}.*in use`),
      ],
    ];
    const results = await Promise.all(
      cases.map(async ([name, args, mention]) => {
        const p = new ServeProcess(args(), { cwd: tmp.path });
        return { name, p, mention, code: await p.exitCode() };
      }),
    );
    for (const { name, p, mention, code } of results) {
      expect(p.stderr, name).not.toBe('');
      expectOneLineFailure(p, code, mention);
    }
    // The failed starts on the fresh database did not swallow its admin key: the first start that
    // succeeds prints one, and it works.
    again = new ServeProcess(['serve', '--port', String(await freePort()), '--db', db], {
      cwd: tmp.path,
    });
    const [, url] = await again.waitForStdout(/Hookline listening on (\S+)/);
    const key = again.stdout.match(/^Admin API key: (\S+)$/m)?.[1];
    expect(key, again.stdout).toBeDefined();
    expect((await new ApiClient(url as string, key as string).get('/v1/webhooks')).status).toBe(200);
    expect(await again.stop()).toBe(0);
  });
});
