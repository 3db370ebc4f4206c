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

-- ---- src/sql/70_monitoring.sql
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
                   s.calls, s.rows, s.errors, s.cache_loads, s.total_ms, s.histogram,
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

-- the new writers: trainers only (activate(), rollback(), archive(),
-- drop_model(), snapshot_stats() and _snapshot_online(), SECURITY DEFINER
-- now, were trainers' only in 0.1 already)
REVOKE EXECUTE ON FUNCTION fashionrec._queue(text, text, boolean),
                           fashionrec._model_begin(text, text, jsonb, text),
                           fashionrec._model_finish(bigint, jsonb, double precision),
                           fashionrec._model_restate(bigint, text, jsonb, jsonb),
                           fashionrec._store_user_history(bigint, bigint, bigint[], real[]),
                           fashionrec._record_evaluation(bigint, integer, text, jsonb),
                           fashionrec._mark_trial(text, integer),
                           fashionrec._log_retrain(jsonb)
   FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fashionrec._queue(text, text, boolean),
                          fashionrec._model_begin(text, text, jsonb, text),
                          fashionrec._model_finish(bigint, jsonb, double precision),
                          fashionrec._model_restate(bigint, text, jsonb, jsonb),
                          fashionrec._store_user_history(bigint, bigint, bigint[], real[]),
                          fashionrec._record_evaluation(bigint, integer, text, jsonb),
                          fashionrec._mark_trial(text, integer),
                          fashionrec._log_retrain(jsonb)
   TO fashionrec_trainer;

-- serving statistics and trainings in progress name every model: readers only
REVOKE EXECUTE ON FUNCTION fashionrec._serving_stats(), fashionrec._training_progress() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fashionrec._serving_stats(), fashionrec._training_progress() TO fashionrec_reader;

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
