-- Models that read a feature set: the "features" algorithm and a hybrid with
-- it as its content signal serve products inserted, changed or deleted after
-- they were trained, without retraining (docs/features.md, "Models").
--
-- A synthetic shop with planted tastes; the catalogue's attributes are the
-- feature set, kept current by the realtime trigger.
SET client_min_messages = warning;
\set SHOW_CONTEXT never
SELECT count(*) FROM fashionrec.generate_shop(customers => 300, products => 200, events => 8000,
                                              seed => 11, target_schema => 'fss');
CREATE TABLE fss.catalog AS
SELECT product_id, article_type, colour, gender, price_band FROM fss.products;
ALTER TABLE fss.catalog ADD PRIMARY KEY (product_id);
CREATE VIEW fss.bought AS SELECT customer_id, product_id FROM fss.events;

SELECT feature_set, added, failed FROM fashionrec.create_feature_set('fss-attr', 'attributes', 'fss.catalog',
       '{"id_column": "product_id", "columns": ["article_type", "colour", "gender", "price_band"]}');
SELECT fashionrec.train('fss-content', 'features', 'fss-attr', '{"interactions": "fss.bought"}');
SELECT fashionrec.train('fss-als', 'als', 'fss.bought', '{"factors": 16, "iterations": 10, "seed": 3}');
SELECT fashionrec.train('fss-pop', 'popularity', 'fss.bought');
SELECT fashionrec.train('fss-hybrid', 'hybrid', NULL,
       '{"cf": "fss-als", "content": "fss-content", "popularity": "fss-pop", "interactions": "fss.bought"}');

-- the models name the feature set they read live; the hybrid inherits it
SELECT m.name, m.items, m.info -> 'feature_sets' = pg_catalog.jsonb_build_array(s.id) AS reads_set,
       m.info ? 'new_items_mapped' AS maps_new_items
  FROM fashionrec.models m, fashionrec.feature_set s
 WHERE s.name = 'fss-attr' AND m.name IN ('fss-content', 'fss-hybrid') ORDER BY m.name;

-- the customer with the strongest planted taste, and that taste
SELECT p.customer_id AS cust, p.article_type AS taste_type, p.colour AS taste_colour,
       p.price_band AS taste_band, c.gender AS cust_gender
  FROM fss.customer_preferences p JOIN fss.customers c USING (customer_id)
 WHERE c.customer_id IN (SELECT customer_id FROM fss.events)
 ORDER BY p.strength DESC, p.customer_id LIMIT 1 \gset
-- ten products of other article types, for a candidate list
SELECT array_agg(product_id ORDER BY product_id) AS others FROM (
    SELECT product_id FROM fss.catalog WHERE article_type <> :'taste_type'
     ORDER BY product_id LIMIT 10) o \gset

-- another session has both models cached before the insert
CREATE EXTENSION dblink;
SELECT dblink_connect('other', format('host=%s port=%s dbname=%s',
       current_setting('unix_socket_directories'), current_setting('port'), current_database()));
SELECT * FROM dblink('other', format('SELECT count(*) FROM fashionrec.recommend(%L, %s, 5)',
                                     'fss-hybrid', :cust)) AS t(n bigint);

-- a product made after training, in the customer's planted taste
SELECT fashionrec.enable_realtime('fss-attr');
INSERT INTO fss.catalog VALUES (100001, :'taste_type', :'taste_colour', :'cust_gender', :'taste_band');

-- the content model knows it at once: its nearest product shares its
-- article type (the catalogue has few of each type, so only the first)
SELECT s.rank, c.article_type = :'taste_type' AS same_type
  FROM fashionrec.similar_items('fss-content', 100001, 1) s JOIN fss.catalog c ON c.product_id = s.item_id;
-- the hybrid ranks it first among products of other types, in this session
-- and in the other one, whose cached copies are reloaded on the set's new
-- generation; it has a collaborative score (content -> factor mapping)
SELECT item_id, rank FROM fashionrec.recommend('fss-hybrid', :cust, 1,
       candidates => array_append(:'others'::bigint[], 100001));
SELECT * FROM dblink('other', format('SELECT item_id, rank FROM fashionrec.recommend(%L, %s, 1, candidates => %L)',
                                     'fss-hybrid', :cust, array_append(:'others'::bigint[], 100001)))
         AS t(item_id bigint, rank integer);
SELECT signal, raw_score IS NOT NULL AS has_raw
  FROM fashionrec.explain('fss-hybrid', :cust, 1, candidates => ARRAY[100001]::bigint[]) ORDER BY signal;
-- and among the whole catalogue it is in the customer's top 10
SELECT rank <= 10 AS in_top_10 FROM fashionrec.recommend('fss-hybrid', :cust, 10) WHERE item_id = 100001;
-- a customer the models never saw, who looked at it, gets its look-alikes
SELECT r.rank, c.article_type = :'taste_type' AS same_type
  FROM fashionrec.recommend_for_items('fss-content', ARRAY[100001]::bigint[], 1) r
  JOIN fss.catalog c ON c.product_id = r.item_id;

-- an edit moves it out of the customer's taste: the next statement sees it
UPDATE fss.catalog SET article_type = CASE WHEN :'taste_type' = 'Watches' THEN 'Lipstick' ELSE 'Watches' END,
                       colour = 'Silver' WHERE product_id = 100001;
