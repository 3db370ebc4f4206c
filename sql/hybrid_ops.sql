-- A hybrid through the training pipeline: retrain() (components retrained
-- on the new window or taken active, a learned fusion refitted), tune() and
-- cross_validate() of a hybrid, and their bad inputs.
--
-- The shop's first months sold only its even-numbered products; the odd ones
-- arrived later.  A hybrid trained then cannot recommend them: retraining
-- on the new data must favour the challenger.
SET client_min_messages = warning;
-- errors with their hints, without PL/pgSQL line numbers
\set SHOW_CONTEXT never
SELECT count(*) FROM fashionrec.generate_shop(customers => 300, products => 200, events => 40000,
                                              target_schema => 'hops');
CREATE TABLE hops.buys AS
SELECT customer_id AS user_id, product_id AS item_id, 1.0::float8 AS weight, occurred_at AS event_time
  FROM hops.events
 WHERE event_type <> 'view' AND occurred_at < '2025-06-01' AND product_id % 2 = 0;
SELECT fashionrec.train('hops-als', 'als', 'hops.buys', '{"factors": 16, "iterations": 8, "solver": "cholesky"}');
SELECT fashionrec.train('hops-pop', 'popularity', 'hops.buys');
SELECT fashionrec.train('hops-seq', 'sequence', 'hops.buys');
SELECT fashionrec.train('hops', 'hybrid', NULL,
       '{"cf": "hops-als", "popularity": "hops-pop", "sequence": "hops-seq", "interactions": "hops.buys"}');
INSERT INTO hops.buys
SELECT customer_id, product_id, 1.0, occurred_at FROM hops.events
 WHERE event_type <> 'view' AND (occurred_at >= '2025-06-01' OR product_id % 2 = 1);

-- ---- retrain() ----
-- components => 'active': the active versions as they are (the champion's
-- pins are not retrained); the challenger is kept on request
CALL fashionrec.retrain('hops', params => '{"components": "active"}', keep_challenger => true);
SELECT decision, details -> 'components' AS components,
       details -> 'challenger_components' AS challenger_components
  FROM fashionrec.retrain_log WHERE name = 'hops' ORDER BY id DESC LIMIT 1;
SELECT version, status, active, params ->> 'interactions' AS interactions
  FROM fashionrec.model WHERE name = 'hops' ORDER BY version;
SELECT fashionrec.drop_model('hops', 2);

-- components => 'retrain' (the default): each retrained without the held-out pairs
CALL fashionrec.retrain('hops');
SELECT decision, champion_version, challenger_version, promoted_version,
       challenger_score > champion_score AS challenger_better,
       details -> 'champion_components' AS champion_components,
       details -> 'challenger_components' AS challenger_components,
       details -> 'promoted_components' AS promoted_components,
       details -> 'challenger_dropped' AS challenger_dropped
  FROM fashionrec.retrain_log WHERE name = 'hops' ORDER BY id DESC LIMIT 1;
-- the promoted version pins components trained on the whole source; the
-- challenger's were dropped with it; the components' own active versions
-- did not change
SELECT name, version, status, active, source, info ->> 'retrained_for' AS retrained_for
  FROM fashionrec.model WHERE name LIKE 'hops%' ORDER BY name, version;
SELECT params, info FROM fashionrec.model WHERE name = 'hops' AND active;
-- and it recommends the products that arrived later
SELECT count(*) FILTER (WHERE item_id % 2 = 1) > 0 AS serves_new_products
  FROM fashionrec.recommend('hops', 7, 10);


-- a learned fusion is refitted by stacking: components trained without a
-- validation tail fit it, then it is reused over the challenger's components
SELECT fashionrec.train('hops-fused', 'hybrid', NULL,
       '{"cf": "hops-als", "popularity": "hops-pop", "fusion": "logistic",
         "interactions": "SELECT * FROM hops.buys WHERE event_time < ''2025-10-01''",
         "validation": "SELECT user_id, item_id FROM hops.buys WHERE event_time >= ''2025-10-01''"}');
CALL fashionrec.retrain('hops-fused', promote => 'challenger');
SELECT decision, details -> 'challenger_components' AS challenger_components
  FROM fashionrec.retrain_log WHERE name = 'hops-fused';
