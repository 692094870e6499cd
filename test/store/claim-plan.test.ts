/**
 * A claim must walk the due index in order and stop at its LIMIT, whatever the planner statistics
 * say. A table that was never analyzed (a fresh schema, or a backlog landing among millions of
 * finished rows) made PostgreSQL read every due entry with a bitmap scan and sort them all, on
 * every claim. Counted with the index's own statistics: entries read for one claim.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { dropSchema, randomSchema } from '../support/test-server.js';
import { claimRequest, draft, seed, T0 } from './harness.js';

const DATABASE_URL = process.env.HOOKLINE_TEST_DATABASE_URL;
if (!DATABASE_URL) console.warn('PostgreSQL claim plan: skipped: HOOKLINE_TEST_DATABASE_URL is not set');

describe.skipIf(!DATABASE_URL)('PostgreSQL claim plan', () => {
  const schema = randomSchema('hl_plan');
  // One connection, so that the statistics flush below runs where the claim ran.
  let store: PostgresStore;
  beforeAll(async () => {
    store = new PostgresStore({ connectionString: DATABASE_URL as string, schema, poolSize: 1 });
    await store.migrate();
  });
  afterAll(async () => {
    await store.close();
    await dropSchema(DATABASE_URL as string, schema);
  });

  const dueEntriesRead = async (): Promise<number> => {
    await store.pool.query('SELECT pg_stat_force_next_flush()');
    await store.pool.query('SELECT 1'); // the flush happens as this backend goes idle
    const { rows } = await store.pool.query(
      `SELECT pg_stat_clear_snapshot(), (SELECT idx_tup_read FROM pg_stat_user_indexes
         WHERE schemaname = $1 AND indexrelname = 'deliveries_due') AS n`,
      [schema],
    );
    return Number(rows[0]?.n);
  };

  it('reads about as many due entries as it takes from a backlog the planner knows nothing of', async () => {
    await seed(store, 'acme', {}, {});
    for (let b = 0; b < 5; b++) {
      const drafts = Array.from({ length: 500 }, () => draft('acme'));
      await store.publishMessages('acme', drafts, T0);
    }
    const before = await dueEntriesRead();
    const claimed = await store.claimDue(claimRequest(T0, { limit: 10 }));
    expect(claimed).toHaveLength(10);
    // 5,000 due deliveries; the ordered scan stops after its window of candidates (at most 100).
    expect((await dueEntriesRead()) - before).toBeLessThan(200);
  });
});
