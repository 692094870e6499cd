import type { Row } from '../rows.js';
import { resealRow, SEALED_COLUMNS } from '../sealed-columns.js';
import type { Db } from './open-database.js';

/** See Store.resealSecrets: one IMMEDIATE transaction over every sealed column. */
export function resealSecrets(db: Db, reseal: (sealed: string) => string): number {
  return db
    .transaction(() => {
      let changed = 0;
      for (const [table, key, columns, where] of SEALED_COLUMNS) {
        const rows = db
          .prepare(`SELECT ${key} AS k, ${columns.join(', ')} FROM ${table} WHERE ${where}`)
          .all() as Row[];
        const update = db.prepare(
          `UPDATE ${table} SET ${columns.map((c) => `${c} = ?`).join(', ')} WHERE ${key} = ?`,
        );
        for (const row of rows) {
          const next = resealRow(row, columns, reseal);
          if (next.changed === 0) continue;
          update.run(...next.values, row.k);
          changed += next.changed;
        }
      }
      return changed;
    })
    .immediate();
}
