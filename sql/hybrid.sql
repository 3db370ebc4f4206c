-- "hybrid": a weighted fusion of pinned component models; "sequence" and
-- next_items(); explain().
--
-- Seven products with 2-d content vectors: 1-3 point along x ("A"), 4-6
-- along y ("B"), and 7 is A-like but new: nobody has bought it, so only the
-- content model knows it.  Customers 1-3 buy A, 4-6 buy B, 7 bought one A.
CREATE TABLE hvec (item bigint, v real[]);
INSERT INTO hvec VALUES (1, '{1,0}'), (2, '{1,0.1}'), (3, '{0.9,0.2}'),
                        (4, '{0,1}'), (5, '{0.1,1}'), (6, '{0.2,0.9}'), (7, '{1,0.05}');
CREATE TABLE hbuy (customer bigint, product bigint, at timestamptz);
INSERT INTO hbuy VALUES
    (1, 1, '2024-01-01 10:00'), (1, 2, '2024-01-01 10:05'),
    (2, 1, '2024-01-01 11:00'), (2, 2, '2024-01-01 11:05'), (2, 3, '2024-01-01 11:10'),
    (3, 2, '2024-01-02 10:00'), (3, 3, '2024-01-02 10:05'), (3, 1, '2024-01-03 10:00'),
    (4, 4, '2024-01-01 10:00'), (4, 5, '2024-01-01 10:05'),
    (5, 4, '2024-01-01 12:00'), (5, 5, '2024-01-01 12:05'), (5, 6, '2024-01-01 12:10'),
    (6, 5, '2024-01-02 12:00'), (6, 6, '2024-01-02 12:05'), (6, 4, '2024-01-02 12:10'),
    (7, 1, '2024-01-04 09:00');

SET client_min_messages = warning;
SELECT fashionrec.train('h-als', 'als', 'SELECT customer, product FROM hbuy',
                        '{"factors": 2, "iterations": 10, "regularization": 0.1, "solver": "cholesky"}');
SELECT fashionrec.train('h-pop', 'popularity', 'SELECT customer, product FROM hbuy');
SELECT fashionrec.train('h-vec', 'embedding', 'hvec', '{"interactions": "SELECT customer, product FROM hbuy"}');
SELECT fashionrec.train('h-seq', 'sequence', 'SELECT customer, product, 1, at FROM hbuy');
SELECT fashionrec.train('h', 'hybrid', NULL,
                        '{"cf": "h-als", "content": "h-vec", "popularity": "h-pop",
                          "interactions": "SELECT customer, product FROM hbuy"}');
-- the union of the components' items (7 only from the content model), the
-- pinned versions, and one new item mapped into the ALS space
SELECT algorithm, source, users, items, interactions,
       info - 'new_item_map_r2' AS info, (info ? 'new_item_map_r2') AS has_r2
  FROM fashionrec.models WHERE name = 'h';
SELECT name, parameters FROM fashionrec.algorithms() WHERE name IN ('hybrid', 'sequence') ORDER BY name;

-- customer 1 has 1 and 2: the unseen A items 3 and 7 lead; 7 (new) gets
-- a collaborative score through the content-to-factor mapping, and a
-- popularity of 0 (the popularity model never saw it bought)
SELECT item_id, rank FROM fashionrec.recommend('h', 1, k => 3);
SELECT signal, component, raw_score IS NOT NULL AS has_raw
  FROM fashionrec.explain('h', 1, k => 7) WHERE item_id = 7 ORDER BY signal;
-- explain sums to the score, and lists what recommend() serves
SELECT bool_and(abs(s.score - s.total) < 1e-4) AS sums_to_score
  FROM (SELECT item_id, min(score) AS score, sum(contribution) AS total
          FROM fashionrec.explain('h', 1, k => 5) GROUP BY item_id) s;
SELECT (SELECT array_agg(item_id ORDER BY rank) FROM fashionrec.recommend('h', 5, k => 4)) =
       (SELECT array_agg(item_id ORDER BY rank) FROM
           (SELECT DISTINCT rank, item_id FROM fashionrec.explain('h', 5, k => 4)) e) AS same_list;

