import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from '../api/app.js';
import type { ApiContext } from '../api/context.js';
import { KeyRateLimiter } from '../api/rate-limit.js';
import { newTenant } from '../api/routes/tenants.js';
import { AddressPolicy } from '../core/address-policy.js';
import { type Clock, systemClock } from '../core/clock.js';
import { DEFAULT_TENANT } from '../core/model.js';
import { PayloadSchemas } from '../core/payload-schema.js';
import { AddressGuard, type HostLookup } from '../delivery/address-guard.js';
import { DEFAULT_MAX_IN_FLIGHT, Dispatcher, type DispatcherOptions } from '../delivery/dispatcher.js';
import { createSender } from '../delivery/http-sender.js';
import { WorkAnnouncer } from '../delivery/work-announcer.js';
import type { Store } from '../store/store.js';
import { resolveAdminKey } from './admin-key.js';
import { ConfigError, type ServerConfig } from './config.js';
import { loadSecretBox, verifySecretBox } from './encryption-key.js';
import { openStore } from './open-store.js';
import { VERSION } from './version.js';

export interface RunningServer {
  app: FastifyInstance;
  store: Store;
  /** null in an `api`-role process. */
  dispatcher: Dispatcher | null;
  url: string;
  port: number;
  /** Set only on the first start without HOOKLINE_ADMIN_KEY: the caller prints it once. */
  generatedAdminKey: string | null;
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  /** Limits and poll interval of the delivery side (tests and benchmarks tune them). */
  dispatcher?: Partial<
    Pick<
      DispatcherOptions,
      'maxInFlight' | 'maxUnrecorded' | 'maxPerWebhook' | 'pollIntervalMs' | 'recordWaitMs'
    >
  >;
  /** DNS for production mode's address guard (registration and every connection); tests inject it. */
  lookup?: HostLookup;
  /** Registration-time lookup timeout (default 2 s). */
  lookupTimeoutMs?: number;
}

async function listen(app: FastifyInstance, config: ServerConfig): Promise<string> {
  try {
    return await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new ConfigError(`port ${config.port} on ${config.host} is already in use`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
      throw new ConfigError(`cannot listen on host "${config.host}"`);
    if (code === 'EACCES') throw new ConfigError(`no permission to listen on port ${config.port}`);
    throw err;
  }
}

export async function startServer(config: ServerConfig, opts: StartOptions = {}): Promise<RunningServer> {
  const clock = opts.clock ?? systemClock;
  const store = await openStore(config);
  // Production mode checks every target address, at registration and at each connection.
  const addressGuard = config.dev
    ? null
    : new AddressGuard({
        policy: new AddressPolicy(config.allowAddresses),
        lookup: opts.lookup,
        lookupTimeoutMs: opts.lookupTimeoutMs,
      });
  // Every backend sends from the main thread: with the HTTP client's work cut down, a thread of
  // its own cost as much in hand-offs as it saved (bench/CHANGES.md, change 33).
  const sender = createSender(addressGuard ? { connect: addressGuard.connector() } : {});
  let stopWatching: (() => Promise<void>) | null = null;
  try {
    const box = loadSecretBox({
      encryptionKey: config.encryptionKey,
      dbPath: config.databaseUrl ? null : config.dbPath,
    });
    const previous = config.previousEncryptionKey
      ? loadSecretBox(
          { encryptionKey: config.previousEncryptionKey, dbPath: null },
          'HOOKLINE_ENCRYPTION_KEY_PREVIOUS',
        )
      : null;
    const resealed = await verifySecretBox(store, box, previous);
    let dispatcher: Dispatcher | null = null;
    let announcer: WorkAnnouncer | null = null;
    const userAgent = `Hookline/${VERSION}`;
    const ctx: ApiContext = {
      store,
      box,
      clock,
      dev: config.dev,
      adminKeyHash: '', // set once listening (below)
      schemas: new PayloadSchemas(),
      sender,
      userAgent,
      wake: () => {
        dispatcher?.wake();
        announcer?.announce();
      },
      // SQLite wakes the dispatcher itself when publishes commit (see SqliteStore.watchForWork),
      // a flush earlier than the publish's answer; waking again here would only cost a claim.
      published: () => {
        if (store.kind !== 'sqlite') ctx.wake();
      },
      addressGuard,
      rateLimiter: config.apiRateLimit ? new KeyRateLimiter(config.apiRateLimit) : null,
    };
    if (!(await store.getTenant(DEFAULT_TENANT)))
      await store.createTenant(newTenant(ctx, DEFAULT_TENANT, 'Default'));
    const app = await buildApp(ctx, {
      logLevel: config.logLevel,
      apiRoutes: config.role !== 'worker',
      version: VERSION,
    });
    if (config.role !== 'api') {
      dispatcher = new Dispatcher({
        store,
        box,
        clock,
        sender,
        log: app.log as Logger,
        retryScheduleMs: config.retryScheduleMs,
        userAgent,
        // SQLite's records wait while a large batch is written in slices (tens to hundreds of
        // ms; see GroupCommit), and the sending should go on meanwhile. PostgreSQL keeps the
        // default: what a killed worker had answered and not recorded is sent again.
        ...(store.kind === 'sqlite'
          ? { maxUnrecorded: 8 * (opts.dispatcher?.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT) }
          : {}),
        ...opts.dispatcher,
      });
    }
    const log = app.log as Logger;
    if (resealed > 0)
      log.info({ resealed }, 'encryption key rotated: stored secrets re-sealed with the new key');
    announcer = new WorkAnnouncer(store, (err) =>
      log.warn({ err }, 'announcing work to other processes failed'),
    );
    if (dispatcher) {
      const d = dispatcher;
      stopWatching = await store.watchForWork(
        () => d.wake(),
        (err) => log.warn({ err }, 'work notifications: connection lost; reconnecting'),
      );
    }
    await listen(app, config);
    // Only a start that got this far may generate the admin key: one stored by a start that then
    // failed (port in use…) would never be printed, locking the admin out of the database.
    const admin = await resolveAdminKey(store, config.adminKey);
    ctx.adminKeyHash = admin.hash;
    dispatcher?.start();
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    let closing: Promise<void> | null = null;
    return {
      app,
      store,
      dispatcher,
      port,
      url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
      generatedAdminKey: admin.generated,
      close() {
        closing ??= (async () => {
          // Node closes the connections idle when closing starts; one whose request was still
          // running goes idle later and would hold close() for the whole keep-alive timeout.
          const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
          try {
            await app.close();
          } finally {
            clearInterval(sweep);
          }
          await stopWatching?.();
          await dispatcher?.stop();
          await sender.close();
          await store.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await stopWatching?.();
    await sender.close();
    await store.close();
    throw err;
  }
}
