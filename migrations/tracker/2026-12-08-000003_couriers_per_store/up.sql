-- Couriers belong to stores (docs/security.md, "Couriers belong to stores"): a courier is
-- (store_id, courier_id), and a batch of positions reaches only the orders of its store.
-- Rows written before this migration name no store (''), so no courier's positions move
-- them; the next event of such an order (any change) fills the store in.
ALTER TABLE active_orders ADD COLUMN store_id TEXT NOT NULL DEFAULT '';
ALTER TABLE active_orders ALTER COLUMN store_id DROP DEFAULT;
DROP INDEX active_orders_by_courier;
CREATE INDEX active_orders_by_courier ON active_orders (store_id, courier_id) WHERE courier_id IS NOT NULL;
