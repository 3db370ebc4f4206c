-- featurefm: users and items as sums of learned feature embeddings, trained
-- with BPR or WARP (docs/algorithms-featurefm.md).  Embedding values depend
-- on the CPU's float rounding, so this file checks what must hold on every
-- machine: a planted structure recovered, new items scored from their
-- features, a feature set's new rows served without retraining,
-- determinism, privileges and errors.
SET client_min_messages = warning;  -- progress NOTICEs carry timings
\set SHOW_CONTEXT never

-- 60 products: colour = id % 3, type = (id / 3) % 2.  Each of 90 customers
-- likes one colour (customer % 3) and bought 8 of the first 48 products of
-- that colour, whatever their type; products 49-60 are new: no purchases.
CREATE TABLE fm_products AS
  SELECT id::bigint AS id,
         (ARRAY['red', 'blue', 'green'])[id % 3 + 1] AS colour,
         (ARRAY['dress', 'shoe'])[(id / 3) % 2 + 1] AS type
    FROM generate_series(1, 60) id;
ALTER TABLE fm_products ADD PRIMARY KEY (id);
CREATE TABLE fm_bought AS
  SELECT u::bigint AS customer, i::bigint AS product
    FROM generate_series(1, 90) u, generate_series(1, 48) i
   WHERE i % 3 = u % 3 AND (u * 7 + i * 5) % 16 < 8;
CREATE VIEW fm_attributes AS
  SELECT id, 'colour=' || colour AS feature FROM fm_products
  UNION ALL SELECT id, 'type=' || type FROM fm_products;
SELECT count(*) AS pairs, count(DISTINCT customer) AS customers, count(DISTINCT product) AS products
  FROM fm_bought;

SELECT fashionrec.train('fm', 'featurefm', 'fm_bought',
       '{"item_features": "fm_attributes", "factors": 8, "epochs": 30, "seed": 3}');
-- the items are every product the features describe; the new ones have no interactions
SELECT items, info ->> 'items_without_interactions' AS new_items,
       info ->> 'named_item_features' AS named_features,
       info ->> 'item_features' AS item_features,
       jsonb_array_length(info -> 'loss_history') AS epochs
  FROM fashionrec.models WHERE name = 'fm';

-- a new product is scored from its features at once: among the twelve new
-- products, each customer's four of their colour come first
SELECT count(*) AS customers,
       count(*) FILTER (WHERE top4_own_colour) AS top4_own_colour
  FROM (SELECT u, bool_and(r.item_id % 3 = u % 3) AS top4_own_colour
          FROM generate_series(1, 90) u,
               fashionrec.recommend('fm', u, 4, candidates => ARRAY(SELECT generate_series(49, 60)::bigint)) r
         GROUP BY u) t;
-- products sharing a feature get near vectors: a new product's nearest
-- products share its colour
SELECT bool_and(p.colour = q.colour) AS neighbours_share_colour
  FROM generate_series(49, 60) i
  JOIN fm_products p ON p.id = i,
       fashionrec.similar_items('fm', i, 5) s JOIN fm_products q ON q.id = s.item_id;

-- the learned feature embeddings
SELECT array_length(fashionrec.feature_embedding('fm', 'colour=red'), 1) AS dims,
       fashionrec.feature_embedding('fm', 'colour=purple') IS NULL AS unknown_is_null,
       fashionrec.feature_embedding('fm', NULL) IS NULL AS null_is_null;
-- every other named feature, best first, never the feature itself
SELECT count(*) AS features, bool_and(feature <> 'colour=red') AS not_itself,
       bool_and(similarity BETWEEN -1.0001 AND 1.0001) AS cosines,
       array_agg(rank ORDER BY rank) AS ranks
  FROM fashionrec.similar_features('fm', 'colour=red', 10);
SELECT count(*) AS top_2 FROM fashionrec.similar_features('fm', 'colour=red', 2);

