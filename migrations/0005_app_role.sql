-- The application's role, billing_app (DATABASE_URL connects as it): it reads and writes the billing tables and
-- nothing else: no DDL, no role or database creation, not the migration ledger. This runs as the master user
-- (`billingops db migrate` / the deploy reads the master secret, terraform output database_master_secret_id).
-- Its password is the one in the app secret (output database_app_secret_id): billingops passes only its
-- SCRAM-SHA-256 verifier, in the session setting billingops.app_role_password, so the password itself appears in
-- no statement. Without that setting (a database billingops did not provision) the role cannot log in.
DO $$
DECLARE
    verifier text := nullif(current_setting('billingops.app_role_password', true), '');
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'billing_app') THEN
        CREATE ROLE billing_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
    END IF;
    IF verifier IS NOT NULL THEN
        EXECUTE format('ALTER ROLE billing_app LOGIN PASSWORD %L', verifier);
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO billing_app', current_database());
END
$$;

GRANT USAGE ON SCHEMA public TO billing_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO billing_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO billing_app;
REVOKE ALL ON billingops_schema_migrations FROM billing_app;

-- Tables and sequences later migrations create (as the master) get the same rights.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO billing_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO billing_app;
