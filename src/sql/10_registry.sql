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

-- Per model name, a row for each of its queues: trainings (so that each gets
-- the next version number), activations (so that the previous version
-- recorded is right) and retrainings (an overlapping run is skipped), which
-- lock it in turn.  Separate rows, so that a rollback never waits for a long
-- training.  Only the tables' owner can lock
-- them (FOR UPDATE needs UPDATE), so no other role can hold a queue up, as
-- anyone could an advisory lock.
CREATE TABLE fashionrec.model_queue (
    name  text NOT NULL,
    queue text NOT NULL CHECK (queue IN ('train', 'activate', 'retrain')),
    PRIMARY KEY (name, queue)
);
COMMENT ON TABLE fashionrec.model_queue IS
    'Per model name, the rows that its trainings, activations and retrainings lock in turn';
SELECT pg_catalog.pg_extension_config_dump('fashionrec.model_queue', '');

-- fashionrec._queue(name, queue, wait): take a name's queue until the end of
-- the transaction; without wait, false when another transaction holds it.
CREATE FUNCTION fashionrec._queue(name text, queue text, wait boolean DEFAULT true) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO fashionrec.model_queue AS q (name, queue) VALUES (_queue.name, _queue.queue)
    ON CONFLICT DO NOTHING;
    IF _queue.wait THEN
        PERFORM FROM fashionrec.model_queue q WHERE q.name = _queue.name AND q.queue = _queue.queue FOR UPDATE;
        RETURN true;
    END IF;
    PERFORM FROM fashionrec.model_queue q WHERE q.name = _queue.name AND q.queue = _queue.queue
        FOR UPDATE SKIP LOCKED;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION fashionrec._queue(text, text, boolean) IS
    'Internal: takes a model name''s training, activation or retraining queue until the end of the transaction';

-- The registry is written through these and the SECURITY DEFINER functions
-- below; no role has INSERT, UPDATE or DELETE on it (src/catalog.c says why).
-- The C ones run as their caller and record it as the author of the version.
CREATE FUNCTION fashionrec._model_begin(name text, algorithm text, params jsonb, source text)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'fashionrec_model_begin'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION fashionrec._model_begin(text, text, jsonb, text) IS
    'Internal: adds the next version of a model in status training, authored by the caller; use fashionrec.train()';

CREATE FUNCTION fashionrec._model_finish(model_id bigint, result jsonb, seconds double precision)
    RETURNS void
    AS 'MODULE_PATHNAME', 'fashionrec_model_finish'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION fashionrec._model_finish(bigint, jsonb, double precision) IS
    'Internal: marks the caller''s training ready with its measurements; use fashionrec.train()';

CREATE FUNCTION fashionrec._model_restate(model_id bigint, source text, params jsonb, info jsonb)
    RETURNS void
    AS 'MODULE_PATHNAME', 'fashionrec_model_restate'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION fashionrec._model_restate(bigint, text, jsonb, jsonb) IS
    'Internal: marks a version the caller trained as a trial and records the source and params a retraining would read; used by retrain()';

CREATE FUNCTION fashionrec._artifact_stamp() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'fashionrec_artifact_stamp'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec._artifact_stamp() IS
    'Internal: the artifact format, byte order and library version every trained version records in its data';

CREATE FUNCTION fashionrec._session_role() RETURNS name
    AS 'MODULE_PATHNAME', 'fashionrec_session_role'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec._session_role() IS
    'Internal: the session''s role after SET ROLE, recorded as who acted by SECURITY DEFINER functions';

-- A stored source (a model''s query, a feature set''s table and columns) runs
-- later only as a role whose rights its author already has: run by anyone
-- more privileged, the author''s functions would run with those privileges.
CREATE FUNCTION fashionrec._check_author(author name, what text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname = _check_author.author) THEN
        RAISE EXCEPTION '% was written by role "%", which no longer exists', what, author
              USING ERRCODE = '42501',
                    HINT = 'Pass the source again yourself, so that it runs as you.';
    END IF;
    IF NOT pg_catalog.pg_has_role(author, current_user, 'USAGE') THEN
        RAISE EXCEPTION '% was written by role "%" and would run as role "%"', what, author, current_user
              USING ERRCODE = '42501',
                    DETAIL = 'A stored query runs only as its author or as a role whose rights the author holds.',
                    HINT = pg_catalog.format('Run it as that role (SET ROLE %I), or pass the source again yourself.', author);
    END IF;
END
$$;
COMMENT ON FUNCTION fashionrec._check_author(name, text) IS
    'Internal: refuses (42501) to run a stored source as a role more privileged than its author';

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
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
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
    PERFORM fashionrec._queue(activate.name, 'activate');
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
    INSERT INTO fashionrec.activation (name, version, previous_version, activated_by)
    VALUES (activate.name, activate.version, v_previous, fashionrec._session_role());
END
$$;
COMMENT ON FUNCTION fashionrec.activate(text, integer) IS
    'Make a version the one recommend() serves; every session sees it after commit';

CREATE FUNCTION fashionrec.rollback(name text) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
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
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
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
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
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
        DELETE FROM fashionrec.model_queue q WHERE q.name = drop_model.name;
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
    v_id := fashionrec._model_begin(train.name, train.algorithm, COALESCE(train.params, '{}'), train.source);
    SELECT m.version INTO v_version FROM fashionrec.model m WHERE m.id = v_id;

    v_result := fashionrec._train_artifacts(v_id, train.algorithm, COALESCE(train.source, ''),
                                            COALESCE(train.params, '{}') - 'ann');
    -- the approximate top-k index, asked for by "ann" or by the catalog's size
    -- (41_ann.sql), into info; jsonb_set is strict: no index, v_result as is
    v_result := COALESCE(pg_catalog.jsonb_set(v_result, '{info,ann}',
                             fashionrec._train_ann(v_id, train.algorithm, (v_result ->> 'items')::integer,
                                                   train.params -> 'ann')),
                         v_result);
    PERFORM fashionrec._model_finish(v_id, v_result,
                                     pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() - v_started));

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

-- Trainings in progress, from shared memory (src/progress.c): another session
-- sees a long training while it runs.  Empty when fashionrec is not preloaded.
CREATE FUNCTION fashionrec._training_progress()
    RETURNS TABLE (pid integer, model text, version integer, algorithm text, phase text,
                   step bigint, steps bigint, loss double precision, rows_read bigint,
                   started_at timestamptz, elapsed interval, dbid oid)
    AS 'MODULE_PATHNAME', 'fashionrec_training_progress'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION fashionrec._training_progress() IS
    'Internal: the trainings in progress on this server; use the view fashionrec.training_progress';

CREATE VIEW fashionrec.training_progress AS
SELECT p.pid, p.model, p.version, p.algorithm, p.phase, p.step, p.steps, p.loss, p.rows_read,
       p.started_at, p.elapsed
  FROM fashionrec._training_progress() p
 WHERE p.dbid = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database());
COMMENT ON VIEW fashionrec.training_progress IS
    'Trainings running now in this database: model, version, phase, step of steps, last loss, source rows read, elapsed time (needs fashionrec in shared_preload_libraries)';
