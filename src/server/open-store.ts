import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';
import { ConfigError, type ServerConfig } from './config.js';

export async function openStore(config: ServerConfig): Promise<Store> {
  if (config.databaseUrl) {
    throw new ConfigError('--database-url: the PostgreSQL store is not available in this build yet');
  }
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
    const msg = (err as Error).message;
    throw new ConfigError(`cannot prepare database file ${config.dbPath}: ${msg}`);
  }
  store.releaseAllLeases();
  return store;
}
