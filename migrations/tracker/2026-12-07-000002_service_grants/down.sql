REVOKE ALL ON active_orders FROM ordertrack_tracker;
