import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import type { Clock } from '../../src/core/clock.js';
import type { HostLookup } from '../../src/delivery/address-guard.js';
import { resolveConfig } from '../../src/server/config.js';
import { type RunningServer, type StartOptions, startServer } from '../../src/server/start-server.js';
import { ApiClient } from './api-client.js';
import { tempDir } from './temp-dir.js';

export const TEST_ADMIN_KEY = 'hk_admin_test_key_0123456789abcdefghijklmnop';

/** The PostgreSQL database the `postgres` backend uses; unset: that backend is unavailable. */
export const TEST_DATABASE_URL = process.env.HOOKLINE_TEST_DATABASE_URL || null;

export type BackendName = 'sqlite' | 'postgres';

export interface TestServer {
  server: RunningServer;
  admin: ApiClient;
  backend: BackendName;
  dbPath: string;
  dir: string;
  /** The PostgreSQL schema holding this server's tables (postgres backend), else null. */
  schema: string | null;
  /** Stops the server and removes its files (and its PostgreSQL schema). */
  stop(): Promise<void>;
}

/** A schema name nobody else uses: `<prefix>_<12 hex>`. */
export function randomSchema(prefix = 'hl_test'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** DROP SCHEMA … CASCADE on its own short connection. */
export async function dropSchema(connectionString: string, schema: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`not a plain schema name: ${schema}`);
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * A real server listening on an ephemeral 127.0.0.1 port, in this process (so tests can pass a
 * clock). Dev mode by default: receivers live on loopback. Backend `sqlite` (default): a real
 * SQLite file in a temp dir. Backend `postgres`: a fresh schema with a random name in the database
 * HOOKLINE_TEST_DATABASE_URL names, and a random encryption key; stop() drops the schema.
 */
export async function startTestServer(
  opts: {
    dev?: boolean;
    env?: Record<string, string>;
    clock?: Clock;
    dir?: string;
    /** DNS for production mode's address guard. */
    lookup?: HostLookup;
    backend?: BackendName;
    dispatcher?: StartOptions['dispatcher'];
  } = {},
): Promise<TestServer> {
  const backend = opts.backend ?? 'sqlite';
  if (backend === 'postgres' && !TEST_DATABASE_URL) {
    throw new Error('startTestServer({ backend: "postgres" }) needs HOOKLINE_TEST_DATABASE_URL');
  }
  const databaseUrl = backend === 'postgres' ? (TEST_DATABASE_URL as string) : null;
  const schema = databaseUrl ? randomSchema('hl_srv') : null;
  const tmp = opts.dir ? { path: opts.dir, cleanup() {} } : tempDir();
  const dbPath = join(tmp.path, 'hookline.db');
  const pgEnv: Record<string, string> = schema
    ? { HOOKLINE_DATABASE_SCHEMA: schema, HOOKLINE_ENCRYPTION_KEY: randomBytes(32).toString('base64') }
    : {};
  const config = resolveConfig(
    {
      port: '0',
      host: '127.0.0.1',
      db: dbPath,
      dev: opts.dev ?? true,
      ...(databaseUrl ? { databaseUrl } : {}),
    },
    { HOOKLINE_ADMIN_KEY: TEST_ADMIN_KEY, HOOKLINE_LOG_LEVEL: 'silent', ...pgEnv, ...opts.env },
  );
  const cleanup = async () => {
    tmp.cleanup();
    if (databaseUrl && schema) await dropSchema(databaseUrl, schema);
  };
  let server: RunningServer;
  try {
    server = await startServer(config, {
      clock: opts.clock,
      lookup: opts.lookup,
      dispatcher: opts.dispatcher,
    });
  } catch (err) {
    await cleanup();
    throw err;
  }
  return {
    server,
    admin: new ApiClient(server.url, TEST_ADMIN_KEY),
    backend,
    dbPath,
    dir: tmp.path,
    schema,
    async stop() {
      await server.close();
      await cleanup();
    },
  };
}
