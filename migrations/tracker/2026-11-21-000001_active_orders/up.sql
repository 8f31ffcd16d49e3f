-- The tracker's own view of the orders it follows, built from order_created and
-- order_updated, so a restarted tracker knows every courier's orders without asking
-- another service. A row stays after its order is final (status says so), so a late,
-- older event cannot bring it back.
CREATE TABLE active_orders (
    order_id        UUID PRIMARY KEY,
    courier_id      TEXT,
    status          TEXT NOT NULL,
    pickup_lat      DOUBLE PRECISION NOT NULL,
    pickup_lon      DOUBLE PRECISION NOT NULL,
    destination_lat DOUBLE PRECISION NOT NULL,
    destination_lon DOUBLE PRECISION NOT NULL,
    version         BIGINT NOT NULL,
    -- Status commands already sent for this order (each is sent once).
    picked_up_sent  BOOLEAN NOT NULL DEFAULT false,
    in_transit_sent BOOLEAN NOT NULL DEFAULT false,
    arriving_sent   BOOLEAN NOT NULL DEFAULT false,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX active_orders_by_courier ON active_orders (courier_id) WHERE courier_id IS NOT NULL;