SELECT m.version, m.info ->> 'fusion' AS fusion, m.info ->> 'fusion_from' LIKE 'hops-fused@%' AS reused,
       (SELECT count(*) FROM fashionrec.model f
         WHERE f.name = 'hops-fused' AND m.info ->> 'fusion_from' = 'hops-fused@' || f.version) AS fit_left
  FROM fashionrec.model m WHERE m.name = 'hops-fused' AND m.active;
-- the fitting components are gone; what is left are the challenger's
SELECT name, count(*) AS versions FROM fashionrec.model WHERE name LIKE 'hops-%' GROUP BY name ORDER BY name;

-- ---- retrain(): bad input, logged as failed, nothing that serves changes ----
-- a popularity component by event type, for below
CREATE VIEW hops.buys_by_type AS
SELECT customer_id, product_id, 1.0::float8 AS weight, occurred_at, event_type FROM hops.events;
SELECT fashionrec.train('hops-typed', 'popularity', 'hops.buys_by_type', '{"context_column": "event_type"}');
CREATE TEMP TABLE before AS
SELECT name, version, active FROM fashionrec.model WHERE name LIKE 'hops%';
CALL fashionrec.retrain('hops', params => '{"components": "newest"}');
-- a component version the hybrid pins was dropped
SELECT info ->> 'popularity' AS pinned_popularity FROM fashionrec.model WHERE name = 'hops' AND active;
SELECT fashionrec.drop_model('hops-pop', 3);
CALL fashionrec.retrain('hops');
-- ... or archived
SELECT fashionrec.archive('hops-als', 3);
CALL fashionrec.retrain('hops', params => '{"popularity": "hops-pop"}');
-- (a component that reads a context column is retrained with it since the
-- split carries the column: not a failure, sql/hybrid_context.sql)
CALL fashionrec.retrain('hops', params => '{"cf": "hops-als@1", "popularity": "hops-typed"}');
SELECT decision <> 'failed' AS context_component_retrained
  FROM fashionrec.retrain_log WHERE name = 'hops' ORDER BY id DESC LIMIT 1;
SELECT decision, reason, details ->> 'sqlstate' AS sqlstate
  FROM fashionrec.retrain_log WHERE name = 'hops' AND decision = 'failed' ORDER BY id;
SELECT name, version, b.active AS before, m.active AS now
  FROM (SELECT * FROM fashionrec.model WHERE name LIKE 'hops%') m
  FULL JOIN before b USING (name, version) WHERE b.active IS DISTINCT FROM m.active;
-- active components: a pinned version dropped does not matter
CALL fashionrec.retrain('hops', params => '{"components": "active"}');
SELECT decision FROM fashionrec.retrain_log WHERE name = 'hops' ORDER BY id DESC LIMIT 1;

-- ---- cross_validate() of a hybrid, temporal folds (rolling origin) ----
-- each fold: components retrained on the events before its cut, tested on
-- the next window; trial versions (hybrid and components) dropped at the end
CREATE TEMP TABLE models_before AS SELECT name, version FROM fashionrec.model WHERE name LIKE 'hops%';
SELECT fold, model_version, users > 100 AS many_users, ndcg_at_k > 0.05 AS learns, status, reason
  FROM fashionrec.cross_validate('hops-cv', 'hybrid', 'hops.buys', folds => 3, fold_method => 'temporal',
       params => '{"cf": "hops-als", "popularity": "hops-pop", "sequence": "hops-seq"}');
SELECT count(*) AS left_behind FROM fashionrec.model m
 WHERE m.name LIKE 'hops%' AND NOT EXISTS (SELECT FROM models_before b WHERE b.name = m.name AND b.version = m.version);
-- hashed folds, trials kept on request
SELECT fold, model_version, status FROM fashionrec.cross_validate('hops-cv', 'hybrid', 'hops.buys', folds => 2,
       params => '{"cf": "hops-als", "popularity": "hops-pop"}', keep_trials => true);
SELECT version, status, params ->> 'interactions' AS interactions, info ->> 'cf' LIKE 'hops-als@%' AS pins_cf
  FROM fashionrec.model WHERE name = 'hops-cv' ORDER BY version;
