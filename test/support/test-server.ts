import { join } from 'node:path';
import type { Clock } from '../../src/core/clock.js';
import { resolveConfig } from '../../src/server/config.js';
import { type RunningServer, startServer } from '../../src/server/start-server.js';
import { ApiClient } from './api-client.js';
import { tempDir } from './temp-dir.js';

export const TEST_ADMIN_KEY = 'hk_admin_test_key_0123456789abcdefghijklmnop';

export interface TestServer {
  server: RunningServer;
  admin: ApiClient;
  dbPath: string;
  dir: string;
  /** Stops the server and removes its files. */
  stop(): Promise<void>;
}

/**
 * A real server on a real SQLite file in a temp dir, listening on an ephemeral 127.0.0.1 port,
 * in this process (so tests can pass a clock). Dev mode by default: receivers live on loopback.
 */
export async function startTestServer(
  opts: { dev?: boolean; env?: Record<string, string>; clock?: Clock; dir?: string } = {},
): Promise<TestServer> {
  const tmp = opts.dir ? { path: opts.dir, cleanup() {} } : tempDir();
  const dbPath = join(tmp.path, 'hookline.db');
  const config = resolveConfig(
    { port: '0', host: '127.0.0.1', db: dbPath, dev: opts.dev ?? true },
    { HOOKLINE_ADMIN_KEY: TEST_ADMIN_KEY, HOOKLINE_LOG_LEVEL: 'silent', ...opts.env },
  );
  const server = await startServer(config, { clock: opts.clock });
  return {
    server,
    admin: new ApiClient(server.url, TEST_ADMIN_KEY),
    dbPath,
    dir: tmp.path,
    async stop() {
      await server.close();
      tmp.cleanup();
    },
  };
}
