-- Events waiting to be published. A row is written in the same transaction as the
-- change it describes; the relay publishes rows in id order per key and deletes them
-- only after the broker acknowledged them.
CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    topic           TEXT NOT NULL,
    message_key     TEXT NOT NULL,
    payload         BYTEA NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The relay's check for an earlier pending event of the same order.
CREATE INDEX outbox_by_key ON outbox (message_key, id);
