import { firstRow, type Queryable } from './open-pool.js';

const REFILL = `
  INSERT INTO webhook_rate_tokens AS t (webhook_id, tokens, refreshed_at) VALUES ($1, $2, $3)
  ON CONFLICT (webhook_id) DO UPDATE SET
    tokens = LEAST($2::double precision, t.tokens + GREATEST(0, $3 - t.refreshed_at) / 1000.0 * $2),
    refreshed_at = GREATEST(t.refreshed_at, $3)
  RETURNING tokens`;

/**
 * Takes up to `wanted` start tokens of a webhook's cluster-wide bucket (rate per second, one second
 * of burst) and returns how many it got. The row lock serializes workers claiming for one webhook.
 */
export async function takeRateTokens(
  c: Queryable,
  webhookId: string,
  ratePerSec: number,
  wanted: number,
  now: number,
): Promise<number> {
  const row = await firstRow(c, REFILL, [webhookId, ratePerSec, now]);
  const granted = Math.max(0, Math.min(wanted, Math.floor(Number(row?.tokens ?? 0))));
  if (granted > 0) {
    await c.query('UPDATE webhook_rate_tokens SET tokens = tokens - $2 WHERE webhook_id = $1', [
      webhookId,
      granted,
    ]);
  }
  return granted;
}