-- the same seed, the same model
SELECT fashionrec.train('fm', 'featurefm', 'fm_bought',
       '{"item_features": "fm_attributes", "factors": 8, "epochs": 30, "seed": 3}');
SELECT fashionrec.feature_embedding('fm', 'type=shoe', 1) = fashionrec.feature_embedding('fm', 'type=shoe', 2)
       AS same_features,
       fashionrec.item_embedding('fm', 50, 1) = fashionrec.item_embedding('fm', 50, 2) AS same_new_item,
       fashionrec.user_embedding('fm', 7, 1) = fashionrec.user_embedding('fm', 7, 2) AS same_user;

-- on two threads: the same seed and thread count, the same model and lists
-- (on any machine: a one-core one runs the two slices one after the other)
SELECT fashionrec.train('fm-threads', 'featurefm', 'fm_bought',
       '{"item_features": "fm_attributes", "factors": 8, "epochs": 30, "seed": 3, "threads": 2}');
SELECT fashionrec.train('fm-threads', 'featurefm', 'fm_bought',
       '{"item_features": "fm_attributes", "factors": 8, "epochs": 30, "seed": 3, "threads": 2}');
SELECT fashionrec.train('fm-threads-again', 'featurefm', 'fm_bought',
       '{"item_features": "fm_attributes", "factors": 8, "epochs": 30, "seed": 3, "threads": 2}');
SELECT version, info ->> 'threads' AS threads FROM fashionrec.models WHERE name = 'fm-threads' ORDER BY version;
SELECT fashionrec.feature_embedding('fm-threads', 'type=shoe', 1) = fashionrec.feature_embedding('fm-threads', 'type=shoe', 2)
       AS same_features,
       fashionrec.item_embedding('fm-threads', 50, 1) = fashionrec.item_embedding('fm-threads', 50, 2) AS same_new_item,
       fashionrec.user_embedding('fm-threads', 7, 1) = fashionrec.user_embedding('fm-threads', 7, 2) AS same_user,
       fashionrec.feature_embedding('fm-threads', 'type=shoe', 1) <> fashionrec.feature_embedding('fm', 'type=shoe', 1)
       AS not_one_threads_model;
SELECT count(*) AS customers, count(*) FILTER (WHERE a = b) AS same_lists
  FROM (SELECT u, ARRAY(SELECT item_id FROM fashionrec.recommend('fm-threads', u, 10) ORDER BY rank) AS a,
               ARRAY(SELECT item_id FROM fashionrec.recommend('fm-threads-again', u, 10) ORDER BY rank) AS b
          FROM generate_series(1, 90) u) t;
-- and the planted structure is found as on one thread
SELECT count(*) FILTER (WHERE top4_own_colour) AS top4_own_colour
  FROM (SELECT u, bool_and(r.item_id % 3 = u % 3) AS top4_own_colour
          FROM generate_series(1, 90) u,
               fashionrec.recommend('fm-threads', u, 4, candidates => ARRAY(SELECT generate_series(49, 60)::bigint)) r
         GROUP BY u) t;

-- BPR, user features, no item identities: still the colours
CREATE VIEW fm_customer_features AS SELECT customer, 'segment=' || (customer % 3) AS f, 2.0 AS w FROM fm_bought;
SELECT fashionrec.train('fm-bpr', 'featurefm', 'fm_bought',
       '{"item_features": "fm_attributes", "user_features": "fm_customer_features", "item_identity": false,
         "loss": "bpr", "factors": 8, "epochs": 30, "seed": 5}');
SELECT info ->> 'item_features' AS item_features, info ->> 'user_features' AS user_features
  FROM fashionrec.models WHERE name = 'fm-bpr';
SELECT count(*) FILTER (WHERE top4_own_colour) AS top4_own_colour
  FROM (SELECT u, bool_and(r.item_id % 3 = u % 3) AS top4_own_colour
          FROM generate_series(1, 90) u,
               fashionrec.recommend('fm-bpr', u, 4, candidates => ARRAY(SELECT generate_series(49, 60)::bigint)) r
         GROUP BY u) t;

