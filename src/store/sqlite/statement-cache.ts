import type Database from 'better-sqlite3';

/** Distinct SQL texts kept prepared; dynamic ones (PATCH column sets, list filters) stay few. */
const MAX_STATEMENTS = 512;

/**
 * Makes `db.prepare` return the statement already compiled for the same SQL text. Compiling took a
 * fifth of the server's CPU time on a single-message publish (profile in bench/CHANGES.md), since
 * every store call prepared its statements afresh. Safe because no caller keeps an iterator open
 * across calls, and a statement's mode (raw, pluck) is set only by the one caller of its SQL text.
 */
export function cacheStatements(db: Database.Database): void {
  const compile = db.prepare.bind(db);
  const cache = new Map<string, Database.Statement>();
  db.prepare = ((sql: string) => {
    let statement = cache.get(sql);
    if (statement) {
      // Least recently used goes first when the cache is full: move this one to the back.
      cache.delete(sql);
      cache.set(sql, statement);
      return statement;
    }
    statement = compile(sql);
    if (cache.size >= MAX_STATEMENTS) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(sql, statement);
    return statement;
  }) as Database.Database['prepare'];
}
