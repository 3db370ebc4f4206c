-- Implicit-feedback ALS.  Factor values depend on the CPU's float rounding
-- (SIMD width, FMA), so this file checks what must hold on every machine:
-- planted structure recovered, fold-in consistency, determinism, errors.
SET client_min_messages = warning;  -- progress NOTICEs carry timings
-- two taste groups: users 1-5 use items 101-105, users 6-10 items 201-205;
-- each user misses exactly one item of the group (user 1: 101, user 6: 201)
CREATE TABLE als_data AS
  SELECT u::bigint AS u, (g * 100 + i)::bigint AS i, (1 + (u + i) % 3)::real AS w
    FROM generate_series(1, 10) u,
         LATERAL (SELECT CASE WHEN u <= 5 THEN 1 ELSE 2 END AS g) grp,
         generate_series(1, 5) i
   WHERE i <> (u - 1) % 5 + 1;
SELECT count(*) AS pairs, count(DISTINCT u) AS users, count(DISTINCT i) AS items FROM als_data;

-- two factors for two groups: with more factors than the data needs, ALS
-- reproduces the observed pairs and has no reason to rank the missing one
SELECT fashionrec.train('als-shop', 'als', 'als_data', '{"factors": 2, "seed": 3}');
SELECT algorithm, params, (info ->> 'final_loss')::float8 BETWEEN 0 AND 1 AS loss_reported
  FROM fashionrec.model WHERE name = 'als-shop';

-- the missing in-group item comes first for every user
SELECT u AS user_id,
       (SELECT item_id FROM fashionrec.recommend('als-shop', u, k => 1)) AS top_item
  FROM generate_series(1, 10) u;
-- the rest of the list is the other group, below the in-group item
SELECT count(*) FILTER (WHERE item_id BETWEEN 201 AND 205) AS other_group,
       bool_and(rank = 1 OR item_id > 200) AS in_group_first
  FROM fashionrec.recommend('als-shop', 1, k => 10);
-- predict is the same dot product recommend ranks by
SELECT fashionrec.predict('als-shop', 1, 101) > 0.5 AS likes_own_group,
       fashionrec.predict('als-shop', 1, 201) < 0.2 AS not_the_other,
       abs(fashionrec.predict('als-shop', 1, 101)
           - (SELECT score FROM fashionrec.recommend('als-shop', 1, k => 1))) < 1e-6 AS same_score;
SELECT fashionrec.predict('als-shop', 1, 999) AS unknown_item,
       fashionrec.predict('als-shop', 999, 101) AS unknown_user;

-- similar items: cosine of item factors, the own group first
SELECT item_id
  FROM fashionrec.similar_items('als-shop', 101, k => 4) ORDER BY item_id;
SELECT bool_and(score <= 1.000001) AND max(score) > 0.9 AS cosine
  FROM fashionrec.similar_items('als-shop', 203, k => 9);

-- fold-in: an anonymous session with group-B items recommends group B
SELECT item_id
  FROM fashionrec.recommend_for_items('als-shop', ARRAY[202, 203, 204], k => 2)
 ORDER BY item_id;
-- unknown items are ignored: 999 changes nothing
SELECT count(*) AS recs, bool_and(item_id BETWEEN 201 AND 205) AS group_b
  FROM fashionrec.recommend_for_items('als-shop', ARRAY[202, 203, 999], k => 3);

-- with exact solves, folding in a user's own history reproduces the user
SELECT fashionrec.train('als-exact', 'als', 'als_data',
       '{"factors": 2, "solver": "cholesky", "iterations": 10}');
SELECT bool_and(abs(a.score - b.score) < 1e-4) AS fold_in_equals_user, count(*) AS items
  FROM fashionrec.recommend('als-exact', 6, k => 10, exclude_seen => false) a
  JOIN fashionrec.recommend_for_items('als-exact',
         (SELECT array_agg(i ORDER BY i) FROM als_data WHERE u = 6), k => 10,
         weights => (SELECT array_agg(w ORDER BY i) FROM als_data WHERE u = 6),
         exclude_seen => false) b USING (item_id);
SELECT (SELECT item_id FROM fashionrec.recommend('als-exact', 6, k => 1)) AS top_item;

-- the other confidence forms and the CG step count learn the same structure
SELECT fashionrec.train('als-log', 'als', 'als_data',
       '{"factors": 2, "confidence": "log", "alpha": 5}');
SELECT fashionrec.train('als-plain', 'als', 'als_data',
       '{"factors": 2, "confidence": "plain", "alpha": 4, "cg_steps": 1}');
