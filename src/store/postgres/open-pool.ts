import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Row } from '../rows.js';

export type Pool = pg.Pool;
export type Client = pg.PoolClient;
/** A pool or a client inside a transaction: both run `query(text, values)`. */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export interface PoolOptions {
  connectionString: string;
  /** PostgreSQL schema holding Hookline's tables; created by migrate(). Default: the server's search_path. */
  schema?: string;
  poolSize?: number;
  /** An idle pooled connection failed (server restart, network); the pool drops it and reconnects. */
  onIdleError?: (err: Error) => void;
}

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

export function checkSchemaName(schema: string): string {
  if (!SCHEMA_RE.test(schema)) {
    throw new Error(`schema: "${schema}" is not a plain lowercase identifier ([a-z_][a-z0-9_]*, at most 63)`);
  }
  return schema;
}

/**
 * Connection settings that start every session in `schema`. pg lets the parameters of a connection
 * string override the config object's, so a URL carrying its own `?options=` (say
 * `-c synchronous_commit=off`) would silently drop a search_path passed beside it: then the
 * search_path is appended to the URL's options instead.
 */
export function withSearchPath(
  connectionString: string,
  schema: string,
): { connectionString: string; options?: string } {
  const searchPath = `-c search_path=${checkSchemaName(schema)}`;
  let url: URL | null = null;
  try {
    url = new URL(connectionString);
  } catch {}
  const own = url?.searchParams.get('options');
  if (!url || !own) return { connectionString, options: searchPath };
  url.searchParams.set('options', `${own} ${searchPath}`);
  return { connectionString: url.toString() };
}

/**
 * The search_path is a startup parameter of every connection, so no query can run on a pooled
 * connection before it is set (a SET in the pool's `connect` event could race the first query).
 */
export function openPool(opts: PoolOptions): Pool {
  const pool = new pg.Pool({
    max: opts.poolSize ?? 10,
    ...(opts.schema
      ? withSearchPath(opts.connectionString, opts.schema)
      : { connectionString: opts.connectionString }),
  });
  pool.on('error', (err) => opts.onIdleError?.(err));
  return pool;
}

/**
 * A statement each connection parses once and, after a few runs, plans once (a named prepared
 * statement): for the delivery path's statements, run thousands of times a second, whose planning
 * otherwise costs about as much as running them.
 */
export interface Prepared {
  readonly name: string;
  readonly text: string;
}

export function prepared(text: string): Prepared {
  return { name: `hl_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`, text };
}

export type Statement = string | Prepared;

const run = (db: Queryable, s: Statement, values: unknown[]) =>
  typeof s === 'string' ? db.query(s, values) : db.query({ name: s.name, text: s.text, values });

export async function rows(db: Queryable, s: Statement, values: unknown[] = []): Promise<Row[]> {
  return (await run(db, s, values)).rows as Row[];
}

export async function firstRow(db: Queryable, s: Statement, values: unknown[] = []): Promise<Row | null> {
  return (await rows(db, s, values))[0] ?? null;
}

export async function changes(db: Queryable, s: Statement, values: unknown[] = []): Promise<number> {
  return (await run(db, s, values)).rowCount ?? 0;
}

export const pgCode = (err: unknown): string | undefined =>
  err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;

export const isUniqueViolation = (err: unknown): boolean => pgCode(err) === '23505';

/** Deadlock detected, serialization failure: the transaction did nothing and may simply run again. */
const isRetryable = (err: unknown): boolean => pgCode(err) === '40P01' || pgCode(err) === '40001';

/**
 * Runs `fn` in one READ COMMITTED transaction on one pooled connection; retried a few times when
 * PostgreSQL aborts it as a deadlock victim. `fn` must do nothing but database work. `begin` may
 * add `SET LOCAL` statements to the BEGIN (one round trip: a simple query may hold several).
 */
export async function transaction<T>(
  pool: Pool,
  fn: (c: Client) => Promise<T>,
  { attempts = 3, begin = 'BEGIN' } = {},
): Promise<T> {
  for (let i = 1; ; i++) {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query(begin);
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      if (i >= attempts || !isRetryable(err)) throw err;
    } finally {
      client.release(broken);
    }
  }
}

/**
 * Transaction-scoped advisory locks on a tenant: publishing and requeueing (which read a webhook's
 * status to choose PENDING or HELD) take it shared; changing a webhook's status or deleting it takes
 * it exclusive. So a delivery is never made PENDING for a webhook that is being paused (or HELD for
 * one being reactivated, or at all for one being deleted) by a transaction it cannot see yet.
 * In-memory locks: no row is written. Two tenants whose ids hash alike merely share a lock.
 */
const TENANT_LOCK_CLASS = 0x486b6c54; // "HklT"

const LOCK_TENANT_SHARED = prepared('SELECT pg_advisory_xact_lock_shared($1::int, hashtext($2))');

export async function lockTenantShared(c: Client, tenantId: string): Promise<void> {
  await rows(c, LOCK_TENANT_SHARED, [TENANT_LOCK_CLASS, tenantId]);
}

export async function lockTenant(c: Client, tenantId: string): Promise<void> {
  await c.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [TENANT_LOCK_CLASS, tenantId]);
}

export const MIGRATION_LOCK_CLASS = 0x486b6c4d; // "HklM"