-- dynamic weights: n / (n + 5) of the CF weight (1) for n items of history;
-- the rest goes to content and popularity (0.3 and 0.1) in proportion, 3:1
SELECT signal, round(weight::numeric, 4) AS weight
  FROM fashionrec.explain('h', 2, k => 1) ORDER BY signal;       -- n = 3: cf 3/8, 0.3 + 0.625 * 3/4, 0.1 + 0.625 / 4
SELECT signal, round(weight::numeric, 4) AS weight
  FROM fashionrec.explain('h', 7, k => 1) ORDER BY signal;       -- n = 1: cf 1/6, 0.3 + 0.8333 * 3/4, 0.1 + 0.8333 / 4
-- a customer the hybrid never saw: the fusion of an empty history, which is
-- popularity alone (1 bought 4 times; 2, 4, 5 3 times; 3, 6 twice; 7, which
-- the popularity model does not know, never: last)
SELECT signal, round(weight::numeric, 4) AS weight
  FROM fashionrec.explain('h', 999, k => 1) ORDER BY signal;
SELECT array_agg(item_id ORDER BY rank) AS unknown_user FROM fashionrec.recommend('h', 999, k => 7);
SELECT array_agg(item_id ORDER BY rank) AS unknown_user_explained
  FROM (SELECT DISTINCT rank, item_id FROM fashionrec.explain('h', 999, k => 7)) e;
-- a new customer's first clicks, folded in: B items for a B click
SELECT array_agg(item_id ORDER BY rank) AS fold_in_b FROM fashionrec.recommend_for_items('h', ARRAY[5]::bigint[], k => 2);
SELECT array_agg(item_id ORDER BY rank) AS fold_in_a FROM fashionrec.recommend_for_items('h', ARRAY[3]::bigint[], k => 3);
-- explain takes recommend()'s options but context: without the seen items'
-- exclusion, and with items excluded, it lists what recommend() serves
SELECT (SELECT array_agg(item_id ORDER BY rank) FROM fashionrec.recommend('h', 1, 4, false, NULL, ARRAY[3]::bigint[])) =
       (SELECT array_agg(item_id ORDER BY rank) FROM
           (SELECT DISTINCT rank, item_id FROM fashionrec.explain('h', 1, 4, false, NULL, ARRAY[3]::bigint[])) e) AS same_list,
       (SELECT count(*) FROM fashionrec.explain('h', 1, 7, exclude_seen => false) WHERE item_id IN (1, 2)) > 0 AS seen_listed,
       (SELECT count(*) FROM fashionrec.explain('h', 1, 7, exclude => ARRAY[3]::bigint[]) WHERE item_id = 3) AS excluded_rows;
-- candidates: explain why the new product scores what it does
SELECT rank, item_id, signal FROM fashionrec.explain('h', 4, k => 3, candidates => ARRAY[7, 8]::bigint[]) ORDER BY signal;

-- determinism: the same call twice, and a second identical training
SELECT (SELECT array_agg(score ORDER BY rank) FROM fashionrec.recommend('h', 3, k => 4)) =
       (SELECT array_agg(score ORDER BY rank) FROM fashionrec.recommend('h', 3, k => 4)) AS same_twice;
SELECT fashionrec.train('h-twin', 'hybrid', NULL,
                        '{"cf": "h-als", "content": "h-vec", "popularity": "h-pop",
                          "interactions": "SELECT customer, product FROM hbuy"}');
SELECT bool_and(a.s = b.s) AS twin_identical
  FROM (SELECT u, array_agg(score ORDER BY rank) s FROM generate_series(1, 8) u,
               fashionrec.recommend('h', u, k => 7) GROUP BY u) a
  JOIN (SELECT u, array_agg(score ORDER BY rank) s FROM generate_series(1, 8) u,
               fashionrec.recommend('h-twin', u, k => 7) GROUP BY u) b USING (u);

-- rank normalisation: best 0.5, worst -0.5, ties share their average rank
SELECT fashionrec.train('h-rank', 'hybrid', NULL,
                        '{"popularity": "h-pop", "normalization": "rank",
                          "interactions": "SELECT customer, product FROM hbuy"}');
