\echo Use "ALTER EXTENSION fashionrec UPDATE TO '0.2'" to load this file. \quit
-- fashionrec 0.1 -> 0.2: run by ALTER EXTENSION fashionrec UPDATE TO '0.2'.
-- It leaves the extension exactly as CREATE EXTENSION fashionrec VERSION
-- '0.2' makes it, which test/upgrade.sh checks object by object.  Routines
-- below are copied from src/sql/ as 0.2 has them.
--
-- 0.2's privilege model: no role writes the extension's tables directly,
-- trainers included.  Every write goes through an API function that is either
-- SECURITY DEFINER or stores through a narrow writer in C (src/catalog.c);
-- a stored source runs only as a role its author holds the rights of; queues
-- on rows of fashionrec.model_queue replace advisory locks.

-- ---- what 0.2 cannot take over as it is, refused before anything changes
-- 0.2 reads a feature set's columns only as the types its kind takes (an
-- attributes set's columns as text types too, which 0.1 did not require), and
-- keeps the source as a regclass.  A realtime set 0.2 cannot read would make
-- every write to its product table fail, so the update refuses it and names
-- the way out; a set without the trigger only warns (refresh_features() will
-- refuse it, its models keep serving what it has).  An A/B event above 1e15,
-- which 0.2's check refuses, is refused here too.
CREATE FUNCTION fashionrec._feature_check_columns(source regclass, kind text, id_column text,
                                                 columns text[], feature_set text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'fashionrec_feature_check_columns'
    LANGUAGE C STABLE;
COMMENT ON FUNCTION fashionrec._feature_check_columns(regclass, text, text, text[], text) IS
    'Internal: raises 42703/42804 unless the source has the columns with types the kind reads (id: smallint, integer, bigint; tfidf, attributes: text, varchar, char, name; colors: bytea; embedding: real[], double precision[])';

DO $check$
DECLARE
    s     record;
    v_msg text;
    v_hint text;
    n     bigint;
BEGIN
    FOR s IN SELECT f.name, f.kind, f.source, f.id_column, f.columns, f.realtime
               FROM fashionrec.feature_set f ORDER BY f.name
    LOOP
        IF pg_catalog.to_regclass(s.source) IS NULL THEN
            RAISE EXCEPTION 'the source % of feature set "%" no longer exists', s.source, s.name
                  USING ERRCODE = '42P01',
                        DETAIL = '0.2 keeps a feature set''s source as the table itself (regclass).',
                        HINT = pg_catalog.format('Drop the set with SELECT fashionrec.drop_feature_set(%L); (0.1 is still installed), then update again.', s.name);
        END IF;
        BEGIN
            PERFORM fashionrec._feature_check_columns(pg_catalog.to_regclass(s.source), s.kind, s.id_column,
                                                      s.columns, s.name);
        EXCEPTION WHEN undefined_column OR datatype_mismatch THEN
            GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT, v_hint = PG_EXCEPTION_HINT;
            IF s.realtime THEN
                RAISE EXCEPTION 'fashionrec 0.2 cannot read feature set "%", whose realtime trigger would then refuse every write to %', s.name, s.source
                      USING ERRCODE = '55000',
                            DETAIL = v_msg || '.',
                            HINT = pg_catalog.format('%s Or, with 0.1 still installed, SELECT fashionrec.disable_realtime(%L); or drop the set; then update again.', v_hint, s.name);
            END IF;
            RAISE WARNING 'fashionrec 0.2 cannot refresh feature set "%": %', s.name, v_msg
                  USING DETAIL = 'Its models keep serving the features it has.',
                        HINT = v_hint || ' Then drop the set and create it again.';
        END;
    END LOOP;
    SELECT pg_catalog.count(*) INTO n FROM fashionrec.event e WHERE NOT (e.value <= 1e15::double precision);
    IF n > 0 THEN
        RAISE EXCEPTION '% A/B events have a value above 1e15, which fashionrec 0.2 refuses', n
              USING ERRCODE = '23514',
                    HINT = 'Correct or delete them (SELECT * FROM fashionrec.event WHERE value > 1e15), then update again.';
    END IF;
END
$check$;

-- ---- src/sql/10_registry.sql
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

-- Versions of 0.1 carry no stamp: they were written in artifact format 1, in
-- this server's byte order, by fashionrec 0.1 (src/artifact.c).
UPDATE fashionrec.model m
   SET data = m.data || fashionrec._artifact_stamp() || '{"library_version": "0.1"}'
 WHERE m.data IS NOT NULL AND NOT m.data ? 'artifact_format';

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

CREATE OR REPLACE FUNCTION fashionrec.activate(name text, version integer) RETURNS void
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

CREATE OR REPLACE FUNCTION fashionrec.rollback(name text) RETURNS integer
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

CREATE OR REPLACE FUNCTION fashionrec.archive(name text, version integer) RETURNS void
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

CREATE OR REPLACE FUNCTION fashionrec.drop_model(name text, version integer DEFAULT NULL) RETURNS integer
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

CREATE OR REPLACE FUNCTION fashionrec.train(name text, algorithm text, source text,
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
                                            COALESCE(train.params, '{}'));
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
-- readers see the view, as 99_privileges.sql leaves every table and view
REVOKE ALL ON fashionrec.training_progress FROM PUBLIC;
GRANT SELECT ON fashionrec.training_progress TO fashionrec_reader;

-- ---- src/sql/40_serving.sql
-- One shape for every serving function (docs/serving.md, "The serving API"):
-- (name, subject, k), then exclude_seen, candidates, exclude, context,
-- version as they apply, then an option of its own.  The signatures change,
-- so 0.1's are dropped; their C symbols (without _0_2) stay in the library
-- for 0.1's definitions until this update.
DROP FUNCTION fashionrec.recommend(text, bigint, integer, boolean, bigint[], integer, bigint[], text);
DROP FUNCTION fashionrec.similar_items(text, bigint, integer, bigint[], integer);
DROP FUNCTION fashionrec.recommend_for_items(text, bigint[], integer, real[], boolean, bigint[], integer);
DROP FUNCTION fashionrec.recommend_all(text, integer, bigint[], boolean, integer);
CREATE FUNCTION fashionrec.recommend(name text, user_id bigint, k integer DEFAULT 10,
                                     exclude_seen boolean DEFAULT true,
                                     candidates bigint[] DEFAULT NULL,
                                     exclude bigint[] DEFAULT NULL,
                                     context text DEFAULT NULL,
                                     version integer DEFAULT NULL)
    RETURNS TABLE (item_id bigint, score real, rank integer)
    AS 'MODULE_PATHNAME', 'fashionrec_recommend_0_2'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION fashionrec.recommend(text, bigint, integer, boolean, bigint[], bigint[], text, integer) IS
    'Top-k items for a user; unknown users get the model''s popularity ranking. exclude_seen leaves out the user''s items, candidates restricts the ranking to those items, exclude removes items, context picks a context ranking of a popularity model (or a hybrid''s)';

CREATE FUNCTION fashionrec.similar_items(name text, item_id bigint, k integer DEFAULT 10,
                                         candidates bigint[] DEFAULT NULL,
                                         exclude bigint[] DEFAULT NULL,
                                         version integer DEFAULT NULL)
    RETURNS TABLE (item_id bigint, score real, rank integer)
    AS 'MODULE_PATHNAME', 'fashionrec_similar_items_0_2'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION fashionrec.similar_items(text, bigint, integer, bigint[], bigint[], integer) IS
    'Items most similar to one item ("more like this"), never the item itself; no rows for an item the model does not know. candidates restricts the ranking to those items, exclude removes items';

CREATE FUNCTION fashionrec.recommend_for_items(name text, item_ids bigint[], k integer DEFAULT 10,
                                               exclude_seen boolean DEFAULT true,
                                               candidates bigint[] DEFAULT NULL,
                                               exclude bigint[] DEFAULT NULL,
                                               context text DEFAULT NULL,
                                               version integer DEFAULT NULL,
                                               weights real[] DEFAULT NULL)
    RETURNS TABLE (item_id bigint, score real, rank integer)
    AS 'MODULE_PATHNAME', 'fashionrec_recommend_for_items_0_2'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION fashionrec.recommend_for_items(text, bigint[], integer, boolean, bigint[], bigint[], text, integer, real[]) IS
    'Top-k items for an anonymous history (a session''s items, with optional weights), folded in without retraining; exclude_seen leaves out the given items. Options as recommend()';

CREATE FUNCTION fashionrec.recommend_all(name text, users bigint[] DEFAULT NULL, k integer DEFAULT 10,
                                         exclude_seen boolean DEFAULT true,
                                         candidates bigint[] DEFAULT NULL,
                                         exclude bigint[] DEFAULT NULL,
                                         version integer DEFAULT NULL)
    RETURNS TABLE (user_id bigint, item_id bigint, score real, rank integer)
    AS 'MODULE_PATHNAME', 'fashionrec_recommend_all_0_2'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION fashionrec.recommend_all(text, bigint[], integer, boolean, bigint[], bigint[], integer) IS
    'Top-k items for many users (all the model knows when users is NULL), scored in blocks: for nightly batches, INSERT ... SELECT. candidates and exclude apply to every user';

-- refresh_user() reads the history with its caller's rights; storing it is
-- this function's one job, with the owner's (no role writes the table).
CREATE FUNCTION fashionrec._store_user_history(model_id bigint, user_id bigint,
                                               item_ids bigint[], weights real[])
    RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO fashionrec.user_refresh AS r (model_id, user_id, item_ids, weights)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT ON CONSTRAINT user_refresh_pkey DO UPDATE
       SET item_ids = EXCLUDED.item_ids, weights = EXCLUDED.weights, refreshed_at = pg_catalog.now();
$$;
COMMENT ON FUNCTION fashionrec._store_user_history(bigint, bigint, bigint[], real[]) IS
    'Internal: stores the history refresh_user() read; use fashionrec.refresh_user()';

CREATE OR REPLACE FUNCTION fashionrec.refresh_user(name text, user_id bigint, source text DEFAULT NULL)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_model  fashionrec.model%ROWTYPE;
    v_source text;
    v_query  text;
    v_items  bigint[];
    v_weights real[];
BEGIN
    PERFORM fashionrec._require_primary('refresh_user()');
    IF refresh_user.name IS NULL OR refresh_user.user_id IS NULL THEN
        RAISE EXCEPTION 'name and user_id must not be NULL' USING ERRCODE = '22004';
    END IF;
    SELECT m.* INTO v_model FROM fashionrec.model m WHERE m.name = refresh_user.name AND m.active;
    IF NOT FOUND THEN
        PERFORM fashionrec.recommend(refresh_user.name, 0, 1);    -- words the error
    END IF;
    -- content models read a catalog as their source; their interactions are a parameter
    v_source := COALESCE(refresh_user.source, v_model.params ->> 'interactions', v_model.source);
    IF v_source IS NULL THEN
        RAISE EXCEPTION 'model "%" has no source to read the user''s history from', refresh_user.name
              USING ERRCODE = '22023', HINT = 'Pass source => ''...''.';
    END IF;
    IF refresh_user.source IS NULL THEN
        PERFORM fashionrec._check_author(v_model.created_by,
                                         pg_catalog.format('the source of model "%s"', refresh_user.name));
    END IF;
    v_query := fashionrec.source_query(v_source, fashionrec._column_params(v_model.params));
    EXECUTE pg_catalog.format(
        'SELECT pg_catalog.array_agg(h.item_id ORDER BY h.item_id), pg_catalog.array_agg(h.w ORDER BY h.item_id)
           FROM (SELECT s.item_id, pg_catalog.sum(s.weight)::real AS w FROM (%s) s
                  WHERE s.user_id = $1 AND s.item_id IS NOT NULL GROUP BY s.item_id) h
          WHERE h.w > 0', v_query)
      INTO v_items, v_weights
      USING refresh_user.user_id;
    PERFORM fashionrec._store_user_history(v_model.id, refresh_user.user_id,
                                           COALESCE(v_items, '{}'), COALESCE(v_weights, '{}'));
    RETURN COALESCE(pg_catalog.array_length(v_items, 1), 0);
END
$$;
COMMENT ON FUNCTION fashionrec.refresh_user(text, bigint, text) IS
    'Re-read one user''s history from the model''s source (or the given one) so recommend() folds it in without retraining; returns the number of items';

-- ---- src/sql/42_model_cache.sql (new in 0.2, as it is)
-- The model cache: each version once per server in shared memory when
-- fashionrec is preloaded (src/store.c), else a private copy per backend
-- (src/model.c); and which OpenBLAS kernel serves it.  docs/serving.md,
-- "One copy per server", is the guide.

CREATE FUNCTION fashionrec._model_cache()
    RETURNS TABLE (model_id bigint, name text, version integer, bytes bigint, "where" text,
                   loaded_at timestamptz, load_ms double precision, hits bigint, backends integer)
    AS 'MODULE_PATHNAME', 'fashionrec_model_cache'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION fashionrec._model_cache() IS
    'Internal: the versions of this database in the shared model store and this backend''s private copies; use the view fashionrec.model_cache';

CREATE VIEW fashionrec.model_cache AS
SELECT c.name, c.version, c.bytes, c."where", c.loaded_at, c.load_ms, c.hits, c.backends, c.model_id
  FROM fashionrec._model_cache() c;
COMMENT ON VIEW fashionrec.model_cache IS
    'Loaded model versions: "where" is shared (one copy per server, mapped by every backend), loading, too big (larger than fashionrec.shared_cache_size: each backend keeps a private copy) or private (this backend''s own copy); bytes, when and how fast it loaded, calls served from it (hits) and the backends that map it';

CREATE FUNCTION fashionrec._model_cache_drop(model_id bigint) RETURNS integer
    AS 'MODULE_PATHNAME', 'fashionrec_model_cache_drop'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION fashionrec._model_cache_drop(bigint) IS
    'Internal: evict a model row''s versions from the shared model store; use fashionrec.model_cache_drop';

CREATE FUNCTION fashionrec.model_cache_drop(name text, version integer DEFAULT NULL) RETURNS integer
    LANGUAGE sql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT COALESCE(sum(fashionrec._model_cache_drop(m.id)), 0)::integer
  FROM fashionrec.model m
 WHERE m.name = $1 AND ($2 IS NULL OR m.version = $2)
$$;
COMMENT ON FUNCTION fashionrec.model_cache_drop(text, integer) IS
    'Evict a model''s versions (or one version) from the shared model store; the next call loads it again. It only evicts: versions in use are served to the end of their statement. Returns the number of entries dropped';

-- privileges: readers read the store, trainers evict (99_privileges.sql)

CREATE FUNCTION fashionrec.blas_info(probe_seconds double precision DEFAULT 1,
                                     OUT core text, OUT threads integer, OUT config text,
                                     OUT cpu text, OUT advice text, OUT sgemm_gflops double precision)
    AS 'MODULE_PATHNAME', 'fashionrec_blas_info'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION fashionrec.blas_info(double precision) IS
    'The OpenBLAS kernel this backend runs (core), its threads and build (config), what the CPU supports, advice when a generic kernel runs on an AVX2/FMA CPU, and single-precision GEMM GFLOP/s measured for probe_seconds (0: not measured)';

-- readers see the view, as 99_privileges.sql leaves every table and view
REVOKE ALL ON fashionrec.model_cache FROM PUBLIC;
GRANT SELECT ON fashionrec.model_cache TO fashionrec_reader;

-- ---- src/sql/45_evaluate.sql
-- evaluate(), tune() and cross_validate() read their sources as their
-- caller; what they store goes through these, with the owner's rights.
CREATE FUNCTION fashionrec._record_evaluation(model_id bigint, k integer, test_source text, metrics jsonb)
    RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO fashionrec.evaluation (model_id, k, test_source, metrics) VALUES ($1, $2, $3, $4);
$$;
COMMENT ON FUNCTION fashionrec._record_evaluation(bigint, integer, text, jsonb) IS
    'Internal: appends an evaluate() result to fashionrec.evaluation';

CREATE FUNCTION fashionrec._mark_trial(name text, version integer) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE fashionrec.model m SET status = 'trial'
     WHERE m.name = $1 AND m.version = $2 AND m.status = 'ready' AND NOT m.active;
$$;
COMMENT ON FUNCTION fashionrec._mark_trial(text, integer) IS
    'Internal: marks a version trained by tune() or cross_validate() as a trial';

CREATE OR REPLACE FUNCTION fashionrec.evaluate(name text, test_source text, k integer DEFAULT 10,
                                    version integer DEFAULT NULL,
                                    exclude_seen boolean DEFAULT true,
                                    params jsonb DEFAULT '{}')
    RETURNS TABLE (model text, model_version integer, users bigint,
                   precision_at_k double precision, recall_at_k double precision,
                   ndcg_at_k double precision, map_at_k double precision,
                   hit_rate double precision, coverage double precision,
                   rmse double precision, mae double precision)
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_model    fashionrec.model%ROWTYPE;
    v_query    text;
    v_ratings  boolean;
    v_items    bigint;
    v_row      record;
BEGIN
    PERFORM fashionrec._require_primary('evaluate()');
    IF evaluate.name IS NULL OR evaluate.test_source IS NULL OR evaluate.k IS NULL THEN
        RAISE EXCEPTION 'name, test_source and k must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF evaluate.k <= 0 THEN
        RAISE EXCEPTION 'k must be positive, got %', evaluate.k USING ERRCODE = '22023';
    END IF;
    SELECT m.* INTO v_model FROM fashionrec.model m
     WHERE m.name = evaluate.name
       AND CASE WHEN evaluate.version IS NULL THEN m.active ELSE m.version = evaluate.version END;
    IF NOT FOUND THEN
        -- recommend() words the error (unknown model, version, or no active version)
        PERFORM fashionrec.recommend(evaluate.name, 0, 1, version => evaluate.version);
    END IF;
    SELECT a.predicts_ratings INTO v_ratings FROM fashionrec.algorithms() a
     WHERE a.name = v_model.algorithm;
    v_items := (v_model.data ->> 'items')::bigint;
    v_query := fashionrec.source_query(evaluate.test_source, COALESCE(evaluate.params, '{}'));

    EXECUTE pg_catalog.format($q$
        WITH test AS (%s),
        truth AS (
            SELECT t.user_id, pg_catalog.array_agg(DISTINCT t.item_id) AS relevant
              FROM test t GROUP BY t.user_id),
        lists AS (
            SELECT tr.user_id, tr.relevant,
                   ARRAY(SELECT r.item_id
                           FROM fashionrec.recommend($1, tr.user_id, $2, $3, version => $4) r
                          ORDER BY r.rank) AS recommended
              FROM truth tr)
        SELECT pg_catalog.count(*) AS users,
               pg_catalog.avg(fashionrec.precision_at_k(l.recommended, l.relevant, $2)) AS p,
               pg_catalog.avg(fashionrec.recall_at_k(l.recommended, l.relevant, $2)) AS r,
               pg_catalog.avg(fashionrec.ndcg_at_k(l.recommended, l.relevant, $2)) AS ndcg,
               pg_catalog.avg(fashionrec.map_at_k(l.recommended, l.relevant, $2)) AS map,
               pg_catalog.avg(fashionrec.hit_rate_at_k(l.recommended, l.relevant, $2)) AS hit,
               fashionrec.catalog_coverage(l.recommended, $5) AS coverage
          FROM lists l
        $q$, v_query)
      INTO v_row
      USING evaluate.name, evaluate.k, evaluate.exclude_seen, v_model.version, v_items;

    model := v_model.name;
    model_version := v_model.version;
    users := v_row.users;
    precision_at_k := v_row.p;
    recall_at_k := v_row.r;
    ndcg_at_k := v_row.ndcg;
    map_at_k := v_row.map;
    hit_rate := v_row.hit;
    coverage := v_row.coverage;

    IF v_ratings THEN
        EXECUTE pg_catalog.format($q$
            SELECT fashionrec.rmse_agg(p.predicted, p.weight), fashionrec.mae_agg(p.predicted, p.weight)
              FROM (SELECT fashionrec.predict($1, t.user_id, t.item_id, $2)::float8 AS predicted, t.weight
                      FROM (%s) t) p
             WHERE p.predicted IS NOT NULL
            $q$, v_query)
          INTO rmse, mae
          USING evaluate.name, v_model.version;
    END IF;

    PERFORM fashionrec._record_evaluation(v_model.id, evaluate.k, evaluate.test_source,
            pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                'users', users, 'precision', precision_at_k, 'recall', recall_at_k,
                'ndcg', ndcg_at_k, 'map', map_at_k, 'hit_rate', hit_rate,
                'coverage', coverage, 'rmse', rmse, 'mae', mae)));
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION fashionrec.evaluate(text, text, integer, integer, boolean, jsonb) IS
    'Ranking metrics at k (and RMSE/MAE for rating models) of a model version on test interactions; appended to fashionrec.evaluation';

