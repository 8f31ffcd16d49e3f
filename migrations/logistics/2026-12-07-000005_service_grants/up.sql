-- What logistics-adapter's own PostgreSQL role may do here (docs/security.md,
-- "PostgreSQL and Redis"): rows of its tables, never the schema. The role is made
-- beforehand by deploy/postgres/roles.sql. A migration that adds a table grants on it
-- beside its CREATE TABLE.
GRANT SELECT, INSERT, UPDATE, DELETE ON shipments, shipment_statuses, webhook_inbox TO ordertrack_logistics;
GRANT USAGE, SELECT ON SEQUENCE webhook_inbox_id_seq TO ordertrack_logistics;
