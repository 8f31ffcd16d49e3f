-- Run by the postgres image on its first start (an empty data volume), as the
-- ordertrack user, after it created the ordertrack database (POSTGRES_DB): the courier
-- tracker's and the logistics adapter's own databases. Tables come from the migrations.
CREATE DATABASE ordertrack_tracker;
CREATE DATABASE ordertrack_logistics;