SELECT bool_and(c.article_type <> :'taste_type') AS moved
  FROM fashionrec.similar_items('fss-content', 100001, 3) s JOIN fss.catalog c ON c.product_id = s.item_id;
SELECT count(*) AS still_in_top_10 FROM fashionrec.recommend('fss-hybrid', :cust, 10) WHERE item_id = 100001;

-- a deleted product leaves both models, even the collaborative side of the hybrid
SELECT product_id AS gone FROM fss.catalog
 WHERE product_id IN (SELECT item_id FROM fashionrec.recommend('fss-hybrid', :cust, 1)) \gset
DELETE FROM fss.catalog WHERE product_id IN (:gone, 100001);
SELECT count(*) AS served FROM fashionrec.recommend('fss-hybrid', :cust, 500) WHERE item_id IN (:gone, 100001);
SELECT count(*) AS served FROM fashionrec.recommend('fss-content', :cust, 500) WHERE item_id IN (:gone, 100001);
SELECT count(*) AS similar FROM fashionrec.similar_items('fss-content', 100001, 3);
SELECT * FROM dblink('other', format('SELECT count(*) FROM fashionrec.recommend(%L, %s, 500) WHERE item_id IN (%s, 100001)',
                                     'fss-hybrid', :cust, :gone)) AS t(n bigint);
-- a version pins its base: the rows it serves are its training's plus the
-- changes since, so the same call gives the same list twice
SELECT (SELECT array_agg(item_id) FROM fashionrec.recommend('fss-hybrid', :cust, 10))
     = (SELECT array_agg(item_id) FROM fashionrec.recommend('fss-hybrid', :cust, 10)) AS stable;

-- after a rebuild the vocabulary changes: rows of the new vocabulary do not
-- fit the trained space, so new products wait for a retraining
INSERT INTO fss.catalog VALUES (100002, :'taste_type', :'taste_colour', :'cust_gender', :'taste_band');
SELECT feature_set, vocabulary_version FROM fashionrec.refresh_features('fss-attr', rebuild => true);
SELECT count(*) AS served_before_retraining FROM fashionrec.recommend('fss-content', :cust, 500) WHERE item_id = 100002;
SELECT fashionrec.train('fss-content', 'features', 'fss-attr', '{"interactions": "fss.bought"}', activate => true);
SELECT count(*) AS served_after FROM fashionrec.recommend('fss-content', :cust, 500) WHERE item_id = 100002;

-- nightly retraining (retrain(), docs/operations.md) of a content model: its
-- interactions are split and retrained over the same feature set.  The
-- champion saw the first half of the year; the challenger is trained on
-- everything but each customer's latest events, and both are scored on those.
SELECT fashionrec.train('fss-nightly', 'features', 'fss-attr',
       '{"interactions": "SELECT customer_id, product_id FROM fss.events WHERE occurred_at < ''2025-07-01''"}');
CALL fashionrec.retrain('fss-nightly', source => 'SELECT customer_id, product_id, 1, occurred_at FROM fss.events',
                        keep_challenger => true);
SELECT decision, champion_version, challenger_version, test_users > 0 AS scored,
       challenger_score > champion_score AS challenger_better
  FROM fashionrec.retrain_log WHERE name = 'fss-nightly';
-- the challenger reads the same feature set, and the full interactions when retrained again
SELECT version, status, source, params ->> 'interactions' AS interactions
  FROM fashionrec.models WHERE name = 'fss-nightly' ORDER BY version;
-- a hybrid splits its interactions by time, and these have none (sql/hybrid_ops.sql retrains hybrids)
CALL fashionrec.retrain('fss-hybrid');
SELECT decision, reason, details ->> 'sqlstate' AS sqlstate FROM fashionrec.retrain_log WHERE name = 'fss-hybrid';

-- bad sources
SELECT fashionrec.train('fss-bad', 'features', 'no-such-set');
SELECT fashionrec.train('fss-bad', 'features', '');
SELECT fashionrec.train('fss-bad', 'features', 'fss-attr', '{"normalize": "yes"}');
-- a feature set whose only product failed validation has nothing to train on
CREATE TABLE fss.empty_vectors (id int PRIMARY KEY, v real[]);
INSERT INTO fss.empty_vectors VALUES (1, NULL);
SELECT added, failed FROM fashionrec.create_feature_set('fss-none', 'embedding', 'fss.empty_vectors',
                                                        '{"vector_column": "v", "dimension": 3}');
SELECT fashionrec.train('fss-bad', 'features', 'fss-none');
SELECT fashionrec.drop_feature_set('fss-none');

SELECT dblink_disconnect('other');
DROP EXTENSION dblink;
SELECT fashionrec.disable_realtime('fss-attr');
SELECT fashionrec.drop_model(name) FROM (VALUES ('fss-hybrid'), ('fss-content'), ('fss-als'), ('fss-pop'), ('fss-nightly')) m(name);
DELETE FROM fashionrec.retrain_log WHERE name LIKE 'fss-%';
SELECT fashionrec.drop_feature_set('fss-attr');
DROP SCHEMA fss CASCADE;
