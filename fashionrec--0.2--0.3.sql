\echo Use "ALTER EXTENSION fashionrec UPDATE TO '0.3'" to load this file. \quit
-- fashionrec 0.2 -> 0.3: run by ALTER EXTENSION fashionrec UPDATE TO '0.3'.
-- It leaves the extension exactly as CREATE EXTENSION fashionrec VERSION
-- '0.3' makes it, which test/upgrade.sh checks object by object (from 0.1,
-- through fashionrec--0.1--0.2.sql and this script).  Routines below are
-- copied from src/sql/ as 0.3 has them.

-- ---- featurefm: feature embeddings (src/sql/46_featurefm.sql) ----
CREATE FUNCTION fashionrec.feature_embedding(name text, feature text, version integer DEFAULT NULL)
    RETURNS real[]
    AS 'MODULE_PATHNAME', 'fashionrec_feature_embedding'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION fashionrec.feature_embedding(text, text, integer) IS
    'A named item feature''s learned vector in a featurefm model (castable to pgvector''s vector); NULL for a feature the model does not have';

CREATE FUNCTION fashionrec.similar_features(name text, feature text, k integer DEFAULT 10,
                                            version integer DEFAULT NULL)
    RETURNS TABLE (feature text, similarity real, rank integer)
    AS 'MODULE_PATHNAME', 'fashionrec_similar_features'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION fashionrec.similar_features(text, text, integer, integer) IS
    'The named item features of a featurefm model nearest to one feature (cosine of their embeddings), never the feature itself';
-- as src/sql/98_costs.sql sets them
ALTER FUNCTION fashionrec.feature_embedding(text, text, integer) COST 200;
ALTER FUNCTION fashionrec.similar_features(text, text, integer, integer) COST 1000 ROWS 10;
-- featurefm's stored feature queries run at retrain() only as their author:
-- retrain() is replaced once, in the hybridops section below, as 0.3 has it.

-- ---- approximate top-k (IVF index), issue #19 item 1 ----------------------
-- recommend, similar_items and recommend_for_items append probes and exact
-- (new C symbols _0_3; 0.2's _0_2 symbols stay bound for databases not yet
-- updated); train() builds an index when "ann" asks or the catalog is large;
-- build_ann() adds one to a trained version.
DROP FUNCTION fashionrec.recommend(text, bigint, integer, boolean, bigint[], bigint[], text, integer);
DROP FUNCTION fashionrec.similar_items(text, bigint, integer, bigint[], bigint[], integer);
DROP FUNCTION fashionrec.recommend_for_items(text, bigint[], integer, boolean, bigint[], bigint[], text, integer, real[]);
CREATE FUNCTION fashionrec.recommend(name text, user_id bigint, k integer DEFAULT 10,
                                     exclude_seen boolean DEFAULT true,
                                     candidates bigint[] DEFAULT NULL,
                                     exclude bigint[] DEFAULT NULL,
                                     context text DEFAULT NULL,
                                     version integer DEFAULT NULL,
                                     probes integer DEFAULT NULL,
                                     exact boolean DEFAULT false)
    RETURNS TABLE (item_id bigint, score real, rank integer)
    AS 'MODULE_PATHNAME', 'fashionrec_recommend_0_3'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION fashionrec.recommend(text, bigint, integer, boolean, bigint[], bigint[], text, integer, integer, boolean) IS
    'Top-k items for a user; unknown users get the model''s popularity ranking. exclude_seen leaves out the user''s items, candidates restricts the ranking to those items, exclude removes items, context picks a context ranking of a popularity model (or a hybrid''s); a version with an approximate index is searched through it (probes lists, fashionrec.ann_probes by default) unless exact => true';

CREATE FUNCTION fashionrec.similar_items(name text, item_id bigint, k integer DEFAULT 10,
                                         candidates bigint[] DEFAULT NULL,
                                         exclude bigint[] DEFAULT NULL,
                                         version integer DEFAULT NULL,
                                         probes integer DEFAULT NULL,
                                         exact boolean DEFAULT false)
    RETURNS TABLE (item_id bigint, score real, rank integer)
    AS 'MODULE_PATHNAME', 'fashionrec_similar_items_0_3'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION fashionrec.similar_items(text, bigint, integer, bigint[], bigint[], integer, integer, boolean) IS
    'Items most similar to one item ("more like this"), never the item itself; no rows for an item the model does not know. candidates restricts the ranking to those items, exclude removes items; probes and exact as recommend()';

CREATE FUNCTION fashionrec.recommend_for_items(name text, item_ids bigint[], k integer DEFAULT 10,
                                               exclude_seen boolean DEFAULT true,
                                               candidates bigint[] DEFAULT NULL,
                                               exclude bigint[] DEFAULT NULL,
                                               context text DEFAULT NULL,
                                               version integer DEFAULT NULL,
                                               weights real[] DEFAULT NULL,
                                               probes integer DEFAULT NULL,
                                               exact boolean DEFAULT false)
    RETURNS TABLE (item_id bigint, score real, rank integer)
    AS 'MODULE_PATHNAME', 'fashionrec_recommend_for_items_0_3'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION fashionrec.recommend_for_items(text, bigint[], integer, boolean, bigint[], bigint[], text, integer, real[], integer, boolean) IS
    'Top-k items for an anonymous history (a session''s items, with optional weights), folded in without retraining; exclude_seen leaves out the given items. Options as recommend()';

ALTER FUNCTION fashionrec.recommend(text, bigint, integer, boolean, bigint[], bigint[], text, integer, integer, boolean) COST 2000;
ALTER FUNCTION fashionrec.similar_items(text, bigint, integer, bigint[], bigint[], integer, integer, boolean) COST 2000;
ALTER FUNCTION fashionrec.recommend_for_items(text, bigint[], integer, boolean, bigint[], bigint[], text, integer, real[], integer, boolean) COST 2000;

CREATE FUNCTION fashionrec._train_ann(model_id bigint, algorithm text, items integer, ann jsonb)
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'fashionrec_train_ann'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION fashionrec._train_ann(bigint, text, integer, jsonb) IS
    'Internal: builds the approximate top-k index of the caller''s training when params ask or the catalog is large; use fashionrec.train()';

CREATE FUNCTION fashionrec.build_ann(name text, version integer DEFAULT NULL, lists integer DEFAULT NULL)
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'fashionrec_build_ann'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION fashionrec.build_ann(text, integer, integer) IS
    'Adds an approximate top-k (IVF) index to a trained version (the active one when version is NULL), or rebuilds it with lists lists (about 4 x sqrt(items) when NULL); returns its description, also recorded in the version''s info under "ann"';

