DROP TABLE webhook_inbox;
DROP TABLE shipment_statuses;
DROP INDEX shipments_due;
ALTER TABLE shipments DROP CONSTRAINT shipments_state_known;
ALTER TABLE shipments ALTER COLUMN cdek_uuid TYPE UUID USING cdek_uuid::uuid;
ALTER TABLE shipments
    DROP COLUMN request,
    DROP COLUMN tariff,
    DROP COLUMN register_attempts,
    DROP COLUMN cancel_requested,
    DROP COLUMN cancel_kind,
    DROP COLUMN errors,
    DROP COLUMN last_status_code,
    DROP COLUMN last_status_at,
    DROP COLUMN carrier_reference_sent,
    DROP COLUMN eta_sent,
    DROP COLUMN next_check_at,
    DROP COLUMN failures,
    DROP COLUMN last_error;
