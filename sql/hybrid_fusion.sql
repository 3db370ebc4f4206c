-- learned fusion ("fusion": logistic, mlp, auto) on a validation source, its
-- reuse over retrained components ("fusion_from"), and recency-decayed
-- histories ("half_life_days").
--
-- 20 products in two clusters with 2-d content vectors: 1-10 along x ("A"),
-- 11-20 along y ("B").  Customers 1-20 buy A, 21-40 buy B: four products
-- in January (training) and two more in February (validation), chosen by a
-- hash so that the lists differ between customers.
CREATE TABLE fvec AS
SELECT i::bigint AS item,
       CASE WHEN i <= 10 THEN ARRAY[1, 0.05 * i]::real[] ELSE ARRAY[0.05 * (i - 10), 1]::real[] END AS v
  FROM generate_series(1, 20) i;
CREATE TABLE fbuy AS
WITH ranked AS (
    SELECT u, CASE WHEN u <= 20 THEN j ELSE j + 10 END AS item,
           row_number() OVER (PARTITION BY u ORDER BY md5(u || '-' || j)) AS r
      FROM generate_series(1, 40) u, generate_series(1, 10) j)
SELECT u::bigint AS customer, item::bigint AS product,
       CASE WHEN r <= 4 THEN timestamptz '2024-01-01' + r * interval '1 day'
            ELSE timestamptz '2024-02-01' + r * interval '1 day' END AS at
  FROM ranked WHERE r <= 6;
CREATE VIEW ftrain AS SELECT customer, product, 1 AS w, at FROM fbuy WHERE at < '2024-02-01';
CREATE VIEW fval AS SELECT customer, product FROM fbuy WHERE at >= '2024-02-01';

SET client_min_messages = warning;
SELECT fashionrec.train('f-als', 'als', 'SELECT customer, product FROM ftrain',
                        '{"factors": 2, "iterations": 10, "regularization": 0.1, "solver": "cholesky"}');
SELECT fashionrec.train('f-pop', 'popularity', 'SELECT customer, product FROM ftrain');
SELECT fashionrec.train('f-vec', 'embedding', 'fvec', '{"interactions": "SELECT customer, product FROM ftrain"}');

-- logistic regression: fitted on February, recorded in info
SELECT fashionrec.train('f-lr', 'hybrid', NULL,
                        '{"cf": "f-als", "content": "f-vec", "popularity": "f-pop", "fusion": "logistic",
                          "validation": "fval", "interactions": "SELECT customer, product FROM ftrain"}');
SELECT info ->> 'fusion' AS fusion, info -> 'fusion_users' AS users, info -> 'fusion_examples' AS examples,
       round((info ->> 'validation_ndcg_weighted')::numeric, 4) AS weighted,
       round((info ->> 'validation_ndcg_logistic')::numeric, 4) AS logistic,
       info ? 'validation_ndcg_mlp' AS has_mlp
  FROM fashionrec.models WHERE name = 'f-lr';
-- it serves: customer 3 gets unseen A products, customer 33 unseen B products
SELECT bool_and(item_id <= 10) AS a_for_3 FROM fashionrec.recommend('f-lr', 3, k => 4);
SELECT bool_and(item_id > 10) AS b_for_33 FROM fashionrec.recommend('f-lr', 33, k => 4);
-- explain: one row per signal plus "features" (history, popularity, age and
-- the bias with every signal neutral); contribution = coefficient x normalised
-- score, and the rows sum to the score
SELECT DISTINCT signal, component IS NULL AS no_component, weight IS NULL AS no_weight
  FROM fashionrec.explain('f-lr', 3, k => 3) ORDER BY signal;
SELECT bool_and(abs(s.score - s.total) < 1e-4) AS sums_to_score
  FROM (SELECT item_id, min(score) AS score, sum(contribution) AS total
          FROM fashionrec.explain('f-lr', 3, k => 5) GROUP BY item_id) s;
SELECT bool_and(abs(contribution - weight * normalized) < 1e-4) AS linear
  FROM fashionrec.explain('f-lr', 3, k => 5) WHERE signal <> 'features';
