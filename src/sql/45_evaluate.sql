-- Evaluation of trained models against held-out interactions, k-fold
-- cross-validation and hyper-parameter search.  Orchestration in PL/pgSQL;
-- metrics are the C functions of 30_metrics.sql, lists come from recommend().

CREATE FUNCTION fashionrec.source_query(source text, params jsonb DEFAULT '{}')
    RETURNS text
    AS 'MODULE_PATHNAME', 'fashionrec_source_query'
    LANGUAGE C STABLE;
COMMENT ON FUNCTION fashionrec.source_query(text, jsonb) IS
    'The query train() reads from a source, with columns (user_id bigint, item_id bigint, weight float8, event_epoch float8)';

CREATE FUNCTION fashionrec.algorithms()
    RETURNS TABLE (name text, summary text, predicts_ratings boolean, parameters text[])
    AS 'MODULE_PATHNAME', 'fashionrec_algorithms'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.algorithms() IS
    'The algorithms train() knows, with their own parameters (source parameters such as user_column apply to all)';

CREATE TABLE fashionrec.evaluation (
    id           bigserial PRIMARY KEY,
    model_id     bigint NOT NULL REFERENCES fashionrec.model (id) ON DELETE CASCADE,
    evaluated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    k            integer NOT NULL,
    test_source  text NOT NULL,
    metrics      jsonb NOT NULL
);
CREATE INDEX evaluation_by_model ON fashionrec.evaluation (model_id, evaluated_at);
COMMENT ON TABLE fashionrec.evaluation IS
    'History of evaluate() results per model version';
SELECT pg_catalog.pg_extension_config_dump('fashionrec.evaluation', '');
SELECT pg_catalog.pg_extension_config_dump('fashionrec.evaluation_id_seq', '');

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

