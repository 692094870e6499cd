/** Every column holding a SecretBox-sealed value: [table, key column, sealed columns, row filter]. */
export const SEALED_COLUMNS: readonly [string, string, readonly string[], string][] = [
  ['webhooks', 'id', ['secret', 'secret_prev', 'auth_password'], 'TRUE'],
  ['tenants', 'id', ['callback_secret', 'callback_secret_prev'], 'TRUE'],
  ['settings', 'name', ['value'], "name = 'encryption_check'"],
];

/** The row's sealed values passed through `reseal` (nulls stay null), and how many changed. */
export function resealRow(
  row: Record<string, unknown>,
  columns: readonly string[],
  reseal: (sealed: string) => string,
): { values: (string | null)[]; changed: number } {
  const values = columns.map((c) => (row[c] === null ? null : reseal(String(row[c]))));
  return { values, changed: values.filter((v, i) => v !== row[columns[i] as string]).length };
}