SELECT fashionrec.drop_model('hops-cv');
-- a fold with no test users is skipped with the reason: the last window's
-- buyers are all new customers
CREATE TABLE hops.tiny (u bigint, i bigint, at timestamptz);
INSERT INTO hops.tiny VALUES (1, 1, '2025-01-01'), (1, 2, '2025-01-02'), (2, 1, '2025-01-03'),
                             (5, 3, '2025-01-04'), (3, 2, '2025-01-05'), (4, 3, '2025-01-06');
SELECT fold, users, status, reason
  FROM fashionrec.cross_validate('hops-tiny', 'popularity', 'SELECT u, i, 1, at FROM hops.tiny', folds => 2,
                                 fold_method => 'temporal');

-- ---- tune() of a hybrid: weights, fusion kind, component choice ----
SELECT fashionrec.train('hops-ease', 'ease', 'hops.buys', '{"lambda": 100}');
SELECT model_version IS NOT NULL AS trained, trial_params, score > 0 AS scored, best
  FROM fashionrec.tune('hops-tuned', 'hybrid', 'hops.buys',
       '{"cf": ["hops-als", "hops-ease"], "popularity_weight": [0, 0.3, 1], "fusion": ["weighted", "logistic"]}',
       split_method => 'temporal', budget => 3, folds => 2, activate_best => true,
       params => '{"cf": "hops-als", "popularity": "hops-pop", "sequence": "hops-seq"}')
 ORDER BY trial_params::text;
-- the best combination, trained again on the whole source (refit), is
-- active and pins its components, which saw every row of hops.buys; the
-- trials of both splits and the components only they used are gone
SELECT m.version, m.status, m.active, m.params ->> 'interactions' AS interactions,
       (SELECT bool_and(EXISTS (SELECT FROM fashionrec.model c
                                 WHERE c.name || '@' || c.version = m.info ->> s))
          FROM unnest(ARRAY['cf', 'popularity', 'sequence']) s) AS components_exist,
       (SELECT c.interactions FROM fashionrec.models c WHERE c.name || '@' || c.version = m.info ->> 'popularity')
       = (SELECT count(DISTINCT (user_id, item_id)) FROM hops.buys) AS components_saw_all
  FROM fashionrec.model m WHERE m.name = 'hops-tuned';
SELECT count(*) AS trial_versions FROM fashionrec.model m
 WHERE m.status = 'trial' AND m.info ->> 'retrained_for' = 'hops-tuned'
   AND NOT EXISTS (SELECT FROM fashionrec.model h WHERE h.name = 'hops-tuned'
                     AND h.info ->> 'cf' = m.name || '@' || m.version OR h.info ->> 'popularity' = m.name || '@' || m.version
                     OR h.info ->> 'sequence' = m.name || '@' || m.version);
-- the same random sample with the same seed
SELECT array_agg(trial_params ORDER BY model_version) = (
       SELECT array_agg(trial_params ORDER BY model_version) FROM fashionrec.tune('hops-t2', 'popularity', 'hops.buys',
              '{"min_item_interactions": [1, 2, 3, 4, 5]}', budget => 2))
       AS same_sample
  FROM fashionrec.tune('hops-t2', 'popularity', 'hops.buys', '{"min_item_interactions": [1, 2, 3, 4, 5]}', budget => 2);

-- successive halving: 9 combinations on a ninth of the users, the best
-- third of them on a third, the best of those on all the users
CREATE TEMP TABLE halving AS
SELECT * FROM fashionrec.tune('hops-sh', 'popularity', 'hops.buys',
       '{"min_item_interactions": [1, 5, 20], "min_user_interactions": [1, 3, 10]}', halving => true);
SELECT round(users_share::numeric, 3) AS users_share, count(*) AS trials, count(*) FILTER (WHERE best) AS best
  FROM halving GROUP BY users_share ORDER BY users_share;
SELECT (SELECT array_agg(trial_params::text ORDER BY trial_params::text) FROM halving
         WHERE users_share > 0.3 AND users_share < 0.4)
     = (SELECT array_agg(p ORDER BY p) FROM (
            SELECT trial_params::text AS p FROM halving WHERE users_share < 0.2
             ORDER BY score DESC NULLS LAST, model_version LIMIT 3) x) AS best_third_goes_on;
