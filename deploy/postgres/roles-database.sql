-- One database's part of roles.sql (which includes it after \connect to each database).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO ordertrack_migrator;
SELECT format('ALTER TABLE %I.%I OWNER TO ordertrack_migrator', schemaname, tablename)
  FROM pg_tables
 WHERE schemaname = 'public' AND tableowner <> 'ordertrack_migrator'
\gexec
