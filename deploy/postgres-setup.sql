-- kiln's database and role. Run once as a PostgreSQL superuser:
--   sudo -u postgres psql -v ON_ERROR_STOP=1 -f deploy/postgres-setup.sql
-- then set a real password: sudo -u postgres psql -c "\password kiln"
CREATE ROLE kiln LOGIN PASSWORD 'change-me-at-once';
CREATE DATABASE kiln OWNER kiln ENCODING 'UTF8' TEMPLATE template0;
-- A worker that dies mid-transaction must not hold row locks for long.
ALTER ROLE kiln SET idle_in_transaction_session_timeout = '60s';
-- Nobody else may connect to kiln's database.
REVOKE CONNECT ON DATABASE kiln FROM PUBLIC;
