-- (No code wrote to shipments before this migration, so the NOT NULL columns need no
-- defaults.) What the adapter needs to register each CDEK order exactly once and to follow it:
-- the registration body (built from order_created), where the order stands, when to
-- look at it next, and what it has already sent to order_commands.
ALTER TABLE shipments
    ADD COLUMN request JSONB NOT NULL,
    ADD COLUMN tariff JSONB NOT NULL,
    -- Registration calls made (counted before each call): after a crash, a row with
    -- attempts but no cdek_uuid is looked up at CDEK by its number before any new call.
    ADD COLUMN register_attempts INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN cancel_requested BOOLEAN NOT NULL DEFAULT false,
    -- The cancellation asked of CDEK: DELETE (while CREATED) or CREATE_REFUSAL.
    ADD COLUMN cancel_kind TEXT,
    -- CDEK's errors of a refused registration or cancellation, as CDEK sent them.
    ADD COLUMN errors JSONB,
    ADD COLUMN last_status_code TEXT,
    ADD COLUMN last_status_at TIMESTAMPTZ,
    ADD COLUMN carrier_reference_sent BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN eta_sent BOOLEAN NOT NULL DEFAULT false,
    -- The worker takes rows whose time has come; taking one moves this forward (a lease).
    ADD COLUMN next_check_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD COLUMN failures INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN last_error TEXT;
ALTER TABLE shipments ALTER COLUMN cdek_uuid TYPE TEXT;
ALTER TABLE shipments ADD CONSTRAINT shipments_state_known
    CHECK (state IN ('pending', 'accepted', 'registered', 'invalid', 'cancelling', 'finished', 'not_registered'));

CREATE INDEX shipments_due ON shipments (next_check_at) WHERE state IN ('pending', 'accepted', 'registered', 'cancelling');

-- Every CDEK status already turned into a command, so each is sent once.
CREATE TABLE shipment_statuses (
    order_id     UUID NOT NULL REFERENCES shipments (order_id),
    code         TEXT NOT NULL,
    status_at    TIMESTAMPTZ NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, code, status_at)
);

-- Webhooks as received (recorded before answering 200). A webhook is a hint: the
-- order it names is read back from CDEK before anything is sent on.
CREATE TABLE webhook_inbox (
    id            BIGSERIAL PRIMARY KEY,
    received_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    cdek_uuid     TEXT NOT NULL,
    code          TEXT NOT NULL,
    body          JSONB NOT NULL,
    processed_at  TIMESTAMPTZ
);

CREATE INDEX webhook_inbox_pending ON webhook_inbox (cdek_uuid) WHERE processed_at IS NULL;
