-- Couriers belong to stores (docs/security.md, "Couriers belong to stores"): a courier is
-- (store_id, courier_id). Its latest position is kept per store, and an order's courier
-- is the courier of the order's store. The positions kept so far name no store; they are
-- dropped (the next batch of each courier brings its position back).
DELETE FROM courier_positions;
ALTER TABLE courier_positions DROP CONSTRAINT courier_positions_pkey;
ALTER TABLE courier_positions ADD COLUMN store_id TEXT NOT NULL;
ALTER TABLE courier_positions ADD PRIMARY KEY (store_id, courier_id);
DROP INDEX orders_by_courier;
CREATE INDEX orders_by_courier ON orders (store_id, courier_id, id DESC) WHERE courier_id IS NOT NULL;
