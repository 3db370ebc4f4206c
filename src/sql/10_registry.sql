-- Model registry: every trained model is a versioned row; its arrays are
-- artifacts.  Bookkeeping in PL/pgSQL, heavy lifting in C (registry.c).

CREATE TABLE fashionrec.model (
    id               bigserial PRIMARY KEY,
    name             text NOT NULL
                     CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$'),
    version          integer NOT NULL CHECK (version > 0),
    algorithm        text NOT NULL,
    params           jsonb NOT NULL DEFAULT '{}',
    status           text NOT NULL DEFAULT 'training'
                     CHECK (status IN ('training', 'ready', 'trial', 'archived')),
    active           boolean NOT NULL DEFAULT false,
    source           text,
    data             jsonb,
    info             jsonb,
    created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    created_by       name NOT NULL DEFAULT CURRENT_USER,
    trained_at       timestamptz,
    training_seconds double precision,
    UNIQUE (name, version),
    CHECK (NOT active OR status = 'ready')
);
CREATE UNIQUE INDEX model_one_active ON fashionrec.model (name) WHERE active;
COMMENT ON TABLE fashionrec.model IS
    'Registry of trained models: one row per version; at most one active version per name';

CREATE TABLE fashionrec.artifact (
    model_id bigint NOT NULL REFERENCES fashionrec.model (id) ON DELETE CASCADE,
    name     text NOT NULL,
    chunk    integer NOT NULL,
    dtype    "char" NOT NULL,
    nrows    bigint NOT NULL,
    ncols    integer NOT NULL,
    data     bytea NOT NULL,
    PRIMARY KEY (model_id, name, chunk)
);
-- floats do not compress: store raw, so loading is a plain read
ALTER TABLE fashionrec.artifact ALTER COLUMN data SET STORAGE EXTERNAL;
COMMENT ON TABLE fashionrec.artifact IS
    'Trained arrays of each model version (id maps, factors, neighbours) as raw binary chunks';

CREATE TABLE fashionrec.activation (
    name             text NOT NULL,
    version          integer NOT NULL,
    previous_version integer,
    activated_at     timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    activated_by     name NOT NULL DEFAULT CURRENT_USER
);
CREATE INDEX activation_by_name ON fashionrec.activation (name, activated_at);
COMMENT ON TABLE fashionrec.activation IS
    'History of activations, which rollback() walks back';

SELECT pg_catalog.pg_extension_config_dump('fashionrec.model', '');
SELECT pg_catalog.pg_extension_config_dump('fashionrec.model_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('fashionrec.artifact', '');
SELECT pg_catalog.pg_extension_config_dump('fashionrec.activation', '');

CREATE FUNCTION fashionrec._train_artifacts(model_id bigint, algorithm text, source text, params jsonb)
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'fashionrec_train_artifacts'
    LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION fashionrec._train_artifacts(bigint, text, text, jsonb) IS
    'Internal: reads the source, trains and stores the artifacts of a model row; use fashionrec.train()';

-- Writers refuse on a hot standby with a hint, rather than failing at their
-- first INSERT with "read-only transaction".
CREATE FUNCTION fashionrec._require_primary(what text) RETURNS void
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_catalog.pg_is_in_recovery() THEN
        RAISE EXCEPTION '% writes the model registry and cannot run on a standby', what
              USING ERRCODE = '25006',
                    HINT = 'Run it on the primary; standbys serve the new version as soon as they have replayed its commit.';
    END IF;
END
$$;
COMMENT ON FUNCTION fashionrec._require_primary(text) IS
    'Internal: raises 25006 with a hint when called on a hot standby';

CREATE FUNCTION fashionrec.activate(name text, version integer) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_status   text;
    v_previous integer;
BEGIN
    PERFORM fashionrec._require_primary('activate()');
    IF activate.name IS NULL OR activate.version IS NULL THEN
        RAISE EXCEPTION 'name and version must not be NULL' USING ERRCODE = '22004';
    END IF;
    -- one activation of a name at a time, so the previous version recorded is right
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('fashionrec.model'),
                                             pg_catalog.hashtext(activate.name));
    SELECT m.status INTO v_status FROM fashionrec.model m
     WHERE m.name = activate.name AND m.version = activate.version FOR UPDATE;
    IF NOT FOUND THEN
        IF NOT EXISTS (SELECT FROM fashionrec.model m WHERE m.name = activate.name) THEN
            RAISE EXCEPTION 'model "%" does not exist', activate.name
                  USING ERRCODE = '42704',
                        HINT = 'SELECT * FROM fashionrec.models lists the models.';
        END IF;
        RAISE EXCEPTION 'model "%" has no version %', activate.name, activate.version
              USING ERRCODE = '42704',
                    HINT = 'SELECT * FROM fashionrec.models lists the versions.';
    END IF;
    IF v_status = 'training' THEN
        RAISE EXCEPTION 'version % of model "%" is still training', activate.version, activate.name
              USING ERRCODE = '55000';
    END IF;
    SELECT m.version INTO v_previous FROM fashionrec.model m
     WHERE m.name = activate.name AND m.active;
    IF v_previous IS NOT DISTINCT FROM activate.version THEN
        RETURN;
    END IF;
    UPDATE fashionrec.model m SET active = false WHERE m.name = activate.name AND m.active;
    UPDATE fashionrec.model m SET active = true, status = 'ready'
     WHERE m.name = activate.name AND m.version = activate.version;
    INSERT INTO fashionrec.activation (name, version, previous_version)
    VALUES (activate.name, activate.version, v_previous);