SELECT count(*) AS versions_left FROM fashionrec.model WHERE name = 'hops-sh';

-- ---- tune() and cross_validate(): bad input ----
-- a budget of 0
SELECT * FROM fashionrec.tune('hops-t3', 'popularity', 'hops.buys', '{"min_item_interactions": [1, 2]}', budget => 0);
-- a grid of 10,000 combinations: refused, a random search of it is not
SELECT * FROM fashionrec.tune('hops-t3', 'popularity', 'hops.buys',
       (SELECT jsonb_object_agg(key, (SELECT jsonb_agg(v) FROM generate_series(1, 10) v))
          FROM unnest(ARRAY['a', 'b', 'c', 'd']) key));
SELECT count(*) FROM fashionrec.tune('hops-t3', 'popularity', 'hops.buys',
       (SELECT jsonb_object_agg(key, (SELECT jsonb_agg(v) FROM generate_series(1, 10) v))
          FROM unnest(ARRAY['min_user_interactions', 'min_item_interactions', 'a', 'b']) key) - 'a' - 'b',
       budget => 3);
SELECT * FROM fashionrec.tune('hops-t3', 'popularity', 'hops.buys', '{"min_item_interactions": [1]}', budget => 1001);
SELECT * FROM fashionrec.tune('hops-t3', 'popularity', 'hops.buys', '{"min_item_interactions": [1, 2]}', halving => true);
-- a dropped or archived component
SELECT * FROM fashionrec.tune('hops-t3', 'hybrid', 'hops.buys', '{"popularity_weight": [0.1]}',
       params => '{"cf": "hops-als@2", "popularity": "hops-pop"}');
SELECT * FROM fashionrec.tune('hops-t3', 'hybrid', 'hops.buys', '{"popularity_weight": [0.1]}',
       params => '{"cf": "hops-als@3", "popularity": "hops-pop"}');
SELECT * FROM fashionrec.cross_validate('hops-t3', 'hybrid', 'hops.buys',
       params => '{"cf": "hops-gone", "popularity": "hops-pop"}');
-- fold methods
SELECT * FROM fashionrec.cross_validate('hops-t3', 'popularity', 'hops.buys', fold_method => 'monthly');
SELECT * FROM fashionrec.cross_validate('hops-t3', 'popularity', 'SELECT user_id, item_id FROM hops.buys',
                                        fold_method => 'temporal');
SELECT count(*) FROM fashionrec.model WHERE name = 'hops-t3';

-- ---- security ----
-- a component's stored source runs only as its author: a superuser's (or
-- pg_cron's) retraining of a hybrid over a trainer's component refuses to
-- run the trainer's query with the superuser's rights
CREATE ROLE hops_trainer IN ROLE fashionrec_trainer;
GRANT USAGE ON SCHEMA hops TO hops_trainer;
GRANT SELECT ON hops.buys TO hops_trainer;
SET ROLE hops_trainer;
SELECT fashionrec.train('hops-theirs', 'popularity', 'hops.buys');
RESET ROLE;
SELECT fashionrec.train('hops-sec', 'hybrid', NULL,
       '{"cf": "hops-als@1", "popularity": "hops-theirs", "interactions": "hops.buys"}');
CALL fashionrec.retrain('hops-sec');
SELECT decision, details ->> 'sqlstate' AS sqlstate FROM fashionrec.retrain_log WHERE name = 'hops-sec';
-- the trainer may retrain it: the other component's author (the superuser)
-- holds the trainer's rights
SET ROLE hops_trainer;
CALL fashionrec.retrain('hops-sec', params => '{"components": "active"}');
SELECT decision, run_by FROM fashionrec.retrain_log WHERE name = 'hops-sec' ORDER BY id DESC LIMIT 1;
-- the helpers that train and drop versions are for trainers
SET ROLE fashionrec_reader;
SELECT fashionrec._drop_versions('["hops-sec@1"]');
SELECT * FROM fashionrec.tune('hops-sec', 'popularity', 'hops.buys', '{"min_item_interactions": [1]}');
RESET ROLE;
SELECT count(*) AS versions FROM fashionrec.model WHERE name = 'hops-sec';
DROP OWNED BY hops_trainer;
DROP ROLE hops_trainer;
