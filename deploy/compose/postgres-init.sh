#!/bin/sh
# Run by the postgres image on its first start (an empty data volume), as POSTGRES_USER
# over the container's own socket: the roles and the three databases of
# deploy/postgres/roles.sql, with the passwords of .env (docs/security.md, "PostgreSQL and
# Redis"). The tables come from the migrations (the compose `migrate` step).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v migrator_password="$POSTGRES_MIGRATOR_PASSWORD" \
  -v order_api_password="$POSTGRES_ORDER_API_PASSWORD" \
  -v order_grpc_password="$POSTGRES_ORDER_GRPC_PASSWORD" \
  -v tracker_password="$POSTGRES_TRACKER_PASSWORD" \
  -v logistics_password="$POSTGRES_LOGISTICS_PASSWORD" \
  -v orders_db=ordertrack -v tracker_db=ordertrack_tracker -v logistics_db=ordertrack_logistics \
  -f /etc/ordertrack/postgres/roles.sql
