-- The inbox is pruned by age (cdek.webhook_retention_hours): find old rows without a scan.
CREATE INDEX webhook_inbox_received_at ON webhook_inbox (received_at);
