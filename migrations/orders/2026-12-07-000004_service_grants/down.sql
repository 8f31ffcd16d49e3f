REVOKE ALL
    ON outbox, orders, order_timeline, courier_positions, track_points, idempotency_keys, processed_commands
    FROM ordertrack_order_api, ordertrack_order_grpc;
REVOKE ALL ON SEQUENCE outbox_id_seq, track_points_id_seq FROM ordertrack_order_api, ordertrack_order_grpc;
