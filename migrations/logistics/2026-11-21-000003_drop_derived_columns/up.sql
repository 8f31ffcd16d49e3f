-- All three were derived from other data: the CDEK number is sent on as the carrier
-- reference exactly when cdek_number is first stored, and the last status (code and
-- time) is the newest row of shipment_statuses.
ALTER TABLE shipments
    DROP COLUMN carrier_reference_sent,
    DROP COLUMN last_status_code,
    DROP COLUMN last_status_at;