-- a customer with user features and no purchases (1001-1009: segment = id
-- % 3, as for the buyers; 1010: a segment no buyer is in) is scored from
-- those features at once: their top products are the colour their
-- segment's buyers bought
CREATE VIEW fm_new_customer_features AS
  SELECT customer, f, w FROM fm_customer_features
  UNION ALL SELECT c, 'segment=' || (c % 3), 2.0 FROM generate_series(1001, 1009) c
  UNION ALL SELECT 1010, 'segment=unseen', 1.0;
SELECT fashionrec.train('fm-users', 'featurefm', 'fm_bought',
       '{"item_features": "fm_attributes", "user_features": "fm_new_customer_features",
         "factors": 8, "epochs": 30, "seed": 5}');
SELECT users, info ->> 'users_without_interactions' AS users_without_interactions
  FROM fashionrec.models WHERE name = 'fm-users';
SELECT count(DISTINCT c) AS new_customers, bool_and(r.item_id % 3 = c % 3) AS top5_their_segments_colour
  FROM generate_series(1001, 1009) c, fashionrec.recommend('fm-users', c, 5) r;
-- their vector is the sum of their features': the same for the same segment
SELECT fashionrec.user_embedding('fm-users', 1001) = fashionrec.user_embedding('fm-users', 1004) AS same_segment,
       fashionrec.user_embedding('fm-users', 1001) <> fashionrec.user_embedding('fm-users', 1002) AS other_segment,
       fashionrec.predict('fm-users', 1001, 2) > fashionrec.predict('fm-users', 1001, 1) AS predict_scores,
       fashionrec.user_embedding('fm-users', 5000) IS NULL AS featureless_unknown;
-- a feature no buyer has was never trained: it adds nothing (customer 1010
-- ranks by the product biases alone)
SELECT fashionrec.user_embedding('fm-users', 1010) = array_fill(0::real, ARRAY[8]) AS untrained_adds_nothing;
-- a customer without features is still unknown: the popularity ranking
SELECT array_agg(item_id ORDER BY rank) = (SELECT array_agg(item_id ORDER BY rank)
                                             FROM fashionrec.recommend('fm', 5000, 5)) AS popularity
  FROM fashionrec.recommend('fm-users', 5000, 5);
-- batch scoring serves them too
SELECT count(*) AS new_customers_in_batch
  FROM fashionrec.recommend_all('fm-users', k => 3) WHERE user_id > 1000;
-- another backend maps this one's copy from the shared store (the test
-- cluster preloads fashionrec), new customers included
SELECT attaches AS attaches_before FROM fashionrec.serving_stats
 WHERE name = 'fm-users' AND function = 'recommend' \gset
CREATE EXTENSION dblink;
SELECT dblink_connect('other', format('host=%s port=%s dbname=%s',
       current_setting('unix_socket_directories'), current_setting('port'), current_database()));
SELECT array_agg(item_id) = (SELECT array_agg(item_id ORDER BY rank) FROM fashionrec.recommend('fm-users', 1002, 5))
       AS same_list
  FROM dblink('other', $$SELECT item_id FROM fashionrec.recommend('fm-users', 1002, 5) ORDER BY rank$$)
       AS t(item_id bigint);
SELECT attaches > :attaches_before AS attached FROM fashionrec.serving_stats
 WHERE name = 'fm-users' AND function = 'recommend';
SELECT dblink_disconnect('other');
DROP EXTENSION dblink;
-- a tampered list of new customers naming a buyer is refused (XX001), never
-- served: it would give customer 1 two rows
UPDATE fashionrec.artifact a SET data = overlay(a.data placing '\x0100000000000000'::bytea from 1)
  FROM fashionrec.model m WHERE m.id = a.model_id AND m.name = 'fm-users' AND a.name = 'new_user_ids';
