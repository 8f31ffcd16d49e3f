DROP INDEX orders_by_courier;
CREATE INDEX orders_by_courier ON orders (courier_id, id DESC) WHERE courier_id IS NOT NULL;
DELETE FROM courier_positions;
ALTER TABLE courier_positions DROP CONSTRAINT courier_positions_pkey;
ALTER TABLE courier_positions DROP COLUMN store_id;
ALTER TABLE courier_positions ADD PRIMARY KEY (courier_id);