SELECT (SELECT array_agg(item_id ORDER BY rank) FROM fashionrec.recommend('f-lr', 25, k => 4)) =
       (SELECT array_agg(item_id ORDER BY rank) FROM
           (SELECT DISTINCT rank, item_id FROM fashionrec.explain('f-lr', 25, k => 4)) e) AS same_list;

-- the MLP, twice with the same seed: identical info and lists
SELECT fashionrec.train('f-mlp', 'hybrid', NULL,
                        '{"cf": "f-als", "content": "f-vec", "popularity": "f-pop", "fusion": "mlp",
                          "mlp_hidden": "8,4", "validation": "fval", "seed": 7,
                          "interactions": "SELECT customer, product FROM ftrain"}');
SELECT fashionrec.train('f-mlp-twin', 'hybrid', NULL,
                        '{"cf": "f-als", "content": "f-vec", "popularity": "f-pop", "fusion": "mlp",
                          "mlp_hidden": "8,4", "validation": "fval", "seed": 7,
                          "interactions": "SELECT customer, product FROM ftrain"}');
SELECT a.info = b.info AS same_info, a.info ->> 'fusion' AS fusion,
       (a.info ->> 'mlp_best_epoch')::int <= (a.info ->> 'mlp_epochs')::int AS kept_an_epoch_run
  FROM fashionrec.models a, fashionrec.models b WHERE a.name = 'f-mlp' AND b.name = 'f-mlp-twin';
SELECT bool_and(a.s = b.s) AS twin_identical
  FROM (SELECT u, array_agg(item_id ORDER BY rank) i, array_agg(score ORDER BY rank) s
          FROM generate_series(1, 41) u, fashionrec.recommend('f-mlp', u, k => 5) GROUP BY u) a
  JOIN (SELECT u, array_agg(item_id ORDER BY rank) i, array_agg(score ORDER BY rank) s
          FROM generate_series(1, 41) u, fashionrec.recommend('f-mlp-twin', u, k => 5) GROUP BY u) b USING (u);
SELECT bool_and(abs(s.score - s.total) < 1e-4) AS mlp_sums_to_score, bool_and(s.weightless) AS mlp_weight_null
  FROM (SELECT item_id, min(score) AS score, sum(contribution) AS total, bool_and(weight IS NULL) AS weightless
          FROM fashionrec.explain('f-mlp', 30, k => 5) GROUP BY item_id) s;
-- an unknown customer gets the fusion of an empty history
SELECT count(*) AS unknown_user FROM fashionrec.recommend('f-mlp', 999, k => 5);

-- bagging ("mlp_bags", default 3): the MLPs of several seeds, their logits
-- averaged.  A bag of two starts with the single MLP (its first member has
-- the seed: the same best epoch) and runs both members' epochs; it scores
-- otherwise, the same on every run, and explains exactly.  The MLP above
-- is the default bag of three.
SELECT v.name, fashionrec.train(v.name, 'hybrid', NULL,
                        '{"cf": "f-als", "content": "f-vec", "popularity": "f-pop", "fusion": "mlp",
                          "mlp_hidden": "8,4", "validation": "fval", "seed": 7,
                          "interactions": "SELECT customer, product FROM ftrain"}'::jsonb
                        || jsonb_build_object('mlp_bags', v.bags))
  FROM (VALUES ('f-mlp-bag1', 1), ('f-mlp-bag2', 2), ('f-mlp-bag2-twin', 2), ('f-mlp-bag3', 3)) v(name, bags);
SELECT one.info ? 'mlp_bags' AS one_bag_recorded, two.info -> 'mlp_bags' AS bags,
       dflt.info -> 'mlp_bags' AS default_bags, dflt.info = three.info AS default_is_three,
       two.info -> 'mlp_best_epoch' = one.info -> 'mlp_best_epoch' AS first_member_same_best_epoch,
       (two.info ->> 'mlp_epochs')::int > (one.info ->> 'mlp_epochs')::int AS both_members_epochs,
       two.info = twin.info AS bag_same_info
  FROM fashionrec.models one, fashionrec.models two, fashionrec.models twin, fashionrec.models three,
       fashionrec.models dflt
 WHERE one.name = 'f-mlp-bag1' AND two.name = 'f-mlp-bag2' AND twin.name = 'f-mlp-bag2-twin'
   AND three.name = 'f-mlp-bag3' AND dflt.name = 'f-mlp';
