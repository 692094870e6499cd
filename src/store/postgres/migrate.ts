import { readMigrations } from '../migration-files.js';
import { MIGRATION_LOCK_CLASS, type Pool, transaction } from './open-pool.js';

/**
 * Applies the pending numbered migrations in one transaction, under a transaction-scoped advisory
 * lock keyed by the schema: processes starting together queue here, and each one after the first
 * finds the migrations recorded in schema_migrations and does nothing.
 */
export async function applyMigrations(pool: Pool, schema: string | null): Promise<void> {
  await transaction(pool, async (c) => {
    const target = schema ?? String((await c.query('SELECT current_schema() AS s')).rows[0]?.s ?? 'public');
    await c.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [MIGRATION_LOCK_CLASS, target]);
    if (schema) {
      // Created only when missing: a role may own its schema without CREATE on the database.
      // The name was checked to be a plain identifier when the pool was opened.
      const exists = await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      if (exists.rowCount === 0) await c.query(`CREATE SCHEMA ${schema}`);
      await c.query(`SET LOCAL search_path TO ${schema}`);
    }
    await c.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
    );
    const applied = new Set(
      (await c.query('SELECT version FROM schema_migrations')).rows.map((r) => Number(r.version)),
    );
    for (const m of readMigrations('postgres')) {
      if (applied.has(m.version)) continue;
      await c.query(m.sql);
      await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
        m.version,
        m.name,
        Date.now(),
      ]);
    }
  });
}
