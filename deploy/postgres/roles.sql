-- ordertrack's PostgreSQL roles and databases (docs/security.md, "PostgreSQL and Redis").
-- Run by an administrator (a superuser, or a role with CREATEROLE and CREATEDB that may
-- grant them) before the first migration, and again whenever a password changes; it is
-- idempotent. scripts/dev runs it on every start; compose runs it on the first start
-- (deploy/compose/postgres-init.sh); on Kubernetes the database's operator runs it once:
--
--   psql "postgres://admin@host/postgres?sslmode=verify-full&sslrootcert=ca.crt" \
--     -v migrator_password=... -v order_api_password=... -v order_grpc_password=... \
--     -v tracker_password=... -v logistics_password=... \
--     -v orders_db=ordertrack -v tracker_db=ordertrack_tracker -v logistics_db=ordertrack_logistics \
--     -f deploy/postgres/roles.sql
--
-- What it makes:
--   ordertrack_migrator   owns the three databases and every table in them; runs the
--                         migrations (ordertrack-admin migrate). No superuser, no CREATEROLE.
--   ordertrack_order_api, ordertrack_order_grpc   connect to the orders database only
--   ordertrack_tracker                            connect to the tracker's database only
--   ordertrack_logistics                          connect to the logistics database only
-- The service roles get rows of their own tables, no more: the migrations grant them
-- (migrations/*/..._service_grants). PUBLIC may connect to none of the databases.
\set ON_ERROR_STOP on

SELECT format('CREATE ROLE %I', name)
  FROM unnest(ARRAY['ordertrack_migrator', 'ordertrack_order_api', 'ordertrack_order_grpc',
                    'ordertrack_tracker', 'ordertrack_logistics']) AS name
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = name)
\gexec

ALTER ROLE ordertrack_migrator LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'migrator_password';
ALTER ROLE ordertrack_order_api LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'order_api_password';
ALTER ROLE ordertrack_order_grpc LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'order_grpc_password';
ALTER ROLE ordertrack_tracker LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'tracker_password';
ALTER ROLE ordertrack_logistics LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'logistics_password';

SELECT format('CREATE DATABASE %I OWNER ordertrack_migrator', name)
  FROM unnest(ARRAY[:'orders_db', :'tracker_db', :'logistics_db']) AS name
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = name)
\gexec

ALTER DATABASE :"orders_db" OWNER TO ordertrack_migrator;
ALTER DATABASE :"tracker_db" OWNER TO ordertrack_migrator;
ALTER DATABASE :"logistics_db" OWNER TO ordertrack_migrator;
REVOKE ALL ON DATABASE :"orders_db", :"tracker_db", :"logistics_db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"orders_db" TO ordertrack_order_api, ordertrack_order_grpc;
GRANT CONNECT ON DATABASE :"tracker_db" TO ordertrack_tracker;
GRANT CONNECT ON DATABASE :"logistics_db" TO ordertrack_logistics;

-- In each database: only the owner creates objects in schema public, and tables made
-- before these roles existed (by an earlier set-up, as another role) pass to the
-- migrator, with their sequences.
\connect :"orders_db"
\ir roles-database.sql
\connect :"tracker_db"
\ir roles-database.sql
\connect :"logistics_db"
\ir roles-database.sql
