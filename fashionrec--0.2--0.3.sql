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

-- featurefm's stored feature queries run at retrain() only as their author
-- (src/sql/70_monitoring.sql, retrain as 0.3 has it)
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
        -- (featurefm's item_features / user_features are stored queries too)
        IF retrain.source IS NULL OR v_catalog IS NOT NULL
           OR v_champ.params ?| ARRAY['item_features', 'user_features'] THEN
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
-- the users by hash, for replicas), recommend_all_into() scores in parallel
-- into a table, user_shard() says which share a user is in.
DROP FUNCTION fashionrec.recommend_all(text, bigint[], integer, boolean, bigint[], bigint[], integer);
CREATE FUNCTION fashionrec.recommend_all(name text, users bigint[] DEFAULT NULL, k integer DEFAULT 10,
                                         exclude_seen boolean DEFAULT true,
                                         candidates bigint[] DEFAULT NULL,
                                         exclude bigint[] DEFAULT NULL,
                                         version integer DEFAULT NULL,
                                         shard integer DEFAULT 0, shards integer DEFAULT 1)
    RETURNS TABLE (user_id bigint, item_id bigint, score real, rank integer)
    AS 'MODULE_PATHNAME', 'fashionrec_recommend_all_0_3'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION fashionrec.recommend_all(text, bigint[], integer, boolean, bigint[], bigint[], integer, integer, integer) IS
    'Top-k items for many users (all the model knows when users is NULL; of them, those with user_shard(user_id, shards) = shard), scored in blocks: for nightly batches, INSERT ... SELECT. candidates and exclude apply to every user';

-- Batch scoring: every user of a model (or of one share by user hash) into
-- the caller's table, by several processes, in the caller's transaction.
CREATE FUNCTION fashionrec.recommend_all_into(name text, target regclass, k integer DEFAULT 10,
                                              exclude_seen boolean DEFAULT true,
                                              candidates bigint[] DEFAULT NULL,
                                              exclude bigint[] DEFAULT NULL,
                                              version integer DEFAULT NULL,
                                              shard integer DEFAULT 0, shards integer DEFAULT 1,
                                              workers integer DEFAULT 1)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'fashionrec_recommend_all_into'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION fashionrec.recommend_all_into(text, regclass, integer, boolean, bigint[], bigint[], integer, integer, integer, integer) IS
    'Inserts every user''s top k (of the share shard of shards) into target (user_id, item_id, score, rank) with workers processes in the caller''s transaction; returns the rows inserted';

CREATE FUNCTION fashionrec.user_shard(user_id bigint, shards integer)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'fashionrec_user_shard'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.user_shard(bigint, integer) IS
    'The share (0 .. shards - 1) of a user for recommend_all and recommend_all_into''s shard/shards: abs(hashint8(user_id) % shards)';
ALTER FUNCTION fashionrec.recommend_all(text, bigint[], integer, boolean, bigint[], bigint[], integer, integer, integer)
    COST 20000000 ROWS 100000;
ALTER FUNCTION fashionrec.recommend_all_into(text, regclass, integer, boolean, bigint[], bigint[], integer, integer, integer, integer)
    COST 20000000;
ALTER FUNCTION fashionrec.user_shard(bigint, integer) COST 5;
REVOKE EXECUTE ON FUNCTION fashionrec.recommend_all_into(text, regclass, integer, boolean, bigint[], bigint[], integer, integer, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fashionrec.recommend_all_into(text, regclass, integer, boolean, bigint[], bigint[], integer, integer, integer, integer) TO fashionrec_reader;
