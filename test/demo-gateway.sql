-- make demo, when it starts the HTTP gateway: the gateway's login role, a
-- member of fashionrec's three roles (NOINHERIT: it has none of their rights
-- until a request's SET LOCAL ROLE), and read access to the shop for the
-- roles that train (sources) and watch drift (recent windows).  docs/http.md.
SET client_min_messages = warning;
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'fashionrec_gateway') THEN
    CREATE ROLE fashionrec_gateway LOGIN NOINHERIT;
  END IF;
END $$;
GRANT fashionrec_app, fashionrec_reader, fashionrec_trainer TO fashionrec_gateway;
GRANT USAGE ON SCHEMA shop TO fashionrec_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA shop TO fashionrec_reader;