SELECT fashionrec.model_cache_drop('fm-users') >= 0 AS dropped;
\c
SET client_min_messages = warning;
\set VERBOSITY sqlstate
SELECT * FROM fashionrec.recommend('fm-users', 1004, 5);
\set VERBOSITY default
SELECT * FROM fashionrec.recommend('fm-users', 1004, 5);
UPDATE fashionrec.artifact a SET data = overlay(a.data placing '\xe903000000000000'::bytea from 1)
  FROM fashionrec.model m WHERE m.id = a.model_id AND m.name = 'fm-users' AND a.name = 'new_user_ids';
SELECT count(*) AS served_again FROM fashionrec.recommend('fm-users', 1001, 5);

-- evaluate, and a session's fold-in, work as for any model
CREATE VIEW fm_test AS
  SELECT u::bigint AS customer, i::bigint AS product
    FROM generate_series(1, 90) u, generate_series(1, 48) i
   WHERE i % 3 = u % 3 AND (u * 7 + i * 5) % 16 >= 8;
SELECT users, ndcg_at_k > 0.3 AS ndcg_above_0_3 FROM fashionrec.evaluate('fm', 'fm_test', 10);
SELECT bool_and(item_id % 3 = 1) AS session_colour
  FROM fashionrec.recommend_for_items('fm', ARRAY[1, 4, 7]::bigint[], 5);

-- cross-validation, tuning and retraining train it like any algorithm
SELECT count(*) AS folds, bool_and(ndcg_at_k > 0.2) AS every_fold_ranks
  FROM fashionrec.cross_validate('fm-cv', 'featurefm', 'fm_bought', 3,
       '{"item_features": "fm_attributes", "factors": 8, "epochs": 20}');
SELECT trial_params, score > 0.2 AS ranks, best IS NOT NULL AS compared
  FROM fashionrec.tune('fm-tune', 'featurefm', 'fm_bought', '{"loss": ["bpr", "warp"]}',
       params => '{"item_features": "fm_attributes", "factors": 8, "epochs": 20}')
 ORDER BY trial_params ->> 'loss';
-- retrain on the purchases plus newer ones (fm_test): a challenger with the
-- champion's parameters, both scored on the latest purchases
CREATE VIEW fm_bought_at AS
  SELECT customer, product, 1 AS w, timestamptz '2026-01-01' + product * interval '1 minute' AS at FROM fm_bought
  UNION ALL
  SELECT customer, product, 1, timestamptz '2026-02-01' + product * interval '1 minute' FROM fm_test;
CALL fashionrec.retrain('fm-bpr', source => 'fm_bought_at');
SELECT decision IN ('promoted', 'kept') AS decided, champion_score > 0 AND challenger_score > 0 AS both_scored
  FROM fashionrec.retrain_log WHERE name = 'fm-bpr';
SELECT bool_and(params ->> 'loss' = 'bpr' AND params ->> 'user_features' = 'fm_customer_features') AS same_params
  FROM fashionrec.model WHERE name = 'fm-bpr';

-- the feature queries a model stores run at retrain() only as their author
-- (or a role whose rights the author holds), like every stored source
CREATE ROLE fm_author;
GRANT fashionrec_trainer TO fm_author;
GRANT SELECT ON fm_bought, fm_bought_at, fm_attributes TO fm_author;
SET ROLE fm_author;
SELECT fashionrec.train('fm-authored', 'featurefm', 'fm_bought',
       '{"item_features": "fm_attributes", "factors": 4, "epochs": 2}');
RESET ROLE;
-- a superuser retraining it on a new source would run fm_author's query as a superuser: refused
\set VERBOSITY sqlstate
CALL fashionrec.retrain('fm-authored', source => 'fm_bought_at');
\set VERBOSITY default
SET ROLE fm_author;
CALL fashionrec.retrain('fm-authored', source => 'fm_bought_at');
RESET ROLE;
SELECT decision = 'failed' AS failed, reason LIKE '%would run as role%' AS refused_for_its_author
  FROM fashionrec.retrain_log WHERE name = 'fm-authored' ORDER BY id;
