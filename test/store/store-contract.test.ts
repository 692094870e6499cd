/**
 * One Store contract, run against every backend: SQLite always, PostgreSQL when
 * HOOKLINE_TEST_DATABASE_URL is set (each test in a fresh schema, dropped afterwards unless the
 * test failed, so the rows can be inspected).
 */
import { afterEach, beforeEach, describe } from 'vitest';
import { catalogContract } from './contract/catalog.js';
import { claimContract } from './contract/claim.js';
import { publishContract } from './contract/publish.js';
import { recordContract } from './contract/record.js';
import { webhookStatusContract } from './contract/webhook-status.js';
import { BACKENDS, type StoreContext } from './harness.js';

for (const backend of BACKENDS) {
  if (backend.unavailable) {
    console.warn(`Store contract: skipping ${backend.name}: ${backend.unavailable}`);
  }

  describe.skipIf(backend.unavailable !== null)(`Store contract on ${backend.name}`, () => {
    let current: StoreContext | null = null;
    const ctx = (): StoreContext => {
      if (!current) throw new Error('no store: used outside a test');
      return current;
    };

    beforeEach(async () => {
      const target = backend.newTarget();
      const store = target.open();
      await store.migrate();
      current = { backend: backend.name, store, target };
    });

    afterEach(async ({ task }) => {
      const done = current;
      current = null;
      if (!done) return;
      const failed = task.result?.state === 'fail';
      if (failed) console.warn(`Store contract on ${backend.name}: kept ${done.target.description}`);
      await done.target.dispose(failed);
    });

    describe('settings, tenants, keys, event types, webhooks', () => catalogContract(ctx));
    describe('publishMessages', () => publishContract(ctx));
    describe('claimDue', () => claimContract(ctx));
    describe('recordAttempts', () => recordContract(ctx));
    describe('webhook status, deletion, redelivery, recovery', () => webhookStatusContract(ctx));
  });
}