SELECT item_id, normalized FROM fashionrec.explain('h-rank', 999, k => 7) ORDER BY rank;

-- pinning: retrain and activate the ALS component; version 1 of the hybrid
-- still serves with h-als@1, a new hybrid version picks up h-als@2
CREATE TEMP TABLE before AS
SELECT u, array_agg(item_id ORDER BY rank) AS items, array_agg(score ORDER BY rank) AS scores
  FROM generate_series(1, 7) u, fashionrec.recommend('h', u, k => 5) GROUP BY u;
SELECT fashionrec.train('h-als', 'als', 'SELECT customer, product FROM hbuy WHERE product <> 3',
                        '{"factors": 3, "iterations": 5, "seed": 7}', activate => true);
SELECT bool_and(b.items = a.items AND b.scores = a.scores) AS pinned_unchanged
  FROM before b
  JOIN (SELECT u, array_agg(item_id ORDER BY rank) AS items, array_agg(score ORDER BY rank) AS scores
          FROM generate_series(1, 7) u, fashionrec.recommend('h', u, k => 5) GROUP BY u) a USING (u);
SELECT DISTINCT component FROM fashionrec.explain('h', 1, 1) WHERE signal = 'cf';
SELECT fashionrec.train('h', 'hybrid', NULL,
                        '{"cf": "h-als", "content": "h-vec", "interactions": "SELECT customer, product FROM hbuy"}');
SELECT fashionrec.train('h', 'hybrid', NULL,
                        '{"cf": "h-als@1", "content": "h-vec", "interactions": "SELECT customer, product FROM hbuy"}');
SELECT version, info ->> 'cf' AS cf FROM fashionrec.models WHERE name = 'h' ORDER BY version;
SELECT DISTINCT component FROM fashionrec.explain('h', 1, 1, version => 2) WHERE signal = 'cf';
-- a pinned version that was dropped: the hybrid version can no longer serve
SELECT fashionrec.activate('h-als', 1);
SELECT fashionrec.drop_model('h-als', 2);
\set VERBOSITY terse
SELECT * FROM fashionrec.recommend('h', 1, version => 2);
\set VERBOSITY default

-- context: popularity within a season, through the popularity component
CREATE TABLE hctx AS SELECT customer, product, CASE WHEN product <= 3 THEN 'summer' ELSE 'winter' END AS season FROM hbuy;
SELECT fashionrec.train('h-popctx', 'popularity', 'hctx', '{"context_column": "season"}');
SELECT fashionrec.train('h-ctx', 'hybrid', NULL,
                        '{"cf": "h-als", "popularity": "h-popctx", "interactions": "SELECT customer, product FROM hbuy"}');
SELECT array_agg(item_id ORDER BY rank) AS summer FROM fashionrec.recommend('h-ctx', 999, k => 3, context => 'summer');
SELECT array_agg(item_id ORDER BY rank) AS unknown_context FROM fashionrec.recommend('h-ctx', 999, k => 3, context => 'spring');