WITH lists AS (
    SELECT m, u, array_agg(item_id ORDER BY rank) i, array_agg(score ORDER BY rank) s
      FROM unnest(ARRAY['f-mlp', 'f-mlp-bag1', 'f-mlp-bag2', 'f-mlp-bag2-twin', 'f-mlp-bag3']) m,
           generate_series(1, 41) u, fashionrec.recommend(m, u, k => 5) GROUP BY m, u)
SELECT bool_and(a.s = b.s) FILTER (WHERE a.m = 'f-mlp' AND b.m = 'f-mlp-bag3') AS default_identical,
       bool_and(a.s = b.s) FILTER (WHERE a.m = 'f-mlp-bag2' AND b.m = 'f-mlp-bag2-twin') AS bag_twin_identical,
       count(*) FILTER (WHERE a.m = 'f-mlp-bag1' AND b.m = 'f-mlp-bag2' AND a.s <> b.s) > 20 AS bag_scores_otherwise
  FROM lists a JOIN lists b USING (u);
SELECT bool_and(abs(s.score - s.total) < 1e-4) AS bag_sums_to_score
  FROM (SELECT item_id, min(score) AS score, sum(contribution) AS total
          FROM fashionrec.explain('f-mlp-bag2', 30, k => 5) GROUP BY item_id) s;

-- auto: fits both and keeps the best of weighted, logistic and mlp on the
-- validation users neither fit nor early stopping used — a more complex one
-- only when it is better by more than the noise (one standard error of the
-- per-user difference, recorded as validation_noise_<fusion>)
SELECT fashionrec.train('f-auto', 'hybrid', NULL,
                        '{"cf": "f-als", "content": "f-vec", "popularity": "f-pop", "fusion": "auto",
                          "validation": "SELECT customer, product FROM fval", "fusion_candidates": 10,
                          "interactions": "SELECT customer, product FROM ftrain"}');
SELECT info ->> 'fusion' IN ('weighted', 'logistic', 'mlp') AS chose_one,
       info ? 'validation_noise_logistic' AND info ? 'validation_noise_mlp' AS has_noise,
       -- nothing more complex than the one kept beats it by more than its noise
       bool_and(array_position(ARRAY['weighted', 'logistic', 'mlp'], f.k)
                  <= array_position(ARRAY['weighted', 'logistic', 'mlp'], info ->> 'fusion')
                OR (info ->> ('validation_ndcg_' || f.k))::float8 - (info ->> ('validation_ndcg_' || (info ->> 'fusion')))::float8
                   <= (info ->> ('validation_noise_' || f.k))::float8) AS none_better_beyond_noise
  FROM fashionrec.models, (VALUES ('logistic'), ('mlp')) AS f(k)
 WHERE name = 'f-auto' GROUP BY info;

-- "weighted" with a validation: the same lists as without, and its NDCG recorded
SELECT fashionrec.train('f-w', 'hybrid', NULL,
                        '{"cf": "f-als", "content": "f-vec", "popularity": "f-pop",
                          "interactions": "SELECT customer, product FROM ftrain"}');
SELECT fashionrec.train('f-wv', 'hybrid', NULL,
                        '{"cf": "f-als", "content": "f-vec", "popularity": "f-pop", "validation": "fval",
                          "interactions": "SELECT customer, product FROM ftrain"}');
SELECT info ->> 'fusion' AS fusion, info ? 'validation_ndcg_weighted' AS has_ndcg
  FROM fashionrec.models WHERE name = 'f-wv';
SELECT bool_and(a.s = b.s) AS weighted_unchanged
  FROM (SELECT u, array_agg(score ORDER BY rank) s FROM generate_series(1, 41) u,
               fashionrec.recommend('f-w', u, k => 5) GROUP BY u) a
  JOIN (SELECT u, array_agg(score ORDER BY rank) s FROM generate_series(1, 41) u,
               fashionrec.recommend('f-wv', u, k => 5) GROUP BY u) b USING (u);

-- fusion_from: the fitted logistic fusion over components retrained on
-- January and February together (stacking)
SELECT fashionrec.train('f-als-all', 'als', 'SELECT customer, product FROM fbuy',
                        '{"factors": 2, "iterations": 10, "regularization": 0.1, "solver": "cholesky"}');
