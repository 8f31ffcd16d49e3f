ALTER TABLE shipments
    ADD COLUMN carrier_reference_sent BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN last_status_code TEXT,
    ADD COLUMN last_status_at TIMESTAMPTZ;
UPDATE shipments SET carrier_reference_sent = cdek_number IS NOT NULL;
