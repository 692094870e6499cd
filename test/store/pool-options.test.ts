/**
 * A connection string may carry its own session settings (`?options=-c synchronous_commit=off`);
 * the store's schema must still be the search_path of every pooled connection, not silently
 * replaced by them (pg lets the URL's parameters win over the config object's).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { dropSchema, randomSchema } from '../support/test-server.js';
import { tenant } from './harness.js';

const DATABASE_URL = process.env.HOOKLINE_TEST_DATABASE_URL;
if (!DATABASE_URL) console.warn('PostgreSQL pool options: skipped: HOOKLINE_TEST_DATABASE_URL is not set');

describe.skipIf(!DATABASE_URL)('PostgreSQL pool options', () => {
  const opened: { store: PostgresStore; schema: string }[] = [];
  afterEach(async () => {
    for (const { store, schema } of opened.splice(0)) {
      await store.close();
      await dropSchema(DATABASE_URL as string, schema);
    }
  });

  it('keeps the schema as search_path when the URL has its own ?options=', async () => {
    const url = new URL(DATABASE_URL as string);
    url.searchParams.set('options', '-c synchronous_commit=off -c application_name=hl_options_test');
    const schema = randomSchema('hl_opt');
    const store = new PostgresStore({ connectionString: url.toString(), schema, poolSize: 2 });
    opened.push({ store, schema });
    await store.migrate();
    const { rows } = await store.pool.query(
      "SELECT current_setting('search_path') AS sp, current_setting('synchronous_commit') AS sc",
    );
    expect(rows[0]).toEqual({ sp: schema, sc: 'off' });
    expect(await store.createTenant(tenant('acme'))).toBe(true);
    expect((await store.getTenant('acme'))?.name).toBe('Tenant acme');
  });
});
