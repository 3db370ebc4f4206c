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
            ('snapshot_stats', 100000, NULL),
            -- featurefm's feature embeddings: a lookup, a pass over the named features
            ('feature_embedding', 200, NULL), ('similar_features', 1000, 10)
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

-- approximate top-k (41_ann.sql): a k-means over the catalog's vectors
ALTER FUNCTION fashionrec.build_ann(text, integer, integer, double precision) COST 10000000;
ALTER FUNCTION fashionrec._train_ann(bigint, text, integer, jsonb) COST 10000000;
-- batch scoring into a table (recommend_all() is in the table above)
ALTER FUNCTION fashionrec.recommend_all_into(text, regclass, integer, boolean, bigint[], bigint[], integer, integer, integer, integer, text)
    COST 20000000;
ALTER FUNCTION fashionrec.user_shard(bigint, integer) COST 5;
-- the hybrid in the training pipeline: each call trains models
ALTER FUNCTION fashionrec._hybrid_train(text, jsonb, jsonb, text, text, text, text, text, text, jsonb, boolean) COST 10000000;
ALTER FUNCTION fashionrec._retrain_component(fashionrec.model, text, text) COST 10000000;
ALTER FUNCTION fashionrec._train_trial(text, text, text, text, text, jsonb, text, jsonb) COST 10000000;