-- sequence: 1 -> 2 -> 3 and 4 -> 5 -> 6 within sessions (5-minute steps);
-- customer 3's 2 -> 3 then a day's pause before 1: no 3 -> 1
SELECT users, items, interactions, info FROM fashionrec.models WHERE name = 'h-seq';
SELECT item_id, round(score::numeric, 4) AS score, rank FROM fashionrec.next_items('h-seq', ARRAY[1]::bigint[], 3);
SELECT item_id, round(score::numeric, 4) AS score, rank FROM fashionrec.similar_items('h-seq', 1, k => 2);
-- the latest item counts most: after 4 then 2, A items lead
SELECT array_agg(item_id ORDER BY rank) AS after_4_2 FROM fashionrec.next_items('h-seq', ARRAY[4, 2]::bigint[], 3);
SELECT array_agg(item_id ORDER BY rank) AS after_2_4 FROM fashionrec.next_items('h-seq', ARRAY[2, 4]::bigint[], 3);
SELECT array_agg(item_id ORDER BY rank) AS with_given FROM fashionrec.next_items('h-seq', ARRAY[1]::bigint[], 2, exclude_seen => false);
SELECT array_agg(item_id ORDER BY rank) AS candidates FROM fashionrec.next_items('h-seq', ARRAY[1]::bigint[], 3, candidates => ARRAY[3, 6, 99]::bigint[]);
SELECT array_agg(item_id ORDER BY rank) AS excluded FROM fashionrec.next_items('h-seq', ARRAY[1]::bigint[], 2, exclude => ARRAY[2]::bigint[]);
-- every option positionally: (name, recent_item_ids, k, exclude_seen, candidates, exclude, version)
SELECT array_agg(item_id ORDER BY rank) AS positional FROM fashionrec.next_items('h-seq', ARRAY[1]::bigint[], 3, false, ARRAY[1, 2, 3]::bigint[], ARRAY[2]::bigint[], 1);
-- nothing known: popularity
SELECT array_agg(item_id ORDER BY rank) AS empty FROM fashionrec.next_items('h-seq', ARRAY[]::bigint[], 3);
SELECT array_agg(item_id ORDER BY rank) AS unknown FROM fashionrec.next_items('h-seq', ARRAY[424242]::bigint[], 3);
-- customer 1's last items are 1, 2: next is 3
SELECT array_agg(item_id ORDER BY rank) AS customer_1 FROM fashionrec.recommend('h-seq', 1, k => 1);
-- a sequence signal in a hybrid, and next_items() on the hybrid
SELECT fashionrec.train('h-s', 'hybrid', NULL,
                        '{"sequence": "h-seq", "content": "h-vec", "interactions": "SELECT customer, product FROM hbuy"}');
-- (6, the only B item left, then by content the A item nearest to B)
SELECT array_agg(item_id ORDER BY rank) AS hybrid_next FROM fashionrec.next_items('h-s', ARRAY[4, 5]::bigint[], 2);

-- invalid: the source and the components
SELECT fashionrec.train('h-bad', 'als', NULL);
SELECT fashionrec.train('h-bad', 'hybrid', 'hbuy', '{"cf": "h-als"}');
SELECT fashionrec.train('h-bad', 'hybrid', NULL, '{"interactions": "hbuy"}');
SELECT fashionrec.train('h-bad', 'hybrid', NULL, '{"cf": "h-als"}');
SELECT fashionrec.train('h-bad', 'hybrid', NULL, '{"cf": "no-such-model", "interactions": "hbuy"}');
SELECT fashionrec.train('h-bad', 'hybrid', NULL, '{"colour": "h-vec", "interactions": "hbuy"}');
SELECT fashionrec.train('h-bad', 'hybrid', NULL, '{"cf": "h-vec", "interactions": "hbuy"}');
SELECT fashionrec.train('h-bad', 'hybrid', NULL, '{"cf": "h-pop", "interactions": "hbuy"}');
SELECT fashionrec.train('h-bad', 'hybrid', NULL, '{"content": "h-pop", "interactions": "hbuy"}');
SELECT fashionrec.train('h-bad', 'hybrid', NULL, '{"image": "h", "interactions": "hbuy"}');
SELECT fashionrec.train('h-bad', 'hybrid', NULL, '{"popularity": "h-als", "interactions": "hbuy"}');
SELECT fashionrec.train('h-bad', 'hybrid', NULL, '{"sequence": "h-als", "interactions": "hbuy"}');
SELECT fashionrec.train('h-bad', 'hybrid', NULL, '{"cf": "h", "interactions": "hbuy"}');
SELECT fashionrec.train('h-bad', 'hybrid', NULL, '{"cf": "h-als@x", "interactions": "hbuy"}');
SELECT fashionrec.train('h-bad', 'hybrid', NULL, '{"cf": "h-als@0", "interactions": "hbuy"}');
SELECT fashionrec.train('h-bad', 'hybrid', NULL, '{"cf": "h-als@9", "interactions": "hbuy"}');
SELECT fashionrec.train('h-bad', 'hybrid', NULL, '{"cf": "@1", "interactions": "hbuy"}');
SELECT fashionrec.train('h-bad', 'hybrid', NULL, '{"cf": 1, "interactions": "hbuy"}');
-- invalid: weights
SELECT fashionrec.train('h-bad', 'hybrid', NULL, '{"cf": "h-als", "cf_weight": -1, "interactions": "hbuy"}');
SELECT fashionrec.train('h-bad', 'hybrid', NULL, '{"cf": "h-als", "cf_weight": "NaN", "interactions": "hbuy"}');
SELECT fashionrec.train('h-bad', 'hybrid', NULL, '{"cf": "h-als", "cf_weight": 1e300, "interactions": "hbuy"}');
SELECT fashionrec.train('h-bad', 'hybrid', NULL, '{"cf": "h-als", "cf_weight": 0, "interactions": "hbuy"}');
SELECT fashionrec.train('h-bad', 'hybrid', NULL, '{"cf": "h-als", "history_n0": -1, "interactions": "hbuy"}');
SELECT fashionrec.train('h-bad', 'hybrid', NULL, '{"cf": "h-als", "normalization": "minmax", "interactions": "hbuy"}');
SELECT fashionrec.train('h-bad', 'hybrid', NULL, '{"cf": "h-als", "ridge_lambda": -0.5, "interactions": "hbuy"}');
SELECT count(*) AS no_failed_rows FROM fashionrec.model WHERE name = 'h-bad';
-- invalid: serving
SELECT * FROM fashionrec.explain('h-als', 1);
SELECT * FROM fashionrec.explain('h', 1, 0);
SELECT * FROM fashionrec.explain('h', NULL);
SELECT * FROM fashionrec.explain('nope', 1);
SET fashionrec.cache_models = 2;
SELECT * FROM fashionrec.recommend('h', 1, version => 1);
RESET fashionrec.cache_models;
-- a call that fails mid-way (user 1's seen items flagged, a score array
-- taken: hybrid_score_user refuses the cache size) leaves nothing to the
-- next calls: the same lists, every item when nothing is excluded, and the
-- backend's kept arrays (scratch.c) no bigger -- an array a failed call
-- kept would make each later call take, and allocate, another
CREATE FUNCTION pg_temp.scratch_bytes() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    b bigint := 0;
BEGIN
    -- PostgreSQL 14 and later
    IF pg_catalog.to_regclass('pg_catalog.pg_backend_memory_contexts') IS NOT NULL THEN
        EXECUTE $q$SELECT coalesce(sum(used_bytes), 0) FROM pg_catalog.pg_backend_memory_contexts
                    WHERE name = 'fashionrec serving scratch'$q$ INTO b;
    END IF;
    RETURN b;
