-- Batch scoring: recommend_all() through the fused GEMM + top k for factor
-- models, equal to recommend() user by user; recommend_all_into() with one
-- and several processes, shares by user hash; every bad argument with its
-- SQLSTATE; the target as before after an error; who may call it.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

-- the SQLSTATE and message of a statement that must fail
CREATE FUNCTION pg_temp.fails(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- 700 customers (more than one claim of 256 users, so workers share them),
-- 300 products, weights that make ties rare
CREATE TABLE b_buys AS
SELECT c AS customer, p AS product, 1 + ((c * 7 + p * 13) % 5) AS qty
  FROM generate_series(1, 700) c, generate_series(1, 300) p
 WHERE (c * 31 + p * 17) % 23 < 2;
SELECT count(*) AS interactions, count(DISTINCT customer) AS customers, count(DISTINCT product) AS products FROM b_buys;
SELECT fashionrec.train('b-als', 'als', 'b_buys', '{"factors": 8, "iterations": 3}') AS version;
SELECT fashionrec.train('b-mf', 'mf', 'b_buys', '{"factors": 6, "iterations": 3}') AS version;
SELECT fashionrec.train('b-svd', 'svd', 'b_buys', '{"factors": 6}') AS version;
SELECT fashionrec.train('b-pop', 'popularity', 'b_buys') AS version;

-- recommend_all equals recommend() user by user for every algorithm path:
-- the batch GEMM and the per-user matrix-vector product round differently,
-- so an item may differ only where the two scores are within 1e-5
SELECT m AS model, count(*) AS rows,
       count(*) FILTER (WHERE b.item_id IS DISTINCT FROM s.item_id AND abs(b.score - s.score) > 1e-5) AS item_mismatches,
       count(*) FILTER (WHERE abs(b.score - s.score) > 1e-4 * greatest(1, abs(s.score))) AS score_mismatches
  FROM unnest(ARRAY['b-als', 'b-mf', 'b-svd', 'b-pop']) m
 CROSS JOIN LATERAL fashionrec.recommend_all(m, k => 7) b
  JOIN LATERAL fashionrec.recommend(m, b.user_id, 7) s ON s.rank = b.rank
 GROUP BY m ORDER BY m;
-- with candidates and exclusions, and unknown users (popularity) in the list
SELECT m AS model, count(*) AS rows,
       count(*) FILTER (WHERE b.item_id IS DISTINCT FROM s.item_id AND abs(b.score - s.score) > 1e-5) AS item_mismatches
  FROM unnest(ARRAY['b-als', 'b-mf']) m
 CROSS JOIN LATERAL fashionrec.recommend_all(m, ARRAY[424242, 3, 5, 8, 13]::bigint[], 4,
                                             candidates => ARRAY(SELECT generate_series(1, 300, 2))::bigint[],
                                             exclude => ARRAY[1, 3, 5]::bigint[]) b
  JOIN LATERAL fashionrec.recommend(m, b.user_id, 4, candidates => ARRAY(SELECT generate_series(1, 300, 2))::bigint[],
                                    exclude => ARRAY[1, 3, 5]::bigint[]) s ON s.rank = b.rank
 GROUP BY m ORDER BY m;
-- every item seen: fewer than k rows, never a seen item
SELECT count(*) AS rows_seen_items
  FROM fashionrec.recommend_all('b-als', k => 300) b JOIN b_buys t ON t.customer = b.user_id AND t.product = b.item_id;
SELECT min(n) = 300 - max(seen) AS all_unseen_returned
  FROM (SELECT user_id, count(*) AS n FROM fashionrec.recommend_all('b-als', ARRAY[1, 2]::bigint[], 300) GROUP BY 1) r,
       (SELECT max(c) AS seen FROM (SELECT count(*) AS c FROM b_buys WHERE customer IN (1, 2) GROUP BY customer) x) s;

-- shares: user_shard() puts every user in exactly one; the shares together are the whole
SELECT fashionrec.user_shard(42, 3) BETWEEN 0 AND 2 AS in_range,
       fashionrec.user_shard(42, 1) AS one_share,
       fashionrec.user_shard(NULL, 3) IS NULL AS null_user;
SELECT s AS shard, count(DISTINCT user_id) > 100 AS many_users,
       bool_and(fashionrec.user_shard(user_id, 3) = s) AS right_share
  FROM generate_series(0, 2) s, fashionrec.recommend_all('b-als', k => 2, shard => s, shards => 3)
 GROUP BY s ORDER BY s;
SELECT (SELECT array_agg(row(user_id, item_id, score, rank) ORDER BY user_id, rank)
          FROM generate_series(0, 2) s, fashionrec.recommend_all('b-als', k => 2, shard => s, shards => 3))
     = (SELECT array_agg(row(user_id, item_id, score, rank) ORDER BY user_id, rank)
          FROM fashionrec.recommend_all('b-als', k => 2)) AS shares_make_the_whole;

-- 0.2's definition, as a database has it until ALTER EXTENSION fashionrec
-- UPDATE, names the C symbol suffixed _0_2: it serves what 0.3's serves
CREATE FUNCTION pg_temp.recommend_all_0_2(name text, users bigint[] DEFAULT NULL, k integer DEFAULT 10,
                                          exclude_seen boolean DEFAULT true, candidates bigint[] DEFAULT NULL,
                                          exclude bigint[] DEFAULT NULL, version integer DEFAULT NULL)
    RETURNS TABLE (user_id bigint, item_id bigint, score real, rank integer)
    AS 'fashionrec', 'fashionrec_recommend_all_0_2' LANGUAGE C STABLE;
SELECT (SELECT array_agg(row(user_id, item_id, score, rank) ORDER BY user_id, rank)
          FROM pg_temp.recommend_all_0_2('b-mf', ARRAY[2, 3, 424242]::bigint[], 3, false, NULL, ARRAY[1]::bigint[], 1))
     = (SELECT array_agg(row(user_id, item_id, score, rank) ORDER BY user_id, rank)
          FROM fashionrec.recommend_all('b-mf', ARRAY[2, 3, 424242]::bigint[], 3, false, NULL, ARRAY[1]::bigint[], 1))
       AS recommend_all_0_2;

-- recommend_all_into: the same rows as recommend_all, with 1 and 3 processes
CREATE TABLE b_out (user_id bigint, item_id bigint, score real, rank integer,
                    made_at timestamptz DEFAULT now());
CREATE TABLE b_ref AS SELECT * FROM fashionrec.recommend_all('b-als', k => 5);
SELECT fashionrec.recommend_all_into('b-als', 'b_out', 5) AS rows;
SELECT count(*) AS differences FROM ((TABLE b_ref EXCEPT SELECT user_id, item_id, score, rank FROM b_out)
                                     UNION ALL (SELECT user_id, item_id, score, rank FROM b_out EXCEPT TABLE b_ref)) d;
TRUNCATE b_out;
SELECT fashionrec.recommend_all_into('b-als', 'b_out', 5, workers => 3) AS rows;
SELECT count(*) AS differences FROM ((TABLE b_ref EXCEPT SELECT user_id, item_id, score, rank FROM b_out)
                                     UNION ALL (SELECT user_id, item_id, score, rank FROM b_out EXCEPT TABLE b_ref)) d;
-- every other algorithm and option, in parallel, against recommend_all
CREATE FUNCTION pg_temp.into_equals(m text, cand bigint[], excl bigint[], sh integer, shs integer) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    d bigint;
BEGIN
    TRUNCATE b_out;
    n := fashionrec.recommend_all_into(m, 'b_out', 4, true, cand, excl, NULL, sh, shs, workers => 2);
    SELECT count(*) INTO d FROM (
        (SELECT user_id, item_id, score, rank FROM fashionrec.recommend_all(m, NULL, 4, true, cand, excl, NULL, sh, shs)
         EXCEPT SELECT user_id, item_id, score, rank FROM b_out)
        UNION ALL
        (SELECT user_id, item_id, score, rank FROM b_out
         EXCEPT SELECT user_id, item_id, score, rank FROM fashionrec.recommend_all(m, NULL, 4, true, cand, excl, NULL, sh, shs))) x;
    RETURN n || ' rows, ' || d || ' differences';
END
$$;
SELECT pg_temp.into_equals('b-mf', NULL, NULL, 0, 1) AS mf,
       pg_temp.into_equals('b-svd', NULL, NULL, 0, 1) AS svd,
       pg_temp.into_equals('b-pop', NULL, NULL, 0, 1) AS popularity,
       pg_temp.into_equals('b-als', ARRAY(SELECT generate_series(1, 300, 3))::bigint[], ARRAY[4, 7]::bigint[], 0, 1) AS filters,
       pg_temp.into_equals('b-als', NULL, NULL, 1, 2) AS share_1_of_2,
       pg_temp.into_equals('b-als', '{}', NULL, 0, 1) AS no_candidates;
-- a context (docs/serving.md): a popularity model ranks each user by the
-- context's list, as recommend() does, less the user's seen items; in
-- parallel too (700 users: more than one claim); a context the model does
-- not know gives the lists without context; a model without contexts
-- refuses one as recommend() does (0A000)
SELECT fashionrec.train('b-ctx', 'popularity',
       $$SELECT customer, product, qty, CASE (customer + product) % 3 WHEN 0 THEN 'x' WHEN 1 THEN 'y' ELSE 'z' END AS ctx
           FROM b_buys$$, '{"context_column": "ctx"}') AS version;
SELECT count(DISTINCT u) AS users,
       bool_and(ARRAY(SELECT item_id FROM fashionrec.recommend('b-ctx', u, 4, context => 'x') ORDER BY rank)
                = ARRAY(SELECT item_id FROM fashionrec.recommend_all('b-ctx', ARRAY[u], 4, context => 'x') ORDER BY rank))
         AS same_as_recommend,
       bool_and(ARRAY(SELECT item_id FROM fashionrec.recommend('b-ctx', u, 4, context => 'x') ORDER BY rank)
                <> ARRAY(SELECT item_id FROM fashionrec.recommend('b-ctx', u, 4) ORDER BY rank)) AS context_changes_lists
  FROM unnest(ARRAY[1, 2, 3, 350, 700, 424242]::bigint[]) u;
TRUNCATE b_out;
SELECT fashionrec.recommend_all_into('b-ctx', 'b_out', 4, workers => 2, context => 'y') AS rows;
SELECT count(*) AS differences FROM (
    (SELECT user_id, item_id, score, rank FROM fashionrec.recommend_all('b-ctx', k => 4, context => 'y')
     EXCEPT SELECT user_id, item_id, score, rank FROM b_out)
    UNION ALL
    (SELECT user_id, item_id, score, rank FROM b_out
     EXCEPT SELECT user_id, item_id, score, rank FROM fashionrec.recommend_all('b-ctx', k => 4, context => 'y'))) d;
SELECT count(*) AS differences_in_unknown_context FROM (
    (SELECT * FROM fashionrec.recommend_all('b-ctx', k => 4, context => 'nope')
     EXCEPT SELECT * FROM fashionrec.recommend_all('b-ctx', k => 4))
    UNION ALL
    (SELECT * FROM fashionrec.recommend_all('b-ctx', k => 4)
     EXCEPT SELECT * FROM fashionrec.recommend_all('b-ctx', k => 4, context => 'nope'))) d;
SELECT pg_temp.fails($$SELECT count(*) FROM fashionrec.recommend('b-als', 1, 4, context => 'x')$$) AS recommend_als;
SELECT pg_temp.fails($$SELECT count(*) FROM fashionrec.recommend_all('b-als', k => 4, context => 'x')$$) AS recommend_all_als;
SELECT pg_temp.fails($$SELECT fashionrec.recommend_all_into('b-als', 'b_out', 4, workers => 2, context => 'x')$$) AS into_als;
-- no user: still refused, before anything is scored
SELECT pg_temp.fails($$SELECT count(*) FROM fashionrec.recommend_all('b-als', '{}', 4, context => 'x')$$) AS no_users_als;

-- a partitioned target, and a named version
CREATE TABLE b_parts (user_id bigint, item_id bigint, score real, rank integer) PARTITION BY RANGE (rank);
CREATE TABLE b_parts_top PARTITION OF b_parts FOR VALUES FROM (1) TO (3);
CREATE TABLE b_parts_rest PARTITION OF b_parts FOR VALUES FROM (3) TO (MAXVALUE);
SELECT fashionrec.recommend_all_into('b-als', 'b_parts', 4, version => 1, workers => 2) AS rows;
SELECT count(*) AS top_two_rows FROM b_parts_top;

-- the target as before when the insert fails (a constraint); test/batch.sh
-- stops the scoring itself (timeout, cancel, a terminated worker)
TRUNCATE b_out;
INSERT INTO b_out (user_id, item_id, score, rank) VALUES (-1, -1, 0, 1);
ALTER TABLE b_out ADD CONSTRAINT few CHECK (rank <= 3);
SELECT pg_temp.fails($$SELECT fashionrec.recommend_all_into('b-als', 'b_out', 5, workers => 2)$$);
SELECT count(*) AS rows_kept FROM b_out;
ALTER TABLE b_out DROP CONSTRAINT few;

-- bad arguments: workers, shares (22023, NULLs 22004)
SELECT pg_temp.fails($$SELECT fashionrec.recommend_all_into('b-als', 'b_out', workers => 0)$$) AS workers_0;
SELECT pg_temp.fails($$SELECT fashionrec.recommend_all_into('b-als', 'b_out', workers => 65)$$) AS workers_65;
SELECT pg_temp.fails($$SELECT fashionrec.recommend_all_into('b-als', 'b_out', workers => NULL)$$) AS workers_null;
SELECT pg_temp.fails($$SELECT fashionrec.recommend_all_into('b-als', 'b_out', shards => 0)$$) AS shards_0;
SELECT pg_temp.fails($$SELECT fashionrec.recommend_all_into('b-als', 'b_out', shard => 3, shards => 3)$$) AS shard_3_of_3;
SELECT pg_temp.fails($$SELECT fashionrec.recommend_all_into('b-als', 'b_out', shard => -1, shards => 3)$$) AS shard_negative;
SELECT pg_temp.fails($$SELECT count(*) FROM fashionrec.recommend_all('b-als', shard => NULL)$$) AS shard_null;
SELECT pg_temp.fails($$SELECT count(*) FROM fashionrec.recommend_all('b-als', shards => 65537)$$) AS shards_too_many;
SELECT pg_temp.fails($$SELECT fashionrec.user_shard(1, 0)$$) AS user_shard_0;
-- k, the model, the version: as every serving function
SELECT pg_temp.fails($$SELECT fashionrec.recommend_all_into('b-als', 'b_out', 0)$$) AS k_0;
SELECT pg_temp.fails($$SELECT fashionrec.recommend_all_into('b-nothing', 'b_out')$$) AS unknown_model;
SELECT pg_temp.fails($$SELECT fashionrec.recommend_all_into('b-als', 'b_out', version => 99)$$) AS unknown_version;
-- the target: NULL, missing, not a table, without the columns, read-only transaction
SELECT pg_temp.fails($$SELECT fashionrec.recommend_all_into('b-als', NULL)$$) AS target_null;
SELECT pg_temp.fails($$SELECT fashionrec.recommend_all_into('b-als', 'b_missing')$$) AS target_missing;
CREATE VIEW b_view AS SELECT * FROM b_out;
SELECT pg_temp.fails($$SELECT fashionrec.recommend_all_into('b-als', 'b_view')$$) AS target_view;
SELECT pg_temp.fails($$SELECT fashionrec.recommend_all_into('b-als', 'b_buys')$$) AS target_columns;
BEGIN READ ONLY;
SELECT pg_temp.fails($$SELECT fashionrec.recommend_all_into('b-als', 'b_out')$$) AS read_only;
ROLLBACK;

-- who may: a reader without INSERT on the target is refused before any
-- scoring; with it, it inserts; a role that is not a reader cannot call it
CREATE ROLE fr_batch_reader IN ROLE fashionrec_reader;
CREATE ROLE fr_batch_nobody;
GRANT SELECT ON b_out TO fr_batch_reader, fr_batch_nobody;
SET ROLE fr_batch_reader;
SELECT pg_temp.fails($$SELECT fashionrec.recommend_all_into('b-als', 'b_out', 2)$$) AS reader_no_insert;
RESET ROLE;
GRANT INSERT ON b_out TO fr_batch_reader, fr_batch_nobody;
TRUNCATE b_out;
SET ROLE fr_batch_reader;
SELECT fashionrec.recommend_all_into('b-als', 'b_out', 2, workers => 2) AS reader_rows;
RESET ROLE;
SET ROLE fr_batch_nobody;
SELECT pg_temp.fails($$SELECT fashionrec.recommend_all_into('b-als', 'b_out', 2)$$) AS not_a_reader;
RESET ROLE;

DROP VIEW b_view;
DROP TABLE b_out, b_ref, b_parts, b_buys;
DROP ROLE fr_batch_reader;
DROP ROLE fr_batch_nobody;
SELECT fashionrec.drop_model(n) FROM unnest(ARRAY['b-als', 'b-mf', 'b-svd', 'b-pop']) n;
