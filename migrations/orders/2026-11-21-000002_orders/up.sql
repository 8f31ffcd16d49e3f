-- Orders and everything that hangs off them. Personal data (customer_*) lives only
-- here; events and caches carry it only where a consumer needs it.
CREATE TABLE orders (
    id                   UUID PRIMARY KEY,
    store_id             TEXT NOT NULL,
    store_order_number   TEXT NOT NULL,
    customer_name        TEXT NOT NULL,
    customer_phone       TEXT NOT NULL,
    customer_email       TEXT NOT NULL,
    pickup_address       TEXT NOT NULL,
    pickup_lat           DOUBLE PRECISION NOT NULL,
    pickup_lon           DOUBLE PRECISION NOT NULL,
    destination_address  TEXT NOT NULL,
    destination_lat      DOUBLE PRECISION NOT NULL,
    destination_lon      DOUBLE PRECISION NOT NULL,
    parcels              JSONB NOT NULL,
    delivery_method      TEXT NOT NULL CHECK (delivery_method IN ('own_courier', 'cdek')),
    cdek_tariff_code     INTEGER,
    status               TEXT NOT NULL,
    courier_id           TEXT,
    carrier_reference    TEXT,
    eta_expected_at      TIMESTAMPTZ,
    eta_earliest         TIMESTAMPTZ,
    eta_latest           TIMESTAMPTZ,
    eta_source           TEXT,
    eta_computed_at      TIMESTAMPTZ,
    -- SHA-256 of the tracking token; the token itself is never stored here.
    tracking_token_hash  BYTEA NOT NULL UNIQUE,
    -- NULL while the order is active; set when it becomes final.
    tracking_expires_at  TIMESTAMPTZ,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    version              BIGINT NOT NULL,
    UNIQUE (store_id, store_order_number)
);

CREATE INDEX orders_by_store ON orders (store_id, id DESC);
CREATE INDEX orders_by_store_status ON orders (store_id, status, id DESC);
CREATE INDEX orders_by_courier ON orders (courier_id, id DESC) WHERE courier_id IS NOT NULL;

-- The timeline: one row per status an order entered, and per carrier step that
-- changed no status (a carrier event).
CREATE TABLE order_timeline (
    order_id        UUID NOT NULL REFERENCES orders (id),
    version         BIGINT NOT NULL,
    status          TEXT NOT NULL,
    actor           TEXT NOT NULL,
    at              TIMESTAMPTZ NOT NULL,
    carrier_status  TEXT,
    note            TEXT,
    PRIMARY KEY (order_id, version)
);

-- The latest known position of each courier (from courier_locations).
CREATE TABLE courier_positions (
    courier_id   TEXT PRIMARY KEY,
    lat          DOUBLE PRECISION NOT NULL,
    lon          DOUBLE PRECISION NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL,
    accuracy_m   REAL NOT NULL,
    speed_mps    REAL,
    heading_deg  REAL,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The path of each active order's courier, downsampled.
CREATE TABLE track_points (
    id           BIGSERIAL PRIMARY KEY,
    order_id     UUID NOT NULL REFERENCES orders (id),
    courier_id   TEXT NOT NULL,
    lat          DOUBLE PRECISION NOT NULL,
    lon          DOUBLE PRECISION NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL
);

CREATE INDEX track_points_by_order ON track_points (order_id, recorded_at);

-- POST /orders with an Idempotency-Key: the request's hash and the response given.
CREATE TABLE idempotency_keys (
    store_id         TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    request_hash     BYTEA NOT NULL,
    response_status  SMALLINT NOT NULL,
    response_body    JSONB NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, idempotency_key)
);

-- Commands from order_commands already handled, so a redelivered one is not applied twice.
CREATE TABLE processed_commands (
    command_id    TEXT PRIMARY KEY,
    order_id      UUID NOT NULL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('applied', 'unchanged', 'rejected')),
    reason        TEXT,
    processed_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
