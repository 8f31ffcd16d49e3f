-- One row per order shipped with CDEK, written before the registration call and
-- updated after it, so a redelivered event or a crash never registers an order twice.
CREATE TABLE shipments (
    order_id     UUID PRIMARY KEY,
    state        TEXT NOT NULL,
    cdek_uuid    UUID UNIQUE,
    cdek_number  TEXT UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
