-- The relay's check for an earlier pending event of the same order.
CREATE INDEX outbox_pending_by_key ON outbox (message_key, id) WHERE published_at IS NULL;