SELECT fashionrec.train('f-stacked', 'hybrid', NULL,
                        '{"cf": "f-als-all", "content": "f-vec", "popularity": "f-pop", "fusion_from": "f-lr",
                          "interactions": "SELECT customer, product FROM fbuy"}');
SELECT info ->> 'fusion' AS fusion, info ->> 'fusion_from' AS fusion_from
  FROM fashionrec.models WHERE name = 'f-stacked';
-- the same coefficients, but at the customer's history length: 4 products in
-- f-lr's interactions, 6 in f-stacked's, so the history terms move them
SELECT bool_and(sign(a.weight) = sign(b.weight)) AS same_signs, bool_or(a.weight <> b.weight) AS moved_with_history
  FROM fashionrec.explain('f-lr', 3, k => 1) a JOIN fashionrec.explain('f-stacked', 3, k => 1) b USING (signal)
 WHERE signal <> 'features';

-- "fusion_items": "new": products 9, 10, 19 and 20 are held out of the
-- components' training and of the interactions; the content model knows them
-- by their vectors.  The fusion is fitted on the validation purchases of
-- those four only: each sampled customer's candidates are exactly the four
-- (the other products have buyers), where with "all" they are every unseen
-- product.  A customers then get the new A products first.
CREATE VIEW fnew_train AS SELECT customer, product FROM ftrain WHERE product NOT IN (9, 10, 19, 20);
CREATE VIEW fnew_val AS SELECT customer, product FROM fbuy WHERE product IN (9, 10, 19, 20);
SELECT fashionrec.train('f-als-new', 'als', 'fnew_train',
                        '{"factors": 2, "iterations": 10, "regularization": 0.1, "solver": "cholesky"}');
SELECT fashionrec.train('f-vec-new', 'embedding', 'fvec', '{"interactions": "fnew_train"}');
SELECT v.name, fashionrec.train(v.name, 'hybrid', NULL,
                        '{"cf": "f-als-new", "content": "f-vec-new", "fusion": "logistic",
                          "validation": "fnew_val", "interactions": "fnew_train"}'::jsonb
                        || jsonb_build_object('fusion_items', v.items))
  FROM (VALUES ('f-new', 'new'), ('f-new-all', 'all')) v(name, items);
SELECT m.name, (m.info ->> 'fusion_examples')::int = 4 * (m.info ->> 'fusion_users')::int AS four_per_user,
       (m.info ->> 'fusion_users')::int >= 30 AS most_customers
  FROM fashionrec.models m WHERE m.name IN ('f-new', 'f-new-all') ORDER BY m.name;
SELECT array_agg(item_id ORDER BY rank) AS new_for_3
  FROM fashionrec.recommend('f-new', 3, k => 2, candidates => ARRAY[9, 10, 19, 20]::bigint[]);
SELECT array_agg(item_id ORDER BY rank) AS new_for_33
  FROM fashionrec.recommend('f-new', 33, k => 2, candidates => ARRAY[9, 10, 19, 20]::bigint[]);

-- half-life: customer 41 bought three A products in January and one B
-- product in June.  Undecayed, A leads; with a 7-day half-life, the June
-- item weighs 1 and the January ones 0.5^(150/7): B leads.
INSERT INTO fbuy VALUES (41, 1, '2024-01-02'), (41, 2, '2024-01-03'), (41, 3, '2024-01-04'),
                        (41, 11, '2024-06-01');
SELECT fashionrec.train('f-vec41', 'embedding', 'fvec', '{"interactions": "SELECT customer, product FROM fbuy"}');
SELECT fashionrec.train('f-old', 'hybrid', NULL,
                        '{"content": "f-vec41", "interactions": "SELECT customer, product, 1, at FROM fbuy"}');
SELECT fashionrec.train('f-recent', 'hybrid', NULL,
                        '{"content": "f-vec41", "half_life_days": 7,
                          "interactions": "SELECT customer, product, 1, at FROM fbuy"}');
