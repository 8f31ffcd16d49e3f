DROP INDEX webhook_inbox_received_at;