END
$$;
CREATE TEMP TABLE h_before AS
SELECT ARRAY(SELECT row(item_id, round(score::numeric, 4))::text FROM fashionrec.recommend('h', 1, 5) ORDER BY rank) AS list,
       ARRAY(SELECT row(item_id, signal, round(contribution::numeric, 4))::text FROM fashionrec.explain('h', 1, 5)
              ORDER BY rank, signal) AS explained;
CREATE TEMP TABLE h_bytes AS SELECT pg_temp.scratch_bytes() AS bytes;
SET fashionrec.cache_models = 2;
DO $$
BEGIN
    FOR i IN 1 .. 20 LOOP
        BEGIN
            PERFORM count(*) FROM fashionrec.recommend('h', 1, 5);
            RAISE EXCEPTION 'recommend() served with fashionrec.cache_models = 2';
        EXCEPTION WHEN program_limit_exceeded THEN
            NULL;
        END;
    END LOOP;
END
$$;
RESET fashionrec.cache_models;
SELECT b.list = ARRAY(SELECT row(item_id, round(score::numeric, 4))::text FROM fashionrec.recommend('h', 1, 5) ORDER BY rank)
         AS same_list,
       b.explained = ARRAY(SELECT row(item_id, signal, round(contribution::numeric, 4))::text
                             FROM fashionrec.explain('h', 1, 5) ORDER BY rank, signal) AS same_explain,
       (SELECT count(DISTINCT item_id) FROM fashionrec.recommend('h', 1, 100, exclude_seen => false))
         = (SELECT items FROM fashionrec.models WHERE name = 'h' AND active) AS every_item
  FROM h_before b;
