import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { newId } from '../../src/core/ids.js';
import type { Message, Tenant, Webhook } from '../../src/core/model.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type {
  AttemptRecord,
  ClaimedDelivery,
  ClaimRequest,
  MessageDraft,
  Store,
} from '../../src/store/store.js';
import { tempDir } from '../support/temp-dir.js';

/** One empty database (an SQLite file, or a PostgreSQL schema) that several stores may open. */
export interface Target {
  /** A new store on this database (not migrated); closed by dispose(). */
  open(): Store;
  /** Closes the stores and removes the database, unless `keep` (a failed test: look at it). */
  dispose(keep: boolean): Promise<void>;
  readonly description: string;
}

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** Why the backend cannot run here, or null. */
  unavailable: string | null;
  newTarget(): Target;
}

const sqlite: Backend = {
  name: 'sqlite',
  unavailable: null,
  newTarget() {
    const dir = tempDir('hookline-store-');
    const path = join(dir.path, 'hookline.db');
    const stores: Store[] = [];
    return {
      description: path,
      open() {
        const s = new SqliteStore(path);
        stores.push(s);
        return s;
      },
      async dispose(keep) {
        for (const s of stores) await s.close();
        if (!keep) dir.cleanup();
      },
    };
  },
};

const DATABASE_URL = process.env.HOOKLINE_TEST_DATABASE_URL;

const postgres: Backend = {
  name: 'postgres',
  unavailable: DATABASE_URL ? null : 'HOOKLINE_TEST_DATABASE_URL is not set',
  newTarget() {
    const connectionString = DATABASE_URL ?? '';
    const schema = `hl_test_${randomBytes(6).toString('hex')}`;
    const stores: Store[] = [];
    return {
      description: `schema ${schema}`,
      open() {
        const s = new PostgresStore({ connectionString, schema, poolSize: 4 });
        stores.push(s);
        return s;
      },
      async dispose(keep) {
        for (const s of stores) await s.close();
        if (keep) return;
        const client = new pg.Client({ connectionString });
        await client.connect();
        try {
          await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        } finally {
          await client.end();
        }
      },
    };
  },
};

export const BACKENDS: Backend[] = [sqlite, postgres];

/** Everything a contract test needs: a migrated store, and a way to open more on the same database. */
export interface StoreContext {
  backend: Backend['name'];
  store: Store;
  target: Target;
}

// ---- fixtures ------------------------------------------------------------------------------

export const T0 = Date.parse('2026-01-01T00:00:00.000Z');
export const SECOND = 1000;
export const MINUTE = 60 * SECOND;

export function tenant(id: string, now = T0): Tenant {
  return {
    id,
    name: `Tenant ${id}`,
    callbackSecret: `sealed-callback-${id}`,
    callbackSecretPrev: null,
    callbackSecretPrevUntil: null,
    createdAt: now,
    updatedAt: now,
  };
}

export function webhook(tenantId: string, over: Partial<Webhook> = {}): Webhook {
  return {
    id: newId('wh'),
    tenantId,
    url: 'https://example.com/hook',
    events: [],
    secret: 'sealed-secret',
    secretPrev: null,
    secretPrevUntil: null,
    description: null,
    authUsername: null,
    authPassword: null,
    headers: {},
    timeoutMs: 5000,
    rateLimitPerSec: null,
    retrySchedule: null,
    signatureHeader: null,
    metadata: {},
    status: 'ACTIVE',
    lastSuccessAt: null,
    lastFailureAt: null,
    failingSince: null,
    createdAt: T0,
    updatedAt: T0,
    ...over,
  };
}

export function draft(
  tenantId: string,
  over: Partial<Omit<Message, 'deliveryCount'>> = {},
  now = T0,
): MessageDraft {
  const id = over.id ?? newId('msg');
  const type = over.type ?? 'invoice.paid';
  return {
    message: {
      id,
      tenantId,
      type,
      payload: JSON.stringify({ id, type, data: {} }),
      callbackUrl: null,
      idempotencyKey: null,
      contentHash: `hash-of-${type}`,
      createdAt: now,
      ...over,
    },
  };
}

export function claimRequest(now: number, over: Partial<ClaimRequest> = {}): ClaimRequest {
  return {
    now,
    limit: 100,
    leaseUntil: (timeoutMs) => now + timeoutMs + 1000,
    exclude: new Set(),
    perWebhookFree: new Map(),
    perWebhookDefault: 1000,
    ...over,
  };
}

/** The lease a claim at `now` gives a webhook with the default 5 s timeout ends before this. */
export const AFTER_LEASE = 10 * SECOND;

/** ok (2xx), a retry scheduled at `retryAt`, or failed for good. */
export type Outcome = 'ok' | 'final' | { retryAt: number };

/** What the dispatcher would record for an attempt of `c` started at `at`. */
export function attemptOf(c: ClaimedDelivery, at: number, outcome: Outcome): AttemptRecord {
  const success = outcome === 'ok';
  const next: AttemptRecord['next'] =
    outcome === 'ok'
      ? { status: 'SUCCEEDED', nextAttemptAt: null }
      : outcome === 'final'
        ? { status: 'FAILED', nextAttemptAt: null }
        : { status: 'PENDING', nextAttemptAt: outcome.retryAt };
  return {
    attempt: {
      deliveryId: c.delivery.id,
      tenantId: c.delivery.tenantId,
      number: c.delivery.attemptCount + 1,
      startedAt: at,
      durationMs: 12,
      statusCode: success ? 200 : 500,
      responseBody: success ? 'ok' : 'boom',
      error: success ? null : 'HTTP 500',
    },
    url: c.webhook?.url ?? c.delivery.url,
    success,
    next,
    webhookId: c.webhook?.id ?? null,
  };
}

/** A tenant with the given webhooks (ACTIVE, every event type unless overridden). */
export async function seed(store: Store, tenantId: string, ...hooks: Partial<Webhook>[]): Promise<Webhook[]> {
  await store.createTenant(tenant(tenantId));
  const made: Webhook[] = [];
  for (const over of hooks) {
    const w = webhook(tenantId, over);
    await store.createWebhook(w);
    made.push(w);
  }
  return made;
}

/** Claims everything due at `now` (generous limits). */
export async function claimAll(store: Store, now: number): Promise<ClaimedDelivery[]> {
  return store.claimDue(claimRequest(now, { limit: 1000 }));
}
