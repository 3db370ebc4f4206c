-- Hybrid and sequence models: labels and privileges of the SQL objects,
-- SQLSTATEs, and planted structure: in a shop of two taste clusters, items
-- the collaborative model never saw are ranked by the content-to-factor
-- mapping alone (content weight 0) into the right cluster, and session
-- transitions planted as chains are recovered by next_items().
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(30);

-- ---- labels -------------------------------------------------------------------
SELECT has_function('fashionrec', 'explain', ARRAY['text', 'bigint', 'integer', 'boolean', 'bigint[]', 'bigint[]', 'text', 'integer']);
SELECT has_function('fashionrec', 'next_items', ARRAY['text', 'bigint[]', 'integer', 'boolean', 'bigint[]', 'bigint[]', 'integer']);
SELECT volatility_is('fashionrec', 'explain', ARRAY['text', 'bigint', 'integer', 'boolean', 'bigint[]', 'bigint[]', 'text', 'integer'], 'stable');
SELECT volatility_is('fashionrec', 'next_items', ARRAY['text', 'bigint[]', 'integer', 'boolean', 'bigint[]', 'bigint[]', 'integer'], 'stable');
SELECT is((SELECT count(*)::int FROM pg_proc
            WHERE pronamespace = 'fashionrec'::regnamespace AND proname IN ('explain', 'next_items')
              AND proparallel = 'r' AND obj_description(oid, 'pg_proc') IS NOT NULL),
          2, 'explain and next_items are parallel restricted and commented');
SELECT ok(has_function_privilege('fashionrec_reader', 'fashionrec.explain(text, bigint, integer, boolean, bigint[], bigint[], text, integer)', 'EXECUTE'),
          'readers may explain');
SELECT ok(has_function_privilege('fashionrec_reader', 'fashionrec.next_items(text, bigint[], integer, boolean, bigint[], bigint[], integer)', 'EXECUTE'),
          'readers may ask for next items');
SELECT is((SELECT count(*)::int FROM fashionrec.algorithms() WHERE name IN ('hybrid', 'sequence')), 2,
          'hybrid and sequence are algorithms');

-- ---- planted: two clusters ------------------------------------------------------
-- 60 items, 1-30 cluster A (content near (1, 0)), 31-60 cluster B (near (0, 1));
-- items 25-30 and 55-60 are new: in the content model only.  Users 1-40 like
-- A, 41-80 like B; each bought 8 items of their cluster (deterministic).
CREATE TEMP TABLE pv AS
SELECT i AS item_id,
       CASE WHEN i <= 30 THEN ARRAY[1, 0.1 * (i % 7) / 7]::real[]
            ELSE ARRAY[0.1 * (i % 5) / 5, 1]::real[] END AS v
  FROM generate_series(1, 60) i;
CREATE TEMP TABLE pb AS
SELECT u AS user_id,
       CASE WHEN u <= 40 THEN 1 + (u * 7 + j * 3) % 24 ELSE 31 + (u * 7 + j * 3) % 24 END AS item_id,
       timestamptz '2024-01-01' + (u * 100 + j) * interval '1 minute' AS at
  FROM generate_series(1, 80) u, generate_series(0, 7) j;
SELECT ok(fashionrec.train('p-als', 'als', 'SELECT DISTINCT user_id, item_id FROM pb',
                           '{"factors": 4, "iterations": 10}') = 1, 'ALS on the bought items');
SELECT ok(fashionrec.train('p-vec', 'embedding', 'pv') = 1, 'content vectors of all 60 items');
SELECT ok(fashionrec.train('p-h', 'hybrid', NULL,
                           '{"cf": "p-als", "content": "p-vec", "content_weight": 0,
                             "interactions": "SELECT DISTINCT user_id, item_id FROM pb"}') = 1,
          'hybrid with the content weight 0: new items scored by the mapping alone');
SELECT is((SELECT (info ->> 'new_items_mapped')::int FROM fashionrec.models WHERE name = 'p-h'), 12,
          '12 new items mapped into the ALS space');
SELECT cmp_ok((SELECT (info ->> 'new_item_map_r2')::float8 FROM fashionrec.models WHERE name = 'p-h'), '>', 0.15::float8,
              'the 2-d content explains a real share of the 4 item factors (noise gives about 0)');
-- among the new items only, each user's top 3 are of their own cluster
SELECT is((SELECT count(*)::int FROM generate_series(1, 80) u,
                  fashionrec.recommend('p-h', u, k => 3,
                                       candidates => ARRAY[25, 26, 27, 28, 29, 30, 55, 56, 57, 58, 59, 60]::bigint[]) r
            WHERE (u <= 40) = (r.item_id <= 30)),
          240, 'every user''s top 3 new items are from their cluster');
