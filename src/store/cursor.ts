import { invalid } from '../core/errors.js';
import type { Page } from '../core/model.js';

/** Cursors are opaque to clients: base64url of the last row's sequence number. */
export function encodeCursor(seq: number): string {
  return Buffer.from(`s${seq}`).toString('base64url');
}

export function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^s(\d{1,15})$/.exec(text);
  if (!m) throw invalid('cursor: not a cursor this server issued');
  return Number(m[1]);
}

/** Rows were fetched with limit + 1 to learn whether another page exists. */
export function toPage<R extends Record<string, unknown>, T>(
  rows: R[],
  limit: number,
  map: (row: R) => T,
): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const last = kept[kept.length - 1];
  return { data: kept.map(map), nextCursor: more && last ? encodeCursor(Number(last.seq)) : null };
}
