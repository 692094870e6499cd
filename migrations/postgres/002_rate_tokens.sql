-- Cluster-wide per-webhook rate limit: one token bucket per rate-limited webhook, shared by every
-- worker. A claim refills and spends tokens under the row's lock.
CREATE TABLE webhook_rate_tokens (
  webhook_id TEXT PRIMARY KEY,
  tokens DOUBLE PRECISION NOT NULL,
  refreshed_at BIGINT NOT NULL
);
