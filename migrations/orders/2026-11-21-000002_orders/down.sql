DROP TABLE processed_commands;
DROP TABLE idempotency_keys;
DROP TABLE track_points;
DROP TABLE courier_positions;
DROP TABLE order_timeline;
DROP TABLE orders;
