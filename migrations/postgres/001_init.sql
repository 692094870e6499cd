-- Hookline schema, PostgreSQL. Same tables and columns as the SQLite schema: times are epoch
-- milliseconds (BIGINT), JSON columns hold serialized text. `seq` orders lists newest-first and is
-- the pagination cursor. Every tenant-owned table carries tenant_id (sharding by tenant later).
-- Applied inside one transaction, in the schema named by the store (search_path).

CREATE TABLE settings (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE tenants (
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  callback_secret TEXT NOT NULL,
  callback_secret_prev TEXT,
  callback_secret_prev_until BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name TEXT,
  key_hash TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

CREATE TABLE event_types (
  seq BIGSERIAL PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT,
  schema TEXT,
  example TEXT,
  archived_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE webhooks (
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  url TEXT NOT NULL,
  events TEXT NOT NULL,
  secret TEXT NOT NULL,
  secret_prev TEXT,
  secret_prev_until BIGINT,
  description TEXT,
  auth_username TEXT,
  auth_password TEXT,
  headers TEXT NOT NULL,
  timeout_ms INTEGER NOT NULL,
  rate_limit_per_sec INTEGER,
  retry_schedule TEXT,
  signature_header TEXT,
  metadata TEXT NOT NULL,
  status TEXT NOT NULL,
  last_success_at BIGINT,
  last_failure_at BIGINT,
  failing_since BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX webhooks_tenant ON webhooks (tenant_id, seq);

CREATE TABLE messages (
  seq BIGSERIAL PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  id TEXT NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  callback_url TEXT,
  idempotency_key TEXT,
  content_hash TEXT NOT NULL,
  delivery_count INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX messages_idempotency ON messages (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX messages_tenant_seq ON messages (tenant_id, seq);
CREATE INDEX messages_tenant_created ON messages (tenant_id, created_at);

-- Deliveries are updated on every lease and attempt: leave room on each page for HOT updates.
CREATE TABLE deliveries (
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  message_id TEXT NOT NULL,
  webhook_id TEXT,
  url TEXT NOT NULL,
  status TEXT NOT NULL,
  attempt_count INTEGER NOT NULL DEFAULT 0,
  -- attempt_count when the current retry schedule started (a requeue starts a fresh schedule)
  retry_base INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT,
  locked_until BIGINT,
  last_status_code INTEGER,
  last_error TEXT,
  first_attempt_at BIGINT,
  last_attempt_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
) WITH (fillfactor = 80);
-- The claim query walks this (oldest due first); only PENDING rows are in it.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'PENDING';
-- One delivery per message and webhook (callback deliveries have a NULL webhook_id: not unique).
CREATE UNIQUE INDEX deliveries_message_webhook ON deliveries (tenant_id, message_id, webhook_id);
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, status);
CREATE INDEX deliveries_tenant ON deliveries (tenant_id, seq);

CREATE TABLE attempts (
  seq BIGSERIAL PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  delivery_id TEXT NOT NULL,
  number INTEGER NOT NULL,
  started_at BIGINT NOT NULL,
  duration_ms INTEGER NOT NULL,
  status_code INTEGER,
  response_body TEXT,
  error TEXT
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, number);
