import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../support/temp-dir.js';

const dirs: { cleanup: () => void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

async function openStore(): Promise<{ store: SqliteStore; path: string }> {
  const dir = tempDir('hookline-ckpt-');
  dirs.push(dir);
  const path = join(dir.path, 'hookline.db');
  const store = new SqliteStore(path);
  await store.migrate();
  return { store, path };
}

/**
 * `count` commits of `bytes` each, in the settings table (any table does); every 10 commits a
 * pause of `pauseMs` (0: only the rest of the event loop's turn, as a busy server gives).
 */
async function write(store: SqliteStore, count: number, bytes: number, pauseMs = 5): Promise<void> {
  const insert = store.db.prepare('INSERT INTO settings (name, value) VALUES (?, ?)');
  for (let i = 0; i < count; i++) {
    insert.run(`k${i}-${Math.random()}`, 'x'.repeat(bytes));
    if (i % 10 === 9) await (pauseMs ? sleep(pauseMs) : new Promise(setImmediate));
  }
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await sleep(20);
  }
  return check();
}

describe('SQLite WAL checkpoints (worker thread)', () => {
  it('copies committed pages into the database file without the serving connection doing it', async () => {
    const { store, path } = await openStore();
    // The serving connection never checkpoints by itself while the worker runs.
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const before = statSync(path).size;
    await write(store, 40, 50_000);
    // 2 MB committed: far below any automatic checkpoint threshold, yet it reaches the file.
    expect(await waitFor(() => statSync(path).size >= before + 1_500_000, 5000)).toBe(true);
    await store.close();
  });

  it('keeps the WAL from growing without end under a steady stream of commits', async () => {
    const { store, path } = await openStore();
    await write(store, 3000, 50_000, 0); // 150 MB in all, commits back to back
    const wal = statSync(`${path}-wal`).size;
    // Started over once past 32 MiB (RESTART_FRAMES) and copied; ~190 MB if never started over.
    // The margin is for a worker thread slowed down by a loaded machine.
    expect(wal).toBeLessThan(100_000_000);
    await store.close();
  });

  it('close() stops the worker and closes its connection: the WAL file is removed', async () => {
    const { store, path } = await openStore();
    await write(store, 5, 1000);
    expect(existsSync(`${path}-wal`)).toBe(true);
    await store.close();
    // SQLite deletes the WAL when the last connection to the file closes.
    expect(existsSync(`${path}-wal`)).toBe(false);
  });
});