-- Train on all folds but one and evaluate on that one, for each fold.  Folds
-- are assigned per interaction by a seeded hash of (user, item), so they do
-- not depend on row order.  Each fold's model is kept as a 'trial' version.
CREATE OR REPLACE FUNCTION fashionrec.cross_validate(name text, algorithm text, source text,
                                          folds integer DEFAULT 5,
                                          params jsonb DEFAULT '{}',
                                          k integer DEFAULT 10,
                                          seed bigint DEFAULT 42)
    RETURNS TABLE (fold integer, model_version integer, users bigint,
                   precision_at_k double precision, recall_at_k double precision,
                   ndcg_at_k double precision, map_at_k double precision,
                   rmse double precision, mae double precision)
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_query  text;
    v_fold   text;
    v_train  text;
    v_test   text;
    v_params jsonb := COALESCE(cross_validate.params, '{}');
    e        record;
BEGIN
    IF cross_validate.folds IS NULL OR cross_validate.folds < 2 OR cross_validate.folds > 100 THEN
        RAISE EXCEPTION 'folds must be between 2 and 100, got %', cross_validate.folds
              USING ERRCODE = '22023';
    END IF;
    -- column naming applies to the source; the folds are normalised already
    v_query := fashionrec.source_query(cross_validate.source, fashionrec._column_params(v_params));
    v_fold := pg_catalog.format(
        '(pg_catalog.hashtextextended(s.user_id::text || '':'' || s.item_id::text, %s) & 2147483647) %% %s',
        cross_validate.seed, cross_validate.folds);
    FOR f IN 0 .. cross_validate.folds - 1 LOOP
        v_train := pg_catalog.format('SELECT s.user_id, s.item_id, s.weight, pg_catalog.to_timestamp(s.event_epoch) FROM (%s) s WHERE %s <> %s',
                                     v_query, v_fold, f);
        v_test := pg_catalog.format('SELECT s.user_id, s.item_id, s.weight FROM (%s) s WHERE %s = %s',
                                    v_query, v_fold, f);
        RAISE NOTICE 'cross-validation fold % of %', f + 1, cross_validate.folds;
        model_version := fashionrec.train(cross_validate.name, cross_validate.algorithm, v_train,
                                          v_params - ARRAY['user_column', 'item_column', 'weight_column', 'time_column'],
                                          activate => false);
        PERFORM fashionrec._mark_trial(cross_validate.name, model_version);
        SELECT * INTO e FROM fashionrec.evaluate(cross_validate.name, v_test, cross_validate.k,
                                                 version => model_version);
        fold := f + 1;
        users := e.users;
        precision_at_k := e.precision_at_k;
        recall_at_k := e.recall_at_k;
        ndcg_at_k := e.ndcg_at_k;
        map_at_k := e.map_at_k;
        rmse := e.rmse;
        mae := e.mae;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION fashionrec.cross_validate(text, text, text, integer, jsonb, integer, bigint) IS
    'k-fold cross-validation: one trial version per fold, with its metrics';

-- Grid search: every combination of the values in grid (a jsonb object of
-- arrays), trained on a seeded split of the source and evaluated on the rest.
CREATE OR REPLACE FUNCTION fashionrec.tune(name text, algorithm text, source text, grid jsonb,
                                metric text DEFAULT 'ndcg',
                                k integer DEFAULT 10,
                                split_method text DEFAULT 'random',
                                test_fraction double precision DEFAULT 0.2,
                                seed bigint DEFAULT 42,
                                params jsonb DEFAULT '{}',
                                activate_best boolean DEFAULT false)
    RETURNS TABLE (model_version integer, trial_params jsonb, score double precision, best boolean)
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_combos   jsonb[] := ARRAY['{}'::jsonb];
    v_next     jsonb[];
    v_key      text;
    v_values   jsonb;
    v_combo    jsonb;
    v_value    jsonb;
    v_split    text;
    v_train    text;
    v_test     text;
    v_version  integer;
    v_score    double precision;
    v_best     double precision;
    v_best_version integer;
    v_lower_is_better boolean := tune.metric IN ('rmse', 'mae');
    v_train_params  jsonb;
    v_versions integer[] := '{}';
    v_params   jsonb[] := '{}';
    v_scores   double precision[] := '{}';
    e          record;
BEGIN
    IF tune.grid IS NULL OR pg_catalog.jsonb_typeof(tune.grid) <> 'object' THEN
        RAISE EXCEPTION 'grid must be a JSON object of arrays'
              USING ERRCODE = '22023',
                    HINT = 'For example ''{"factors": [32, 64], "regularization": [0.01, 0.1]}''.';
    END IF;
    IF tune.metric NOT IN ('ndcg', 'precision', 'recall', 'map', 'hit_rate', 'rmse', 'mae') THEN
        RAISE EXCEPTION 'unknown metric "%"', tune.metric
              USING ERRCODE = '22023',
                    HINT = 'Use ndcg, precision, recall, map, hit_rate, rmse or mae.';
    END IF;
    FOR v_key, v_values IN SELECT g.key, g.value FROM pg_catalog.jsonb_each(tune.grid) g LOOP
        IF pg_catalog.jsonb_typeof(v_values) <> 'array' OR pg_catalog.jsonb_array_length(v_values) = 0 THEN
            RAISE EXCEPTION 'grid entry "%" must be a non-empty array of values', v_key
                  USING ERRCODE = '22023';
        END IF;
        v_next := '{}';
        FOREACH v_combo IN ARRAY v_combos LOOP
            FOR v_value IN SELECT x.value FROM pg_catalog.jsonb_array_elements(v_values) x LOOP
                v_next := v_next || (v_combo || pg_catalog.jsonb_build_object(v_key, v_value));
            END LOOP;
        END LOOP;
        v_combos := v_next;
    END LOOP;
    IF pg_catalog.array_length(v_combos, 1) > 1000 THEN
        RAISE EXCEPTION 'grid has % combinations, at most 1000 are allowed',
              pg_catalog.array_length(v_combos, 1) USING ERRCODE = '54000';
    END IF;

    v_train_params := COALESCE(tune.params, '{}') - ARRAY['user_column', 'item_column', 'weight_column', 'time_column'];
    v_split := pg_catalog.format(
        'SELECT sp.user_id, sp.item_id, sp.weight, sp.event_time, sp.is_test FROM fashionrec.split(%L, %L, %s, %s, %L) sp',
        tune.source, tune.split_method, tune.test_fraction, tune.seed,
        fashionrec._column_params(tune.params));
    v_train := pg_catalog.format('SELECT user_id, item_id, weight, event_time FROM (%s) s WHERE NOT is_test', v_split);
    v_test := pg_catalog.format('SELECT user_id, item_id, weight FROM (%s) s WHERE is_test', v_split);

    FOREACH v_combo IN ARRAY v_combos LOOP
        RAISE NOTICE 'tuning trial %', v_combo;
        v_version := fashionrec.train(tune.name, tune.algorithm, v_train,
                                      v_train_params || v_combo, activate => false);
        PERFORM fashionrec._mark_trial(tune.name, v_version);
        SELECT * INTO e FROM fashionrec.evaluate(tune.name, v_test, tune.k, version => v_version);
        v_score := CASE tune.metric
                     WHEN 'ndcg' THEN e.ndcg_at_k WHEN 'precision' THEN e.precision_at_k
                     WHEN 'recall' THEN e.recall_at_k WHEN 'map' THEN e.map_at_k
                     WHEN 'hit_rate' THEN e.hit_rate WHEN 'rmse' THEN e.rmse ELSE e.mae END;
        IF v_score IS NOT NULL AND (v_best IS NULL OR
              (v_lower_is_better AND v_score < v_best) OR (NOT v_lower_is_better AND v_score > v_best)) THEN
            v_best := v_score;
            v_best_version := v_version;
        END IF;
        v_versions := v_versions || v_version;
        v_params := v_params || v_combo;
        v_scores := v_scores || v_score;
    END LOOP;

    IF tune.activate_best AND v_best_version IS NOT NULL THEN
        PERFORM fashionrec.activate(tune.name, v_best_version);
    END IF;
    RETURN QUERY
        SELECT t.v, t.p, t.s, t.v = v_best_version
          FROM ROWS FROM (pg_catalog.unnest(v_versions), pg_catalog.unnest(v_params),
                         pg_catalog.unnest(v_scores)) AS t(v, p, s);
END
$$;
COMMENT ON FUNCTION fashionrec.tune(text, text, text, jsonb, text, integer, text, double precision, bigint, jsonb, boolean) IS
    'Grid search over hyper-parameters: one trial version per combination, scored on a held-out split; optionally activates the best';

-- ---- src/sql/60_abtest.sql
-- Under definer rights CURRENT_USER is the owner: who created something is
-- fashionrec._session_role().  An event's value is at most 1e15 (see track()).
ALTER TABLE fashionrec.experiment ALTER COLUMN created_by SET DEFAULT fashionrec._session_role();
ALTER TABLE fashionrec.event DROP CONSTRAINT event_value_check,
    ADD CONSTRAINT event_value_check CHECK (value >= 0 AND value <= 1e15::double precision);

CREATE OR REPLACE FUNCTION fashionrec.create_experiment(name text, primary_metric text DEFAULT 'purchase',
                                             holdout double precision DEFAULT 0,
                                             salt text DEFAULT NULL,
                                             description text DEFAULT NULL)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id integer;
BEGIN
    IF create_experiment.name IS NULL OR create_experiment.primary_metric IS NULL
       OR create_experiment.holdout IS NULL THEN
        RAISE EXCEPTION 'name, primary_metric and holdout must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF create_experiment.name !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid experiment name "%"', create_experiment.name
              USING ERRCODE = '22023',
                    HINT = 'Use up to 63 letters, digits and _ . : - starting with a letter or digit.';
    END IF;
    IF create_experiment.primary_metric NOT IN ('exposure', 'click', 'cart', 'purchase') THEN
        RAISE EXCEPTION 'unknown metric "%"', create_experiment.primary_metric
              USING ERRCODE = '22023',
                    HINT = 'A metric is an event type: exposure, click, cart or purchase.';
    END IF;
    IF NOT (create_experiment.holdout >= 0 AND create_experiment.holdout < 100) THEN
        RAISE EXCEPTION 'holdout must be at least 0 and below 100, not %', create_experiment.holdout
              USING ERRCODE = '22023',
                    HINT = 'holdout is the percent of users kept out of the experiment.';
    END IF;
    IF create_experiment.salt = '' THEN
        RAISE EXCEPTION 'salt must not be empty' USING ERRCODE = '22023',
              HINT = 'Leave it out to get a random salt.';
    END IF;
    IF EXISTS (SELECT FROM fashionrec.experiment x WHERE x.name = create_experiment.name) THEN
        RAISE EXCEPTION 'experiment "%" already exists', create_experiment.name
              USING ERRCODE = '42710',
                    HINT = 'Experiments keep their history; give the new one another name.';
    END IF;
    -- a salt of its own, so that two experiments split the same users independently
    INSERT INTO fashionrec.experiment (name, primary_metric, holdout, salt, description)
    VALUES (create_experiment.name, create_experiment.primary_metric, create_experiment.holdout,
            COALESCE(create_experiment.salt, pg_catalog.gen_random_uuid()::text),
            create_experiment.description)
    RETURNING id INTO v_id;
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION fashionrec.create_experiment(text, text, double precision, text, text) IS
    'Create an experiment in status draft; add variants, then start it. holdout is the percent of users kept out; the salt defaults to a random one';