DROP OWNED BY fm_author;
DROP ROLE fm_author;

-- a cancel (here statement_timeout) stops training between steps and leaves no model
SET statement_timeout = '300ms';
\set VERBOSITY sqlstate
SELECT fashionrec.train('fm-slow', 'featurefm', 'fm_bought',
       '{"item_features": "fm_attributes", "factors": 512, "epochs": 1000}');
-- on two threads: they stop after their round, then the statement is cancelled
SELECT fashionrec.train('fm-slow', 'featurefm', 'fm_bought',
       '{"item_features": "fm_attributes", "factors": 512, "epochs": 1000, "threads": 2}');
\set VERBOSITY default
RESET statement_timeout;
SELECT count(*) AS slow_models FROM fashionrec.model WHERE name = 'fm-slow';

-- ---- a feature set: rows written after training are served without retraining
SELECT feature_set, added FROM fashionrec.create_feature_set('fm-attrs', 'attributes', 'fm_products',
       '{"columns": ["colour", "type"]}');
SELECT fashionrec.train('fm-set', 'featurefm', 'fm_bought',
       '{"item_feature_set": "fm-attrs", "factors": 8, "epochs": 30, "seed": 3}');
SELECT info -> 'feature_sets' = jsonb_build_array(s.id) AS reads_set
  FROM fashionrec.models m, fashionrec.feature_set s WHERE m.name = 'fm-set' AND s.name = 'fm-attrs';
SELECT fashionrec.enable_realtime('fm-attrs');
INSERT INTO fm_products VALUES (61, 'red', 'dress');
DELETE FROM fm_products WHERE id = 49;
-- the new product is known and near products of its colour; the deleted one is gone
SELECT bool_and(q.colour = 'red') AS neighbours_red, count(*) AS neighbours
  FROM fashionrec.similar_items('fm-set', 61, 3) s JOIN fm_products q ON q.id = s.item_id;
SELECT array_agg(item_id ORDER BY item_id) AS served
  FROM fashionrec.recommend('fm-set', 3, 10, candidates => ARRAY[49, 52, 55, 61]::bigint[]);
SELECT (SELECT items FROM fashionrec.models WHERE name = 'fm-set') AS trained_items,
       (SELECT count(*) FROM fashionrec.recommend('fm-set', 3, 100, exclude_seen => false)) AS served_items;
-- a product whose features changed is embedded again: customer 3 likes red
-- (id % 3 = 0); among new green and blue products, 52 turns red and comes first
SELECT item_id AS top_before
  FROM fashionrec.recommend('fm-set', 3, 1, candidates => ARRAY[50, 52, 53, 55]::bigint[]);
UPDATE fm_products SET colour = 'red' WHERE id = 52;
SELECT item_id AS top_after
  FROM fashionrec.recommend('fm-set', 3, 1, candidates => ARRAY[50, 52, 53, 55]::bigint[]);

-- ---- readers read feature embeddings; they do not train
SET ROLE fashionrec_reader;
SELECT array_length(fashionrec.feature_embedding('fm', 'colour=blue'), 1) AS reader_dims,
       (SELECT count(*) FROM fashionrec.similar_features('fm', 'colour=blue', 3)) AS reader_similar;
\set VERBOSITY sqlstate
SELECT fashionrec.train('fm-reader', 'featurefm', 'fm_bought', '{"item_features": "fm_attributes"}');
\set VERBOSITY default
RESET ROLE;

