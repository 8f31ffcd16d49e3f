-- Idempotency keys live a day ([orders] idempotency_key_ttl_hours); the pruner deletes
-- the older ones by age (orders/src/store/idempotency_pruner.rs).
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- Responses are now saved sealed (orders/src/saved_responses.rs). Those saved before
-- carry the order's live tracking link in the clear: take it out. A replay of such a key
-- answers the rest of the response, without the link.
UPDATE idempotency_keys
SET response_body = (response_body - 'tracking') - 'tracking_token'
WHERE jsonb_typeof(response_body) = 'object'
  AND (response_body ? 'tracking' OR response_body ? 'tracking_token');
