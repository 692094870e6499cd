import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface MigrationFile {
  version: number;
  name: string;
  sql: string;
}

/** Plain numbered SQL files (`001_init.sql`) of one backend, in order. Works from src/ and dist/. */
export function readMigrations(backend: 'sqlite' | 'postgres'): MigrationFile[] {
  const dir = fileURLToPath(new URL(`../../migrations/${backend}/`, import.meta.url));
  return readdirSync(dir)
    .filter((f) => /^\d+_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((name) => ({ version: Number(name.split('_')[0]), name, sql: readFileSync(dir + name, 'utf8') }));
}