CREATE FUNCTION fashionrec.evaluate(name text, test_source text, k integer DEFAULT 10,
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

-- the latest evaluation per model version, next to the registry
CREATE VIEW fashionrec.model_metrics AS
SELECT m.name, m.version, m.algorithm, m.active, e.k, e.evaluated_at, e.test_source,
       (e.metrics ->> 'ndcg')::float8      AS ndcg,
       (e.metrics ->> 'precision')::float8 AS precision,
       (e.metrics ->> 'recall')::float8    AS recall,
       (e.metrics ->> 'map')::float8       AS map,
       (e.metrics ->> 'rmse')::float8      AS rmse,
       e.metrics
  FROM fashionrec.model m
  JOIN LATERAL (SELECT * FROM fashionrec.evaluation ev
                 WHERE ev.model_id = m.id ORDER BY ev.evaluated_at DESC, ev.id DESC LIMIT 1) e ON true
 ORDER BY m.name, m.version;
COMMENT ON VIEW fashionrec.model_metrics IS
    'Latest evaluation of each evaluated model version';

CREATE FUNCTION fashionrec._column_params(params jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT COALESCE(jsonb_object_agg(p.key, p.value), '{}')
      FROM jsonb_each(COALESCE(params, '{}')) p
     WHERE p.key IN ('user_column', 'item_column', 'weight_column', 'time_column')
$$;
COMMENT ON FUNCTION fashionrec._column_params(jsonb) IS
    'Internal: the source-column keys of a params object (user_column, item_column, weight_column, time_column)';

-- The metric tune() and retrain() rank by, from a row of evaluate().
CREATE FUNCTION fashionrec._metric_of(e record, metric text) RETURNS double precision
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN CASE metric
             WHEN 'ndcg' THEN e.ndcg_at_k WHEN 'precision' THEN e.precision_at_k
             WHEN 'recall' THEN e.recall_at_k WHEN 'map' THEN e.map_at_k
             WHEN 'hit_rate' THEN e.hit_rate WHEN 'rmse' THEN e.rmse ELSE e.mae END;
END
$$;
COMMENT ON FUNCTION fashionrec._metric_of(record, text) IS
    'Internal: one metric (ndcg, precision, recall, map, hit_rate, rmse, mae) of an evaluate() row';

-- One trial of a search or a fold: a version of name trained on the query
-- train_query (user_id, item_id, weight, event_time) without ever seeing the
-- pairs of test_pairs (a hybrid's components are retrained without them,
-- fashionrec._hybrid_train), marked a trial.  Returns {"version",
-- "trained", "fitted", "cache"} as _hybrid_train does.
CREATE FUNCTION fashionrec._train_trial(name text, algorithm text, train_query text, source text,
                                        test_pairs text, params jsonb, split_method text,
                                        cache jsonb DEFAULT '{}')
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_version integer;
BEGIN
    IF algorithm = 'hybrid' THEN
        RETURN fashionrec._hybrid_train(name, params, NULL, train_query, source, test_pairs,
                                        split_method => split_method, cache => cache);
    END IF;
    v_version := fashionrec.train(name, algorithm, train_query, params, activate => false);
    PERFORM fashionrec._mark_trial(name, v_version);
    RETURN pg_catalog.jsonb_build_object('version', v_version, 'trained', '[]'::jsonb,
                                         'fitted', '[]'::jsonb, 'cache', cache);
END
$$;
COMMENT ON FUNCTION fashionrec._train_trial(text, text, text, text, text, jsonb, text, jsonb) IS
    'Internal: a trial version trained on part of a source (a hybrid over components retrained without the held-out pairs)';

-- Train on all folds but one and evaluate on that one, for each fold.
-- fold_method 'hash': folds are assigned per interaction by a seeded hash of
-- (user, item), so they do not depend on row order.  'temporal' (rolling
-- origin): the events are cut at the quantiles 1/(folds+1), ...,
-- folds/(folds+1) of their times; fold f trains on everything before cut f
-- and tests on the pairs of the next window new to a user who has history
-- before the cut.  A fold without test users is returned as skipped with the
-- reason.  A hybrid's components are retrained per fold without its test
-- pairs (temporal: without any pair first seen after the cut).  The trial
-- versions are dropped at the end unless keep_trials.
CREATE FUNCTION fashionrec.cross_validate(name text, algorithm text, source text,
                                          folds integer DEFAULT 5,
                                          params jsonb DEFAULT '{}',
                                          k integer DEFAULT 10,
                                          seed bigint DEFAULT 42,
                                          fold_method text DEFAULT 'hash',
                                          keep_trials boolean DEFAULT false)
    RETURNS TABLE (fold integer, model_version integer, users bigint,
                   precision_at_k double precision, recall_at_k double precision,
                   ndcg_at_k double precision, map_at_k double precision,
                   rmse double precision, mae double precision,
                   status text, reason text)
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_query  text;
    v_fold   text;
    v_train  text;
    v_test   text;
    v_unseen text;
    v_cuts   float8[];
    v_nulls  bigint;
    v_users  bigint;
    v_trial  jsonb;
    v_drop   jsonb := '[]';
    v_params jsonb := COALESCE(cross_validate.params, '{}');
    v_train_params jsonb;
    e        record;
BEGIN
    IF cross_validate.folds IS NULL OR cross_validate.folds < 2 OR cross_validate.folds > 100 THEN
        RAISE EXCEPTION 'folds must be between 2 and 100, got %', cross_validate.folds
              USING ERRCODE = '22023';
    END IF;
    IF cross_validate.fold_method IS NULL OR cross_validate.fold_method NOT IN ('hash', 'temporal') THEN
        RAISE EXCEPTION 'unknown fold method "%"', cross_validate.fold_method
              USING ERRCODE = '22023', HINT = 'Use ''hash'' or ''temporal'' (rolling origin).';
    END IF;
    IF cross_validate.keep_trials IS NULL THEN
        RAISE EXCEPTION 'keep_trials must not be NULL' USING ERRCODE = '22004';
    END IF;
    -- column naming applies to the source; the folds are normalised already
    v_query := fashionrec.source_query(cross_validate.source, fashionrec._column_params(v_params));
    v_train_params := v_params - ARRAY['user_column', 'item_column', 'weight_column', 'time_column'];
    IF cross_validate.fold_method = 'temporal' THEN
        EXECUTE pg_catalog.format(
            'SELECT pg_catalog.count(*) FILTER (WHERE s.event_epoch IS NULL),
                    pg_catalog.percentile_disc(ARRAY(SELECT g::float8 / %s FROM pg_catalog.generate_series(1, %s) g))
                        WITHIN GROUP (ORDER BY s.event_epoch)
               FROM (%s) s', cross_validate.folds + 1, cross_validate.folds, v_query)
          INTO v_nulls, v_cuts;
        IF v_nulls > 0 OR v_cuts[1] IS NULL THEN
            RAISE EXCEPTION 'temporal folds need a time in every row'
                  USING ERRCODE = '22023',
                        HINT = 'Return (user, item, weight, time) from the source, name it with params {"time_column": "..."}, or use fold_method ''hash''.';
        END IF;
        v_cuts := v_cuts || 'Infinity'::float8;
    ELSE
        v_fold := pg_catalog.format(
            '(pg_catalog.hashtextextended(s.user_id::text || '':'' || s.item_id::text, %s) & 2147483647) %% %s',
            cross_validate.seed, cross_validate.folds);
    END IF;
    FOR f IN 0 .. cross_validate.folds - 1 LOOP
        fold := f + 1;
        model_version := NULL; users := NULL; precision_at_k := NULL; recall_at_k := NULL;
        ndcg_at_k := NULL; map_at_k := NULL; rmse := NULL; mae := NULL;
        -- the fold's test pairs, materialised: evaluate() and the count read
        -- them, and the set-based form keeps the planner to hash joins
        IF cross_validate.fold_method = 'temporal' THEN
            v_train := pg_catalog.format('SELECT s.user_id, s.item_id, s.weight, pg_catalog.to_timestamp(s.event_epoch) FROM (%s) s WHERE s.event_epoch < %L::float8',
                                         v_query, v_cuts[f + 1]);
            PERFORM fashionrec._temp_table('fr_cv_test', pg_catalog.format(
                'WITH src AS MATERIALIZED (%1$s),
                      earlier AS MATERIALIZED (SELECT DISTINCT e.user_id, e.item_id FROM src e
                                                WHERE e.event_epoch < %2$L::float8)
                 SELECT s.user_id, s.item_id, s.weight FROM src s
                  WHERE s.event_epoch >= %2$L::float8 AND s.event_epoch < %3$L::float8
                    AND s.user_id IN (SELECT e.user_id FROM earlier e)
                    AND NOT EXISTS (SELECT FROM earlier e WHERE e.user_id = s.user_id AND e.item_id = s.item_id)',
                v_query, v_cuts[f + 1], v_cuts[f + 2]));
            v_unseen := pg_catalog.format(
                'SELECT s.user_id, s.item_id FROM (%1$s) s WHERE s.event_epoch >= %2$L::float8
                 EXCEPT SELECT s.user_id, s.item_id FROM (%1$s) s WHERE s.event_epoch < %2$L::float8',
                v_query, v_cuts[f + 1]);
        ELSE
            v_train := pg_catalog.format('SELECT s.user_id, s.item_id, s.weight, pg_catalog.to_timestamp(s.event_epoch) FROM (%s) s WHERE %s <> %s',
                                         v_query, v_fold, f);
            PERFORM fashionrec._temp_table('fr_cv_test', pg_catalog.format(
                'SELECT s.user_id, s.item_id, s.weight FROM (%s) s WHERE %s = %s', v_query, v_fold, f));
            v_unseen := 'SELECT t.user_id, t.item_id FROM pg_temp.fr_cv_test t';
        END IF;
        v_test := 'SELECT t.user_id, t.item_id, t.weight FROM pg_temp.fr_cv_test t';
        SELECT pg_catalog.count(DISTINCT t.user_id) INTO v_users FROM pg_temp.fr_cv_test t;
        IF v_users = 0 THEN
            users := 0;
            status := 'skipped';
            reason := CASE WHEN cross_validate.fold_method = 'temporal'
                           THEN 'no test users: no pair of this window is new to a user with history before it'
                           ELSE 'no test users: no interaction hashes to this fold' END;
            RETURN NEXT;
            CONTINUE;
        END IF;
        RAISE NOTICE 'cross-validation fold % of %', f + 1, cross_validate.folds;
        v_trial := fashionrec._train_trial(cross_validate.name, cross_validate.algorithm, v_train,
                                           cross_validate.source, v_unseen, v_train_params,
                                           CASE WHEN cross_validate.fold_method = 'temporal' THEN 'temporal' ELSE 'random' END);
        model_version := (v_trial ->> 'version')::integer;
        v_drop := v_drop || pg_catalog.jsonb_build_array(cross_validate.name || '@' || model_version)
                  || (v_trial -> 'trained') || (v_trial -> 'fitted');
        SELECT * INTO e FROM fashionrec.evaluate(cross_validate.name, v_test, cross_validate.k,
                                                 version => model_version);
        users := e.users;
        precision_at_k := e.precision_at_k;
        recall_at_k := e.recall_at_k;
        ndcg_at_k := e.ndcg_at_k;
        map_at_k := e.map_at_k;
        rmse := e.rmse;
        mae := e.mae;
        status := 'evaluated';
        reason := NULL;
        RETURN NEXT;
    END LOOP;
    IF NOT cross_validate.keep_trials THEN
        PERFORM fashionrec._drop_versions(v_drop);
    END IF;
END
$$;
COMMENT ON FUNCTION fashionrec.cross_validate(text, text, text, integer, jsonb, integer, bigint, text, boolean) IS
    'k-fold cross-validation (hashed or temporal rolling-origin folds), hybrids included: one trial version per fold with its metrics, dropped at the end unless keep_trials';

-- Hyper-parameter search: the combinations of the values in grid (a jsonb
-- object of arrays; for a hybrid also weights, "fusion" and component names),
-- all of them, or with budget a seeded random sample of that many, each
-- trained on a seeded split of the source and evaluated on the rest.  With
-- folds > 1 each combination is scored by its mean over that many splits,
-- rolling origin: split f + 1 splits the training part of split f again the
-- same way (with split_method 'temporal', each user's last 20% of what is
-- left), because between close combinations one split's noise is as large
-- as their difference.  A hybrid's components are retrained once per
-- distinct component and split without the held-out part.  With halving
-- (successive halving, factor 3): a first rung trains every combination on a
-- hashed share 3^-R of the users, the best third goes on to three times the
-- share, and so on until the last rung, on all users, picks the best.  With
-- activate_best and refit, the best combination is trained again on the
-- whole source (a hybrid's components too, a learned fusion by stacking, as
-- retrain() does) and that version activated: a trial never saw its
-- held-out part.  Trial versions are dropped at the end unless keep_trials
-- (the best trial stays when it is the one activated).
CREATE FUNCTION fashionrec.tune(name text, algorithm text, source text, grid jsonb,
                                metric text DEFAULT 'ndcg',
                                k integer DEFAULT 10,
                                split_method text DEFAULT 'random',
                                test_fraction double precision DEFAULT 0.2,
                                seed bigint DEFAULT 42,
                                params jsonb DEFAULT '{}',
                                activate_best boolean DEFAULT false,
                                budget integer DEFAULT NULL,
                                keep_trials boolean DEFAULT false,
                                halving boolean DEFAULT false,
                                folds integer DEFAULT 1,
                                refit boolean DEFAULT true)
    RETURNS TABLE (model_version integer, trial_params jsonb, score double precision, best boolean,
                   users_share double precision)
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    c_max_trials CONSTANT integer := 1000;
    c_max_folds CONSTANT integer := 10;
    c_eta      CONSTANT integer := 3;
    v_keys     text[] := '{}';
    v_values   jsonb[] := '{}';
    v_key      text;
    v_vals     jsonb;
    v_total    numeric := 1;
    v_picks    numeric[] := '{}';
    v_pick     numeric;
    v_rest     numeric;
    v_combo    jsonb;
    v_combos   jsonb[] := '{}';
    v_alive    integer[];
    v_i        integer;
    v_rung_scores double precision[];
    v_rungs    integer := 0;
    v_share    double precision;
    v_users    text;
    v_train    text;
    v_test     text;
    v_pairs    text;
    v_version  integer;
    v_first    integer;
    v_score    double precision;
    v_fold_scores double precision[];
    v_best     double precision;
    v_best_version integer;
    v_best_combo jsonb;
    v_final    integer;
    v_lower_is_better boolean := tune.metric IN ('rmse', 'mae');
    v_fit_method text := CASE WHEN tune.split_method IN ('temporal', 'leave_last_n')
                              THEN 'temporal' ELSE 'random' END;
    v_train_params  jsonb;
    v_trial    jsonb;
    v_caches   jsonb[];
    v_trials   jsonb := '{}';   -- version -> the component versions it pins
    v_components jsonb := '[]'; -- every component version trained
    v_all_versions integer[] := '{}';
    v_versions integer[] := '{}';
    v_params   jsonb[] := '{}';
    v_scores   double precision[] := '{}';
    v_shares   double precision[] := '{}';
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
    IF tune.budget IS NOT NULL AND tune.budget < 1 THEN
        RAISE EXCEPTION 'budget must be at least 1, got %', tune.budget
              USING ERRCODE = '22023', HINT = 'budget is the number of trials of a random search; NULL searches the whole grid.';
    END IF;
    IF tune.budget > c_max_trials THEN
        RAISE EXCEPTION 'budget % is more than % trials', tune.budget, c_max_trials
              USING ERRCODE = '54000', HINT = 'Each trial trains a model; search in stages with smaller budgets.';
    END IF;
    IF tune.keep_trials IS NULL OR tune.activate_best IS NULL OR tune.halving IS NULL OR tune.folds IS NULL
       OR tune.refit IS NULL THEN
        RAISE EXCEPTION 'activate_best, keep_trials, halving, folds and refit must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF tune.folds < 1 OR tune.folds > c_max_folds THEN
        RAISE EXCEPTION 'folds must be between 1 and %, got %', c_max_folds, tune.folds
              USING ERRCODE = '22023',
                    HINT = 'folds is how many validation splits score each trial (rolling origin: each splits the training part of the one before); 1 scores on one split.';
    END IF;
    FOR v_key, v_vals IN SELECT g.key, g.value FROM pg_catalog.jsonb_each(tune.grid) g LOOP
        IF pg_catalog.jsonb_typeof(v_vals) <> 'array' OR pg_catalog.jsonb_array_length(v_vals) = 0 THEN
            RAISE EXCEPTION 'grid entry "%" must be a non-empty array of values', v_key
                  USING ERRCODE = '22023';
        END IF;
        v_keys := v_keys || v_key;
        v_values := v_values || v_vals;
        v_total := v_total * pg_catalog.jsonb_array_length(v_vals);
    END LOOP;
    IF tune.budget IS NULL AND v_total > c_max_trials THEN
        RAISE EXCEPTION 'grid has % combinations, at most % are allowed', v_total, c_max_trials
              USING ERRCODE = '54000',
                    HINT = 'Pass budget => N for a random search of N of them, or narrow the grid.';
    END IF;
    -- the combinations tried, as indices in mixed radix over the grid's keys:
    -- all of them, or a seeded sample without repetition
    IF tune.budget IS NULL OR tune.budget >= v_total THEN
        v_picks := ARRAY(SELECT g::numeric FROM pg_catalog.generate_series(0, v_total::bigint - 1) g);
    ELSE
        FOR i IN 0 .. 100 * tune.budget LOOP
            v_pick := pg_catalog.mod((pg_catalog.hashtextextended(i::text, tune.seed) & 9223372036854775807)::numeric, v_total);
            IF NOT v_pick = ANY (v_picks) THEN
                v_picks := v_picks || v_pick;
            END IF;
            EXIT WHEN pg_catalog.array_length(v_picks, 1) = tune.budget;
        END LOOP;
    END IF;
    FOREACH v_pick IN ARRAY v_picks LOOP
        v_combo := '{}';
        v_rest := v_pick;
        -- the last key varies fastest, as the grid reads
        FOR j IN REVERSE COALESCE(pg_catalog.array_length(v_keys, 1), 0) .. 1 LOOP
            v_combo := v_combo || pg_catalog.jsonb_build_object(v_keys[j],
                v_values[j] -> pg_catalog.mod(v_rest, pg_catalog.jsonb_array_length(v_values[j]))::integer);
            v_rest := pg_catalog.div(v_rest, pg_catalog.jsonb_array_length(v_values[j]));
        END LOOP;
        v_combos := v_combos || v_combo;
    END LOOP;
    IF tune.halving THEN
        IF pg_catalog.array_length(v_combos, 1) < c_eta THEN
            RAISE EXCEPTION 'successive halving needs at least % trials, the search has %',
                  c_eta, pg_catalog.array_length(v_combos, 1)
                  USING ERRCODE = '22023', HINT = 'Widen the grid or the budget, or search without halving.';
        END IF;
        v_rungs := pg_catalog.ceil(pg_catalog.ln(pg_catalog.array_length(v_combos, 1)) / pg_catalog.ln(c_eta) - 1e-9)::integer;
    END IF;

    v_train_params := COALESCE(tune.params, '{}') - ARRAY['user_column', 'item_column', 'weight_column', 'time_column'];
    -- each row labelled with the split that holds it out (fold 0, 1, ...;
    -- NULL: trained on by every split), materialised: the trials and the
    -- components' exclusion read it once per trial and component
    PERFORM fashionrec._temp_table('fr_tune_split', pg_catalog.format(
        'SELECT sp.user_id, sp.item_id, sp.weight, sp.event_time, CASE WHEN sp.is_test THEN 0 END AS fold
           FROM fashionrec.split(%L, %L, %s, %s, %L) sp',
        tune.source, tune.split_method, tune.test_fraction, tune.seed,
        fashionrec._column_params(tune.params)));
    FOR f IN 1 .. tune.folds - 1 LOOP
        PERFORM fashionrec._temp_table('fr_tune_folds', pg_catalog.format(
            'SELECT s.user_id, s.item_id, s.weight, s.event_time, s.fold FROM pg_temp.fr_tune_split s
              WHERE s.fold IS NOT NULL
             UNION ALL
             SELECT sp.user_id, sp.item_id, sp.weight, sp.event_time, CASE WHEN sp.is_test THEN %s END
               FROM fashionrec.split(%L, %L, %s, %s) sp',
            f, 'SELECT s.user_id, s.item_id, s.weight, s.event_time FROM pg_temp.fr_tune_split s WHERE s.fold IS NULL',
            tune.split_method, tune.test_fraction, tune.seed + f));
        PERFORM fashionrec._temp_table('fr_tune_split', 'SELECT * FROM pg_temp.fr_tune_folds');
    END LOOP;

    v_alive := ARRAY(SELECT g FROM pg_catalog.generate_series(1, pg_catalog.array_length(v_combos, 1)) g);
    FOR r IN 0 .. v_rungs LOOP
        v_share := pg_catalog.power(c_eta, r - v_rungs);
        -- a rung's users: a seeded hash below the share
        v_users := CASE WHEN v_share < 1 THEN pg_catalog.format(
                       '(pg_catalog.hashtextextended(s.user_id::text, %s) & 2147483647) < %s',
                       tune.seed, pg_catalog.floor(v_share * 2147483648)) ELSE 'true' END;
        v_caches := pg_catalog.array_fill('{}'::jsonb, ARRAY[tune.folds]);
        v_rung_scores := '{}';
        FOREACH v_i IN ARRAY v_alive LOOP
            RAISE NOTICE 'tuning trial % (users %)', v_combos[v_i], v_share;
            v_fold_scores := '{}';
            FOR f IN 0 .. tune.folds - 1 LOOP
                v_train := pg_catalog.format('SELECT s.user_id, s.item_id, s.weight, s.event_time FROM pg_temp.fr_tune_split s
                                               WHERE (s.fold IS NULL OR s.fold > %s) AND %s', f, v_users);
                v_test := pg_catalog.format('SELECT s.user_id, s.item_id, s.weight FROM pg_temp.fr_tune_split s
                                              WHERE s.fold = %s AND %s', f, v_users);
                v_pairs := pg_catalog.format('SELECT s.user_id, s.item_id FROM pg_temp.fr_tune_split s
                                               WHERE s.fold <= %s OR NOT %s', f, v_users);
                -- a learned fusion is fitted on users' later interactions: the
                -- carve-out splits each user's history, by time when there is one
                v_trial := fashionrec._train_trial(tune.name, tune.algorithm, v_train, tune.source, v_pairs,
                                                   v_train_params || v_combos[v_i], v_fit_method,
                                                   v_caches[f + 1]);
                v_version := (v_trial ->> 'version')::integer;
                IF f = 0 THEN
                    v_first := v_version;
                END IF;
                v_caches[f + 1] := v_trial -> 'cache';
                v_components := v_components || (v_trial -> 'trained') || (v_trial -> 'fitted');
                v_trials := v_trials || pg_catalog.jsonb_build_object(v_version::text,
                    (SELECT COALESCE(pg_catalog.jsonb_agg(c.value), '[]')
                       FROM pg_catalog.jsonb_each_text(COALESCE(v_trial -> 'components', '{}')) c));
                v_all_versions := v_all_versions || v_version;
                SELECT * INTO e FROM fashionrec.evaluate(tune.name, v_test, tune.k, version => v_version);
                v_fold_scores := v_fold_scores || fashionrec._metric_of(e, tune.metric);
            END LOOP;
            -- a split without test users has no score; the others decide
            v_score := (SELECT pg_catalog.avg(x) FROM pg_catalog.unnest(v_fold_scores) x);
            IF tune.folds > 1 THEN
                RAISE NOTICE 'tuning trial %: % per split, mean %', v_combos[v_i], v_fold_scores, v_score;
            END IF;
            IF r = v_rungs AND v_score IS NOT NULL AND (v_best IS NULL OR
                  (v_lower_is_better AND v_score < v_best) OR (NOT v_lower_is_better AND v_score > v_best)) THEN
                v_best := v_score;
                v_best_version := v_first;
                v_best_combo := v_combos[v_i];
            END IF;
            v_rung_scores := v_rung_scores || v_score;
            v_versions := v_versions || v_first;
            v_params := v_params || v_combos[v_i];
            v_scores := v_scores || v_score;
            v_shares := v_shares || v_share;
        END LOOP;
        -- the best third goes on
        v_alive := ARRAY(SELECT t.i FROM ROWS FROM (pg_catalog.unnest(v_alive), pg_catalog.unnest(v_rung_scores)) AS t(i, sc)
                          ORDER BY CASE WHEN v_lower_is_better THEN t.sc ELSE -t.sc END NULLS LAST, t.i
                          LIMIT pg_catalog.ceil(pg_catalog.array_length(v_alive, 1)::numeric / c_eta));
    END LOOP;

    IF tune.activate_best AND v_best_version IS NOT NULL THEN
        IF tune.refit AND tune.algorithm = 'hybrid' THEN
            -- the components retrained on the whole source (no exclusion),
            -- a learned fusion fitted by stacking on its tail
            v_trial := fashionrec._hybrid_train(tune.name, v_train_params || v_best_combo, NULL,
                pg_catalog.format('SELECT s.user_id, s.item_id, s.weight, pg_catalog.to_timestamp(s.event_epoch) FROM (%s) s',
                                  fashionrec.source_query(tune.source, fashionrec._column_params(tune.params))),
                tune.source, NULL, split_method => v_fit_method, activate => true);
            PERFORM fashionrec._drop_versions(v_trial -> 'fitted');
            v_final := (v_trial ->> 'version')::integer;
        ELSIF tune.refit THEN
            v_final := fashionrec.train(tune.name, tune.algorithm, tune.source,
                                        COALESCE(tune.params, '{}') || v_best_combo, activate => true);
        ELSE
            PERFORM fashionrec.activate(tune.name, v_best_version);
            v_final := v_best_version;
        END IF;
        RAISE NOTICE 'tune: % activated as version % of "%"', v_best_combo,
              v_final, tune.name;
    END IF;
    IF NOT tune.keep_trials THEN
        -- every trial but an activated best, then the components no kept version pins
        PERFORM fashionrec._drop_versions(pg_catalog.to_jsonb(ARRAY(
            SELECT tune.name || '@' || v FROM pg_catalog.unnest(v_all_versions) v
             WHERE v IS DISTINCT FROM v_final)));
        PERFORM fashionrec._drop_versions(COALESCE((
            SELECT pg_catalog.jsonb_agg(c.value) FROM pg_catalog.jsonb_array_elements_text(v_components) c
             WHERE NOT COALESCE(v_trials -> (v_final::text) ? c.value, false)), '[]'));
    END IF;
    RETURN QUERY
        SELECT t.v, t.p, t.s, t.v = v_best_version, t.u
          FROM ROWS FROM (pg_catalog.unnest(v_versions), pg_catalog.unnest(v_params),
                         pg_catalog.unnest(v_scores), pg_catalog.unnest(v_shares)) AS t(v, p, s, u);
END
$$;
COMMENT ON FUNCTION fashionrec.tune(text, text, text, jsonb, text, integer, text, double precision, bigint, jsonb, boolean, integer, boolean, boolean, integer, boolean) IS
    'Hyper-parameter search (the whole grid, or a seeded random sample of budget combinations; optionally successive halving over shares of the users), hybrids included: one trial per combination, rung and split, scored by the mean over folds rolling-origin splits of the source; trials dropped at the end unless keep_trials; optionally activates the best, by default trained again on the whole source';
