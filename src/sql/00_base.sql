-- Module basics: roles, version.

-- Two roles split who may only read recommendations from who may train and
-- change the registry.  Roles are cluster-wide, so they are created only if
-- absent and survive DROP EXTENSION (other databases may use them).
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'fashionrec_reader') THEN
        CREATE ROLE fashionrec_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'fashionrec_trainer') THEN
        CREATE ROLE fashionrec_trainer NOLOGIN;
    END IF;
    IF NOT pg_catalog.pg_has_role('fashionrec_trainer', 'fashionrec_reader', 'MEMBER') THEN
        GRANT fashionrec_reader TO fashionrec_trainer;
    END IF;
END
$roles$;

GRANT USAGE ON SCHEMA fashionrec TO PUBLIC;

CREATE FUNCTION fashionrec.version() RETURNS text
    AS 'MODULE_PATHNAME', 'fashionrec_version'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.version() IS
    'Version of the fashionrec library loaded in this backend';
