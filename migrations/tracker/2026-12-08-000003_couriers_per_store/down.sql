DROP INDEX active_orders_by_courier;
ALTER TABLE active_orders DROP COLUMN store_id;
CREATE INDEX active_orders_by_courier ON active_orders (courier_id) WHERE courier_id IS NOT NULL;