CREATE OR REPLACE FUNCTION fashionrec.add_variant(experiment text, variant text, model text,
                                       weight double precision, version integer DEFAULT NULL,
                                       control boolean DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_exp     fashionrec.experiment;
    v_status  text;
    v_control boolean;
BEGIN
    IF add_variant.variant IS NULL OR add_variant.model IS NULL OR add_variant.weight IS NULL THEN
        RAISE EXCEPTION 'variant, model and weight must not be NULL' USING ERRCODE = '22004';
    END IF;
    v_exp := fashionrec._ab_experiment(add_variant.experiment, true);
    IF v_exp.status <> 'draft' THEN
        RAISE EXCEPTION 'experiment "%" is %', v_exp.name, v_exp.status
              USING ERRCODE = '55000',
                    DETAIL = 'Variants can only be added while an experiment is a draft.',
                    HINT = 'Create a new experiment for a new set of variants.';
    END IF;
    IF add_variant.variant !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid variant name "%"', add_variant.variant
              USING ERRCODE = '22023',
                    HINT = 'Use up to 63 letters, digits and _ . : - starting with a letter or digit.';
    END IF;
    IF NOT (add_variant.weight > 0 AND add_variant.weight < 'Infinity') THEN
        RAISE EXCEPTION 'weight must be a positive number, not %', add_variant.weight
              USING ERRCODE = '22023',
                    HINT = 'Weights are percents of the enrolled users and must sum to 100.';
    END IF;
    IF (SELECT pg_catalog.count(*) FROM fashionrec.variant v WHERE v.experiment_id = v_exp.id) >= 64 THEN
        RAISE EXCEPTION 'experiment "%" has 64 variants, the most it may have', v_exp.name
              USING ERRCODE = '54000';
    END IF;
    IF EXISTS (SELECT FROM fashionrec.variant v
                WHERE v.experiment_id = v_exp.id AND v.name = add_variant.variant) THEN
        RAISE EXCEPTION 'experiment "%" already has a variant "%"', v_exp.name, add_variant.variant
              USING ERRCODE = '42710';
    END IF;
    IF add_variant.version IS NULL THEN
        IF NOT EXISTS (SELECT FROM fashionrec.model m WHERE m.name = add_variant.model) THEN
            RAISE EXCEPTION 'model "%" does not exist', add_variant.model
                  USING ERRCODE = '42704',
                        HINT = 'SELECT * FROM fashionrec.models lists the models.';
        END IF;
    ELSE
        SELECT m.status INTO v_status FROM fashionrec.model m
         WHERE m.name = add_variant.model AND m.version = add_variant.version;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'model "%" has no version %', add_variant.model, add_variant.version
                  USING ERRCODE = '42704',
                        HINT = 'SELECT * FROM fashionrec.models lists the versions.';
        END IF;
    END IF;
    -- the first variant is the control unless another one claims it
    v_control := COALESCE(add_variant.control, NOT EXISTS (
                     SELECT FROM fashionrec.variant v WHERE v.experiment_id = v_exp.id AND v.is_control));
    IF v_control THEN
        UPDATE fashionrec.variant v SET is_control = false
         WHERE v.experiment_id = v_exp.id AND v.is_control;
    END IF;
    INSERT INTO fashionrec.variant (experiment_id, name, position, model, version, weight, is_control)
    SELECT v_exp.id, add_variant.variant, COALESCE(pg_catalog.max(v.position), 0) + 1,
           add_variant.model, add_variant.version, add_variant.weight, v_control
      FROM fashionrec.variant v WHERE v.experiment_id = v_exp.id;
END
$$;
COMMENT ON FUNCTION fashionrec.add_variant(text, text, text, double precision, integer, boolean) IS
    'Add a variant to a draft experiment: the model it serves (the active version, or the pinned version), its weight in percent; the first variant is the control unless control => true names another';

CREATE OR REPLACE FUNCTION fashionrec.set_weights(experiment text, weights jsonb,
                                       holdout double precision DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_exp   fashionrec.experiment;
    v_key   text;
    v_val   jsonb;
    v_missing text;
BEGIN
    IF set_weights.weights IS NULL THEN
        RAISE EXCEPTION 'weights must not be NULL' USING ERRCODE = '22004';
    END IF;
    v_exp := fashionrec._ab_experiment(set_weights.experiment, true);
    IF v_exp.status = 'stopped' THEN
        RAISE EXCEPTION 'experiment "%" is stopped', v_exp.name USING ERRCODE = '55000';
    END IF;
    IF pg_catalog.jsonb_typeof(set_weights.weights) <> 'object' THEN
        RAISE EXCEPTION 'weights must be a JSON object of variant names and percents'
              USING ERRCODE = '22023',
                    HINT = 'For example ''{"control": 50, "treatment": 50}''.';
    END IF;
    FOR v_key, v_val IN SELECT * FROM pg_catalog.jsonb_each(set_weights.weights) LOOP
        IF NOT EXISTS (SELECT FROM fashionrec.variant v
                        WHERE v.experiment_id = v_exp.id AND v.name = v_key) THEN
            RAISE EXCEPTION 'experiment "%" has no variant "%"', v_exp.name, v_key
                  USING ERRCODE = '42704',
                        HINT = 'SELECT * FROM fashionrec.experiment_variants lists the variants.';
        END IF;
        IF pg_catalog.jsonb_typeof(v_val) <> 'number' OR NOT ((v_val #>> '{}')::double precision > 0) THEN
            RAISE EXCEPTION 'weight of variant "%" must be a positive number, not %', v_key, v_val
                  USING ERRCODE = '22023';
        END IF;
    END LOOP;
    SELECT pg_catalog.string_agg(v.name, ', ' ORDER BY v.position) INTO v_missing
      FROM fashionrec.variant v
     WHERE v.experiment_id = v_exp.id AND NOT set_weights.weights ? v.name;
    IF v_missing IS NOT NULL THEN
        RAISE EXCEPTION 'weights must name every variant' USING ERRCODE = '22023',
              DETAIL = pg_catalog.format('Missing: %s.', v_missing);
    END IF;
    IF set_weights.holdout IS NOT NULL AND NOT (set_weights.holdout >= 0 AND set_weights.holdout < 100) THEN
        RAISE EXCEPTION 'holdout must be at least 0 and below 100, not %', set_weights.holdout
              USING ERRCODE = '22023';
    END IF;
    UPDATE fashionrec.variant v SET weight = (set_weights.weights ->> v.name)::double precision
     WHERE v.experiment_id = v_exp.id;
    PERFORM fashionrec._ab_check_weights(v_exp.id);
    IF set_weights.holdout IS NOT NULL THEN
        UPDATE fashionrec.experiment x SET holdout = set_weights.holdout WHERE x.id = v_exp.id;
    END IF;
END
$$;
COMMENT ON FUNCTION fashionrec.set_weights(text, jsonb, double precision) IS
    'Set every variant''s weight (percents summing to 100) and optionally the holdout; users already assigned keep their variant';

CREATE OR REPLACE FUNCTION fashionrec.start_experiment(experiment text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_exp fashionrec.experiment;
    r_var record;
BEGIN
    v_exp := fashionrec._ab_experiment(start_experiment.experiment, true);
    IF v_exp.status = 'running' THEN
        RAISE EXCEPTION 'experiment "%" is already running', v_exp.name
              USING ERRCODE = '55000',
                    HINT = 'SELECT * FROM fashionrec.experiment_results(...) shows how it is going.';
    ELSIF v_exp.status = 'stopped' THEN
        RAISE EXCEPTION 'experiment "%" has been stopped', v_exp.name
              USING ERRCODE = '55000',
                    DETAIL = 'A restarted experiment would mix two periods in one result.',
                    HINT = 'Create a new experiment.';
    END IF;
    IF (SELECT pg_catalog.count(*) FROM fashionrec.variant v WHERE v.experiment_id = v_exp.id) < 2 THEN
        RAISE EXCEPTION 'experiment "%" needs at least two variants', v_exp.name
              USING ERRCODE = '55000',
                    HINT = 'Add them with fashionrec.add_variant().';
    END IF;
    IF NOT EXISTS (SELECT FROM fashionrec.variant v WHERE v.experiment_id = v_exp.id AND v.is_control) THEN
        RAISE EXCEPTION 'experiment "%" has no control variant', v_exp.name
              USING ERRCODE = '55000',
                    HINT = 'Add one with fashionrec.add_variant(..., control => true).';
    END IF;
    PERFORM fashionrec._ab_check_weights(v_exp.id);
    -- every variant must be servable now, not fail on the first user
    FOR r_var IN SELECT vr.name, vr.model, vr.version FROM fashionrec.variant vr
              WHERE vr.experiment_id = v_exp.id ORDER BY vr.position LOOP
        IF r_var.version IS NULL AND NOT EXISTS (
               SELECT FROM fashionrec.model m WHERE m.name = r_var.model AND m.active) THEN
            RAISE EXCEPTION 'model "%" of variant "%" has no active version', r_var.model, r_var.name
                  USING ERRCODE = '55000',
                        HINT = 'Activate a version, or pin one in the variant.';
        ELSIF r_var.version IS NOT NULL AND NOT EXISTS (
               SELECT FROM fashionrec.model m WHERE m.name = r_var.model AND m.version = r_var.version) THEN
            RAISE EXCEPTION 'model "%" has no version % (variant "%")', r_var.model, r_var.version, r_var.name
                  USING ERRCODE = '42704';
        END IF;
    END LOOP;
    UPDATE fashionrec.experiment x SET status = 'running', started_at = pg_catalog.now()
     WHERE x.id = v_exp.id;
END
$$;
COMMENT ON FUNCTION fashionrec.start_experiment(text) IS
    'Start a draft experiment: from now on assign() enrolls users';

CREATE OR REPLACE FUNCTION fashionrec.stop_experiment(experiment text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_exp fashionrec.experiment;
BEGIN
    v_exp := fashionrec._ab_experiment(stop_experiment.experiment, true);
    IF v_exp.status <> 'running' THEN
        RAISE EXCEPTION 'experiment "%" is not running', v_exp.name
              USING ERRCODE = '55000',
                    DETAIL = pg_catalog.format('Its status is %s.', v_exp.status);
    END IF;
    UPDATE fashionrec.experiment x SET status = 'stopped', stopped_at = pg_catalog.now()
     WHERE x.id = v_exp.id;
END
$$;
COMMENT ON FUNCTION fashionrec.stop_experiment(text) IS
    'Stop a running experiment: no more enrolment or events; everyone is served the control (or the winner, once declared); history is kept';

CREATE OR REPLACE FUNCTION fashionrec.declare_winner(experiment text, variant text) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_exp     fashionrec.experiment;
    v_model   text;
    v_version integer;
BEGIN
    IF declare_winner.variant IS NULL THEN
        RAISE EXCEPTION 'variant must not be NULL' USING ERRCODE = '22004';
    END IF;
    v_exp := fashionrec._ab_experiment(declare_winner.experiment, true);
    IF v_exp.status = 'draft' THEN
        RAISE EXCEPTION 'experiment "%" has not started', v_exp.name USING ERRCODE = '55000';
    END IF;
    IF v_exp.winner IS NOT NULL THEN
        RAISE EXCEPTION 'experiment "%" already has a winner: "%"', v_exp.name, v_exp.winner
              USING ERRCODE = '55000';
    END IF;
    SELECT v.model, v.version INTO v_model, v_version FROM fashionrec.variant v
     WHERE v.experiment_id = v_exp.id AND v.name = declare_winner.variant;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'experiment "%" has no variant "%"', v_exp.name, declare_winner.variant
              USING ERRCODE = '42704',
                    HINT = 'SELECT * FROM fashionrec.experiment_variants lists the variants.';
    END IF;
    -- an unpinned variant served the model's active version
    IF v_version IS NULL THEN
        SELECT m.version INTO v_version FROM fashionrec.model m WHERE m.name = v_model AND m.active;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'model "%" has no active version to keep', v_model USING ERRCODE = '55000';
        END IF;
    END IF;
    PERFORM fashionrec.activate(v_model, v_version);
    UPDATE fashionrec.experiment x
       SET status = 'stopped',
           stopped_at = COALESCE(x.stopped_at, pg_catalog.now()),
           winner = declare_winner.variant,
           decided_at = pg_catalog.now(),
           decided_by = fashionrec._session_role()
     WHERE x.id = v_exp.id;
    RETURN v_version;
END
$$;
COMMENT ON FUNCTION fashionrec.declare_winner(text, text) IS
    'Stop the experiment (if running), record the winning variant and activate its model version; returns that version';

CREATE OR REPLACE FUNCTION fashionrec.force_variant(experiment text, user_id bigint, variant text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_exp     fashionrec.experiment;
    v_variant integer;
BEGIN
    IF force_variant.user_id IS NULL THEN
        RAISE EXCEPTION 'user_id must not be NULL' USING ERRCODE = '22004';
    END IF;
    v_exp := fashionrec._ab_experiment(force_variant.experiment);
    IF v_exp.status = 'stopped' THEN
        RAISE EXCEPTION 'experiment "%" is stopped', v_exp.name USING ERRCODE = '55000';
    END IF;
    IF force_variant.variant IS NULL THEN
        -- lift the override: the user is hashed again at the next assign()
        DELETE FROM fashionrec.assignment a
         WHERE a.experiment_id = v_exp.id AND a.user_id = force_variant.user_id AND a.forced;
        RETURN;
    END IF;
    SELECT v.id INTO v_variant FROM fashionrec.variant v
     WHERE v.experiment_id = v_exp.id AND v.name = force_variant.variant;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'experiment "%" has no variant "%"', v_exp.name, force_variant.variant
              USING ERRCODE = '42704',
                    HINT = 'SELECT * FROM fashionrec.experiment_variants lists the variants.';
    END IF;
    INSERT INTO fashionrec.assignment AS a (experiment_id, user_id, variant_id, forced)
    VALUES (v_exp.id, force_variant.user_id, v_variant, true)
    ON CONFLICT ON CONSTRAINT assignment_pkey DO UPDATE
       SET variant_id = EXCLUDED.variant_id, forced = true, assigned_at = pg_catalog.now();
END
$$;
COMMENT ON FUNCTION fashionrec.force_variant(text, bigint, text) IS
    'QA override: put a user into a variant (also before the experiment starts); forced users are left out of the results. variant NULL lifts the override';

CREATE OR REPLACE FUNCTION fashionrec.drop_experiment(experiment text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_exp fashionrec.experiment;
BEGIN
    v_exp := fashionrec._ab_experiment(drop_experiment.experiment, true);
    IF v_exp.status = 'running' THEN
        RAISE EXCEPTION 'experiment "%" is running', v_exp.name
              USING ERRCODE = '55000',
                    HINT = 'Stop it first; stopped experiments keep their history until dropped.';
    END IF;
    DELETE FROM fashionrec.event e WHERE e.experiment_id = v_exp.id;
    DELETE FROM fashionrec.assignment a WHERE a.experiment_id = v_exp.id;
    DELETE FROM fashionrec.experiment x WHERE x.id = v_exp.id;
END
$$;
COMMENT ON FUNCTION fashionrec.drop_experiment(text) IS
    'Delete a draft or stopped experiment with its variants, assignments and events';

-- What to serve a user: the recorded variant; for a new user of a running
-- experiment the hashed one, recorded now; for a held-out user the
-- control's model with variant NULL; once stopped, the winner (or the
-- control) for everybody.  in_experiment says whether events are recorded.
-- No SET search_path: only the SECURITY DEFINER functions below call it,
-- and they pin it; a second SET per call would cost as much as the lookup.
CREATE OR REPLACE FUNCTION fashionrec._ab_assign(experiment text, user_id bigint, reassign boolean,
                                      OUT experiment_id integer, OUT variant_id integer,
                                      OUT variant text, OUT model text, OUT version integer,
                                      OUT in_experiment boolean)
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    s     record;
    v_pos integer;
BEGIN
    IF _ab_assign.experiment IS NULL OR _ab_assign.user_id IS NULL OR _ab_assign.reassign IS NULL THEN
        RAISE EXCEPTION 'experiment, user_id and reassign must not be NULL' USING ERRCODE = '22004';
    END IF;
    s := fashionrec._ab_state(_ab_assign.experiment, _ab_assign.user_id);
    IF s.experiment_id IS NULL THEN
        RAISE EXCEPTION 'experiment "%" does not exist', _ab_assign.experiment
              USING ERRCODE = '42704',
                    HINT = 'SELECT * FROM fashionrec.experiments lists the experiments.';
    END IF;
    experiment_id := s.experiment_id;
    in_experiment := false;

    IF s.status = 'stopped' THEN
        v_pos := COALESCE(pg_catalog.array_position(s.variants, s.winner), s.control);
    ELSIF s.status = 'draft' THEN
        IF s.assigned IS NULL OR NOT s.forced THEN
            RAISE EXCEPTION 'experiment "%" is not running', _ab_assign.experiment
                  USING ERRCODE = '55000',
                        HINT = 'Start it with fashionrec.start_experiment(); before that only users put into a variant with fashionrec.force_variant() are served.';
        END IF;
        v_pos := s.assigned;
        in_experiment := true;
    ELSIF s.assigned IS NOT NULL AND (NOT _ab_assign.reassign OR s.forced) THEN
        -- sticky; a QA override survives reassign: only force_variant(..., NULL) lifts it
        v_pos := s.assigned;
        in_experiment := true;
    ELSE
        -- running, and the user is new (or asked to be hashed again)
        v_pos := fashionrec._ab_choose(s.salt, _ab_assign.user_id, s.holdout / 100, s.weights);
        IF v_pos = 0 THEN
            IF _ab_assign.reassign AND s.assigned IS NOT NULL THEN
                DELETE FROM fashionrec.assignment a
                 WHERE a.experiment_id = s.experiment_id AND a.user_id = _ab_assign.user_id
                   AND NOT a.forced;
            END IF;
            -- held out: the control's model, outside the experiment
            model := s.models[s.control];
            version := s.versions[s.control];
            RETURN;
        END IF;
        IF _ab_assign.reassign THEN
            -- a QA override set since _ab_state() read the row stands
            INSERT INTO fashionrec.assignment AS a (experiment_id, user_id, variant_id)
            VALUES (s.experiment_id, _ab_assign.user_id, s.variant_ids[v_pos])
            ON CONFLICT ON CONSTRAINT assignment_pkey DO UPDATE
               SET variant_id = EXCLUDED.variant_id, assigned_at = pg_catalog.now()
             WHERE NOT a.forced;
        ELSE
            INSERT INTO fashionrec.assignment (experiment_id, user_id, variant_id)
            VALUES (s.experiment_id, _ab_assign.user_id, s.variant_ids[v_pos])
            ON CONFLICT ON CONSTRAINT assignment_pkey DO NOTHING;
        END IF;
        IF NOT FOUND THEN
            -- a concurrent session recorded (or forced) the user first: our insert
            -- waited for its commit, and this statement's snapshot sees it; its
            -- variant stands
            s := fashionrec._ab_state(_ab_assign.experiment, _ab_assign.user_id);
            v_pos := s.assigned;
        END IF;
        in_experiment := true;
    END IF;
    variant_id := s.variant_ids[v_pos];
    variant := s.variants[v_pos];
    model := s.models[v_pos];
    version := s.versions[v_pos];
END
$$;
COMMENT ON FUNCTION fashionrec._ab_assign(text, bigint, boolean) IS
    'Internal: the variant (and model) to serve a user, recording a first assignment; used by assign() and recommend_experiment()';

CREATE OR REPLACE FUNCTION fashionrec.assign(experiment text, user_id bigint, reassign boolean DEFAULT false)
    RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s         record;
    v_variant text;
BEGIN
    -- the common case without a second PL/pgSQL call: a user already assigned
    IF assign.reassign IS FALSE AND assign.experiment IS NOT NULL AND assign.user_id IS NOT NULL THEN
        s := fashionrec._ab_state(assign.experiment, assign.user_id);
        IF s.status = 'running' AND s.assigned IS NOT NULL THEN
            RETURN s.variants[s.assigned];
        END IF;
    END IF;
    SELECT r.variant INTO v_variant
      FROM fashionrec._ab_assign(assign.experiment, assign.user_id, assign.reassign) r;
    RETURN v_variant;
END
$$;
COMMENT ON FUNCTION fashionrec.assign(text, bigint, boolean) IS
    'The variant of an experiment a user is in: hashed from (salt, user) into the weighted variants at the first call, then sticky. NULL for a held-out user. reassign => true hashes again with the current weights; a user forced into a variant stays there';

CREATE OR REPLACE FUNCTION fashionrec.track(experiment text, user_id bigint, event text,
                                 item_id bigint DEFAULT NULL, value double precision DEFAULT NULL)
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s record;
BEGIN
    IF track.experiment IS NULL OR track.user_id IS NULL OR track.event IS NULL THEN
        RAISE EXCEPTION 'experiment, user_id and event must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF track.event NOT IN ('exposure', 'click', 'cart', 'purchase') THEN
        RAISE EXCEPTION 'unknown event "%"', track.event
              USING ERRCODE = '22023',
                    HINT = 'Events are exposure, click, cart and purchase.';
    END IF;
    -- A bound rather than numeric aggregation in experiment_results(): its
    -- results (value per user, its variance, Welch's t) are double precision,
    -- so a mean or variance beyond 1.8e308 could not be reported even if
    -- numeric added it up, and a numeric sum is slower (4 times, summing 3
    -- million values on the development machine).  No order total comes near
    -- 1e15; with every value at most that, neither a user's sum nor the sums
    -- of squares in the variance can leave double's range for any number of
    -- events a bigint counts (1e15 x 9.2e18 = 9.2e33, squared 8.5e67).
    -- NaN sorts above every number: refused too.
    IF NOT (track.value >= 0 AND track.value <= 1e15::double precision) THEN
        RAISE EXCEPTION 'value must be a number from 0 to 1e15, not %', track.value
              USING ERRCODE = '22023',
                    HINT = 'value is what the event is worth, e.g. the order total of a purchase; larger values would overflow the statistics of the results.';
    END IF;
    s := fashionrec._ab_state(track.experiment, track.user_id);
    IF s.experiment_id IS NULL THEN
        RAISE EXCEPTION 'experiment "%" does not exist', track.experiment
              USING ERRCODE = '42704',
                    HINT = 'SELECT * FROM fashionrec.experiments lists the experiments.';
    END IF;
    IF s.status = 'stopped' THEN
        RETURN false;                   -- the page outlives the experiment: not an error
    END IF;
    IF s.assigned IS NOT NULL AND (s.status = 'running' OR s.forced) THEN
        INSERT INTO fashionrec.event (experiment_id, variant_id, user_id, event_type, item_id, value)
        VALUES (s.experiment_id, s.variant_ids[s.assigned], track.user_id, track.event,
                track.item_id, track.value);
        RETURN true;
    END IF;
    IF s.status = 'draft' THEN
        RAISE EXCEPTION 'experiment "%" is not running', track.experiment
              USING ERRCODE = '55000',
                    HINT = 'Start it with fashionrec.start_experiment(); before that only events of users put into a variant with fashionrec.force_variant() are recorded.';
    END IF;
    IF fashionrec._ab_choose(s.salt, track.user_id, s.holdout / 100, s.weights) = 0 THEN
        RETURN false;                   -- held out: not in the experiment
    END IF;
    RAISE EXCEPTION 'user % is not assigned in experiment "%"', track.user_id, track.experiment
          USING ERRCODE = '55000',
                DETAIL = 'An event can only be attributed to the variant the user was served.',
                HINT = 'Call fashionrec.assign() or fashionrec.recommend_experiment() for the user before tracking their events.';
END
$$;
COMMENT ON FUNCTION fashionrec.track(text, bigint, text, bigint, double precision) IS
    'Record an event (exposure, click, cart, purchase) of an assigned user with its variant; false when not recorded because the user is held out or the experiment has stopped';

-- recommend_experiment() takes context too (before log_exposure)
DROP FUNCTION fashionrec.recommend_experiment(text, bigint, integer, boolean, bigint[], bigint[], boolean);
CREATE FUNCTION fashionrec.recommend_experiment(experiment text, user_id bigint, k integer DEFAULT 10,
                                                exclude_seen boolean DEFAULT true,
                                                candidates bigint[] DEFAULT NULL,
                                                exclude bigint[] DEFAULT NULL,
                                                context text DEFAULT NULL,
                                                log_exposure boolean DEFAULT true)
    RETURNS TABLE (variant text, item_id bigint, score real, rank integer)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    ROWS 10
AS $$
DECLARE
    s            record;
    v_fast       boolean := false;
    v_experiment integer;
    v_variant_id integer;
    v_variant    text;
    v_model      text;
    v_version    integer;
    v_in         boolean;
BEGIN
    IF recommend_experiment.experiment IS NOT NULL AND recommend_experiment.user_id IS NOT NULL THEN
        s := fashionrec._ab_state(recommend_experiment.experiment, recommend_experiment.user_id);
        v_fast := COALESCE(s.status = 'running' AND s.assigned IS NOT NULL, false);
    END IF;
    IF v_fast THEN
        -- a user already assigned: no second PL/pgSQL call
        v_experiment := s.experiment_id;
        v_variant_id := s.variant_ids[s.assigned];
        v_variant := s.variants[s.assigned];
        v_model := s.models[s.assigned];
        v_version := s.versions[s.assigned];
        v_in := true;
    ELSE
        SELECT r.experiment_id, r.variant_id, r.variant, r.model, r.version, r.in_experiment
          INTO v_experiment, v_variant_id, v_variant, v_model, v_version, v_in
          FROM fashionrec._ab_assign(recommend_experiment.experiment,
                                     recommend_experiment.user_id, false) r;
    END IF;
    RETURN QUERY
        SELECT v_variant, rec.item_id, rec.score, rec.rank
          FROM fashionrec.recommend(v_model, recommend_experiment.user_id, recommend_experiment.k,
                                    exclude_seen => recommend_experiment.exclude_seen,
                                    candidates => recommend_experiment.candidates,
                                    exclude => recommend_experiment.exclude,
                                    context => recommend_experiment.context,
                                    version => v_version) rec;
    IF recommend_experiment.log_exposure AND v_in THEN
        INSERT INTO fashionrec.event (experiment_id, variant_id, user_id, event_type)
        VALUES (v_experiment, v_variant_id, recommend_experiment.user_id, 'exposure');
    END IF;
END
$$;
COMMENT ON FUNCTION fashionrec.recommend_experiment(text, bigint, integer, boolean, bigint[], bigint[], text, boolean) IS
    'Recommendations from the model of the user''s variant, with the variant''s name (NULL for a held-out user, who gets the control''s); options as recommend(), the version is the variant''s; logs an exposure unless log_exposure => false';

-- ---- src/sql/70_monitoring.sql
-- serving statistics count loads into the shared model store too: the
-- function's result changes, so it and its view are made again
DROP VIEW fashionrec.serving_stats;
DROP FUNCTION fashionrec._serving_stats();
CREATE FUNCTION fashionrec._serving_stats()
    RETURNS TABLE (model_id bigint, name text, version integer, function text,
                   calls bigint, rows bigint, errors bigint, cache_loads bigint,
                   shared_loads bigint, attaches bigint, total_ms double precision, mean_ms double precision,
                   p50_ms double precision, p95_ms double precision, p99_ms double precision,
                   max_ms double precision, load_ms double precision,
                   stats_since timestamptz, histogram bigint[], note text)
    AS 'MODULE_PATHNAME', 'fashionrec_serving_stats'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION fashionrec._serving_stats() IS
    'Internal: the serving statistics of this database with their latency histograms; use the view fashionrec.serving_stats';

CREATE VIEW fashionrec.serving_stats AS
SELECT s.name, s.version, s.function, s.calls, s.rows, s.errors, s.cache_loads,
       s.shared_loads, s.attaches, s.total_ms, s.mean_ms, s.p50_ms, s.p95_ms, s.p99_ms, s.max_ms, s.load_ms,
       s.stats_since, s.model_id, s.note
  FROM fashionrec._serving_stats() s;
COMMENT ON VIEW fashionrec.serving_stats IS
    'Serving calls per model version and function since the server started or the last reset: calls, rows, errors, loads (cache_loads into a backend''s private memory, shared_loads into the shared model store, attaches to the store''s copy), latency percentiles. One row with a note when fashionrec is not in shared_preload_libraries';
REVOKE ALL ON fashionrec.serving_stats FROM PUBLIC;
GRANT SELECT ON fashionrec.serving_stats TO fashionrec_reader;

-- Online metrics of the A/B events (src/sql/60_abtest.sql) of an interval.
-- Dynamic SQL, so that this file does not depend on that one.
CREATE OR REPLACE FUNCTION fashionrec._snapshot_online(since timestamptz, taken_at timestamptz)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_rows bigint;
BEGIN
    IF pg_catalog.to_regclass('fashionrec.event') IS NULL
       OR pg_catalog.to_regclass('fashionrec.variant') IS NULL
       OR pg_catalog.to_regclass('fashionrec.experiment') IS NULL THEN
        RETURN 0;
    END IF;
    EXECUTE $q$
        INSERT INTO fashionrec.online_history (taken_at, seconds, experiment, variant, model, version,
                                               users, exposures, clicks, purchases, revenue,
                                               ctr, conversion_rate)
        SELECT $2, GREATEST(EXTRACT(epoch FROM $2 - GREATEST($1, x.started_at)), 0),
               x.name, v.name, v.model, v.version,
               count(DISTINCT e.user_id),
               count(*) FILTER (WHERE e.event_type = 'exposure'),
               count(*) FILTER (WHERE e.event_type = 'click'),
               count(*) FILTER (WHERE e.event_type = 'purchase'),
               COALESCE(sum(e.value) FILTER (WHERE e.event_type = 'purchase'), 0),
               count(*) FILTER (WHERE e.event_type = 'click')::float8
                   / NULLIF(count(*) FILTER (WHERE e.event_type = 'exposure'), 0),
               count(*) FILTER (WHERE e.event_type = 'purchase')::float8
                   / NULLIF(count(*) FILTER (WHERE e.event_type = 'exposure'), 0)
          FROM fashionrec.event e
          JOIN fashionrec.variant v ON v.id = e.variant_id
          JOIN fashionrec.experiment x ON x.id = e.experiment_id
         WHERE e.occurred_at > $1 AND e.occurred_at <= $2
         GROUP BY x.name, x.started_at, v.name, v.model, v.version
        $q$ USING since, taken_at;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END
$$;
COMMENT ON FUNCTION fashionrec._snapshot_online(timestamptz, timestamptz) IS
    'Internal: appends the A/B online metrics of an interval to online_history when the A/B tables exist';

CREATE OR REPLACE FUNCTION fashionrec.snapshot_stats(retention interval DEFAULT '90 days')
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now    timestamptz := pg_catalog.clock_timestamp();
    v_since  timestamptz;
    v_rows   bigint := 0;
    v_online bigint;
BEGIN
    -- one snapshot at a time, so each interval is recorded once
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('fashionrec.snapshot_stats'), 0);
    SELECT pg_catalog.max(h.taken_at) INTO v_since
      FROM (SELECT s.taken_at FROM fashionrec.stats_history s
            UNION ALL SELECT o.taken_at FROM fashionrec.online_history o
            UNION ALL SELECT st.taken_at FROM fashionrec.stats_snapshot_state st) h;

    IF (SELECT i.enabled FROM fashionrec.serving_stats_info() i) THEN
        WITH cur AS MATERIALIZED (
            SELECT s.model_id, s.name, s.version, s.function, s.stats_since,
                   -- the history counts loads wherever they went: private or the shared store
                   s.calls, s.rows, s.errors, s.cache_loads + s.shared_loads AS cache_loads,
                   s.total_ms, s.histogram,
                   -- a new entry, or one reset since the last snapshot, counts from its start
                   (st.model_id IS NULL OR st.stats_since <> s.stats_since OR st.calls > s.calls) AS fresh,
                   st.taken_at AS prev_taken_at, st.calls AS prev_calls, st.rows AS prev_rows,
                   st.errors AS prev_errors, st.cache_loads AS prev_loads,
                   st.total_ms AS prev_total_ms, st.histogram AS prev_histogram
              FROM fashionrec._serving_stats() s
              LEFT JOIN fashionrec.stats_snapshot_state st
                     ON st.model_id = s.model_id AND st.function = s.function
             WHERE s.note IS NULL),
        delta AS (
            SELECT c.*,
                   CASE WHEN c.fresh THEN c.stats_since ELSE c.prev_taken_at END AS interval_start,
                   c.calls - CASE WHEN c.fresh THEN 0 ELSE c.prev_calls END AS d_calls,
                   c.rows - CASE WHEN c.fresh THEN 0 ELSE c.prev_rows END AS d_rows,
                   c.errors - CASE WHEN c.fresh THEN 0 ELSE c.prev_errors END AS d_errors,
                   c.cache_loads - CASE WHEN c.fresh THEN 0 ELSE c.prev_loads END AS d_loads,
                   c.total_ms - CASE WHEN c.fresh THEN 0 ELSE c.prev_total_ms END AS d_total_ms,
                   CASE WHEN c.fresh THEN c.histogram
                        ELSE ARRAY(SELECT GREATEST(h.now_n - h.prev_n, 0)
                                     FROM unnest(c.histogram, c.prev_histogram) WITH ORDINALITY
                                          AS h(now_n, prev_n, bucket)
                                    ORDER BY h.bucket) END AS d_histogram
              FROM cur c),
        history AS (
            INSERT INTO fashionrec.stats_history (taken_at, seconds, model, version, model_id, function,
                                                  calls, rows, errors, cache_loads,
                                                  mean_ms, p50_ms, p95_ms, p99_ms)
            SELECT v_now, GREATEST(EXTRACT(epoch FROM v_now - d.interval_start), 0),
                   d.name, d.version, d.model_id, d.function,
                   d.d_calls, d.d_rows, d.d_errors, d.d_loads,
                   d.d_total_ms / NULLIF(d.d_calls, 0),
                   fashionrec.latency_quantile(d.d_histogram, 0.5),
                   fashionrec.latency_quantile(d.d_histogram, 0.95),
                   fashionrec.latency_quantile(d.d_histogram, 0.99)
              FROM delta d
            RETURNING 1),
        gone AS (
            DELETE FROM fashionrec.stats_snapshot_state st
             WHERE NOT EXISTS (SELECT FROM cur c WHERE c.model_id = st.model_id AND c.function = st.function)),
        state AS (
            INSERT INTO fashionrec.stats_snapshot_state AS st (model_id, function, stats_since, taken_at, calls,
                                                               rows, errors, cache_loads, total_ms, histogram)
            SELECT c.model_id, c.function, c.stats_since, v_now, c.calls, c.rows, c.errors,
                   c.cache_loads, c.total_ms, c.histogram
              FROM cur c
            ON CONFLICT (model_id, function) DO UPDATE
               SET stats_since = EXCLUDED.stats_since, taken_at = EXCLUDED.taken_at,
                   calls = EXCLUDED.calls, rows = EXCLUDED.rows, errors = EXCLUDED.errors,
                   cache_loads = EXCLUDED.cache_loads, total_ms = EXCLUDED.total_ms,
                   histogram = EXCLUDED.histogram)
        SELECT pg_catalog.count(*) INTO v_rows FROM history;
    END IF;

    v_online := fashionrec._snapshot_online(COALESCE(v_since, '-infinity'), v_now);

    IF snapshot_stats.retention IS NOT NULL THEN
        DELETE FROM fashionrec.stats_history h WHERE h.taken_at < v_now - snapshot_stats.retention;
        DELETE FROM fashionrec.online_history o WHERE o.taken_at < v_now - snapshot_stats.retention;
    END IF;
    RETURN v_rows + v_online;
END
$$;
COMMENT ON FUNCTION fashionrec.snapshot_stats(interval) IS
    'Append what was served since the last snapshot (per model version and function) and the A/B online metrics to the history tables; drops history older than retention. Schedule it with pg_cron, e.g. every 5 minutes';

-- retrain() runs as its caller; appending its log row is this function's one
-- job, with the owner's rights (no role writes the table).
CREATE FUNCTION fashionrec._log_retrain(entry jsonb) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO fashionrec.retrain_log (name, started_at, decision, reason, champion_version,
                                        challenger_version, promoted_version, metric, k, margin,
                                        champion_score, challenger_score, test_users, test_interactions,
                                        source, details, run_by)
    SELECT r.name, r.started_at, r.decision, r.reason, r.champion_version,
           r.challenger_version, r.promoted_version, r.metric, r.k, r.margin,
           r.champion_score, r.challenger_score, r.test_users, r.test_interactions,
           r.source, COALESCE(r.details, '{}'), fashionrec._session_role()
      FROM pg_catalog.jsonb_populate_record(NULL::fashionrec.retrain_log, $1) r;
$$;
COMMENT ON FUNCTION fashionrec._log_retrain(jsonb) IS
    'Internal: appends a retrain() run to fashionrec.retrain_log';

-- Champion/challenger on data neither has seen.  The source is split per
-- user by time (fashionrec.split 'temporal', the last holdout share of each
-- user's events).  The challenger -- the champion's algorithm and parameters,
-- with params merged over them -- is trained on the earlier part.  The test
-- set is the held-out (user, item) pairs that are "fresh": new to the user
-- before the holdout and not among the pairs the champion was trained on, so
-- neither model has seen them (the champion was trained on other, older
-- data; evaluating it on pairs it was trained on would only measure that its
-- exclude_seen filter works).  Both are evaluated on that set with the same
-- k and metric.  The challenger wins when its metric beats the champion's by
-- the relative margin; then the winning configuration is trained on the
-- whole source and activated (promote => 'retrain'), or the evaluated
-- challenger itself is (promote => 'challenger').  Content models (tfidf,
-- attributes, embedding, features) keep their catalogue as their source and
-- read interactions from params.interactions: for them that is what is split
-- and retrained, over the same catalogue.  A hybrid is refused: its
-- components, trained on everything, would have seen the held-out pairs.
-- No fresh pairs means
-- nothing new since the champion was trained: it is kept.  A failure is
-- logged, committed and raised (a WARNING inside a transaction block).
-- docs/operations.md discusses the protocol.
CREATE FUNCTION fashionrec._outside_transaction_block() RETURNS boolean
    AS 'MODULE_PATHNAME', 'fashionrec_outside_transaction_block'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION fashionrec._outside_transaction_block() IS
    'Internal: whether a procedure called now may commit (no transaction block is open)';

CREATE OR REPLACE PROCEDURE fashionrec.retrain(name text,
                                    source text DEFAULT NULL,
                                    margin double precision DEFAULT 0.0,
                                    metric text DEFAULT 'ndcg',
                                    k integer DEFAULT 10,
                                    holdout double precision DEFAULT 0.2,
                                    params jsonb DEFAULT NULL,
                                    on_drift boolean DEFAULT false,
                                    promote text DEFAULT 'retrain',
                                    keep_challenger boolean DEFAULT false)
    LANGUAGE plpgsql
AS $$
DECLARE
    v_started   timestamptz := pg_catalog.clock_timestamp();
    v_champ     fashionrec.model%ROWTYPE;
    v_source    text;
    v_all       jsonb;
    v_cols      jsonb;
    v_algo_params jsonb;
    v_lower     boolean := retrain.metric IN ('rmse', 'mae');
    v_test_users bigint;
    v_test_rows bigint;
    v_challenger integer;
    v_promoted  integer;
    v_champ_score float8;
    v_chall_score float8;
    v_decision  text;
    v_reason    text;
    v_details   jsonb := '{}';
    v_drifted   text[];
    v_better    boolean;
    v_catalog   text;           -- content models: the catalogue source, kept as it is
    v_challenger_params jsonb;
    e           record;
    v_msg       text;
    v_state     text;
    v_ctx       text;
BEGIN
    IF retrain.name IS NULL OR retrain.metric IS NULL OR retrain.k IS NULL OR retrain.margin IS NULL
       OR retrain.holdout IS NULL OR retrain.on_drift IS NULL OR retrain.promote IS NULL
       OR retrain.keep_challenger IS NULL THEN
        RAISE EXCEPTION 'only source and params may be NULL' USING ERRCODE = '22004';
    END IF;
    IF retrain.metric NOT IN ('ndcg', 'precision', 'recall', 'map', 'hit_rate', 'rmse', 'mae') THEN
        RAISE EXCEPTION 'unknown metric "%"', retrain.metric
              USING ERRCODE = '22023', HINT = 'Use ndcg, precision, recall, map, hit_rate, rmse or mae.';
    END IF;
    IF NOT (retrain.margin >= 0 AND retrain.margin < 'Infinity') THEN
        RAISE EXCEPTION 'margin must be a non-negative number, got %', retrain.margin USING ERRCODE = '22023';
    END IF;
    IF retrain.k <= 0 THEN
        RAISE EXCEPTION 'k must be positive, got %', retrain.k USING ERRCODE = '22023';
    END IF;
    IF NOT (retrain.holdout > 0 AND retrain.holdout < 1) THEN
        RAISE EXCEPTION 'holdout must be between 0 and 1, got %', retrain.holdout USING ERRCODE = '22023';
    END IF;
    IF retrain.promote NOT IN ('retrain', 'challenger') THEN
        RAISE EXCEPTION 'promote must be ''retrain'' or ''challenger'', got "%"', retrain.promote
              USING ERRCODE = '22023';
    END IF;
    IF retrain.params IS NOT NULL AND pg_catalog.jsonb_typeof(retrain.params) <> 'object' THEN
        RAISE EXCEPTION 'params must be a JSON object' USING ERRCODE = '22023';
    END IF;
    v_champ := fashionrec._model_row(retrain.name, NULL);

    -- one retraining of a name at a time: an overlapping run is logged and skipped
    IF NOT fashionrec._queue(retrain.name, 'retrain', wait => false) THEN
        PERFORM fashionrec._log_retrain(pg_catalog.jsonb_build_object(
            'name', retrain.name, 'started_at', v_started, 'decision', 'skipped',
            'reason', 'another retrain of this model is running',
            'champion_version', v_champ.version, 'source', COALESCE(retrain.source, v_champ.source)));
        RETURN;
    END IF;

    v_all := v_champ.params || COALESCE(retrain.params, '{}');
    IF v_champ.algorithm IN ('tfidf', 'attributes', 'embedding', 'features') THEN
        v_catalog := v_champ.source;
        v_source := COALESCE(retrain.source, v_all ->> 'interactions');
        v_all := v_all - 'interactions';
    ELSE
        v_source := COALESCE(retrain.source, v_champ.source);
    END IF;
    v_cols := fashionrec._column_params(v_all);
    v_algo_params := v_all - ARRAY['user_column', 'item_column', 'weight_column', 'time_column'];

    BEGIN
        -- what the champion stored was written by its author: run only as them
        IF retrain.source IS NULL OR v_catalog IS NOT NULL THEN
            PERFORM fashionrec._check_author(v_champ.created_by,
                                             pg_catalog.format('the source of model "%s"', retrain.name));
        END IF;
        IF v_champ.algorithm = 'hybrid' THEN
            RAISE EXCEPTION 'a hybrid model is not retrained by retrain()'
                  USING ERRCODE = '0A000',
                        HINT = 'Retrain its components, then train the hybrid again: fashionrec.train() pins the versions active then.';
        END IF;
        IF v_source IS NULL THEN
            RAISE EXCEPTION 'model "%" has no %source to retrain from', retrain.name,
                            CASE WHEN v_catalog IS NOT NULL THEN 'interactions ' ELSE '' END
                  USING ERRCODE = '22023', HINT = 'Pass source => ''...''.';
        END IF;

        IF pg_catalog.to_regclass('pg_temp.fr_retrain_split') IS NOT NULL THEN
            DROP TABLE pg_temp.fr_retrain_split;
        END IF;
        IF pg_catalog.to_regclass('pg_temp.fr_retrain_test') IS NOT NULL THEN
            DROP TABLE pg_temp.fr_retrain_test;
        END IF;
        EXECUTE pg_catalog.format(
            'CREATE TEMP TABLE fr_retrain_split ON COMMIT DROP AS
             SELECT sp.user_id, sp.item_id, sp.weight, sp.event_time, sp.is_test
               FROM fashionrec.split(%L, ''temporal'', %s, 42, %L) sp',
            v_source, retrain.holdout, v_cols);
        -- fresh: held out, new to the user before the holdout, and not among
        -- the pairs the champion was trained on: neither model has seen them
        CREATE TEMP TABLE fr_retrain_test ON COMMIT DROP AS
        SELECT s.user_id, s.item_id, pg_catalog.sum(s.weight) AS weight
          FROM pg_temp.fr_retrain_split s
         WHERE s.is_test
           AND NOT EXISTS (SELECT FROM pg_temp.fr_retrain_split p
                            WHERE NOT p.is_test AND p.user_id = s.user_id AND p.item_id = s.item_id)
           AND NOT EXISTS (SELECT FROM fashionrec._training_pairs(v_champ.id) c
                            WHERE c.user_id = s.user_id AND c.item_id = s.item_id)
         GROUP BY s.user_id, s.item_id;
        SELECT pg_catalog.count(DISTINCT t.user_id), pg_catalog.count(*)
          INTO v_test_users, v_test_rows FROM pg_temp.fr_retrain_test t;
        v_details := pg_catalog.jsonb_build_object(
            'split_rows', (SELECT pg_catalog.count(*) FROM pg_temp.fr_retrain_split),
            'held_out', (SELECT pg_catalog.count(*) FROM pg_temp.fr_retrain_split s WHERE s.is_test));

        IF v_test_rows = 0 THEN
            v_decision := 'kept';
            v_reason := 'no fresh interactions: every held-out (user, item) pair was in the champion''s training data or earlier in the user''s history';
        END IF;

        IF v_decision IS NULL AND retrain.on_drift THEN
            SELECT pg_catalog.array_agg(d.signal || ' ' || d.measure ORDER BY d.signal, d.measure)
              INTO v_drifted
              FROM fashionrec.drift(retrain.name, 'SELECT user_id, item_id, weight FROM pg_temp.fr_retrain_test') d
             WHERE d.verdict = 'drift';
            IF v_drifted IS NULL THEN
                v_decision := 'skipped';
                v_reason := 'no drift signal on the fresh interactions (on_drift)';
            ELSE
                v_details := v_details || pg_catalog.jsonb_build_object('drift', v_drifted);
            END IF;
        END IF;

        IF v_decision IS NULL THEN
            IF v_catalog IS NULL THEN
                v_challenger := fashionrec.train(retrain.name, v_champ.algorithm,
                    'SELECT s.user_id, s.item_id, s.weight, s.event_time FROM pg_temp.fr_retrain_split s WHERE NOT s.is_test',
                    v_algo_params, activate => false);
            ELSE
                v_challenger := fashionrec.train(retrain.name, v_champ.algorithm, v_catalog,
                    v_algo_params || pg_catalog.jsonb_build_object('interactions',
                        'SELECT s.user_id, s.item_id, s.weight FROM pg_temp.fr_retrain_split s WHERE NOT s.is_test'),
                    activate => false);
            END IF;
            -- its source and parameters as a retraining would read them again (the split is gone)
            v_challenger_params := CASE WHEN v_catalog IS NULL THEN NULL
                                        ELSE v_all || pg_catalog.jsonb_build_object('interactions', v_source) END;
            PERFORM fashionrec._model_restate(
                (SELECT m.id FROM fashionrec.model m WHERE m.name = retrain.name AND m.version = v_challenger),
                COALESCE(v_catalog, v_source), v_challenger_params,
                pg_catalog.jsonb_build_object('retrain_challenger', pg_catalog.format(
                    'trained on the source without each user''s last %s%% of events', retrain.holdout * 100)));

            SELECT * INTO e FROM fashionrec.evaluate(retrain.name, 'SELECT user_id, item_id, weight FROM pg_temp.fr_retrain_test',
                                                     retrain.k, version => v_champ.version);
            v_champ_score := CASE retrain.metric
                WHEN 'ndcg' THEN e.ndcg_at_k WHEN 'precision' THEN e.precision_at_k
                WHEN 'recall' THEN e.recall_at_k WHEN 'map' THEN e.map_at_k
                WHEN 'hit_rate' THEN e.hit_rate WHEN 'rmse' THEN e.rmse ELSE e.mae END;
            SELECT * INTO e FROM fashionrec.evaluate(retrain.name, 'SELECT user_id, item_id, weight FROM pg_temp.fr_retrain_test',
                                                     retrain.k, version => v_challenger);
            v_chall_score := CASE retrain.metric
                WHEN 'ndcg' THEN e.ndcg_at_k WHEN 'precision' THEN e.precision_at_k
                WHEN 'recall' THEN e.recall_at_k WHEN 'map' THEN e.map_at_k
                WHEN 'hit_rate' THEN e.hit_rate WHEN 'rmse' THEN e.rmse ELSE e.mae END;

            IF v_champ_score IS NULL OR v_chall_score IS NULL THEN
                RAISE EXCEPTION 'metric "%" is not available for model "%"', retrain.metric, retrain.name
                      USING ERRCODE = '22023',
                            HINT = 'rmse and mae need a rating model (mf); ranking metrics need test users.';
            END IF;
            v_better := CASE WHEN v_lower THEN v_chall_score < v_champ_score * (1 - retrain.margin)
                             ELSE v_chall_score > v_champ_score * (1 + retrain.margin) END;
            v_reason := pg_catalog.format('%s@%s on %s fresh interactions of %s users: challenger %s, champion %s',
                                          retrain.metric, retrain.k, v_test_rows, v_test_users,
                                          pg_catalog.round(v_chall_score::numeric, 4),
                                          pg_catalog.round(v_champ_score::numeric, 4));
            IF v_better THEN
                v_decision := 'promoted';
                IF retrain.promote = 'retrain' THEN
                    v_promoted := CASE WHEN v_catalog IS NULL
                        THEN fashionrec.train(retrain.name, v_champ.algorithm, v_source, v_all, activate => true)
                        ELSE fashionrec.train(retrain.name, v_champ.algorithm, v_catalog,
                                              v_all || pg_catalog.jsonb_build_object('interactions', v_source),
                                              activate => true) END;
                    v_reason := v_reason || pg_catalog.format('; better by more than %s%%, retrained on the whole source as version %s',
                                                              retrain.margin * 100, v_promoted);
                ELSE
                    PERFORM fashionrec.activate(retrain.name, v_challenger);
                    v_promoted := v_challenger;
                    v_reason := v_reason || pg_catalog.format('; better by more than %s%%, challenger version %s activated',
                                                              retrain.margin * 100, v_promoted);
                END IF;
            ELSE
                v_decision := 'kept';
                v_reason := v_reason || pg_catalog.format('; not better by more than %s%%, champion kept',
                                                          retrain.margin * 100);
            END IF;
            IF NOT retrain.keep_challenger AND v_promoted IS DISTINCT FROM v_challenger THEN
                PERFORM fashionrec.drop_model(retrain.name, v_challenger);
                v_details := v_details || '{"challenger_dropped": true}';
            END IF;
        END IF;

        DROP TABLE pg_temp.fr_retrain_split, pg_temp.fr_retrain_test;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT, v_state = RETURNED_SQLSTATE, v_ctx = PG_EXCEPTION_CONTEXT;
        v_decision := 'failed';
        v_reason := v_msg;
        v_details := pg_catalog.jsonb_build_object('sqlstate', v_state, 'context', v_ctx);
        v_challenger := NULL;
        v_promoted := NULL;
    END;

    PERFORM fashionrec._log_retrain(pg_catalog.jsonb_build_object(
        'name', retrain.name, 'started_at', v_started, 'decision', v_decision, 'reason', v_reason,
        'champion_version', v_champ.version, 'challenger_version', v_challenger,
        'promoted_version', v_promoted, 'metric', retrain.metric, 'k', retrain.k,
        'margin', retrain.margin, 'champion_score', v_champ_score, 'challenger_score', v_chall_score,
        'test_users', v_test_users, 'test_interactions', v_test_rows, 'source', v_source,
        'details', v_details));
    IF v_decision = 'failed' THEN
        -- a failed run must look failed (pg_cron's job_run_details) and stay
        -- logged: commit the log row, then raise; a caller's transaction
        -- block cannot be committed, so there it is a warning
        IF fashionrec._outside_transaction_block() THEN
            COMMIT;
            RAISE EXCEPTION 'retraining of model "%" failed: %', retrain.name, v_msg
                  USING ERRCODE = v_state, DETAIL = 'The attempt is recorded in fashionrec.retrain_log.';
        END IF;
        RAISE WARNING 'retraining of model "%" failed: %', retrain.name, v_msg
              USING DETAIL = 'The attempt is recorded in fashionrec.retrain_log.';
    END IF;
END
$$;
COMMENT ON PROCEDURE fashionrec.retrain(text, text, double precision, text, integer, double precision, jsonb, boolean, text, boolean) IS
    'Champion/challenger retraining: train the champion''s configuration on fresh data, compare both on held-out interactions the champion never saw, promote only a challenger better by the margin; every run is recorded in fashionrec.retrain_log';

-- ---- src/sql/80_hybrid.sql
-- the serving API's shape (exclude_seen, exclude; next_items' exclude_given is exclude_seen)
DROP FUNCTION fashionrec.explain(text, bigint, integer, bigint[], integer);
DROP FUNCTION fashionrec.next_items(text, bigint[], integer, boolean, bigint[], integer);
CREATE FUNCTION fashionrec.explain(name text, user_id bigint, k integer DEFAULT 10,
                                   exclude_seen boolean DEFAULT true,
                                   candidates bigint[] DEFAULT NULL,
                                   exclude bigint[] DEFAULT NULL,
                                   version integer DEFAULT NULL)
    RETURNS TABLE (rank integer, item_id bigint, score real, signal text, component text,
                   raw_score real, normalized real, weight real, contribution real)
    AS 'MODULE_PATHNAME', 'fashionrec_explain_0_2'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION fashionrec.explain(text, bigint, integer, boolean, bigint[], bigint[], integer) IS
    'What each signal of a hybrid model contributes to a user''s top-k list: one row per item and signal, contribution = weight x normalized, score = their sum. Options as recommend(), without context';

CREATE FUNCTION fashionrec.next_items(name text, recent_item_ids bigint[], k integer DEFAULT 10,
                                      exclude_seen boolean DEFAULT true,
                                      candidates bigint[] DEFAULT NULL,
                                      exclude bigint[] DEFAULT NULL,
                                      version integer DEFAULT NULL)
    RETURNS TABLE (item_id bigint, score real, rank integer)
    AS 'MODULE_PATHNAME', 'fashionrec_next_items_0_2'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION fashionrec.next_items(text, bigint[], integer, boolean, bigint[], bigint[], integer) IS
    'The items most likely next after a session''s items (in time order, latest last), from a sequence model or a hybrid with a sequence signal; exclude_seen leaves out the session''s items';

-- ---- src/sql/85_features.sql
-- No role writes these tables: C writers (features_store.c) and the realtime
-- trigger in C (features_trigger.c) store as the tables' owner what the set's
-- own statements computed, reading the source only as the set's author.
-- The source becomes the relation itself; the view that shows it is made
-- again around the change.
DROP VIEW fashionrec.feature_sets;
ALTER TABLE fashionrec.feature_set
    ALTER COLUMN source TYPE regclass USING source::regclass,
    ALTER COLUMN created_by DROP DEFAULT;
COMMENT ON COLUMN fashionrec.feature_set.source IS
    'The product table or view: the relation itself, followed through renames, never another one';
COMMENT ON COLUMN fashionrec.feature_set.created_by IS
    'The role that created the set: its source is read only by this role or a role whose rights it holds';

-- the 0.1 trigger's helpers
DROP FUNCTION fashionrec._feature_generation(integer);
DROP FUNCTION fashionrec._feature_row_sql(integer, integer, timestamptz, text);

CREATE FUNCTION fashionrec._feature_set_create(name text, kind text, source regclass, params jsonb)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'fashionrec_feature_set_create'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION fashionrec._feature_set_create(text, text, regclass, jsonb) IS
    'Internal: records a feature set authored by the caller, checked by _feature_set_check() with the caller''s rights; use create_feature_set()';

CREATE FUNCTION fashionrec._feature_refresh_begin(feature_set integer) RETURNS fashionrec.feature_set
    AS 'MODULE_PATHNAME', 'fashionrec_feature_refresh_begin'
    LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION fashionrec._feature_refresh_begin(integer) IS
    'Internal: a refresh''s start: checks the caller against the set''s author and the source''s columns, locks the set''s row, takes its queue; use refresh_features()';

CREATE FUNCTION fashionrec._feature_rebuild(feature_set integer) RETURNS fashionrec.feature_set
    AS 'MODULE_PATHNAME', 'fashionrec_feature_rebuild'
    LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION fashionrec._feature_rebuild(integer) IS
    'Internal: fits the vocabulary or takes the dimension over the source; NULL when the source gives none; use refresh_features(rebuild => true)';

CREATE FUNCTION fashionrec._feature_refresh_batch(feature_set integer, ids bigint[], force boolean,
                                                  OUT added bigint, OUT updated bigint, OUT failed bigint,
                                                  OUT tombstoned bigint, OUT terms bigint, OUT oov_terms bigint)
    AS 'MODULE_PATHNAME', 'fashionrec_feature_refresh_batch'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION fashionrec._feature_refresh_batch(integer, bigint[], boolean) IS
    'Internal: computes the listed items whose source row is new or changed (all with force) and stores them; use refresh_features()';

CREATE FUNCTION fashionrec._feature_refresh_gone(feature_set integer) RETURNS bigint
    AS 'MODULE_PATHNAME', 'fashionrec_feature_refresh_gone'
    LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION fashionrec._feature_refresh_gone(integer) IS
    'Internal: tombstones the items whose id left the source; use refresh_features()';

CREATE FUNCTION fashionrec._feature_refresh_finish(feature_set integer, rebuilt boolean) RETURNS bigint
    AS 'MODULE_PATHNAME', 'fashionrec_feature_refresh_finish'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION fashionrec._feature_refresh_finish(integer, boolean) IS
    'Internal: a refresh''s end: its time and, after a rebuild, the out-of-vocabulary baseline; returns the generation';

-- Store only what the catalog already says, so they are safe to call directly
-- (_feature_set_realtime() is with the trigger, below).
CREATE FUNCTION fashionrec._feature_set_drop(feature_set integer) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fs fashionrec.feature_set;
BEGIN
    SELECT * INTO fs FROM fashionrec.feature_set s WHERE s.id = _feature_set_drop.feature_set;
    IF EXISTS (SELECT FROM pg_catalog.pg_trigger t
                WHERE t.tgrelid = fs.source AND t.tgname = 'fashionrec_features_' || fs.id) THEN
        RAISE EXCEPTION 'feature set "%" still has its realtime trigger on %', fs.name, fs.source
              USING ERRCODE = '55000',
                    HINT = 'Drop the set with fashionrec.drop_feature_set(), which removes the trigger first.';
    END IF;
    DELETE FROM fashionrec.feature_set s WHERE s.id = _feature_set_drop.feature_set;
END
$$;
COMMENT ON FUNCTION fashionrec._feature_set_drop(integer) IS
    'Internal: deletes a feature set without a trigger, with its items, errors and queue; use drop_feature_set()';

CREATE OR REPLACE FUNCTION fashionrec._feature_sql(fs fashionrec.feature_set, what text) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p       jsonb := fs.params;
    src     text := format('%s', fs.source);
    id      text := format('s.%I', fs.id_column);
    cols    text;
    h       text;
    inputs  text;
    compute text;
    where_  text;
    texts   text[];
    attrs   text[];
    weights text;
    w       integer;
    a       text;
    allnull text;
    docexpr text;
    opts    jsonb;
BEGIN
    SELECT string_agg(format('s.%I', c), ', ' ORDER BY o) INTO cols
      FROM unnest(fs.columns) WITH ORDINALITY AS u(c, o);
    SELECT string_agg(format('s.%I IS NULL', c), ' AND ' ORDER BY o) INTO allnull
      FROM unnest(fs.columns) WITH ORDINALITY AS u(c, o);

    IF fs.kind IN ('tfidf', 'attributes') THEN
        h := format('pg_catalog.sha256(pg_catalog.convert_to(ROW(%s)::text, %L))', cols, 'UTF8');
        texts := fashionrec._feature_names(p -> 'text_columns', 'text_columns');
        attrs := coalesce(fashionrec._feature_names(p -> 'attribute_columns', 'attribute_columns'), '{}');
        IF fs.kind = 'tfidf' THEN
            docexpr := format('pg_catalog.to_tsvector(%L::pg_catalog.regconfig, pg_catalog.concat_ws('' '', %s))',
                              p ->> 'config',
                              (SELECT string_agg(format('s.%I::pg_catalog.text', c), ', ' ORDER BY o)
                                 FROM unnest(texts) WITH ORDINALITY AS u(c, o)));
        END IF;
        IF cardinality(attrs) > 0 THEN
            weights := '';
            FOREACH a IN ARRAY attrs LOOP
                w := coalesce((p -> 'weights' ->> a)::integer, 1);
                weights := weights || CASE WHEN weights = '' THEN '' ELSE ', ' END || w::text;
            END LOOP;
            a := format('fashionrec.attribute_tsvector(ARRAY[%s]::pg_catalog.text[], ARRAY[%s]::pg_catalog.text[], ARRAY[%s]::pg_catalog.int4[])',
                        (SELECT string_agg(format('%L', c), ', ' ORDER BY o) FROM unnest(attrs) WITH ORDINALITY AS u(c, o)),
                        (SELECT string_agg(format('pg_catalog.lower(pg_catalog.btrim(s.%I::pg_catalog.text))', c), ', ' ORDER BY o)
                           FROM unnest(attrs) WITH ORDINALITY AS u(c, o)),
                        weights);
            docexpr := CASE WHEN docexpr IS NULL THEN a ELSE docexpr || ' OPERATOR(pg_catalog.||) ' || a END;
        END IF;
        inputs := format('%s AS doc, (%s) AS all_null', docexpr, allnull);
        compute := format($c$
            SELECT x.reason,
                   CASE x.reason WHEN 'null_columns' THEN %L
                                 WHEN 'empty_text' THEN 'The document has no terms.' END AS detail,
                   CASE WHEN x.reason IS NULL THEN fashionrec._feature_tfidf($1, $3, $5, src.doc) END AS v,
                   pg_catalog.length(src.doc) AS terms
              FROM (SELECT CASE WHEN src.all_null THEN 'null_columns'
                                WHEN pg_catalog.length(src.doc) = 0 THEN 'empty_text' END AS reason) x$c$,
                          format('Every column of %s is NULL.', array_to_string(fs.columns, ', ')));
    ELSIF fs.kind = 'colors' THEN
        h := format('pg_catalog.sha256(CASE WHEN %s IS NULL THEN %L::pg_catalog.bytea ELSE %L::pg_catalog.bytea OPERATOR(pg_catalog.||) %s END)',
                    cols, '\x00', '\x01', cols);
        inputs := format('%s AS img', cols);
        compute := format($c$
            SELECT CASE WHEN src.img IS NULL THEN 'null_columns' ELSE c.reason END AS reason,
                   CASE WHEN src.img IS NULL THEN 'The image is NULL.' ELSE c.detail END AS detail,
                   c.histogram::fashionrec.svec AS v,
                   NULL::integer AS terms
              FROM (SELECT 1) one
              LEFT JOIN fashionrec._color_features(src.img, %s, %s) c ON true$c$,
                          (p ->> 'bins')::integer,
                          CASE WHEN (p ->> 'ignore_background')::boolean THEN 'true' ELSE 'false' END);
    ELSE
        h := format('pg_catalog.sha256(pg_catalog.convert_to(ROW(%s)::text, %L))', cols, 'UTF8');
        inputs := format('%s AS vec', cols);
        compute := format($c$
            SELECT x.reason,
                   CASE x.reason
                        WHEN 'null_columns' THEN 'The embedding is NULL.'
                        WHEN 'wrong_dimension' THEN pg_catalog.format(%L,
                             CASE WHEN pg_catalog.array_ndims(src.vec) > 1
                                  THEN 'an array of dimensions ' OPERATOR(pg_catalog.||) pg_catalog.array_dims(src.vec)
                                  ELSE pg_catalog.cardinality(src.vec)::pg_catalog.text END)
                        WHEN 'null_element' THEN 'The embedding has a NULL element.'
                        WHEN 'not_finite' THEN 'The embedding has a NaN, infinite or out of range value.' END AS detail,
                   CASE WHEN x.reason IS NULL THEN src.vec::pg_catalog.float4[]::fashionrec.svec END AS v,
                   NULL::integer AS terms
              FROM (SELECT CASE
                        WHEN src.vec IS NULL THEN 'null_columns'
                        WHEN pg_catalog.array_ndims(src.vec) IS DISTINCT FROM 1
                             OR pg_catalog.cardinality(src.vec) <> %s THEN 'wrong_dimension'
                        WHEN pg_catalog.array_position(src.vec, NULL) IS NOT NULL THEN 'null_element'
                        WHEN 'NaN' = ANY (src.vec) OR 'Infinity' = ANY (src.vec) OR '-Infinity' = ANY (src.vec)
                             OR EXISTS (SELECT FROM pg_catalog.unnest(src.vec) e
                                         WHERE pg_catalog.abs(e::pg_catalog.float8) > 3.4028234663852886e38)
                             THEN 'not_finite' END AS reason) x$c$,
                          format('Expected %s values, got %%s.', fs.dimension), coalesce(fs.dimension, 0));
    END IF;

    IF what = 'changed' THEN
        -- (ids of the new and changed items, count of the unchanged ones)
        RETURN format($q$
            WITH x AS (SELECT DISTINCT ON (1) %s::pg_catalog.int8 AS item_id, %s AS h
                         FROM %s s WHERE %s IS NOT NULL ORDER BY 1, 2)
            SELECT coalesce(pg_catalog.array_agg(x.item_id ORDER BY x.item_id) FILTER (WHERE t.stale), '{}'),
                   pg_catalog.count(*) FILTER (WHERE NOT t.stale)
              FROM x
              LEFT JOIN fashionrec.item_feature f ON f.feature_set = $1 AND f.item_id = x.item_id
             CROSS JOIN LATERAL (SELECT $4 OR f.item_id IS NULL OR f.content_hash IS DISTINCT FROM x.h
                                        OR f.vocabulary_version <> $3 AS stale) t$q$,
            id, h, src, id);
    ELSIF what = 'staleness' THEN
        RETURN format($q$
            WITH x AS (SELECT DISTINCT ON (1) %s::pg_catalog.int8 AS item_id, %s AS h
                         FROM %s s WHERE %s IS NOT NULL ORDER BY 1, 2)
            SELECT pg_catalog.count(*) FILTER (WHERE f.item_id IS NULL OR f.content_hash IS NULL),
                   pg_catalog.count(*) FILTER (WHERE f.content_hash <> x.h OR f.vocabulary_version <> $3),
                   (SELECT pg_catalog.count(*) FROM fashionrec.item_feature g
                     WHERE g.feature_set = $1 AND g.content_hash IS NOT NULL
                       AND NOT EXISTS (SELECT FROM %s s WHERE %s = g.item_id))
              FROM x LEFT JOIN fashionrec.item_feature f ON f.feature_set = $1 AND f.item_id = x.item_id$q$,
            id, h, src, id, src, id);
    ELSIF what = 'rebuild' AND fs.kind IN ('tfidf', 'attributes') THEN
        -- (vocabulary, dimension): NULL when no document has a term
        SELECT jsonb_object_agg(e.key, e.value) || '{"norm": "l2"}' INTO opts
          FROM jsonb_each(p) e
         WHERE e.key IN ('min_df', 'max_df', 'max_features', 'sublinear_tf', 'use_idf', 'smooth_idf');
        RETURN format($q$
            SELECT v.vocab, CASE WHEN v.vocab IS NOT NULL
                                 THEN (SELECT pg_catalog.count(*) FROM fashionrec.tfidf_terms(v.vocab))::pg_catalog.int4 END
              FROM (SELECT fashionrec.tfidf_fit(x.doc, %L::pg_catalog.jsonb) AS vocab
                      FROM (SELECT DISTINCT ON (%s) %s AS doc FROM %s s WHERE %s IS NOT NULL ORDER BY %s, %s) x
                     WHERE pg_catalog.length(x.doc) > 0) v$q$,
            coalesce(opts, '{"norm": "l2"}'), id, docexpr, src, id, id, h);
    ELSIF what = 'rebuild' AND fs.kind = 'embedding' AND p ? 'dimension' THEN
        RETURN format('SELECT NULL::fashionrec.tfidf_vocab, %s::pg_catalog.int4', (p ->> 'dimension')::integer);
    ELSIF what = 'rebuild' AND fs.kind = 'embedding' THEN
        -- the most common length; NULL when there is no embedding
        RETURN format($q$
            SELECT NULL::fashionrec.tfidf_vocab,
                   pg_catalog.mode() WITHIN GROUP (ORDER BY pg_catalog.cardinality(s.%I))
              FROM %s s WHERE %s IS NOT NULL AND pg_catalog.array_ndims(s.%I) = 1$q$,
            fs.columns[1], src, id, fs.columns[1]);
    ELSIF what = 'rebuild' THEN
        RETURN format('SELECT NULL::fashionrec.tfidf_vocab, %s::pg_catalog.int4',
                      ((p ->> 'bins')::integer ^ 3)::integer);
    ELSIF what = 'batch' THEN
        -- one row per new or changed item of $2, computed; materialised, so
        -- the document is computed once and not once per use; images are
        -- only read once and would fill the tuplestore.  The columns are
        -- those features_store.c reads (B_ITEM_ID ...).
        where_ := format('%s = ANY ($2) AND %s BETWEEN $2[1] AND $2[pg_catalog.cardinality($2)]', id, id);
        RETURN format($q$
            WITH src AS %s (
                SELECT DISTINCT ON (1) %s::pg_catalog.int8 AS item_id, %s AS h, %s
                  FROM %s s WHERE %s ORDER BY 1, 2
            )
            SELECT src.item_id, src.h, c.reason, c.detail,
                   CASE WHEN c.reason IS NULL THEN c.v END AS features,
                   CASE WHEN c.reason IS NULL THEN c.terms END AS terms,
                   CASE WHEN c.reason IS NULL THEN c.terms - fashionrec.nnz(c.v) END AS oov_terms,
                   f.item_id IS NULL OR (f.features IS NULL AND f.content_hash IS NULL) AS is_new,
                   f.features IS NOT NULL AS had_features
              FROM src
              LEFT JOIN fashionrec.item_feature f ON f.feature_set = $1 AND f.item_id = src.item_id
                   AND f.item_id BETWEEN $2[1] AND $2[pg_catalog.cardinality($2)]
             CROSS JOIN LATERAL (%s) c
             WHERE $4 OR f.item_id IS NULL OR f.content_hash IS DISTINCT FROM src.h
                   OR f.vocabulary_version <> $3$q$,
            CASE WHEN fs.kind = 'colors' THEN 'NOT MATERIALIZED' ELSE 'MATERIALIZED' END,
            id, h, inputs, src, where_, compute);
    ELSIF what = 'gone' THEN
        -- the items whose id left the source
        RETURN format($q$
            SELECT f.item_id FROM fashionrec.item_feature f
             WHERE f.feature_set = $1 AND f.content_hash IS NOT NULL
               AND NOT EXISTS (SELECT FROM %s s WHERE %s = f.item_id)$q$,
            src, id);
    END IF;
    RAISE EXCEPTION 'unknown statement "%"', what
          USING ERRCODE = '22023', HINT = 'The statements are changed, batch, gone, rebuild and staleness.';
END
$$;
COMMENT ON FUNCTION fashionrec._feature_sql(fashionrec.feature_set, text) IS
    'Internal: the SQL statements of a feature set (changed, batch, gone, rebuild, staleness), which read its source';

CREATE OR REPLACE FUNCTION fashionrec.refresh_features(name text, rebuild boolean DEFAULT false,
                                            batch_size integer DEFAULT 1000)
    RETURNS TABLE (feature_set text, added bigint, updated bigint, deleted bigint, unchanged bigint,
                   failed bigint, generation bigint, vocabulary_version integer,
                   oov_share double precision, set_oov_share double precision,
                   rebuild_advised boolean, seconds double precision)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fs          fashionrec.feature_set;
    rebuilt     fashionrec.feature_set;
    t0          timestamptz := clock_timestamp();
    vv          integer;
    force       boolean := false;
    ids         bigint[];
    n           integer;
    n_batches   integer;
    b           record;
    n_terms     bigint := 0;
    n_oov       bigint := 0;
    threshold   double precision;
BEGIN
    PERFORM fashionrec._require_primary('refresh_features()');
    IF rebuild IS NULL OR batch_size IS NULL THEN
        RAISE EXCEPTION 'rebuild and batch_size must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF batch_size < 1 OR batch_size > 1000000 THEN
        RAISE EXCEPTION 'batch_size must be between 1 and 1000000, got %', batch_size
              USING ERRCODE = '22023';
    END IF;
    fs := fashionrec._feature_set(name);
    -- the set's author may read the source (42501 otherwise), its columns are
    -- as created; then one refresh of a set at a time, and no realtime write
    -- while it runs (the row lock)
    fs := fashionrec._feature_refresh_begin(fs.id);
    vv := fs.vocabulary_version;
    feature_set := fs.name;
    added := 0; updated := 0; deleted := 0; failed := 0;

    IF rebuild OR fs.vocabulary_version = 0 THEN
        force := true;
        rebuilt := fashionrec._feature_rebuild(fs.id);
        IF rebuilt.id IS NULL AND fs.kind IN ('tfidf', 'attributes') THEN
            RAISE EXCEPTION 'feature set "%" has no document with a term to fit a vocabulary on', fs.name
                  USING ERRCODE = '22000',
                        HINT = format('Check the columns %s of %s.', array_to_string(fs.columns, ', '), fs.source);
        ELSIF rebuilt.id IS NULL THEN
            RAISE EXCEPTION 'feature set "%" has no embedding to take the dimension from', fs.name
                  USING ERRCODE = '22000',
                        HINT = 'Give the dimension in the parameters: {"dimension": 512}.';
        END IF;
        fs := rebuilt;
        vv := fs.vocabulary_version;
    END IF;

    EXECUTE fashionrec._feature_sql(fs, 'changed') INTO ids, unchanged
      USING fs.id, NULL::bigint[], vv, force;
    n := coalesce(array_length(ids, 1), 0);
    n_batches := (n + batch_size - 1) / batch_size;
    FOR i IN 1 .. n_batches LOOP
        SELECT * INTO b
          FROM fashionrec._feature_refresh_batch(fs.id, ids[(i - 1) * batch_size + 1 : i * batch_size], force);
        added := added + b.added;
        updated := updated + b.updated;
        failed := failed + b.failed;
        n_terms := n_terms + b.terms;
        n_oov := n_oov + b.oov_terms;
        RAISE NOTICE 'refresh_features "%": batch %/%: % added, % updated, % failed',
                     fs.name, i, n_batches, b.added, b.updated, b.failed;
    END LOOP;
    -- items that changed while we ran are not in ids: the next refresh has them
    unchanged := unchanged + (n - added - updated - failed);

    deleted := fashionrec._feature_refresh_gone(fs.id);

    IF fs.kind IN ('tfidf', 'attributes') THEN
        oov_share := n_oov::double precision / nullif(n_terms, 0);
        SELECT sum(f.oov_terms)::double precision / nullif(sum(f.terms), 0) INTO set_oov_share
          FROM fashionrec.item_feature f WHERE f.feature_set = fs.id AND f.features IS NOT NULL;
        IF force THEN
            fs.oov_baseline := set_oov_share;
        END IF;
        threshold := coalesce((fs.params ->> 'oov_threshold')::double precision, 0.05);
        rebuild_advised := set_oov_share - coalesce(fs.oov_baseline, 0) > threshold;
        IF rebuild_advised THEN
            RAISE NOTICE 'feature set "%": % %% of its terms are outside the vocabulary, % %% after its last rebuild; a rebuild is advised',
                         fs.name, round((100 * set_oov_share)::numeric, 1),
                         round((100 * coalesce(fs.oov_baseline, 0))::numeric, 1)
                  USING HINT = format('SELECT * FROM fashionrec.refresh_features(%L, rebuild => true);', fs.name);
        END IF;
    ELSE
        rebuild_advised := false;
    END IF;

    -- the time, and after a rebuild the out-of-vocabulary baseline (the same share)
    generation := fashionrec._feature_refresh_finish(fs.id, force);
    vocabulary_version := vv;
    seconds := extract(epoch FROM clock_timestamp() - t0);
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION fashionrec.refresh_features(text, boolean, integer) IS
    'Computes the features of new and changed items (content hash differs), tombstones deleted ones, in batches; rebuild => true refits the vocabulary and recomputes all. Reads the source only as its set''s author or a role whose rights the author holds';

-- The definition checked and normalised, with the caller's rights: the
-- caller must be able to read the id and feature columns (a refresh later
-- reads them as the author).  _feature_set_create() stores its result only.
CREATE FUNCTION fashionrec._feature_set_check(name text, kind text, source regclass, params jsonb,
                                              OUT id_column text, OUT columns text[], OUT normalized jsonb)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    allowed   text[];
    p         jsonb := '{}';
    k         text;
    rel       record;
    id_col    text;
    cols      text[];
    texts     text[];
    attrs     text[];
    c         text;
    t         oid;
    v         jsonb;
    cfg       text;
BEGIN
    IF name IS NULL OR kind IS NULL OR source IS NULL OR params IS NULL THEN
        RAISE EXCEPTION 'name, kind, source and params must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF name !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid feature set name "%"', name
              USING ERRCODE = '22023',
                    HINT = 'A name is 1 to 63 letters, digits, "_", ".", ":" or "-", starting with a letter or digit.';
    END IF;
    IF EXISTS (SELECT FROM fashionrec.feature_set s WHERE s.name = _feature_set_check.name) THEN
        RAISE EXCEPTION 'feature set "%" already exists', name
              USING ERRCODE = '42710',
                    HINT = 'Refresh it with refresh_features(), or drop it with drop_feature_set() first.';
    END IF;
    allowed := CASE kind
        WHEN 'tfidf' THEN ARRAY['id_column', 'text_columns', 'attribute_columns', 'weights', 'config',
                                'min_df', 'max_df', 'max_features', 'sublinear_tf', 'use_idf', 'smooth_idf',
                                'oov_threshold']
        WHEN 'attributes' THEN ARRAY['id_column', 'columns', 'weights', 'min_df', 'max_df', 'use_idf',
                                     'smooth_idf', 'oov_threshold']
        WHEN 'colors' THEN ARRAY['id_column', 'image_column', 'bins', 'ignore_background']
        WHEN 'embedding' THEN ARRAY['id_column', 'vector_column', 'dimension'] END;
    IF allowed IS NULL THEN
        RAISE EXCEPTION 'unknown feature set kind "%"', kind
              USING ERRCODE = '22023',
                    HINT = 'The kinds are tfidf, attributes, colors and embedding.';
    END IF;
    IF jsonb_typeof(params) <> 'object' THEN
        RAISE EXCEPTION 'params must be a JSON object' USING ERRCODE = '22023';
    END IF;
    FOR k IN SELECT jsonb_object_keys(params) LOOP
        IF NOT k = ANY (allowed) THEN
            RAISE EXCEPTION 'unknown parameter "%" for a % feature set', k, kind
                  USING ERRCODE = '22023',
                        HINT = format('The parameters are %s.', array_to_string(allowed, ', '));
        END IF;
    END LOOP;

    SELECT c2.relkind, n.nspname, c2.relname INTO rel
      FROM pg_class c2 JOIN pg_namespace n ON n.oid = c2.relnamespace WHERE c2.oid = source;
    IF rel.relkind NOT IN ('r', 'p', 'v', 'm', 'f') THEN
        RAISE EXCEPTION '"%" is not a table or view', source
              USING ERRCODE = '42809';
    END IF;
    IF NOT has_any_column_privilege(source, 'SELECT') THEN
        RAISE EXCEPTION 'permission denied for table %', source
              USING ERRCODE = '42501', HINT = 'The feature set reads the source with your rights.';
    END IF;

    -- the id column: given, or the table's one-column primary key
    id_col := params ->> 'id_column';
    IF id_col IS NULL THEN
        SELECT a.attname INTO id_col
          FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
         WHERE i.indrelid = source AND i.indisprimary AND i.indnatts = 1;
        IF id_col IS NULL THEN
            RAISE EXCEPTION '% has no one-column primary key to take the item id from', source
                  USING ERRCODE = '22023', HINT = 'Name it: {"id_column": "product_id"}.';
        END IF;
    END IF;
    PERFORM fashionrec._feature_check_columns(source, kind, id_col, '{}');
    p := jsonb_build_object('id_column', id_col);

    IF kind = 'tfidf' THEN
        texts := fashionrec._feature_names(params -> 'text_columns', 'text_columns');
        IF coalesce(cardinality(texts), 0) = 0 THEN
            RAISE EXCEPTION 'a tfidf feature set needs "text_columns"' USING ERRCODE = '22023',
                  HINT = 'Name the text columns: {"text_columns": ["title", "description"]}.';
        END IF;
        attrs := coalesce(fashionrec._feature_names(params -> 'attribute_columns', 'attribute_columns'), '{}');
        cols := texts || attrs;
        cfg := coalesce(params ->> 'config', 'english');
        BEGIN
            t := cfg::regconfig;
        EXCEPTION WHEN undefined_object OR invalid_name OR syntax_error THEN
            RAISE EXCEPTION 'text search configuration "%" does not exist', cfg
                  USING ERRCODE = '42704', HINT = 'SELECT cfgname FROM pg_ts_config lists them.';
        END;
        SELECT format('%I.%I', n.nspname, c3.cfgname) INTO cfg
          FROM pg_ts_config c3 JOIN pg_namespace n ON n.oid = c3.cfgnamespace WHERE c3.oid = t;
        p := p || jsonb_build_object('text_columns', to_jsonb(texts), 'attribute_columns', to_jsonb(attrs),
                                     'config', cfg);
    ELSIF kind = 'attributes' THEN
        attrs := fashionrec._feature_names(params -> 'columns', 'columns');
        IF coalesce(cardinality(attrs), 0) = 0 THEN
            RAISE EXCEPTION 'an attributes feature set needs "columns"' USING ERRCODE = '22023',
                  HINT = 'Name the attribute columns: {"columns": ["article_type", "colour"]}.';
        END IF;
        cols := attrs;
        p := p || jsonb_build_object('attribute_columns', to_jsonb(attrs));
    ELSIF kind = 'colors' THEN
        IF NOT params ? 'image_column' OR jsonb_typeof(params -> 'image_column') <> 'string' THEN
            RAISE EXCEPTION 'a colors feature set needs "image_column"' USING ERRCODE = '22023',
                  HINT = 'Name the bytea column of the images: {"image_column": "image"}.';
        END IF;
        cols := ARRAY[params ->> 'image_column'];
        p := p || jsonb_build_object('bins', 8, 'ignore_background', true);
    ELSE
        IF NOT params ? 'vector_column' OR jsonb_typeof(params -> 'vector_column') <> 'string' THEN
            RAISE EXCEPTION 'an embedding feature set needs "vector_column"' USING ERRCODE = '22023',
                  HINT = 'Name the real[] column of the embeddings: {"vector_column": "embedding"}.';
        END IF;
        cols := ARRAY[params ->> 'vector_column'];
    END IF;
    IF (SELECT count(DISTINCT x) FROM unnest(cols) x) <> cardinality(cols) THEN
        RAISE EXCEPTION 'a column is named twice in %', array_to_string(cols, ', ') USING ERRCODE = '22023';
    END IF;

    -- the types the kind reads, nothing that a cast would have to convert
    PERFORM fashionrec._feature_check_columns(source, kind, id_col, cols);
    -- column privileges: the set would publish what its author cannot read
    FOREACH c IN ARRAY id_col || cols LOOP
        IF NOT has_column_privilege(source, c, 'SELECT') THEN
            RAISE EXCEPTION 'permission denied for column "%" of %', c, source
                  USING ERRCODE = '42501',
                        HINT = 'A feature set reads its columns with the rights of the role that creates it; that role needs SELECT on them.';
        END IF;
    END LOOP;

    -- weights: attribute column -> whole number 0..256 (a term frequency)
    IF params ? 'weights' THEN
        v := params -> 'weights';
        IF jsonb_typeof(v) = 'string' THEN
            v := (v #>> '{}')::jsonb;
        END IF;
        IF jsonb_typeof(v) <> 'object' THEN
            RAISE EXCEPTION 'parameter "weights" must be a JSON object of attribute column weights'
                  USING ERRCODE = '22023', HINT = 'Write "weights": {"article_type": 3, "colour": 2}.';
        END IF;
        FOR k IN SELECT jsonb_object_keys(v) LOOP
            IF NOT k = ANY (attrs) THEN
                RAISE EXCEPTION 'parameter "weights" names "%", which is not an attribute column', k
                      USING ERRCODE = '22023',
                            DETAIL = format('The attribute columns are %s.', coalesce(nullif(array_to_string(attrs, ', '), ''), 'none'));
            END IF;
            IF jsonb_typeof(v -> k) <> 'number' OR (v ->> k)::numeric NOT BETWEEN 0 AND 256
               OR (v ->> k)::numeric <> trunc((v ->> k)::numeric) THEN
                RAISE EXCEPTION 'the weight of "%" must be a whole number between 0 and 256, got %', k, v -> k
                      USING ERRCODE = '22023',
                            HINT = 'A weight is the term frequency of the column''s term; scale fractional weights up.';
            END IF;
        END LOOP;
        p := p || jsonb_build_object('weights', v);
    END IF;

    FOR k IN SELECT unnest(ARRAY['min_df', 'max_df', 'max_features', 'sublinear_tf', 'use_idf', 'smooth_idf']) LOOP
        IF params ? k THEN
            p := p || jsonb_build_object(k, params -> k);
        END IF;
    END LOOP;
    IF params ? 'oov_threshold' THEN
        IF jsonb_typeof(params -> 'oov_threshold') <> 'number'
           OR (params ->> 'oov_threshold')::numeric NOT BETWEEN 0 AND 1 THEN
            RAISE EXCEPTION 'parameter "oov_threshold" must be a number between 0 and 1' USING ERRCODE = '22023';
        END IF;
        p := p || jsonb_build_object('oov_threshold', params -> 'oov_threshold');
    END IF;
    IF params ? 'bins' THEN
        IF jsonb_typeof(params -> 'bins') <> 'number' OR (params ->> 'bins')::numeric NOT IN (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16) THEN
            RAISE EXCEPTION 'parameter "bins" must be a whole number between 2 and 16' USING ERRCODE = '22023';
        END IF;
        p := p || jsonb_build_object('bins', params -> 'bins');
    END IF;
    IF params ? 'ignore_background' THEN
        IF jsonb_typeof(params -> 'ignore_background') <> 'boolean' THEN
            RAISE EXCEPTION 'parameter "ignore_background" must be true or false' USING ERRCODE = '22023';
        END IF;
        p := p || jsonb_build_object('ignore_background', params -> 'ignore_background');
    END IF;
    IF params ? 'dimension' THEN
        IF jsonb_typeof(params -> 'dimension') <> 'number' OR (params ->> 'dimension')::numeric NOT BETWEEN 1 AND 1000000
           OR (params ->> 'dimension')::numeric <> trunc((params ->> 'dimension')::numeric) THEN
            RAISE EXCEPTION 'parameter "dimension" must be a whole number between 1 and 1000000' USING ERRCODE = '22023';
        END IF;
        p := p || jsonb_build_object('dimension', params -> 'dimension');
    END IF;

    id_column := id_col;
    columns := cols;
    normalized := p;
END
$$;
COMMENT ON FUNCTION fashionrec._feature_set_check(text, text, regclass, jsonb) IS
    'Internal: checks a feature set''s definition with the caller''s rights; returns its id column, columns and normalised params';

CREATE OR REPLACE FUNCTION fashionrec.create_feature_set(name text, kind text, source regclass, params jsonb DEFAULT '{}')
    RETURNS TABLE (feature_set text, added bigint, updated bigint, deleted bigint, unchanged bigint,
                   failed bigint, generation bigint, vocabulary_version integer,
                   oov_share double precision, set_oov_share double precision,
                   rebuild_advised boolean, seconds double precision)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM fashionrec._require_primary('create_feature_set()');
    -- checked with the caller's rights (the writer checks again: it may be
    -- called directly), recorded as authored by the caller
    PERFORM fashionrec._feature_set_check(name, kind, source, params);
    PERFORM fashionrec._feature_set_create(name, kind, source, params);
    RETURN QUERY SELECT * FROM fashionrec.refresh_features(name, rebuild => true);
END
$$;
COMMENT ON FUNCTION fashionrec.create_feature_set(text, text, regclass, jsonb) IS
    'Creates a feature set (tfidf, attributes, colors, embedding) over a product table or view and builds it; the caller is its author';

CREATE OR REPLACE FUNCTION fashionrec.drop_feature_set(name text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fs fashionrec.feature_set;
BEGIN
    PERFORM fashionrec._require_primary('drop_feature_set()');
    fs := fashionrec._feature_set(name);
    -- the trigger as the caller (who must own the table), then the rows
    PERFORM fashionrec.disable_realtime(name);
    PERFORM fashionrec._feature_set_drop(fs.id);
END
$$;
COMMENT ON FUNCTION fashionrec.drop_feature_set(text) IS
    'Drops a feature set, its items, errors and queue, and its realtime trigger';

CREATE OR REPLACE FUNCTION fashionrec._feature_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'fashionrec_feature_trigger'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION fashionrec._feature_trigger() IS
    'Internal: the realtime trigger of a feature set; computes (or, for colors, queues) the features of the written row, as its writer';

CREATE FUNCTION fashionrec._feature_set_realtime(feature_set integer) RETURNS boolean
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE fashionrec.feature_set s
       SET realtime = EXISTS (SELECT FROM pg_catalog.pg_trigger t
                               WHERE t.tgrelid = s.source
                                 AND t.tgname = 'fashionrec_features_' OPERATOR(pg_catalog.||) s.id
                                 AND t.tgfoid = 'fashionrec._feature_trigger()'::pg_catalog.regprocedure)
     WHERE s.id = _feature_set_realtime.feature_set
    RETURNING s.realtime
$$;
COMMENT ON FUNCTION fashionrec._feature_set_realtime(integer) IS
    'Internal: records whether the set''s trigger is on its source; used by enable_realtime() and disable_realtime()';

-- Invoker: the trigger is created and dropped with the caller's rights on the
-- table (TRIGGER privilege or ownership); only the flag is stored as the owner.
CREATE OR REPLACE FUNCTION fashionrec.enable_realtime(name text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fs   fashionrec.feature_set;
    kind "char";
BEGIN
    PERFORM fashionrec._require_primary('enable_realtime()');
    fs := fashionrec._feature_set(name);
    -- the source exists and has the set's columns; the trigger checks them again on every row
    PERFORM fashionrec._feature_check_columns(fs.source, fs.kind, fs.id_column, fs.columns, fs.name);
    SELECT c.relkind INTO kind FROM pg_class c WHERE c.oid = fs.source;
    IF kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'the source % of feature set "%" is not a table', fs.source, fs.name
              USING ERRCODE = '42809',
                    HINT = 'A trigger needs a table; refresh a view''s feature set with refresh_features().';
    END IF;
    IF EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = fs.source AND t.tgname = 'fashionrec_features_' || fs.id) THEN
        EXECUTE format('DROP TRIGGER %I ON %s', 'fashionrec_features_' || fs.id, fs.source);
    END IF;
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR DELETE OR UPDATE OF %s ON %s
                    FOR EACH ROW EXECUTE FUNCTION fashionrec._feature_trigger(%L)',
                   'fashionrec_features_' || fs.id,
                   (SELECT string_agg(format('%I', c), ', ') FROM unnest(fs.id_column || fs.columns) c),
                   fs.source, fs.id::text);
    PERFORM fashionrec._feature_set_realtime(fs.id);
END
$$;
COMMENT ON FUNCTION fashionrec.enable_realtime(text) IS
    'Installs a trigger on the source table: written products get their features (colors: a queue entry) in the same transaction';

CREATE OR REPLACE FUNCTION fashionrec.disable_realtime(name text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fs  fashionrec.feature_set;
BEGIN
    PERFORM fashionrec._require_primary('disable_realtime()');
    fs := fashionrec._feature_set(name);
    IF EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = fs.source AND t.tgname = 'fashionrec_features_' || fs.id) THEN
        EXECUTE format('DROP TRIGGER %I ON %s', 'fashionrec_features_' || fs.id, fs.source);
    END IF;
    IF fs.realtime THEN
        PERFORM fashionrec._feature_set_realtime(fs.id);
    END IF;
END
$$;
COMMENT ON FUNCTION fashionrec.disable_realtime(text) IS 'Drops the realtime trigger of a feature set';

CREATE OR REPLACE FUNCTION fashionrec.feature_staleness(name text,
                                             OUT new_items bigint, OUT changed_items bigint,
                                             OUT deleted_items bigint, OUT queued_items bigint)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fs fashionrec.feature_set := fashionrec._feature_set(name);
BEGIN
    -- the source is read only as its set's author or a role whose rights the author holds
    PERFORM fashionrec._check_author(fs.created_by, format('feature set "%s"', fs.name));
    PERFORM fashionrec._feature_check_columns(fs.source, fs.kind, fs.id_column, fs.columns, fs.name);
    EXECUTE fashionrec._feature_sql(fs, 'staleness') INTO new_items, changed_items, deleted_items
      USING fs.id, NULL::bigint[], fs.vocabulary_version;
    SELECT count(*) INTO queued_items FROM fashionrec.feature_queue q WHERE q.feature_set = fs.id;
END
$$;
COMMENT ON FUNCTION fashionrec.feature_staleness(text) IS
    'What refresh_features() would do: new, changed and deleted items of the source (hashes every source row: a scan), and the queued items';

CREATE VIEW fashionrec.feature_sets AS
SELECT s.name,
       s.kind,
       coalesce((SELECT pg_catalog.format('%I.%I', n.nspname, r.relname)
                   FROM pg_catalog.pg_class r JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace
                  WHERE r.oid = s.source),
                s.source::pg_catalog.oid::pg_catalog.text) AS source,
       s.dimension,
       s.vocabulary_version,
       s.generation,
       coalesce(c.items, 0) AS items,
       coalesce(c.tombstones, 0) AS tombstones,
       (SELECT count(*) FROM fashionrec.feature_error e WHERE e.feature_set = s.id) AS errors,
       (SELECT count(*) FROM fashionrec.feature_queue q WHERE q.feature_set = s.id) AS queued,
       c.oov_share,
       s.oov_baseline,
       s.realtime,
       s.created_at,
       s.refreshed_at,
       s.rebuilt_at
  FROM fashionrec.feature_set s
  LEFT JOIN LATERAL (
        SELECT count(*) FILTER (WHERE f.features IS NOT NULL) AS items,
               count(*) FILTER (WHERE f.features IS NULL) AS tombstones,
               sum(f.oov_terms)::double precision / nullif(sum(f.terms), 0) AS oov_share
          FROM fashionrec.item_feature f
         WHERE f.feature_set = s.id) c ON true;
COMMENT ON VIEW fashionrec.feature_sets IS
    'Feature sets with their source (schema-qualified; its OID if it was dropped), items, tombstones (deleted or failing items), errors, queued items, out-of-vocabulary share and times; feature_staleness(name) compares with the source';

REVOKE ALL ON fashionrec.feature_sets FROM PUBLIC;
GRANT SELECT ON fashionrec.feature_sets TO fashionrec_reader;

-- ---- src/sql/98_costs.sql (as it is: it sets every listed function's cost and rows)
-- Planner costs, in one place.  A C function costs 1 by default (an integer
-- addition) and a PL/pgSQL one 100; the planner then happily calls a
-- serving function once per row of a join it could have filtered first, or
-- evaluates an image decode before a cheap WHERE clause.  The figures are in
-- units of cpu_operator_cost (0.0025 ms of planner time by default, about
-- 0.5 us of real time here): serving about 1-2 ms per call at 100k items
-- (docs/benchmarks.md), an image decode 1-10 ms, training seconds to hours.
-- ROWS is what a call returns for its default arguments.
--
-- A function missing here (renamed or dropped) fails the install, so the
-- table cannot drift from the functions.
DO $costs$
DECLARE
    c record;
    f regprocedure;
    n integer;
BEGIN
    FOR c IN
        SELECT * FROM (VALUES
            -- serving: one top-k over the catalogue (ROWS: the default k)
            ('recommend', 2000, 10), ('similar_items', 2000, 10), ('recommend_for_items', 2000, 10),
            ('recommend_experiment', 2500, 10), ('explain', 4000, 30), ('next_items', 1000, 10),
            ('predict', 200, NULL), ('user_embedding', 200, NULL), ('item_embedding', 200, NULL),
            ('item_features', 200, NULL),
            -- batch scoring: every user of the model
            ('recommend_all', 20000000, 100000),
            -- training, evaluation and feature refreshes read whole sources
            ('train', 10000000, NULL), ('_train_artifacts', 10000000, NULL), ('evaluate', 10000000, 1),
            ('cross_validate', 50000000, 5), ('tune', 50000000, 10), ('refresh_user', 20000, NULL),
            ('validate', 1000000, 8), ('refresh_features', 10000000, 1), ('create_feature_set', 10000, NULL),
            ('drift', 1000000, 10), ('evaluate_segments', 10000000, 10), ('split', 1000000, 100000),
            ('split_into', 1000000, NULL), ('generate_shop', 10000000, 4),
            ('features', 100000, 10000), ('feature_staleness', 1000000, 10), ('feature_errors', 1000, 100),
            -- images: decode and k-means per call
            ('dominant_colors', 20000, 5), ('color_histogram', 10000, NULL), ('image_info', 500, NULL),
            ('encode_png', 2000, NULL),
            -- text: a tsvector through a vocabulary
            ('tfidf', 50, NULL), ('attribute_tsvector', 50, NULL),
            -- A/B bookkeeping: a few catalog rows
            ('assign', 200, NULL), ('track', 200, NULL), ('experiment_results', 100000, 4),
            ('snapshot_stats', 100000, NULL)
        ) AS t(fn, cost, nrows)
    LOOP
        n := 0;
        FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
                  WHERE p.pronamespace = 'fashionrec'::regnamespace AND p.proname = c.fn AND p.prokind = 'f'
        LOOP
            n := n + 1;
            EXECUTE pg_catalog.format('ALTER FUNCTION %s COST %s', f, c.cost);
            IF c.nrows IS NOT NULL AND (SELECT p.proretset FROM pg_catalog.pg_proc p WHERE p.oid = f) THEN
                EXECUTE pg_catalog.format('ALTER FUNCTION %s ROWS %s', f, c.nrows);
            END IF;
        END LOOP;
        IF n = 0 THEN
            RAISE EXCEPTION '98_costs.sql names function "%", which does not exist', c.fn;
        END IF;
    END LOOP;
END
$costs$;

-- ---- src/sql/99_privileges.sql
-- No role writes the extension's tables directly, trainers included: every
-- write goes through an API function, which either runs no SQL of its
-- caller's and is SECURITY DEFINER, or reads its caller's source as the
-- caller and stores through a narrow writer (src/catalog.c).
-- 0.1 granted trainers DML on every table and sequence it created: revoked
-- on those (the extension's members), not on anything added to the schema since.
DO $revoke$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.oid::regclass AS rel, c.relkind
          FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_depend d
            ON d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
         WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass
           AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname = 'fashionrec')
    LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON %s %s FROM fashionrec_trainer',
                                  CASE r.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, r.rel);
    END LOOP;
END
$revoke$;
-- raw A/B events, which readers may not read: trainers read them still
GRANT SELECT ON fashionrec.event TO fashionrec_trainer;

-- the new table, as 99_privileges.sql leaves every table
REVOKE ALL ON fashionrec.model_queue FROM PUBLIC;
GRANT SELECT ON fashionrec.model_queue TO fashionrec_reader;

-- the new writers, and the remade recommend_experiment(): trainers only
-- (the functions that are SECURITY DEFINER now -- activate(), rollback(),
-- archive(), drop_model(), snapshot_stats(), _snapshot_online(), the A/B
-- lifecycle -- were trainers' only in 0.1 already)
REVOKE EXECUTE ON FUNCTION fashionrec._queue(text, text, boolean),
                           fashionrec._model_begin(text, text, jsonb, text),
                           fashionrec._model_finish(bigint, jsonb, double precision),
                           fashionrec._model_restate(bigint, text, jsonb, jsonb),
                           fashionrec._store_user_history(bigint, bigint, bigint[], real[]),
                           fashionrec._record_evaluation(bigint, integer, text, jsonb),
                           fashionrec._mark_trial(text, integer),
                           fashionrec._log_retrain(jsonb),
                           fashionrec._feature_set_create(text, text, regclass, jsonb),
                           fashionrec._feature_refresh_begin(integer),
                           fashionrec._feature_rebuild(integer),
                           fashionrec._feature_refresh_batch(integer, bigint[], boolean),
                           fashionrec._feature_refresh_gone(integer),
                           fashionrec._feature_refresh_finish(integer, boolean),
                           fashionrec._feature_set_realtime(integer),
                           fashionrec._feature_set_drop(integer),
                           fashionrec._model_cache_drop(bigint),
                           fashionrec.model_cache_drop(text, integer),
                           fashionrec.recommend_experiment(text, bigint, integer, boolean, bigint[], bigint[], text, boolean)
   FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fashionrec._queue(text, text, boolean),
                          fashionrec._model_begin(text, text, jsonb, text),
                          fashionrec._model_finish(bigint, jsonb, double precision),
                          fashionrec._model_restate(bigint, text, jsonb, jsonb),
                          fashionrec._store_user_history(bigint, bigint, bigint[], real[]),
                          fashionrec._record_evaluation(bigint, integer, text, jsonb),
                          fashionrec._mark_trial(text, integer),
                          fashionrec._log_retrain(jsonb),
                          fashionrec._feature_set_create(text, text, regclass, jsonb),
                          fashionrec._feature_refresh_begin(integer),
                          fashionrec._feature_rebuild(integer),
                          fashionrec._feature_refresh_batch(integer, bigint[], boolean),
                          fashionrec._feature_refresh_gone(integer),
                          fashionrec._feature_refresh_finish(integer, boolean),
                          fashionrec._feature_set_realtime(integer),
                          fashionrec._feature_set_drop(integer),
                          fashionrec._model_cache_drop(bigint),
                          fashionrec.model_cache_drop(text, integer),
                          fashionrec.recommend_experiment(text, bigint, integer, boolean, bigint[], bigint[], text, boolean)
   TO fashionrec_trainer;
-- the application serves an experiment through the new recommend_experiment()
GRANT EXECUTE ON FUNCTION fashionrec.recommend_experiment(text, bigint, integer, boolean, bigint[], bigint[], text, boolean)
   TO fashionrec_app;

-- serving statistics, trainings in progress and the model store name every
-- model: readers only
REVOKE EXECUTE ON FUNCTION fashionrec._serving_stats(), fashionrec._training_progress(),
                           fashionrec._model_cache() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fashionrec._serving_stats(), fashionrec._training_progress(),
                          fashionrec._model_cache() TO fashionrec_reader;

-- The install fails rather than leave a SECURITY DEFINER function callable
-- by PUBLIC.
DO $check$
DECLARE
    v_open text;
BEGIN
    SELECT pg_catalog.string_agg(p.oid::regprocedure::text, ', ') INTO v_open
      FROM pg_catalog.pg_proc p
     WHERE p.pronamespace = 'fashionrec'::regnamespace AND p.prosecdef
       AND (p.proacl IS NULL OR EXISTS (SELECT FROM pg_catalog.aclexplode(p.proacl) a
                                         WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'));
    IF v_open IS NOT NULL THEN
        RAISE EXCEPTION 'SECURITY DEFINER functions executable by PUBLIC: %', v_open;
    END IF;
END
$check$;