-- without the mapping the collaborative signal has no opinion on new items
SELECT ok(fashionrec.train('p-h0', 'hybrid', NULL,
                           '{"cf": "p-als", "content": "p-vec", "content_weight": 0, "cold_start": false,
                             "interactions": "SELECT DISTINCT user_id, item_id FROM pb"}') = 1, 'hybrid without the mapping');
SELECT is((SELECT count(DISTINCT r.score)::int FROM fashionrec.recommend('p-h0', 1, k => 12,
                  candidates => ARRAY[25, 26, 27, 28, 29, 30, 55, 56, 57, 58, 59, 60]::bigint[]) r),
          1, 'without the mapping all new items tie');
-- a cold customer who clicked two B items gets B items
SELECT is((SELECT count(*)::int FROM fashionrec.recommend_for_items('p-h', ARRAY[31, 32]::bigint[], k => 5) r
            WHERE r.item_id > 30), 5, 'fold-in of two B clicks: five B items');
-- explain: contributions sum to the score for every listed item
SELECT is((SELECT count(*)::int FROM (
              SELECT e.item_id FROM fashionrec.explain('p-h', 3, 10) e
               GROUP BY e.item_id HAVING abs(min(e.score) - sum(e.contribution)) > 1e-4) bad), 0,
          'explain: score = sum of contributions');

-- ---- planted: session chains --------------------------------------------------------
-- every user walks a chain i -> i+1 -> i+2 within minutes, then a day later another
CREATE TEMP TABLE ps AS
SELECT u AS user_id, s * 10 + j AS item_id,
       timestamptz '2024-01-01' + s * interval '1 day' + j * interval '2 minutes' + u * interval '1 second' AS at
  FROM generate_series(1, 20) u, generate_series(0, 4) s, generate_series(1, 3) j;
SELECT ok(fashionrec.train('p-seq', 'sequence', 'SELECT user_id, item_id, 1, at FROM ps') = 1, 'sequence model');
SELECT is((SELECT array_agg(item_id ORDER BY rank) FROM fashionrec.next_items('p-seq', ARRAY[21]::bigint[], 2)),
          ARRAY[22, 23]::bigint[], 'next after 21: 22 then 23');
SELECT is((SELECT count(*)::int FROM fashionrec.next_items('p-seq', ARRAY[13]::bigint[], 5)
            WHERE score > 0), 0, 'no transition across the day''s pause');

-- ---- SQLSTATEs ----------------------------------------------------------------------
SELECT throws_ok($$SELECT fashionrec.train('p-bad', 'hybrid', NULL, '{"cf": "p-vec", "interactions": "pb"}')$$,
                 '22023', NULL, 'component of the wrong kind');
SELECT throws_ok($$SELECT fashionrec.train('p-bad', 'hybrid', NULL, '{"cf": "p-nope", "interactions": "pb"}')$$,
                 '42704', NULL, 'unknown component');
SELECT throws_ok($$SELECT fashionrec.train('p-bad', 'hybrid', NULL, '{"cf": "p-als", "cf_weight": -0.1, "interactions": "pb"}')$$,
                 '22023', NULL, 'negative weight');
SELECT throws_ok($$SELECT fashionrec.train('p-bad', 'als', NULL)$$, '22004', NULL, 'NULL source for others');
SELECT throws_ok($$SELECT fashionrec.train('p-bad', 'hybrid', NULL, '{"cf": "p-als", "fusion": "logistic", "interactions": "pb"}')$$,
                 '22023', 'fusion "logistic" needs a "validation" source', 'learned fusion without a validation source');
SELECT throws_ok($$SELECT fashionrec.train('p-bad', 'hybrid', NULL, '{"cf": "p-als", "fusion": "auto", "mlp_hidden": "4,4,4", "validation": "pb", "interactions": "pb"}')$$,
                 '22023', NULL, 'three hidden layers');
SELECT throws_ok($$SELECT fashionrec.train('p-bad', 'hybrid', NULL, '{"cf": "p-als", "half_life_days": 3, "interactions": "SELECT user_id, item_id FROM pb"}')$$,
                 '22023', '"half_life_days" needs times in "interactions"', 'a half-life without times');
SELECT throws_ok($$SELECT * FROM fashionrec.explain('p-als', 1)$$, '0A000', NULL, 'explain of a non-hybrid');
SET LOCAL fashionrec.cache_models = 1;
SELECT throws_ok($$SELECT * FROM fashionrec.recommend('p-h', 1)$$,
                 '54000', NULL, 'cache too small for the components');
RESET fashionrec.cache_models;

SELECT * FROM finish();
ROLLBACK;
