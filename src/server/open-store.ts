import { PostgresStore } from '../store/postgres/postgres-store.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';
import { ConfigError, type ServerConfig } from './config.js';

async function openPostgres(config: ServerConfig & { databaseUrl: string }): Promise<Store> {
  let store: PostgresStore;
  try {
    store = new PostgresStore({
      connectionString: config.databaseUrl,
      schema: config.databaseSchema ?? undefined,
    });
  } catch (err) {
    throw new ConfigError(`--database-url: ${(err as Error).message}`);
  }
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw new ConfigError(`cannot prepare the PostgreSQL database: ${(err as Error).message}`);
  }
  return store;
}

export async function openStore(config: ServerConfig): Promise<Store> {
  if (config.databaseUrl) return openPostgres({ ...config, databaseUrl: config.databaseUrl });
  let store: SqliteStore;
  try {
    store = new SqliteStore(config.dbPath);
  } catch (err) {
    throw new ConfigError(`cannot open database file ${config.dbPath}: ${(err as Error).message}`);
  }
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw new ConfigError(`cannot prepare database file ${config.dbPath}: ${(err as Error).message}`);
  }
  return store;
}
