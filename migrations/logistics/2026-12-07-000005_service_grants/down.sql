REVOKE ALL ON shipments, shipment_statuses, webhook_inbox FROM ordertrack_logistics;
REVOKE ALL ON SEQUENCE webhook_inbox_id_seq FROM ordertrack_logistics;