-- ---- errors: each with its SQLSTATE and hint
CREATE FUNCTION fm_error(stmt text, OUT state text, OUT message text, OUT detail text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    state := 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
END
$$;
SELECT t.case_name, e.state, e.message, coalesce(NULLIF(e.hint, ''), e.detail) AS hint_or_detail
  FROM (VALUES
    -- parameters: wrong choice, out of range, not an integer, wrong type, unknown key
    ('loss', $s${"loss": "hinge"}$s$),
    ('factors', $s${"factors": 0}$s$),
    ('max_sampled', $s${"max_sampled": 2.5}$s$),
    ('threads 0', $s${"threads": 0}$s$),
    ('threads 65', $s${"threads": 65}$s$),
    ('threads text', $s${"threads": "all"}$s$),
    ('item_features type', $s${"item_features": 5}$s$),
    ('unknown key', $s${"features": "fm_attributes"}$s$),
    -- nothing to describe an item or a user by
    ('no item features', $s${"item_identity": false}$s$),
    ('no user features', $s${"user_identity": false}$s$),
    -- feature sources: one column, NULL features, bad weights, writes, absent
    ('one column', $s${"item_features": "SELECT id FROM fm_products"}$s$),
    ('NULL feature', $s${"item_features": "SELECT id, NULLIF(colour, 'red') FROM fm_products"}$s$),
    ('NaN weight', $s${"item_features": "SELECT id, colour, 'NaN'::float4 FROM fm_products"}$s$),
    ('writes', $s${"item_features": "WITH d AS (DELETE FROM fm_products RETURNING id, colour) SELECT * FROM d"}$s$),
    ('no features', $s${"item_features": "SELECT id, colour FROM fm_products WHERE false"}$s$),
    ('no table', $s${"item_features": "fm_no_such_table"}$s$),
    ('no set', $s${"item_feature_set": "fm-no-such-set"}$s$)
  ) AS t(case_name, params),
  LATERAL fm_error(format('SELECT fashionrec.train(%L, %L, %L, %L)', 'fm-bad', 'featurefm', 'fm_bought', t.params)) e;
-- the memory budget is checked before the embeddings are allocated
SET fashionrec.max_memory = '1MB';
SELECT state, message, hint FROM fm_error($$SELECT fashionrec.train('fm-bad', 'featurefm', 'fm_bought',
                                              '{"item_features": "fm_attributes", "factors": 1024}')$$);
RESET fashionrec.max_memory;
-- none of these left a model behind, nor changed the products
SELECT count(*) AS bad_models FROM fashionrec.model WHERE name = 'fm-bad';
SELECT count(*) AS products_kept FROM fm_products;
-- feature embeddings: models without them, unknown models and features, bad k, NULLs
SELECT fashionrec.train('fm-pop', 'popularity', 'fm_bought');
SELECT t.stmt, e.state, e.message, coalesce(NULLIF(e.hint, ''), e.detail) AS hint_or_detail
  FROM (VALUES
    ($$SELECT fashionrec.feature_embedding('fm-pop', 'colour=red')$$),
    ($$SELECT fashionrec.feature_embedding('fm-none', 'colour=red')$$),
    ($$SELECT fashionrec.similar_features('fm', 'colour=purple', 3)$$),
    ($$SELECT fashionrec.similar_features('fm', 'colour=red', 0)$$),
    ($$SELECT fashionrec.similar_features('fm', NULL, 3)$$),
    ($$SELECT fashionrec.similar_features(NULL, 'colour=red', 3)$$),
    ($$SELECT fashionrec.similar_features('fm', 'colour=red', 3, version => 9)$$)
  ) AS t(stmt), LATERAL fm_error(t.stmt) e;

-- ---- as a hybrid's collaborative component -------------------------------------------
-- The hybrid scores featurefm through its own callbacks: a known customer's
-- scores are featurefm's score_user (item bias included), and the new
-- products are featurefm's own items, scored from their features — the
-- hybrid's content-to-factor mapping has none to map.  Popularity is 0 for
-- every new product, so among them the hybrid's order is featurefm's.
SELECT fashionrec.train('fm-h', 'featurefm', 'fm_bought',
       '{"item_features": "fm_attributes", "factors": 8, "epochs": 30, "seed": 3}');
SELECT fashionrec.train('fm-h-pop', 'popularity', 'fm_bought');
SELECT fashionrec.train('fm-hybrid', 'hybrid', NULL,
       '{"cf": "fm-h", "popularity": "fm-h-pop", "interactions": "fm_bought"}');
CREATE FUNCTION pg_temp.new_items(model text, u bigint) RETURNS bigint[] LANGUAGE sql AS $$
  SELECT array_agg(item_id ORDER BY rank)
    FROM fashionrec.recommend(model, u, 12, candidates => ARRAY(SELECT generate_series(49, 60)::bigint)) $$;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE pg_temp.new_items('fm-hybrid', u) = pg_temp.new_items('fm-h', u)) AS same_order
  FROM generate_series(1, 90) u;
