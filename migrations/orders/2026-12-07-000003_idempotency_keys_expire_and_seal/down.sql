-- The tracking links taken out of old responses cannot be put back.
DROP INDEX idempotency_keys_by_age;
