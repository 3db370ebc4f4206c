-- The gateway tests' database: a small synthetic shop with what every
-- endpoint and dashboard page reads (models with evaluations, a running
-- experiment with history, serving-statistics snapshots, a feature set,
-- retraining runs), and the gateway's login role.  Loaded by run.sh.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS fashionrec;
SELECT count(*) FROM fashionrec.generate_shop(customers => 1200, products => 300, events => 24000, seed => 11);
CREATE VIEW shop.interactions AS
SELECT customer_id, product_id, count(*)::real AS weight, max(occurred_at) AS last_at FROM shop.events GROUP BY 1, 2;
CREATE TABLE shop.split AS SELECT * FROM fashionrec.split('shop.interactions', 'temporal', 0.2, 42);
CREATE VIEW shop.train AS SELECT user_id, item_id, weight, event_time FROM shop.split WHERE NOT is_test;
CREATE VIEW shop.test AS SELECT user_id, item_id FROM shop.split WHERE is_test;
SELECT fashionrec.train('t-pop', 'popularity', 'shop.train');
SELECT fashionrec.train('t-als', 'als', 'shop.train', '{"factors": 16, "iterations": 5}');
SELECT fashionrec.train('t-als', 'als', 'shop.train', '{"factors": 8, "iterations": 5}');
SELECT fashionrec.train('t-knn', 'itemknn', 'shop.train');
SELECT fashionrec.train('t-ctx', 'popularity', 'SELECT customer_id, product_id, 1.0, season FROM shop.events e JOIN shop.products p USING (product_id)',
                        '{"context_column": "season"}');
SELECT count(*) FROM fashionrec.evaluate('t-als', 'shop.test', 10, version => 1);
SELECT count(*) FROM fashionrec.evaluate('t-als', 'shop.test', 10, version => 2);
SELECT count(*) FROM fashionrec.evaluate('t-als', 'shop.test', 5, version => 1);
SELECT count(*) FROM fashionrec.evaluate('t-pop', 'shop.test', 10);

SELECT fashionrec.create_experiment('home', primary_metric => 'click', salt => 'gw-test');
SELECT fashionrec.add_variant('home', 'pop', 't-pop', 50);
SELECT fashionrec.add_variant('home', 'als', 't-als', 50);
SELECT fashionrec.start_experiment('home');
SELECT fashionrec.create_experiment('draft-only');
SELECT fashionrec.snapshot_stats();
\o /dev/null
SELECT pg_catalog.format($round$
SELECT count(fashionrec.track('home', s.customer_id, 'click', s.item_id))
  FROM (SELECT DISTINCT ON (g.c) g.c AS customer_id, r.item_id
          FROM generate_series(%1$s * 100 + 1, %1$s * 100 + 100) AS g(c)
         CROSS JOIN LATERAL fashionrec.recommend_experiment('home', g.c, k => 10) r
          JOIN shop.test t ON t.user_id = g.c AND t.item_id = r.item_id
         ORDER BY g.c, r.rank) s;
SELECT count(*) FROM generate_series(1, 50 + 10 * %1$s) u, LATERAL fashionrec.recommend('t-als', u, 10) r;
SELECT pg_catalog.pg_sleep(0.3);
SELECT fashionrec.snapshot_stats();
$round$, g) FROM generate_series(0, 3) g \gexec
\o
CALL fashionrec.retrain('t-pop', source => 'shop.interactions');
CALL fashionrec.retrain('t-als', source => 'shop.interactions', margin => 0.5);

SELECT count(*) FROM fashionrec.create_feature_set('t-attrs', 'attributes', 'shop.products',
       '{"id_column": "product_id", "columns": ["article_type", "colour", "season"]}');
-- one product the set has not seen yet: staleness shows it
INSERT INTO shop.products SELECT product_id + 100000, name, description, category, sub_category, article_type, colour,
       season, gender, usage, price, price_band, created_at, in_stock FROM shop.products WHERE product_id = 1;

-- the gateway's login role: a member of the three roles, NOINHERIT so it has
-- none of their rights until a request's SET LOCAL ROLE
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'fashionrec_gateway') THEN
    CREATE ROLE fashionrec_gateway LOGIN NOINHERIT;
  END IF;
END $$;
GRANT fashionrec_app, fashionrec_reader, fashionrec_trainer TO fashionrec_gateway;
-- the shop's tables, for training and drift windows read with the caller's rights
GRANT USAGE ON SCHEMA shop TO fashionrec_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA shop TO fashionrec_reader;