SELECT pg_temp.scratch_bytes() = bytes AS scratch_not_grown FROM h_bytes;
-- invalid: sequence
SELECT fashionrec.train('h-bad', 'sequence', 'SELECT customer, product FROM hbuy');
SELECT fashionrec.train('h-bad', 'sequence', 'SELECT customer, product, 1, at FROM hbuy', '{"window": 0}');
SELECT * FROM fashionrec.next_items('h-seq', NULL, 3);
SELECT * FROM fashionrec.next_items('h-seq', ARRAY[1, NULL]::bigint[], 3);
SELECT * FROM fashionrec.next_items('h-seq', ARRAY[1]::bigint[], 0);
SELECT * FROM fashionrec.next_items('h-seq', ARRAY[[1]]::bigint[], 3);
SELECT * FROM fashionrec.next_items('h-pop', ARRAY[1]::bigint[], 3, version => 0);
SELECT * FROM fashionrec.next_items('h-seq', ARRAY[1]::bigint[], 3, exclude => ARRAY[[2]]::bigint[]);
SELECT * FROM fashionrec.explain('h', 1, 3, exclude => ARRAY[NULL]::bigint[]);

-- 0.1's definitions of next_items() and explain() (until ALTER EXTENSION
-- fashionrec UPDATE) name the C symbols without _0_2, which read 0.1's
-- argument order and serve what the new signatures serve
CREATE SCHEMA v01;
CREATE FUNCTION v01.next_items(name text, recent_item_ids bigint[], k integer DEFAULT 10,
                               exclude_given boolean DEFAULT true, candidates bigint[] DEFAULT NULL,
                               version integer DEFAULT NULL)
    RETURNS TABLE (item_id bigint, score real, rank integer) AS 'fashionrec', 'fashionrec_next_items' LANGUAGE C STABLE;
CREATE FUNCTION v01.explain(name text, user_id bigint, k integer DEFAULT 10, candidates bigint[] DEFAULT NULL,
                            version integer DEFAULT NULL)
    RETURNS TABLE (rank integer, item_id bigint, score real, signal text, component text,
                   raw_score real, normalized real, weight real, contribution real)
    AS 'fashionrec', 'fashionrec_explain' LANGUAGE C STABLE;
SELECT (SELECT array_agg(row(n.*)) FROM v01.next_items('h-seq', ARRAY[1, 4]::bigint[], 3, false, ARRAY[1, 2, 3, 5, 6]::bigint[], 1) n)
     = (SELECT array_agg(row(n.*)) FROM fashionrec.next_items('h-seq', ARRAY[1, 4]::bigint[], 3, false, ARRAY[1, 2, 3, 5, 6]::bigint[], NULL, 1) n)
       AS next_items_0_1,
       (SELECT array_agg(row(e.*) ORDER BY e.rank, e.signal) FROM v01.explain('h', 4, 3, ARRAY[1, 3, 4, 7]::bigint[], 1) e)
     = (SELECT array_agg(row(e.*) ORDER BY e.rank, e.signal) FROM fashionrec.explain('h', 4, 3, true, ARRAY[1, 3, 4, 7]::bigint[], NULL, NULL, 1) e)
       AS explain_0_1;
-- 0.2's explain() (no context) names fashionrec_explain_0_2
CREATE FUNCTION v01.explain_0_2(name text, user_id bigint, k integer DEFAULT 10, exclude_seen boolean DEFAULT true,
                                candidates bigint[] DEFAULT NULL, exclude bigint[] DEFAULT NULL,
                                version integer DEFAULT NULL)
    RETURNS TABLE (rank integer, item_id bigint, score real, signal text, component text,
                   raw_score real, normalized real, weight real, contribution real)
    AS 'fashionrec', 'fashionrec_explain_0_2' LANGUAGE C STABLE;
SELECT (SELECT array_agg(row(e.*) ORDER BY e.rank, e.signal) FROM v01.explain_0_2('h', 4, 3, true, NULL, ARRAY[3]::bigint[], 1) e)
     = (SELECT array_agg(row(e.*) ORDER BY e.rank, e.signal) FROM fashionrec.explain('h', 4, 3, true, NULL, ARRAY[3]::bigint[], NULL, 1) e)
       AS explain_0_2;
DROP SCHEMA v01 CASCADE;