SELECT array_agg(item_id ORDER BY rank) AS undecayed FROM fashionrec.recommend('f-old', 41, k => 3);
SELECT array_agg(item_id ORDER BY rank) AS half_life_7 FROM fashionrec.recommend('f-recent', 41, k => 3);
SELECT info -> 'half_life_days' AS half_life_days FROM fashionrec.models WHERE name = 'f-recent';
-- explain serves the decayed fusion too
SELECT array_agg(item_id ORDER BY rank) AS explained
  FROM (SELECT DISTINCT rank, item_id FROM fashionrec.explain('f-recent', 41, k => 3)) e;
-- a half-life of a million days weighs every item about 1: the folded-in
-- history gives the scores the content model's own profile gives
SELECT fashionrec.train('f-forever', 'hybrid', NULL,
                        '{"content": "f-vec41", "half_life_days": 1e6,
                          "interactions": "SELECT customer, product, 1, at FROM fbuy"}');
SELECT bool_and(a.i = b.i AND a.s = b.s) AS long_half_life_unchanged
  FROM (SELECT u, array_agg(item_id ORDER BY rank) i, array_agg(round(score::numeric, 3) ORDER BY rank) s
          FROM generate_series(1, 41) u, fashionrec.recommend('f-old', u, k => 5) GROUP BY u) a
  JOIN (SELECT u, array_agg(item_id ORDER BY rank) i, array_agg(round(score::numeric, 3) ORDER BY rank) s
          FROM generate_series(1, 41) u, fashionrec.recommend('f-forever', u, k => 5) GROUP BY u) b USING (u);

-- invalid: learned fusion without a validation source
\set VERBOSITY default
SELECT fashionrec.train('f-bad', 'hybrid', NULL,
                        '{"cf": "f-als", "fusion": "mlp", "interactions": "ftrain"}');
-- invalid: parameters
SELECT fashionrec.train('f-bad', 'hybrid', NULL, '{"cf": "f-als", "fusion": "deep", "interactions": "ftrain"}');
SELECT fashionrec.train('f-bad', 'hybrid', NULL,
                        '{"cf": "f-als", "fusion": "mlp", "mlp_hidden": "0", "validation": "fval", "interactions": "ftrain"}');
SELECT fashionrec.train('f-bad', 'hybrid', NULL,
                        '{"cf": "f-als", "fusion": "mlp", "mlp_hidden": "8,4,2", "validation": "fval", "interactions": "ftrain"}');
SELECT fashionrec.train('f-bad', 'hybrid', NULL,
                        '{"cf": "f-als", "fusion": "mlp", "mlp_hidden": "8x", "validation": "fval", "interactions": "ftrain"}');
SELECT fashionrec.train('f-bad', 'hybrid', NULL, '{"cf": "f-als", "fusion_l2": -1, "interactions": "ftrain"}');
SELECT fashionrec.train('f-bad', 'hybrid', NULL, '{"cf": "f-als", "fusion_users": 2, "interactions": "ftrain"}');
SELECT fashionrec.train('f-bad', 'hybrid', NULL, '{"cf": "f-als", "fusion_candidates": 0, "interactions": "ftrain"}');
SELECT fashionrec.train('f-bad', 'hybrid', NULL, '{"cf": "f-als", "mlp_learning_rate": 0, "interactions": "ftrain"}');
SELECT fashionrec.train('f-bad', 'hybrid', NULL, '{"cf": "f-als", "mlp_epochs": 0, "interactions": "ftrain"}');
SELECT fashionrec.train('f-bad', 'hybrid', NULL, '{"cf": "f-als", "mlp_bags": 0, "interactions": "ftrain"}');
SELECT fashionrec.train('f-bad', 'hybrid', NULL, '{"cf": "f-als", "mlp_bags": 21, "interactions": "ftrain"}');
SELECT fashionrec.train('f-bad', 'hybrid', NULL, '{"cf": "f-als", "mlp_bags": 1.5, "interactions": "ftrain"}');
SELECT fashionrec.train('f-bad', 'hybrid', NULL,
                        '{"cf": "f-als", "fusion": "mlp", "mlp_bags": 20, "mlp_hidden": "64", "validation": "fval", "interactions": "ftrain"}');