SELECT m AS model, (SELECT item_id FROM fashionrec.recommend(m, 2, k => 1)) AS top_for_2,
       (SELECT item_id FROM fashionrec.recommend(m, 9, k => 1)) AS top_for_9
  FROM unnest(ARRAY['als-log', 'als-plain']) m;

-- the same seed gives the same model, another seed another one
SELECT fashionrec.train('als-seed-a', 'als', 'als_data', '{"factors": 4, "seed": 7}');
SELECT fashionrec.train('als-seed-b', 'als', 'als_data', '{"factors": 4, "seed": 7}');
SELECT fashionrec.train('als-seed-c', 'als', 'als_data', '{"factors": 4, "seed": 8}');
SELECT count(*) AS differing_same_seed
  FROM fashionrec.recommend('als-seed-a', 3, k => 10, exclude_seen => false) a
  FULL JOIN fashionrec.recommend('als-seed-b', 3, k => 10, exclude_seen => false) b USING (item_id)
 WHERE a.score IS DISTINCT FROM b.score;
SELECT count(*) > 0 AS differing_other_seed
  FROM fashionrec.recommend('als-seed-a', 3, k => 10, exclude_seen => false) a
  FULL JOIN fashionrec.recommend('als-seed-c', 3, k => 10, exclude_seen => false) b USING (item_id)
 WHERE a.score IS DISTINCT FROM b.score;

-- no params: the defaults (64 factors, 15 iterations, ...)
SELECT fashionrec.train('als-default', 'als', 'als_data');
SELECT params, info ? 'final_loss' AS has_loss,
       (SELECT count(*) FROM fashionrec.recommend('als-default', 4, k => 10)) AS recs
  FROM fashionrec.model WHERE name = 'als-default';

-- invalid parameters: unknown key, wrong type, out of range, bad choice
-- (terse: the hint lists every parameter, including the generic source ones)
\set VERBOSITY terse
SELECT fashionrec.train('als-bad', 'als', 'als_data', '{"rank": 8}');
\set VERBOSITY default
SELECT fashionrec.train('als-bad', 'als', 'als_data', '{"factors": "64"}');
SELECT fashionrec.train('als-bad', 'als', 'als_data', '{"factors": 2.5}');
SELECT fashionrec.train('als-bad', 'als', 'als_data', '{"factors": 0}');
SELECT fashionrec.train('als-bad', 'als', 'als_data', '{"factors": 4096}');
SELECT fashionrec.train('als-bad', 'als', 'als_data', '{"iterations": 0}');
SELECT fashionrec.train('als-bad', 'als', 'als_data', '{"regularization": -0.1}');
SELECT fashionrec.train('als-bad', 'als', 'als_data', '{"regularization": true}');
SELECT fashionrec.train('als-bad', 'als', 'als_data', '{"alpha": -1}');
SELECT fashionrec.train('als-bad', 'als', 'als_data', '{"alpha": null}');
SELECT fashionrec.train('als-bad', 'als', 'als_data', '{"confidence": "quadratic"}');
SELECT fashionrec.train('als-bad', 'als', 'als_data', '{"confidence": 1}');
SELECT fashionrec.train('als-bad', 'als', 'als_data', '{"solver": "lu"}');
SELECT fashionrec.train('als-bad', 'als', 'als_data', '{"cg_steps": 0}');
SELECT fashionrec.train('als-bad', 'als', 'als_data', '{"cg_steps": [3]}');
SELECT fashionrec.train('als-bad', 'als', 'als_data', '{"seed": -1}');
SELECT count(*) AS bad_models FROM fashionrec.model WHERE name = 'als-bad';

-- implicit feedback needs non-negative weights
SELECT fashionrec.train('als-neg', 'als', 'SELECT 1, 2, -1.0');

-- zero regularisation is allowed; a Cholesky solve then fails cleanly
-- when a row's system is singular (one item, two factors)
SELECT fashionrec.train('als-singular', 'als', 'SELECT 1, 2, 1.0',
       '{"factors": 2, "regularization": 0, "solver": "cholesky", "confidence": "plain"}');

-- memory budget: 2000 factors for 3000 users and items do not fit in 2 MB
SET fashionrec.max_memory = '2MB';
SELECT fashionrec.train('als-big', 'als',
       'SELECT i % 3000, i % 2999, 1 FROM generate_series(1, 6000) i', '{"factors": 2000}');
RESET fashionrec.max_memory;