END
$$;
COMMENT ON FUNCTION fashionrec.activate(text, integer) IS
    'Make a version the one recommend() serves; every session sees it after commit';

CREATE FUNCTION fashionrec.rollback(name text) RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_current  integer;
    v_target   integer;
BEGIN
    PERFORM fashionrec._require_primary('rollback()');
    SELECT m.version INTO v_current FROM fashionrec.model m
     WHERE m.name = rollback.name AND m.active;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" has no active version to roll back', rollback.name
              USING ERRCODE = '55000';
    END IF;
    -- the version that was active before the current one was activated, if it still exists
    SELECT a.previous_version INTO v_target
      FROM fashionrec.activation a
      JOIN fashionrec.model m ON m.name = a.name AND m.version = a.previous_version
     WHERE a.name = rollback.name AND a.version = v_current
     ORDER BY a.activated_at DESC
     LIMIT 1;
    IF v_target IS NULL THEN
        RAISE EXCEPTION 'model "%" has no earlier active version to roll back to', rollback.name
              USING ERRCODE = '55000',
                    HINT = 'Activate a version explicitly with fashionrec.activate().';
    END IF;
    PERFORM fashionrec.activate(rollback.name, v_target);
    RETURN v_target;
END
$$;
COMMENT ON FUNCTION fashionrec.rollback(text) IS
    'Re-activate the version that was active before the current one; returns it';

CREATE FUNCTION fashionrec.archive(name text, version integer) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM fashionrec._require_primary('archive()');
    UPDATE fashionrec.model m SET status = 'archived'
     WHERE m.name = archive.name AND m.version = archive.version AND NOT m.active;
    IF NOT FOUND THEN
        IF EXISTS (SELECT FROM fashionrec.model m
                    WHERE m.name = archive.name AND m.version = archive.version) THEN
            RAISE EXCEPTION 'version % of model "%" is active', archive.version, archive.name
                  USING ERRCODE = '55000',
                        HINT = 'Activate another version first.';
        END IF;
        RAISE EXCEPTION 'model "%" has no version %', archive.name, archive.version
              USING ERRCODE = '42704';
    END IF;
END
$$;
COMMENT ON FUNCTION fashionrec.archive(text, integer) IS
    'Mark a version archived (kept, not served unless asked for by number or re-activated)';