SELECT fashionrec.train('f-bad', 'hybrid', NULL, '{"cf": "f-als", "half_life_days": -1, "interactions": "ftrain"}');
SELECT fashionrec.train('f-bad', 'hybrid', NULL, '{"cf": "f-als", "fusion_items": "old", "interactions": "ftrain"}');
SELECT fashionrec.train('f-bad', 'hybrid', NULL, '{"cf": "f-als", "fusion_items": 1, "interactions": "ftrain"}');
-- invalid: new items to fit on, and every product has buyers
SELECT fashionrec.train('f-bad', 'hybrid', NULL,
                        '{"cf": "f-als", "fusion": "logistic", "fusion_items": "new", "validation": "fval",
                          "interactions": "ftrain"}');
-- invalid: a validation that shares nothing with the hybrid, or too few users
SELECT fashionrec.train('f-bad', 'hybrid', NULL,
                        '{"cf": "f-als", "fusion": "logistic", "validation": "SELECT 1, 999", "interactions": "ftrain"}');
SELECT fashionrec.train('f-bad', 'hybrid', NULL,
                        '{"cf": "f-als", "fusion": "logistic", "validation": "SELECT customer, product FROM fval WHERE customer < 3",
                          "interactions": "ftrain"}');
-- invalid: a half-life without times
SELECT fashionrec.train('f-bad', 'hybrid', NULL,
                        '{"content": "f-vec", "half_life_days": 7, "interactions": "SELECT customer, product FROM ftrain"}');
-- invalid: fusion_from
SELECT fashionrec.train('f-bad', 'hybrid', NULL, '{"cf": "f-als", "fusion_from": "f-w", "interactions": "ftrain"}');
SELECT fashionrec.train('f-bad', 'hybrid', NULL, '{"cf": "f-als", "fusion_from": "f-als", "interactions": "ftrain"}');
SELECT fashionrec.train('f-bad', 'hybrid', NULL, '{"cf": "f-als", "fusion_from": "f-lr", "interactions": "ftrain"}');
SELECT fashionrec.train('f-bad', 'hybrid', NULL,
                        '{"cf": "f-als", "fusion_from": "f-lr", "fusion": "mlp", "validation": "fval", "interactions": "ftrain"}');
SELECT count(*) AS no_failed_rows FROM fashionrec.model WHERE name = 'f-bad';

-- a catalogue larger than the pool an MLP fusion scores (1,000 items): items
-- outside it rank below it in the weighted order, but candidates are always
-- scored by the net itself, so explain's rows still sum to the score.  (A
-- logistic fusion is linear and scores the whole catalogue.)
CREATE TABLE fbig AS
SELECT (g % 300)::bigint + 1 AS customer, (1 + ((g % 300) * 37 + (g / 300) * 101) % 3000)::bigint AS product,
       timestamptz '2024-01-01' + ((g / 300) % 50) * interval '1 day' AS at
  FROM generate_series(0, 29999) g;
SELECT fashionrec.train('fb-als', 'als', 'SELECT customer, product FROM fbig WHERE at < ''2024-02-01''',
                        '{"factors": 4, "iterations": 5, "seed": 1}');
SELECT fashionrec.train('fb-pop', 'popularity', 'SELECT customer, product FROM fbig WHERE at < ''2024-02-01''');
SELECT fashionrec.train('fb-mlp', 'hybrid', NULL,
       '{"cf": "fb-als", "popularity": "fb-pop", "fusion": "mlp",
         "validation": "SELECT customer, product FROM fbig WHERE at >= ''2024-02-01''",
         "interactions": "SELECT customer, product FROM fbig WHERE at < ''2024-02-01''"}');
-- customer 7's ten worst items, from the bottom of the full list
SELECT array_agg(item_id) AS worst FROM (
    SELECT item_id FROM fashionrec.recommend('fb-mlp', 7, 3000) ORDER BY rank DESC LIMIT 10) w \gset
SELECT count(*) AS below_pool FROM (
    SELECT rank FROM fashionrec.recommend('fb-mlp', 7, 3000) WHERE item_id = ANY (:'worst'::bigint[])) r
 WHERE rank > 1000;
SELECT bool_and(abs(s.score - s.total) < 1e-4) AS sums_to_score, count(*) AS explained
  FROM (SELECT item_id, min(score) AS score, sum(contribution) AS total
          FROM fashionrec.explain('fb-mlp', 7, k => 10, candidates => :'worst'::bigint[]) GROUP BY item_id) s;
