-- Claims walk due work webhook by webhook (a loose index scan), so a dead endpoint's backlog costs
-- one index seek per claim instead of a scan past every one of its rows.
CREATE INDEX deliveries_pending_webhook ON deliveries (webhook_id, next_attempt_at) WHERE status = 'PENDING';
