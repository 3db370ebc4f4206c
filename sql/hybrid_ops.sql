-- A hybrid through the training pipeline: retrain() (components retrained
-- on the new window or taken active, a learned fusion refitted), tune() and
-- cross_validate() of a hybrid, and their bad inputs.
--
-- The shop's first months sold only its even-numbered products; the odd ones
-- arrived later.  A hybrid trained then cannot recommend them: retraining
-- on the new data must favour the challenger.
SET client_min_messages = warning;
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
SELECT decision, reason, details ->> 'sqlstate' AS sqlstate
  FROM fashionrec.retrain_log WHERE name = 'hops' AND decision = 'failed' ORDER BY id;
SELECT name, version, b.active AS before, m.active AS now FROM fashionrec.model m
  FULL JOIN before b USING (name, version) WHERE b.active IS DISTINCT FROM m.active;
-- active components: a pinned version dropped does not matter
CALL fashionrec.retrain('hops', params => '{"components": "active"}');
SELECT decision FROM fashionrec.retrain_log WHERE name = 'hops' ORDER BY id DESC LIMIT 1;