CREATE FUNCTION fashionrec.drop_model(name text, version integer DEFAULT NULL) RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_count integer;
BEGIN
    PERFORM fashionrec._require_primary('drop_model()');
    IF drop_model.version IS NOT NULL AND EXISTS (
           SELECT FROM fashionrec.model m
            WHERE m.name = drop_model.name AND m.version = drop_model.version AND m.active) THEN
        RAISE EXCEPTION 'version % of model "%" is active', drop_model.version, drop_model.name
              USING ERRCODE = '55000',
                    HINT = 'Activate another version first, or drop the whole model.';
    END IF;
    DELETE FROM fashionrec.model m
     WHERE m.name = drop_model.name
       AND (drop_model.version IS NULL OR m.version = drop_model.version);
    GET DIAGNOSTICS v_count = ROW_COUNT;
    IF v_count = 0 THEN
        RAISE EXCEPTION 'model "%"%', drop_model.name,
              CASE WHEN drop_model.version IS NULL THEN ' does not exist'
                   ELSE ' has no version ' || drop_model.version END
              USING ERRCODE = '42704';
    END IF;
    IF drop_model.version IS NULL THEN
        DELETE FROM fashionrec.activation a WHERE a.name = drop_model.name;
    END IF;
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION fashionrec.drop_model(text, integer) IS
    'Delete a model version, or all versions of a model when version is NULL; returns the count';

CREATE FUNCTION fashionrec.train(name text, algorithm text, source text,
                                 params jsonb DEFAULT '{}', activate boolean DEFAULT NULL)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_version  integer;
    v_id       bigint;
    v_started  timestamptz := pg_catalog.clock_timestamp();
    v_result   jsonb;
BEGIN
    PERFORM fashionrec._require_primary('train()');
    IF train.name IS NULL OR train.algorithm IS NULL OR (train.source IS NULL AND train.algorithm IS DISTINCT FROM 'hybrid') THEN
        RAISE EXCEPTION 'name, algorithm and source must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF train.name !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid model name "%"', train.name
              USING ERRCODE = '22023',
                    HINT = 'Use up to 63 letters, digits and _ . : - starting with a letter or digit.';
    END IF;
    -- trainings of one name queue up, so each gets the next version number
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('fashionrec.train'),
                                             pg_catalog.hashtext(train.name));
    SELECT COALESCE(pg_catalog.max(m.version), 0) + 1 INTO v_version
      FROM fashionrec.model m WHERE m.name = train.name;
    INSERT INTO fashionrec.model (name, version, algorithm, params, source)
    VALUES (train.name, v_version, train.algorithm, COALESCE(train.params, '{}'), train.source)
    RETURNING id INTO v_id;

    v_result := fashionrec._train_artifacts(v_id, train.algorithm, COALESCE(train.source, ''),
                                            COALESCE(train.params, '{}'));

    UPDATE fashionrec.model m
       SET status = 'ready',
           data = v_result - 'info',
           info = v_result -> 'info',
           trained_at = pg_catalog.clock_timestamp(),
           training_seconds = pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() - v_started)
     WHERE m.id = v_id;

    IF train.activate OR (train.activate IS NULL AND NOT EXISTS (
            SELECT FROM fashionrec.model m WHERE m.name = train.name AND m.active)) THEN
        PERFORM fashionrec.activate(train.name, v_version);
    END IF;
    RETURN v_version;
END
$$;
COMMENT ON FUNCTION fashionrec.train(text, text, text, jsonb, boolean) IS
    'Train a new version of a model from a table, view or SELECT of (user, item[, weight][, time]); returns the version. The first version is activated; later ones when activate => true';

CREATE FUNCTION fashionrec.validate(source text, params jsonb DEFAULT '{}')
    RETURNS TABLE (check_name text, affected bigint, verdict text, detail text)
    AS 'MODULE_PATHNAME', 'fashionrec_validate'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION fashionrec.validate(text, jsonb) IS
    'Data-quality report of a training source: NULL ids, bad weights, duplicates, future times, sparse users/items';

CREATE VIEW fashionrec.models AS
SELECT m.name,
       m.version,
       m.algorithm,
       m.status,
       m.active,
       (m.data ->> 'users')::bigint        AS users,
       (m.data ->> 'items')::bigint        AS items,
       (m.data ->> 'interactions')::bigint AS interactions,
       pg_catalog.round(m.training_seconds::numeric, 2) AS seconds,
       m.trained_at,
       m.params,
       m.info,
       m.source
  FROM fashionrec.model m
 ORDER BY m.name, m.version;
COMMENT ON VIEW fashionrec.models IS
    'The registry as a person reads it: one row per model version';
