DROP INDEX outbox_pending_by_key;