-- explain(): the hybrid's raw cf score of a new product is featurefm's own
-- score, item bias included (not the embeddings' dot product alone); the
-- candidates are the eleven new products left (49 was deleted above)
CREATE TEMP TABLE fm_raw AS
SELECT e.item_id, e.raw_score, r.score,
       (SELECT sum(a * b) FROM unnest(fashionrec.user_embedding('fm-h', 7),
                                      fashionrec.item_embedding('fm-h', e.item_id)) AS t(a, b)) AS dot
  FROM fashionrec.explain('fm-hybrid', 7, 12, candidates => ARRAY(SELECT generate_series(49, 60)::bigint)) e
  JOIN fashionrec.recommend('fm-h', 7, 12, candidates => ARRAY(SELECT generate_series(49, 60)::bigint)) r USING (item_id)
 WHERE e.signal = 'cf';
SELECT count(*) AS new_products, bool_and(abs(raw_score - score) < 1e-5) AS raw_is_featurefm_score,
       bool_and(abs(score - dot) > 1e-4) AS bias_included
  FROM fm_raw;

-- ---- two featurefm models as one hybrid: an ensemble --------------------------------
-- "content" (and "image") take any scoring model, so a second featurefm
-- trained with the other loss joins the first directly.  Each is scored with
-- its own callbacks (the new products from their features), z-scored over
-- the catalogue and summed: with static weights 1 + 1 the hybrid's score of
-- every product is z(WARP) + z(BPR), computed here from recommend() alone.
SELECT fashionrec.train('fm-h-bpr', 'featurefm', 'fm_bought',
       '{"item_features": "fm_attributes", "factors": 8, "epochs": 30, "seed": 5, "loss": "bpr"}');
SELECT fashionrec.train('fm-ensemble', 'hybrid', NULL,
       '{"cf": "fm-h", "content": "fm-h-bpr", "content_weight": 1, "history_n0": 0,
         "interactions": "fm_bought"}');
CREATE TEMP TABLE fm_z AS
SELECT model, u, item_id,
       (score - avg(score) OVER w) / stddev_pop(score) OVER w AS z
  FROM unnest(ARRAY['fm-h', 'fm-h-bpr']) AS model, generate_series(1, 90) u,
       LATERAL fashionrec.recommend(model, u, 100, exclude_seen => false) r
WINDOW w AS (PARTITION BY model, u);
CREATE TEMP TABLE fm_ens AS
SELECT r.u, r.item_id, r.score, sum(z.z) AS z_sum,
       min(z.z) FILTER (WHERE z.model = 'fm-h') AS z_warp
  FROM (SELECT u, e.item_id, e.score
          FROM generate_series(1, 90) u,
               LATERAL fashionrec.recommend('fm-ensemble', u, 12,
                                            candidates => ARRAY(SELECT generate_series(49, 60)::bigint)) e) r
  JOIN fm_z z USING (u, item_id)
 GROUP BY r.u, r.item_id, r.score;
SELECT count(DISTINCT u) AS customers, count(DISTINCT item_id) AS new_products,
       bool_and(abs(score - z_sum) < 1e-3) AS score_is_sum_of_z,
       bool_or(abs(score - 2 * z_warp) > 0.1) AS bpr_counts
  FROM fm_ens;
-- explain() names both components and their weights
SELECT signal, component, count(*) AS rows, min(weight) AS weight
  FROM fashionrec.explain('fm-ensemble', 7, 3) GROUP BY signal, component ORDER BY signal;