-- recommend() with those candidates ranks them as explain() does
SELECT (SELECT array_agg(item_id ORDER BY rank) FROM fashionrec.recommend('fb-mlp', 7, 10, candidates => :'worst'::bigint[]))
     = (SELECT array_agg(item_id ORDER BY rank) FROM (SELECT DISTINCT rank, item_id
          FROM fashionrec.explain('fb-mlp', 7, k => 10, candidates => :'worst'::bigint[])) e) AS same_order;
-- ... whatever the candidates' number (a quarter of the catalogue or more
-- was once scored as a full list, outside the pool in the weighted order),
-- with a context, and in recommend_all(): the same items with the same
-- scores as explain()
CREATE FUNCTION pg_temp.explained(m text, cand bigint[], ctx text DEFAULT NULL)
RETURNS TABLE (item_id bigint, score real, rank int) LANGUAGE sql AS $$
    SELECT DISTINCT item_id, score, rank FROM fashionrec.explain(m, 7, k => 10, candidates => cand, context => ctx) $$;
CREATE FUNCTION pg_temp.differences(a text, b text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM ((SELECT item_id, round(score::numeric, 4), rank FROM (%s) x
                                           EXCEPT SELECT item_id, round(score::numeric, 4), rank FROM (%s) y)
                                          UNION ALL
                                          (SELECT item_id, round(score::numeric, 4), rank FROM (%s) y
                                           EXCEPT SELECT item_id, round(score::numeric, 4), rank FROM (%s) x)) d', a, b, b, a)
      INTO n;
    RETURN n;
END $$;
SELECT array_agg(item_id) AS many FROM (
    SELECT item_id FROM fashionrec.recommend('fb-mlp', 7, 3000) ORDER BY rank DESC LIMIT 800) w \gset
SELECT pg_temp.differences(format('SELECT * FROM fashionrec.recommend(%L, 7, 10, candidates => %L)', 'fb-mlp', :'many'),
                           format('SELECT * FROM pg_temp.explained(%L, %L)', 'fb-mlp', :'many')) AS many_candidates,
       pg_temp.differences(format('SELECT item_id, score, rank FROM fashionrec.recommend_all(%L, ARRAY[7], 10, candidates => %L)', 'fb-mlp', :'many'),
                           format('SELECT * FROM pg_temp.explained(%L, %L)', 'fb-mlp', :'many')) AS many_recommend_all;
ALTER TABLE fbig ADD COLUMN ctx text;
UPDATE fbig SET ctx = CASE extract(day FROM at)::int % 2 WHEN 0 THEN 'even' ELSE 'odd' END;
SELECT fashionrec.train('fb-ctx-pop', 'popularity', 'SELECT customer, product, 1 AS w, ctx FROM fbig WHERE at < ''2024-02-01''',
                        '{"context_column": "ctx"}');
SELECT fashionrec.train('fb-ctx', 'hybrid', NULL,
       '{"cf": "fb-als", "popularity": "fb-ctx-pop", "fusion": "mlp", "context_column": "ctx",
         "validation": "SELECT customer, product, ctx FROM fbig WHERE at >= ''2024-02-01''",
         "interactions": "SELECT customer, product, 1 AS w, at, ctx FROM fbig WHERE at < ''2024-02-01''"}');
SELECT pg_temp.differences(format('SELECT * FROM fashionrec.recommend(%L, 7, 10, candidates => %L, context => %L)', 'fb-ctx', :'worst', 'odd'),
                           format('SELECT * FROM pg_temp.explained(%L, %L, %L)', 'fb-ctx', :'worst', 'odd')) AS in_context,
       pg_temp.differences(format('SELECT item_id, score, rank FROM fashionrec.recommend_all(%L, ARRAY[7], 10, candidates => %L, context => %L)', 'fb-ctx', :'worst', 'odd'),
                           format('SELECT * FROM pg_temp.explained(%L, %L, %L)', 'fb-ctx', :'worst', 'odd')) AS in_context_recommend_all;
SELECT fashionrec.drop_model(m) FROM unnest(ARRAY['fb-ctx', 'fb-ctx-pop', 'fb-mlp', 'fb-als', 'fb-pop']) m;
