import { describe } from 'vitest';
import { type BackendName, TEST_DATABASE_URL } from './test-server.js';

export interface ServerBackend {
  name: BackendName;
  /** Why the backend cannot run here, or null. */
  unavailable: string | null;
}

/** SQLite always; PostgreSQL when HOOKLINE_TEST_DATABASE_URL is set. */
export const SERVER_BACKENDS: readonly ServerBackend[] = [
  { name: 'sqlite', unavailable: null },
  {
    name: 'postgres',
    unavailable: TEST_DATABASE_URL ? null : 'HOOKLINE_TEST_DATABASE_URL is not set',
  },
];

/**
 * `describe(title, body)` once per backend, titled `title [backend]`; a backend that cannot run
 * here is skipped with a notice. The body passes the backend on to startTestServer.
 */
export function describeEachBackend(title: string, body: (backend: BackendName) => void): void {
  for (const b of SERVER_BACKENDS) {
    if (b.unavailable) console.warn(`${title}: skipping ${b.name}: ${b.unavailable}`);
    describe.skipIf(b.unavailable !== null)(`${title} [${b.name}]`, () => body(b.name));
  }
}
