-- A delivery's status changes on every attempt; an index holding status is rewritten each time.
-- Deliveries by webhook are listed in row order (no status in the key), and the statuses that
-- reactivation, recovery and deletion look for (HELD, FAILED) have a partial index of their own;
-- PENDING has deliveries_pending_webhook.
DROP INDEX deliveries_webhook;
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, seq);
CREATE INDEX deliveries_webhook_open ON deliveries (webhook_id, status) WHERE status IN ('HELD', 'FAILED');
