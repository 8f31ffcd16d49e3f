-- What the services' own PostgreSQL roles may do here (docs/security.md, "PostgreSQL and
-- Redis"). The roles are made beforehand by deploy/postgres/roles.sql; the tables belong
-- to the role that runs the migrations. order-api and order-grpc are two doors of one
-- store (crates/libraries/orders), each able to reach every table of it: rows only,
-- never the schema (no DDL, no TRUNCATE, nothing on __diesel_schema_migrations).
-- A migration that adds a table grants on it beside its CREATE TABLE.
GRANT SELECT, INSERT, UPDATE, DELETE
    ON outbox, orders, order_timeline, courier_positions, track_points, idempotency_keys, processed_commands
    TO ordertrack_order_api, ordertrack_order_grpc;
GRANT USAGE, SELECT ON SEQUENCE outbox_id_seq, track_points_id_seq TO ordertrack_order_api, ordertrack_order_grpc;