-- approximate top-k (41_ann.sql): a k-means over the catalog's vectors
ALTER FUNCTION fashionrec.build_ann(text, integer, integer) COST 10000000;
ALTER FUNCTION fashionrec._train_ann(bigint, text, integer, jsonb) COST 10000000;
REVOKE EXECUTE ON FUNCTION fashionrec.build_ann(text, integer, integer),
                           fashionrec._train_ann(bigint, text, integer, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fashionrec.build_ann(text, integer, integer),
                          fashionrec._train_ann(bigint, text, integer, jsonb) TO fashionrec_trainer;

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
ALTER FUNCTION fashionrec.train(text, text, text, jsonb, boolean) COST 10000000;

-- Batch scoring (issue #19): recommend_all() gains shard/shards (a share of
-- the users by hash, for replicas) and context (each customer's list as
-- recommend(..., context => c) gives it), recommend_all_into() scores in
-- parallel into a table, user_shard() says which share a user is in.
DROP FUNCTION fashionrec.recommend_all(text, bigint[], integer, boolean, bigint[], bigint[], integer);
CREATE FUNCTION fashionrec.recommend_all(name text, users bigint[] DEFAULT NULL, k integer DEFAULT 10,
                                         exclude_seen boolean DEFAULT true,
                                         candidates bigint[] DEFAULT NULL,
                                         exclude bigint[] DEFAULT NULL,
                                         version integer DEFAULT NULL,
                                         shard integer DEFAULT 0, shards integer DEFAULT 1,
                                         context text DEFAULT NULL)
    RETURNS TABLE (user_id bigint, item_id bigint, score real, rank integer)
    AS 'MODULE_PATHNAME', 'fashionrec_recommend_all_0_3'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION fashionrec.recommend_all(text, bigint[], integer, boolean, bigint[], bigint[], integer, integer, integer, text) IS
    'Top-k items for many users (all the model knows when users is NULL; of them, those with user_shard(user_id, shards) = shard), scored in blocks: for nightly batches, INSERT ... SELECT. candidates, exclude and context apply to every user, each list as recommend() gives it';

-- Batch scoring: every user of a model (or of one share by user hash) into
-- the caller's table, by several processes, in the caller's transaction.
CREATE FUNCTION fashionrec.recommend_all_into(name text, target regclass, k integer DEFAULT 10,
                                              exclude_seen boolean DEFAULT true,
                                              candidates bigint[] DEFAULT NULL,
                                              exclude bigint[] DEFAULT NULL,
                                              version integer DEFAULT NULL,
                                              shard integer DEFAULT 0, shards integer DEFAULT 1,
                                              workers integer DEFAULT 1,
                                              context text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'fashionrec_recommend_all_into'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION fashionrec.recommend_all_into(text, regclass, integer, boolean, bigint[], bigint[], integer, integer, integer, integer, text) IS
    'Inserts every user''s top k (of the share shard of shards; in context when given) into target (user_id, item_id, score, rank) with workers processes in the caller''s transaction; returns the rows inserted';

CREATE FUNCTION fashionrec.user_shard(user_id bigint, shards integer)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'fashionrec_user_shard'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.user_shard(bigint, integer) IS
    'The share (0 .. shards - 1) of a user for recommend_all and recommend_all_into''s shard/shards: abs(hashint8(user_id) % shards)';
ALTER FUNCTION fashionrec.recommend_all(text, bigint[], integer, boolean, bigint[], bigint[], integer, integer, integer, text)
    COST 20000000 ROWS 100000;
ALTER FUNCTION fashionrec.recommend_all_into(text, regclass, integer, boolean, bigint[], bigint[], integer, integer, integer, integer, text)
    COST 20000000;
ALTER FUNCTION fashionrec.user_shard(bigint, integer) COST 5;
REVOKE EXECUTE ON FUNCTION fashionrec.recommend_all_into(text, regclass, integer, boolean, bigint[], bigint[], integer, integer, integer, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fashionrec.recommend_all_into(text, regclass, integer, boolean, bigint[], bigint[], integer, integer, integer, integer, text) TO fashionrec_reader;

-- ---- hybridops: the hybrid through the training pipeline (issue 21) ----
-- retrain() retrains hybrids; tune() and cross_validate() search and
-- cross-validate them (new arguments: budget, keep_trials, fold_method; new
-- columns status and reason), with the helpers of 80_hybrid.sql.
DROP FUNCTION fashionrec.cross_validate(text, text, text, integer, jsonb, integer, bigint);
DROP FUNCTION fashionrec.tune(text, text, text, jsonb, text, integer, text, double precision, bigint, jsonb, boolean);

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

-- The components of a hybrid as (signal, name, version): pins ("name@3", a
-- trained version's info) over its params; a bare name means the active version.
CREATE FUNCTION fashionrec._hybrid_components(params jsonb, pins jsonb DEFAULT NULL)
    RETURNS TABLE (signal text, component text, version integer)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_spec text;
BEGIN
    FOREACH signal IN ARRAY ARRAY['cf', 'content', 'image', 'popularity', 'sequence'] LOOP
        v_spec := COALESCE(_hybrid_components.pins ->> signal, _hybrid_components.params ->> signal);
        CONTINUE WHEN v_spec IS NULL;
        IF v_spec ~ '@[0-9]+$' THEN
            component := pg_catalog.substring(v_spec, '^(.*)@[0-9]+$');
            version := pg_catalog.substring(v_spec, '@([0-9]+)$')::integer;
        ELSE
            component := v_spec;
            SELECT m.version INTO version FROM fashionrec.model m WHERE m.name = v_spec AND m.active;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'component "%" (%) of the hybrid has no active version', v_spec, signal
                      USING ERRCODE = '42704',
                            HINT = 'Train or activate a version of it, or name a version as "name@version".';
            END IF;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION fashionrec._hybrid_components(jsonb, jsonb) IS
    'Internal: the components of a hybrid as (signal, name, version), pinned versions over the names of its params';

-- The registry row a component is retrained from: the pinned version, which
-- must still be there and not archived (an archived component is one its
-- owner retired; retraining it silently would bring it back), and read no
-- context column.
CREATE FUNCTION fashionrec._hybrid_component_row(component text, version integer)
    RETURNS fashionrec.model
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_row fashionrec.model%ROWTYPE;
BEGIN
    SELECT m.* INTO v_row FROM fashionrec.model m
     WHERE m.name = _hybrid_component_row.component AND m.version = _hybrid_component_row.version;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'component "%" of the hybrid has no version %', component, version
              USING ERRCODE = '42704',
                    DETAIL = 'The version the hybrid pins was dropped.',
                    HINT = 'Train the hybrid again over existing components, or retrain with params => ''{"components": "active"}''.';
    END IF;
    IF v_row.status = 'archived' THEN
        RAISE EXCEPTION 'version % of component "%" of the hybrid is archived', version, component
              USING ERRCODE = '55000',
                    HINT = 'Activate it again, or train the hybrid over other components.';
    END IF;
    IF v_row.status = 'training' THEN
        RAISE EXCEPTION 'version % of component "%" of the hybrid is still training', version, component
              USING ERRCODE = '55000';
    END IF;
    RETURN v_row;
END
$$;
COMMENT ON FUNCTION fashionrec._hybrid_component_row(text, integer) IS
    'Internal: the registry row of a hybrid''s component version, refused when dropped, archived or training';

-- A temporary table of a query's rows, dropped at commit (made again when a
-- previous call of the same transaction left it) and analysed, so that the
-- joins over it are planned from its real size.  Not pinned to a
-- search_path: the query's names resolve as its caller expects.
CREATE FUNCTION fashionrec._temp_table(name text, query text) RETURNS void
    LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    IF pg_catalog.to_regclass(pg_catalog.format('pg_temp.%I', name)) IS NOT NULL THEN
        EXECUTE pg_catalog.format('DROP TABLE pg_temp.%I', name);
    END IF;
    EXECUTE pg_catalog.format('CREATE TEMP TABLE %I ON COMMIT DROP AS %s', name, query);
    EXECUTE pg_catalog.format('ANALYZE pg_temp.%I', name);
END
$$;
COMMENT ON FUNCTION fashionrec._temp_table(text, text) IS
    'Internal: (re)creates an analysed temporary table, dropped at commit, of a query''s rows';

-- A new, inactive version of a component: its algorithm and parameters, its
-- own source (a content model: its interactions) without the pairs of
-- "exclude" (a query of user_id, item_id; NULL: everything).  A version
-- trained on a filtered source is restated with its original source and
-- parameters, so that a later retraining reads those again.
CREATE FUNCTION fashionrec._retrain_component(component fashionrec.model, exclude text, note text)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_content boolean := component.algorithm IN ('tfidf', 'attributes', 'embedding', 'features');
    v_data    text := CASE WHEN v_content THEN component.params ->> 'interactions' ELSE component.source END;
    v_params  jsonb := component.params - ARRAY['user_column', 'item_column', 'weight_column', 'time_column'];
    v_context text := component.params ->> 'context_column';
    v_filtered text;
    v_version integer;
BEGIN
    -- what the component stored was written by its author: run only as them
    PERFORM fashionrec._check_author(component.created_by,
                                     pg_catalog.format('the source of model "%s"', component.name));
    IF exclude IS NULL OR v_data IS NULL THEN
        RETURN fashionrec.train(component.name, component.algorithm, component.source, component.params,
                                activate => false);
    END IF;
    -- the pairs to leave out, once: "exclude" may be a set operation, which
    -- the planner would otherwise run again for every row of the source
    PERFORM fashionrec._temp_table('fr_component_exclude',
        pg_catalog.format('SELECT DISTINCT x.user_id, x.item_id FROM (%s) x', exclude));
    -- with a context_column, the rows keep their context under its name
    v_filtered := pg_catalog.format(
        'SELECT s.user_id, s.item_id, s.weight, pg_catalog.to_timestamp(s.event_epoch) AS event_time%s
           FROM (%s) s
          WHERE NOT EXISTS (SELECT FROM pg_temp.fr_component_exclude x
                             WHERE x.user_id = s.user_id AND x.item_id = s.item_id)',
        CASE WHEN v_context IS NOT NULL THEN pg_catalog.format(', s.context AS %I', v_context) ELSE '' END,
        fashionrec.source_query(v_data, fashionrec._column_params(component.params)
            || CASE WHEN v_context IS NOT NULL THEN pg_catalog.jsonb_build_object('context_column', v_context)
                    ELSE '{}' END));
    IF v_content THEN
        v_version := fashionrec.train(component.name, component.algorithm, component.source,
                                      v_params || pg_catalog.jsonb_build_object('interactions', v_filtered),
                                      activate => false);
    ELSE
        v_version := fashionrec.train(component.name, component.algorithm, v_filtered, v_params,
                                      activate => false);
    END IF;
    DROP TABLE pg_temp.fr_component_exclude;
    PERFORM fashionrec._model_restate(
        (SELECT m.id FROM fashionrec.model m WHERE m.name = component.name AND m.version = v_version),
        component.source, component.params,
        pg_catalog.jsonb_build_object('retrained_for', note, 'retrained_from', component.version));
    RETURN v_version;
END
$$;
COMMENT ON FUNCTION fashionrec._retrain_component(fashionrec.model, text, text) IS
    'Internal: a new inactive version of a hybrid''s component, trained on its source without the held-out pairs of a query';

-- A hybrid version trained on "interactions" (a query of user_id, item_id,
-- weight, event_time) whose components never saw the pairs of "exclude":
-- each component retrained without them (components => 'retrain') or its
-- active version taken as it is ('active').  A learned fusion is refitted by
-- stacking: components trained also without a validation tail of
-- "interactions" (split by split_method), a fusion fitted on that tail, then
-- reused (fusion_from) over the components above; or "fusion_from" names the
-- fusion to reuse.  "cache" (component name -> pinned version) lets a search
-- train each component once per split.  The version is inactive unless
-- activate, and recorded with "source" as its interactions so that a later
-- retraining reads the real source.  Returns {"version", "components"
-- (signal -> "name@version"), "trained" (the component versions made for
-- it), "fitted" (those made to fit its fusion, for the caller to drop when
-- the cache is done with), "cache"}.
CREATE FUNCTION fashionrec._hybrid_train(name text, params jsonb, pins jsonb, interactions text,
                                         source text, exclude text, components text DEFAULT 'retrain',
                                         split_method text DEFAULT 'temporal',
                                         fusion_from text DEFAULT NULL,
                                         cache jsonb DEFAULT '{}',
                                         activate boolean DEFAULT false)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    -- what configures a learned fusion, carried to the hybrid that refits it
    c_fusion_keys CONSTANT text[] := ARRAY['fusion', 'fusion_users', 'fusion_candidates', 'fusion_items', 'fusion_l2',
                                           'mlp_hidden', 'mlp_epochs', 'mlp_learning_rate', 'mlp_patience', 'mlp_bags',
                                           'seed'];
    v_cache    jsonb := COALESCE(_hybrid_train.cache, '{}');
    v_pins     jsonb := '{}';
    v_fit_pins jsonb := '{}';
    v_trained  text[] := '{}';
    v_fitted   text[] := '{}';
    v_fusion   jsonb;
    v_learned  boolean;
    v_params   jsonb;
    v_from     text := _hybrid_train.fusion_from;
    -- a hybrid with a context_column: the fit split carries the column
    v_context  text := _hybrid_train.params ->> 'context_column';
    v_context_col text := CASE WHEN v_context IS NOT NULL
                               THEN pg_catalog.format(', f.context AS %I', v_context) ELSE '' END;
    v_fit      integer;
    v_version  integer;
    v_key      text;
    v_spec     text;
    c          record;
    v_row      fashionrec.model%ROWTYPE;
BEGIN
    IF _hybrid_train.components NOT IN ('retrain', 'active') THEN
        RAISE EXCEPTION 'components must be ''retrain'' or ''active'', got "%"', _hybrid_train.components
              USING ERRCODE = '22023';
    END IF;
    -- the fusion to refit: the hybrid's own, or that of the hybrid it reused
    v_fusion := _hybrid_train.params;
    IF v_from IS NULL AND _hybrid_train.params ? 'fusion_from' THEN
        SELECT m.params INTO v_fusion
          FROM fashionrec._hybrid_components(pg_catalog.jsonb_build_object('cf', _hybrid_train.params ->> 'fusion_from')) h
          JOIN fashionrec.model m ON m.name = h.component AND m.version = h.version;
    END IF;
    v_fusion := v_fusion - ARRAY(SELECT k FROM pg_catalog.jsonb_object_keys(v_fusion) k
                                  WHERE NOT k = ANY (c_fusion_keys));
    v_learned := v_from IS NULL AND COALESCE(v_fusion ->> 'fusion', 'weighted') <> 'weighted';
    v_params := _hybrid_train.params - ARRAY['fusion', 'validation', 'fusion_from', 'interactions'];

    FOR c IN SELECT * FROM fashionrec._hybrid_components(_hybrid_train.params, _hybrid_train.pins) LOOP
        IF _hybrid_train.components = 'active' THEN
            v_spec := c.component || '@' || (fashionrec._model_row(c.component, NULL)).version;
        ELSE
            v_key := c.component || '@' || c.version;
            v_spec := v_cache ->> v_key;
            IF v_spec IS NULL THEN
                v_row := fashionrec._hybrid_component_row(c.component, c.version);
                v_spec := c.component || '@' || fashionrec._retrain_component(v_row, _hybrid_train.exclude,
                                                                               _hybrid_train.name);
                v_trained := v_trained || v_spec;
                v_cache := v_cache || pg_catalog.jsonb_build_object(v_key, v_spec);
            END IF;
        END IF;
        v_pins := v_pins || pg_catalog.jsonb_build_object(c.signal, v_spec);
    END LOOP;

    IF v_learned THEN
        IF _hybrid_train.components = 'active' THEN
            RAISE EXCEPTION 'a learned fusion is refitted only over retrained components'
                  USING ERRCODE = '22023',
                        DETAIL = 'Active components may have seen the validation tail the fusion is fitted on.',
                        HINT = 'Use components ''retrain'', or reuse a fitted fusion with fusion_from.';
        END IF;
        PERFORM fashionrec._temp_table('fr_hybrid_fit', pg_catalog.format(
            'SELECT sp.user_id, sp.item_id, sp.weight, sp.event_time, sp.is_test, sp.context
               FROM fashionrec._split_context(%L, %L, 0.2, ''{}'', %L) sp',
            _hybrid_train.interactions, _hybrid_train.split_method, v_context));
        -- the validation tail: held-out pairs new to the user
        DELETE FROM pg_temp.fr_hybrid_fit f
         WHERE f.is_test AND EXISTS (SELECT FROM pg_temp.fr_hybrid_fit p
                                      WHERE NOT p.is_test AND p.user_id = f.user_id AND p.item_id = f.item_id);
        FOR c IN SELECT * FROM fashionrec._hybrid_components(_hybrid_train.params, _hybrid_train.pins) LOOP
            v_key := 'fit:' || c.component || '@' || c.version;
            v_spec := v_cache ->> v_key;
            IF v_spec IS NULL THEN
                v_row := fashionrec._hybrid_component_row(c.component, c.version);
                v_spec := c.component || '@' || fashionrec._retrain_component(v_row,
                    COALESCE(_hybrid_train.exclude || ' UNION ALL ', '')
                        || 'SELECT f.user_id, f.item_id FROM pg_temp.fr_hybrid_fit f WHERE f.is_test',
                    _hybrid_train.name || ' (fusion fit)');
                v_fitted := v_fitted || v_spec;
                v_cache := v_cache || pg_catalog.jsonb_build_object(v_key, v_spec);
            END IF;
            v_fit_pins := v_fit_pins || pg_catalog.jsonb_build_object(c.signal, v_spec);
        END LOOP;
        v_fit := fashionrec.train(_hybrid_train.name, 'hybrid', NULL,
            v_params || v_fit_pins || v_fusion || pg_catalog.jsonb_build_object(
                'interactions', 'SELECT f.user_id, f.item_id, f.weight, f.event_time' || v_context_col
                                || ' FROM pg_temp.fr_hybrid_fit f WHERE NOT f.is_test',
                'validation', 'SELECT f.user_id, f.item_id' || v_context_col
                              || ' FROM pg_temp.fr_hybrid_fit f WHERE f.is_test'),
            activate => false);
        v_from := _hybrid_train.name || '@' || v_fit;
    END IF;

    v_version := fashionrec.train(_hybrid_train.name, 'hybrid', NULL,
        v_params || v_pins || pg_catalog.jsonb_build_object('interactions', _hybrid_train.interactions)
            || CASE WHEN v_from IS NULL THEN '{}'::jsonb
                    ELSE pg_catalog.jsonb_build_object('fusion_from', v_from) END,
        activate => false);
    IF v_fit IS NOT NULL THEN
        -- its fusion is copied into the version above
        PERFORM fashionrec.drop_model(_hybrid_train.name, v_fit);
        DROP TABLE pg_temp.fr_hybrid_fit;
    END IF;
    -- its params as given (names, not this run's pins) and the real source
    PERFORM fashionrec._model_restate(
        (SELECT m.id FROM fashionrec.model m WHERE m.name = _hybrid_train.name AND m.version = v_version),
        NULL, _hybrid_train.params || pg_catalog.jsonb_build_object('interactions', _hybrid_train.source),
        NULL);
    IF _hybrid_train.activate THEN
        PERFORM fashionrec.activate(_hybrid_train.name, v_version);
    END IF;
    RETURN pg_catalog.jsonb_build_object('version', v_version, 'components', v_pins,
                                         'trained', pg_catalog.to_jsonb(v_trained),
                                         'fitted', pg_catalog.to_jsonb(v_fitted), 'cache', v_cache);
END
$$;
COMMENT ON FUNCTION fashionrec._hybrid_train(text, jsonb, jsonb, text, text, text, text, text, text, jsonb, boolean) IS
    'Internal: a hybrid version over components retrained without held-out pairs (or their active versions), its learned fusion refitted by stacking';

-- Drop versions named "name@version" (the components a search or a retrain
-- trained and no longer needs).
CREATE FUNCTION fashionrec._drop_versions(versions jsonb) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v text;
BEGIN
    FOR v IN SELECT pg_catalog.jsonb_array_elements_text(COALESCE(versions, '[]')) LOOP
        PERFORM fashionrec.drop_model(pg_catalog.substring(v, '^(.*)@[0-9]+$'),
                                      pg_catalog.substring(v, '@([0-9]+)$')::integer);
    END LOOP;
END
$$;
COMMENT ON FUNCTION fashionrec._drop_versions(jsonb) IS
    'Internal: drop the model versions of a JSON array of "name@version"';

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
    v_components text;          -- a hybrid: 'retrain' its components or take the 'active' ones
    v_pins      jsonb;          -- a hybrid: the champion's component versions
    v_seen      bigint[];       -- models whose training pairs are not fresh
    v_hybrid    jsonb;
    v_full      jsonb;
    e           record;
    v_msg       text;
    v_state     text;
    v_ctx       text;
    v_train_rows text;          -- the challenger's training rows: the split's earlier part
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
    ELSIF v_champ.algorithm = 'hybrid' THEN
        v_source := COALESCE(retrain.source, v_all ->> 'interactions');
        v_components := COALESCE(v_all ->> 'components', 'retrain');
        v_all := v_all - ARRAY['interactions', 'components'];
        -- a component named in params overrides the champion's pin
        v_pins := v_champ.info - ARRAY(SELECT pg_catalog.jsonb_object_keys(COALESCE(retrain.params, '{}')));
    ELSE
        v_source := COALESCE(retrain.source, v_champ.source);
    END IF;
    v_cols := fashionrec._column_params(v_all);
    v_algo_params := v_all - ARRAY['user_column', 'item_column', 'weight_column', 'time_column'];

    BEGIN
        -- what the champion stored was written by its author: run only as them
        -- (featurefm's item_features / user_features are stored queries too)
        IF retrain.source IS NULL OR v_catalog IS NOT NULL
           OR v_champ.params ?| ARRAY['item_features', 'user_features'] THEN
            PERFORM fashionrec._check_author(v_champ.created_by,
                                             pg_catalog.format('the source of model "%s"', retrain.name));
        END IF;
        IF v_components NOT IN ('retrain', 'active') THEN
            RAISE EXCEPTION 'params "components" must be "retrain" or "active", got "%"', v_components
                  USING ERRCODE = '22023',
                        HINT = '"retrain" trains each component again on the new window; "active" takes each one''s active version.';
        END IF;
        -- a component dropped, archived or whose source would run as a role
        -- more privileged than its author fails the run before any work
        IF v_components = 'retrain' THEN
            PERFORM fashionrec._check_author((fashionrec._hybrid_component_row(h.component, h.version)).created_by,
                                             pg_catalog.format('the source of model "%s"', h.component))
               FROM fashionrec._hybrid_components(v_all, v_pins) h;
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
        -- a model trained with a context_column is retrained on rows that carry it
        EXECUTE pg_catalog.format(
            'CREATE TEMP TABLE fr_retrain_split ON COMMIT DROP AS
             SELECT sp.user_id, sp.item_id, sp.weight, sp.event_time, sp.is_test, sp.context
               FROM fashionrec._split_context(%L, ''temporal'', %s, %L, %L) sp',
            v_source, retrain.holdout, v_cols, v_all ->> 'context_column');
        v_train_rows := 'SELECT s.user_id, s.item_id, s.weight, s.event_time'
            || CASE WHEN v_all ? 'context_column'
                    THEN pg_catalog.format(', s.context AS %I', v_all ->> 'context_column') ELSE '' END
            || ' FROM pg_temp.fr_retrain_split s WHERE NOT s.is_test';
        -- fresh: held out, new to the user before the holdout, and not among
        -- the pairs the champion (a hybrid: its components too) was trained
        -- on: neither model has seen them
        v_seen := ARRAY[v_champ.id];
        IF v_components IS NOT NULL THEN
            v_seen := v_seen || ARRAY(
                SELECT m.id FROM fashionrec._hybrid_components(v_all, v_pins) h
                  JOIN fashionrec.model m ON m.name = h.component
                   AND (m.version = h.version OR (v_components = 'active' AND m.active)));
        END IF;
        CREATE TEMP TABLE fr_retrain_test ON COMMIT DROP AS
        SELECT s.user_id, s.item_id, pg_catalog.sum(s.weight) AS weight
          FROM pg_temp.fr_retrain_split s
         WHERE s.is_test
           AND NOT EXISTS (SELECT FROM pg_temp.fr_retrain_split p
                            WHERE NOT p.is_test AND p.user_id = s.user_id AND p.item_id = s.item_id)
           AND NOT EXISTS (SELECT FROM pg_catalog.unnest(v_seen) AS sm(id),
                                       LATERAL fashionrec._training_pairs(sm.id) c
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

        IF v_decision IS NULL AND v_components IS NOT NULL THEN
            v_hybrid := fashionrec._hybrid_train(retrain.name, v_algo_params, v_pins, v_train_rows,
                v_source, 'SELECT t.user_id, t.item_id FROM pg_temp.fr_retrain_test t', v_components,
                -- active components may have seen any validation tail: the champion's fusion is kept
                fusion_from => CASE WHEN v_components = 'active' AND v_champ.info ->> 'fusion' IN ('logistic', 'mlp')
                                    THEN retrain.name || '@' || v_champ.version END);
            v_challenger := (v_hybrid ->> 'version')::integer;
            PERFORM fashionrec._drop_versions(v_hybrid -> 'fitted');
            v_details := v_details || pg_catalog.jsonb_build_object(
                'components', v_components,
                'champion_components', (SELECT pg_catalog.jsonb_object_agg(h.signal, h.component || '@' || h.version)
                                          FROM fashionrec._hybrid_components(v_all, v_pins) h),
                'challenger_components', v_hybrid -> 'components');
        ELSIF v_decision IS NULL THEN
            IF v_catalog IS NULL THEN
                v_challenger := fashionrec.train(retrain.name, v_champ.algorithm, v_train_rows,
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
        END IF;

        IF v_decision IS NULL THEN
            SELECT * INTO e FROM fashionrec.evaluate(retrain.name, 'SELECT user_id, item_id, weight FROM pg_temp.fr_retrain_test',
                                                     retrain.k, version => v_champ.version);
            v_champ_score := fashionrec._metric_of(e, retrain.metric);
            SELECT * INTO e FROM fashionrec.evaluate(retrain.name, 'SELECT user_id, item_id, weight FROM pg_temp.fr_retrain_test',
                                                     retrain.k, version => v_challenger);
            v_chall_score := fashionrec._metric_of(e, retrain.metric);

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
                IF retrain.promote = 'retrain' AND v_components IS NOT NULL THEN
                    v_full := fashionrec._hybrid_train(retrain.name, v_all, v_pins, v_source, v_source, NULL,
                        v_components,
                        fusion_from => CASE WHEN (SELECT m.info ->> 'fusion' FROM fashionrec.model m
                                                   WHERE m.name = retrain.name AND m.version = v_challenger)
                                                 IN ('logistic', 'mlp')
                                            THEN retrain.name || '@' || v_challenger END,
                        activate => true);
                    v_promoted := (v_full ->> 'version')::integer;
                    v_details := v_details || pg_catalog.jsonb_build_object('promoted_components', v_full -> 'components');
                    v_reason := v_reason || pg_catalog.format('; better by more than %s%%, retrained on the whole source as version %s',
                                                              retrain.margin * 100, v_promoted);
                ELSIF retrain.promote = 'retrain' THEN
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
                PERFORM fashionrec._drop_versions(v_hybrid -> 'trained');
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

-- privileges and costs as 99_privileges.sql and 98_costs.sql give them
REVOKE EXECUTE ON FUNCTION
    fashionrec.cross_validate(text, text, text, integer, jsonb, integer, bigint, text, boolean),
    fashionrec.tune(text, text, text, jsonb, text, integer, text, double precision, bigint, jsonb, boolean, integer, boolean, boolean, integer, boolean)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    fashionrec.cross_validate(text, text, text, integer, jsonb, integer, bigint, text, boolean),
    fashionrec.tune(text, text, text, jsonb, text, integer, text, double precision, bigint, jsonb, boolean, integer, boolean, boolean, integer, boolean)
    TO fashionrec_trainer;
ALTER FUNCTION fashionrec.cross_validate(text, text, text, integer, jsonb, integer, bigint, text, boolean) COST 50000000 ROWS 5;
ALTER FUNCTION fashionrec.tune(text, text, text, jsonb, text, integer, text, double precision, bigint, jsonb, boolean, integer, boolean, boolean, integer, boolean) COST 50000000 ROWS 10;
DO $hybridops$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'fashionrec'::regnamespace
           AND p.proname IN ('_hybrid_train', '_retrain_component', '_drop_versions', '_train_trial')
    LOOP
        EXECUTE pg_catalog.format('REVOKE EXECUTE ON ROUTINE %s FROM PUBLIC', f);
        EXECUTE pg_catalog.format('GRANT EXECUTE ON ROUTINE %s TO fashionrec_trainer', f);
    END LOOP;
END
$hybridops$;
ALTER FUNCTION fashionrec._hybrid_train(text, jsonb, jsonb, text, text, text, text, text, text, jsonb, boolean) COST 10000000;
ALTER FUNCTION fashionrec._retrain_component(fashionrec.model, text, text) COST 10000000;
ALTER FUNCTION fashionrec._train_trial(text, text, text, text, text, jsonb, text, jsonb) COST 10000000;

-- ---- explain() takes a context (src/sql/80_hybrid.sql, hybrid_serve.c) ----
-- The hybrid's context signals (docs/hybrid.md, "Context that personalises")
-- have rows of their own; context comes before version, as in recommend().
DROP FUNCTION fashionrec.explain(text, bigint, integer, boolean, bigint[], bigint[], integer);
CREATE FUNCTION fashionrec.explain(name text, user_id bigint, k integer DEFAULT 10,
                                   exclude_seen boolean DEFAULT true,
                                   candidates bigint[] DEFAULT NULL,
                                   exclude bigint[] DEFAULT NULL,
                                   context text DEFAULT NULL,
                                   version integer DEFAULT NULL)
    RETURNS TABLE (rank integer, item_id bigint, score real, signal text, component text,
                   raw_score real, normalized real, weight real, contribution real)
    AS 'MODULE_PATHNAME', 'fashionrec_explain_0_3'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION fashionrec.explain(text, bigint, integer, boolean, bigint[], bigint[], text, integer) IS
    'What each signal of a hybrid model contributes to a user''s top-k list: one row per item and signal (with a context, the context signals too), contribution = weight x normalized, score = their sum. Options as recommend()';
ALTER FUNCTION fashionrec.explain(text, bigint, integer, boolean, bigint[], bigint[], text, integer) COST 4000 ROWS 30;

-- ==== retrain() of a model trained with a context_column (a hybrid, its
-- popularity component): the split carries the column (_split_context) ====
CREATE FUNCTION fashionrec._split_context(source text, method text, test_fraction double precision,
                                          params jsonb, context_column text)
    RETURNS TABLE (user_id bigint, item_id bigint, weight double precision,
                   event_time timestamptz, is_test boolean, context text)
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_query text;
    v_msg   text;
BEGIN
    IF context_column IS NULL THEN
        RETURN QUERY SELECT sp.*, NULL::text FROM fashionrec.split(source, method, test_fraction, 42, params) sp;
        RETURN;
    END IF;
    BEGIN
        v_query := fashionrec.source_query(source, params || pg_catalog.jsonb_build_object('context_column', context_column));
    EXCEPTION WHEN undefined_column THEN
        GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT;
        RAISE EXCEPTION 'the source to retrain from has no context column "%"', context_column
              USING ERRCODE = '42703', DETAIL = v_msg,
                    HINT = 'The model was trained with this "context_column": retrain from a source that carries it (source => ''...''), or train the model again without it.';
    END;
    RETURN QUERY EXECUTE pg_catalog.format(
        'SELECT sp.user_id, sp.item_id, sp.weight, sp.event_time, sp.is_test, c.context
           FROM fashionrec.split($1, $2, $3, 42, $4) sp
           LEFT JOIN (SELECT q.user_id, q.item_id, pg_catalog.to_timestamp(q.event_epoch) AS t,
                             pg_catalog.min(q.context) AS context
                        FROM (%s) q GROUP BY 1, 2, 3) c
             ON c.user_id = sp.user_id AND c.item_id = sp.item_id AND c.t = sp.event_time', v_query)
        USING source, method, test_fraction, params;
END
$$;
COMMENT ON FUNCTION fashionrec._split_context(text, text, double precision, jsonb, text) IS
    'Internal: split() of a source with each row''s value of a context column, for retraining a model trained with one';

-- ---- generate_shop(seasonal_tastes) (src/sql/20_generator.sql, shopgen.c) ----
-- Personal seasonal tastes in the synthetic shop, an option (default off:
-- the 0.2 shop): _shop_events gets the flag (new C symbol _0_3; 0.2's stays
-- bound for databases not yet updated), the planted favourite seasons get
-- their own function and table.
DROP FUNCTION fashionrec.generate_shop(integer, integer, bigint, bigint, name, boolean);
DROP FUNCTION fashionrec._shop_events(integer, integer, bigint, bigint);
CREATE FUNCTION fashionrec._shop_customer_seasons(customers integer, products integer, seed bigint)
    RETURNS TABLE (customer_id bigint, favourite_season text)
    AS 'MODULE_PATHNAME', 'fashionrec_shop_customer_seasons'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 2000;
COMMENT ON FUNCTION fashionrec._shop_customer_seasons(integer, integer, bigint) IS
    'Internal: the favourite season planted in each generated customer by seasonal_tastes; use generate_shop()';

CREATE FUNCTION fashionrec._shop_events(customers integer, products integer,
                                        events bigint, seed bigint,
                                        seasonal_tastes boolean DEFAULT false)
    RETURNS TABLE (event_id bigint, customer_id bigint, product_id bigint,
                   event_type text, session_id bigint, occurred_at timestamptz)
    AS 'MODULE_PATHNAME', 'fashionrec_shop_events_0_3'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 50000;
COMMENT ON FUNCTION fashionrec._shop_events(integer, integer, bigint, bigint, boolean) IS
    'Internal: the event stream of a generated shop, streamed; use generate_shop()';

CREATE FUNCTION fashionrec.generate_shop(customers integer DEFAULT 2000,
                                         products integer DEFAULT 500,
                                         events bigint DEFAULT 50000,
                                         seed bigint DEFAULT 42,
                                         target_schema name DEFAULT 'shop',
                                         replace boolean DEFAULT false,
                                         seasonal_tastes boolean DEFAULT false)
    RETURNS TABLE (table_name text, row_count bigint)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    existing text;
    n        bigint;
    origin   text;
BEGIN
    -- not STRICT, so that a NULL gets an error rather than silently no shop
    IF customers IS NULL OR products IS NULL OR events IS NULL OR seed IS NULL
       OR target_schema IS NULL OR replace IS NULL OR seasonal_tastes IS NULL THEN
        RAISE EXCEPTION '% must not be NULL',
                CASE WHEN customers IS NULL THEN 'customers'
                     WHEN products IS NULL THEN 'products'
                     WHEN events IS NULL THEN 'events'
                     WHEN seed IS NULL THEN 'seed'
                     WHEN target_schema IS NULL THEN 'target_schema'
                     WHEN replace IS NULL THEN 'replace'
                     ELSE 'seasonal_tastes' END
            USING ERRCODE = '22004',
                  HINT = 'Leave the argument out to get its default.';
    END IF;
    PERFORM fashionrec._shop_check(customers, products, events);
    IF target_schema = '' THEN
        RAISE EXCEPTION 'target_schema must not be empty'
            USING ERRCODE = '22023';
    END IF;
    IF target_schema = 'fashionrec' THEN
        RAISE EXCEPTION 'target_schema must not be the extension''s own schema'
            USING ERRCODE = '22023',
                  DETAIL = 'Schema fashionrec holds the extension''s catalog and functions; keep data apart from it.',
                  HINT = 'Pick another schema, e.g. target_schema => ''shop''.';
    END IF;

    SELECT pg_catalog.string_agg(pg_catalog.format('%I.%I', s.nspname, c.relname), ', '
                                 ORDER BY c.relname)
      INTO existing
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace
     WHERE s.nspname = target_schema
       AND c.relname IN ('products', 'customers', 'customer_preferences', 'customer_seasons', 'events');
    IF existing IS NOT NULL THEN
        IF NOT replace THEN
            RAISE EXCEPTION 'schema "%" already has shop tables', target_schema
                USING ERRCODE = '42P07',
                      DETAIL = pg_catalog.format('Found %s.', existing),
                      HINT = 'Pass replace => true to drop and regenerate them, or choose another target_schema.';
        END IF;
        -- without CASCADE: views a user built on the shop stop the replacement
        -- a shop made with seasonal_tastes has one table more
        IF pg_catalog.to_regclass(pg_catalog.format('%I.customer_seasons', target_schema)) IS NOT NULL THEN
            EXECUTE pg_catalog.format('DROP TABLE %I.customer_seasons', target_schema);
        END IF;
        EXECUTE pg_catalog.format('DROP TABLE IF EXISTS %1$I.events, %1$I.customer_preferences, '
                                  '%1$I.customers, %1$I.products', target_schema);
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = target_schema) THEN
        EXECUTE pg_catalog.format('CREATE SCHEMA %I', target_schema);
    END IF;
    origin := pg_catalog.format('fashionrec.generate_shop(customers => %s, products => %s, '
                                'events => %s, seed => %s%s)', customers, products, events, seed,
                                CASE WHEN seasonal_tastes THEN ', seasonal_tastes => true' ELSE '' END);

    -- Tables are filled before their keys and indexes exist: one sorted
    -- index build is much cheaper than ten million index insertions.
    EXECUTE pg_catalog.format($sql$
        CREATE TABLE %I.products (
            product_id   bigint NOT NULL,
            name         text NOT NULL,
            description  text NOT NULL,
            category     text NOT NULL,
            sub_category text NOT NULL,
            article_type text NOT NULL,
            colour       text NOT NULL,
            season       text NOT NULL CHECK (season IN ('Winter', 'Spring', 'Summer', 'Fall')),
            gender       text NOT NULL,
            usage        text NOT NULL,
            price        numeric(10,2) NOT NULL CHECK (price > 0),
            price_band   text NOT NULL CHECK (price_band IN ('budget', 'mid', 'premium')),
            created_at   timestamptz NOT NULL,
            in_stock     boolean NOT NULL)$sql$, target_schema);
    EXECUTE pg_catalog.format('INSERT INTO %I.products SELECT * FROM fashionrec._shop_products($1, $2)',
                              target_schema) USING products, seed;
    GET DIAGNOSTICS n = ROW_COUNT;
    EXECUTE pg_catalog.format('ALTER TABLE %I.products ADD PRIMARY KEY (product_id)', target_schema);
    EXECUTE pg_catalog.format('COMMENT ON TABLE %I.products IS %L', target_schema,
                              'Synthetic fashion catalogue made by ' || origin);
    table_name := 'products';
    row_count := n;
    RETURN NEXT;

    EXECUTE pg_catalog.format($sql$
        CREATE TABLE %I.customers (
            customer_id bigint NOT NULL,
            gender      text NOT NULL,
            age         integer NOT NULL,
            signup_at   timestamptz NOT NULL,
            segment     integer NOT NULL)$sql$, target_schema);
    EXECUTE pg_catalog.format('INSERT INTO %I.customers SELECT * FROM fashionrec._shop_customers($1, $2, $3)',
                              target_schema) USING customers, products, seed;
    GET DIAGNOSTICS n = ROW_COUNT;
    EXECUTE pg_catalog.format('ALTER TABLE %I.customers ADD PRIMARY KEY (customer_id)', target_schema);
    EXECUTE pg_catalog.format('COMMENT ON TABLE %I.customers IS %L', target_schema,
                              'Synthetic customers made by ' || origin
                              || '; segment is the planted style cluster');
    table_name := 'customers';
    row_count := n;
    RETURN NEXT;

    EXECUTE pg_catalog.format($sql$
        CREATE TABLE %I.customer_preferences (
            customer_id  bigint NOT NULL,
            article_type text NOT NULL,
            colour       text NOT NULL,
            price_band   text NOT NULL CHECK (price_band IN ('budget', 'mid', 'premium')),
            strength     real NOT NULL CHECK (strength > 0 AND strength <= 1))$sql$, target_schema);
    EXECUTE pg_catalog.format('INSERT INTO %I.customer_preferences SELECT * FROM fashionrec._shop_preferences($1, $2, $3)',
                              target_schema) USING customers, products, seed;
    GET DIAGNOSTICS n = ROW_COUNT;
    -- A cluster never names an article type twice, so (customer, article
    -- type) is a key; a foreign key added afterwards is checked by one join,
    -- not by a trigger per row.
    EXECUTE pg_catalog.format('ALTER TABLE %1$I.customer_preferences '
                              'ADD PRIMARY KEY (customer_id, article_type), '
                              'ADD FOREIGN KEY (customer_id) REFERENCES %1$I.customers', target_schema);
    EXECUTE pg_catalog.format('COMMENT ON TABLE %I.customer_preferences IS %L', target_schema,
                              'The hidden preferences planted by ' || origin
                              || ': strength is the share of a customer''s fresh picks drawn around the cell');
    table_name := 'customer_preferences';
    row_count := n;
    RETURN NEXT;

    IF seasonal_tastes THEN
        EXECUTE pg_catalog.format($sql$
            CREATE TABLE %I.customer_seasons (
                customer_id      bigint NOT NULL,
                favourite_season text NOT NULL
                                 CHECK (favourite_season IN ('Winter', 'Spring', 'Summer', 'Fall')))$sql$,
                                  target_schema);
        EXECUTE pg_catalog.format('INSERT INTO %I.customer_seasons SELECT * FROM fashionrec._shop_customer_seasons($1, $2, $3)',
                                  target_schema) USING customers, products, seed;
        GET DIAGNOSTICS n = ROW_COUNT;
        EXECUTE pg_catalog.format('ALTER TABLE %1$I.customer_seasons ADD PRIMARY KEY (customer_id), '
                                  'ADD FOREIGN KEY (customer_id) REFERENCES %1$I.customers', target_schema);
        EXECUTE pg_catalog.format('COMMENT ON TABLE %I.customer_seasons IS %L', target_schema,
                                  'The seasonal tastes planted by ' || origin
                                  || ': each customer shops three times as often in their favourite season, and for it');
        table_name := 'customer_seasons';
        row_count := n;
        RETURN NEXT;
    END IF;

    EXECUTE pg_catalog.format($sql$
        CREATE TABLE %I.events (
            event_id    bigint NOT NULL,
            customer_id bigint NOT NULL,
            product_id  bigint NOT NULL,
            event_type  text NOT NULL CHECK (event_type IN ('view', 'cart', 'purchase')),
            session_id  bigint NOT NULL,
            occurred_at timestamptz NOT NULL)$sql$, target_schema);
    -- the SRF in the select list streams through ProjectSet; in FROM it
    -- would first be materialised into a tuplestore
    EXECUTE pg_catalog.format($sql$
        INSERT INTO %I.events
        SELECT (e).event_id, (e).customer_id, (e).product_id, (e).event_type,
               (e).session_id, (e).occurred_at
          FROM (SELECT fashionrec._shop_events($1, $2, $3, $4, $5) AS e) s$sql$,
                              target_schema) USING customers, products, events, seed, seasonal_tastes;
    GET DIAGNOSTICS n = ROW_COUNT;
    EXECUTE pg_catalog.format('ALTER TABLE %I.events ADD PRIMARY KEY (event_id)', target_schema);
    EXECUTE pg_catalog.format('CREATE INDEX ON %I.events (customer_id)', target_schema);
    EXECUTE pg_catalog.format('CREATE INDEX ON %I.events (product_id)', target_schema);
    EXECUTE pg_catalog.format('ALTER TABLE %1$I.events ADD FOREIGN KEY (customer_id) REFERENCES %1$I.customers, '
                              'ADD FOREIGN KEY (product_id) REFERENCES %1$I.products', target_schema);
    EXECUTE pg_catalog.format('COMMENT ON TABLE %I.events IS %L', target_schema,
                              'Synthetic views, carts and purchases in 2025 made by ' || origin);
    table_name := 'events';
    row_count := n;
    RETURN NEXT;

    EXECUTE pg_catalog.format('ANALYZE %1$I.products, %1$I.customers, %1$I.customer_preferences, %1$I.events',
                              target_schema);
    IF seasonal_tastes THEN
        EXECUTE pg_catalog.format('ANALYZE %I.customer_seasons', target_schema);
    END IF;
END
$$;
COMMENT ON FUNCTION fashionrec.generate_shop(integer, integer, bigint, bigint, name, boolean, boolean) IS
    'Creates a synthetic fashion shop (products, customers, customer_preferences, events; with seasonal_tastes, customer_seasons) in target_schema, deterministic by seed';
ALTER FUNCTION fashionrec.generate_shop(integer, integer, bigint, bigint, name, boolean, boolean) COST 10000000 ROWS 4;

-- ---- calibrated default probes (41_ann.sql) ----
-- build_ann() takes the recall target its index's default probes are
-- calibrated to; an index built before keeps fashionrec.ann_probes' old
-- fixed 64 (src/ann.c).
DROP FUNCTION fashionrec.build_ann(text, integer, integer);
CREATE FUNCTION fashionrec.build_ann(name text, version integer DEFAULT NULL, lists integer DEFAULT NULL,
                                     recall double precision DEFAULT NULL)
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'fashionrec_build_ann'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION fashionrec.build_ann(text, integer, integer, double precision) IS
    'Adds an approximate top-k (IVF) index to a trained version (the active one when version is NULL), or rebuilds it with lists lists (about 4 x sqrt(items) when NULL), its default probes calibrated to mean recall@10 recall (0.98 when NULL) on a sample of its items (and of its users'' vectors for a factor model); returns its description, also recorded in the version''s info under "ann"';
ALTER FUNCTION fashionrec.build_ann(text, integer, integer, double precision) COST 10000000;
REVOKE EXECUTE ON FUNCTION fashionrec.build_ann(text, integer, integer, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fashionrec.build_ann(text, integer, integer, double precision) TO fashionrec_trainer;

-- ---- as the install script ends (src/sql/99_privileges.sql) ----
-- Last, after every grant above: the update fails rather than leave a
-- SECURITY DEFINER function callable by PUBLIC.
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
