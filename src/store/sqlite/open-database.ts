import Database from 'better-sqlite3';
import { readMigrations } from '../migration-files.js';
import { cacheStatements } from './statement-cache.js';

export type Db = Database.Database;

/** The serving connection's own checkpoint threshold, used only while no checkpoint worker runs. */
export const AUTOCHECKPOINT_PAGES = 10_000;

/**
 * WAL with synchronous=FULL: a commit that returned is on disk even after a power cut, which is
 * what "a published message is never lost" needs. busy_timeout covers a second process (the CLI).
 */
export function openDatabase(path: string): Db {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
  // A WAL that grew during a burst is cut back to this when it is next started over.
  db.pragma('journal_size_limit = 67108864');
  cacheStatements(db);
  return db;
}

export function applyMigrations(db: Db): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  );
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map(
      (r) => r.version,
    ),
  );
  for (const m of readMigrations('sqlite')) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        Date.now(),
      );
    }).immediate();
  }
}
