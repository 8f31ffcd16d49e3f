DROP TABLE active_orders;
