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

-- Train on all folds but one and evaluate on that one, for each fold.  Folds
-- are assigned per interaction by a seeded hash of (user, item), so they do
-- not depend on row order.  Each fold's model is kept as a 'trial' version.
CREATE FUNCTION fashionrec.cross_validate(name text, algorithm text, source text,
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
CREATE FUNCTION fashionrec.tune(name text, algorithm text, source text, grid jsonb,
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
