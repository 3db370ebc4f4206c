-- The demo: a synthetic shop, every algorithm trained on it, evaluated on a
-- temporal split, and recommendations for a few customers next to what they
-- bought.  Run by test/demo.sh (make demo).
\set QUIET on
\pset footer off
SET client_min_messages = warning;
CREATE EXTENSION fashionrec;

SELECT * FROM fashionrec.generate_shop(customers => 5000, products => 1500, events => 150000, seed => 7);

-- product photos, image embeddings, a purchases view
\ir demo_catalog.sql

-- purchases and carts are strong signals, views weak ones
CREATE VIEW shop.interactions AS
SELECT e.customer_id, e.product_id,
       sum(CASE e.event_type WHEN 'purchase' THEN 5 WHEN 'cart' THEN 2 ELSE 1 END)::real AS weight,
       max(e.occurred_at) AS last_at
  FROM shop.events e GROUP BY 1, 2;

-- a temporal split: each customer's latest 20% of interactions are the test set
CREATE TABLE shop.split AS
SELECT * FROM fashionrec.split('shop.interactions', 'temporal', 0.2, 42);
CREATE VIEW shop.train AS SELECT user_id, item_id, weight, event_time FROM shop.split WHERE NOT is_test;
CREATE VIEW shop.test  AS SELECT user_id, item_id FROM shop.split WHERE is_test;

\echo
\echo '== training every algorithm on the training split'
SELECT fashionrec.train('shop-' || a.name, a.name, 'shop.train') AS version, a.name AS algorithm
  FROM fashionrec.algorithms() a
 WHERE NOT a.predicts_ratings AND a.name IN ('popularity', 'als', 'svd', 'itemknn', 'ease')
 ORDER BY a.name;

\echo
\echo '== registry'
SELECT name, version, algorithm, status, active, users, items, interactions, seconds
  FROM fashionrec.models;

\echo
\echo '== evaluation on the latest 20% of each customer''s interactions (k = 10)'
SELECT e.model, round(e.ndcg_at_k::numeric, 4) AS ndcg, round(e.precision_at_k::numeric, 4) AS precision,
       round(e.recall_at_k::numeric, 4) AS recall, round(e.coverage::numeric, 3) AS coverage
  FROM fashionrec.models m,
       LATERAL fashionrec.evaluate(m.name, 'shop.test', 10) e
 ORDER BY e.ndcg_at_k DESC;

-- three customers with some history
SELECT array_agg(user_id ORDER BY user_id) AS customers
  FROM (SELECT user_id FROM shop.train GROUP BY 1 HAVING count(*) >= 12 ORDER BY user_id LIMIT 3) c \gset

\echo
\echo '== three customers: their planted taste, what they interacted with most, and what the best model recommends'
SELECT c.customer_id, string_agg(p.article_type || ' / ' || p.colour || ' / ' || p.price_band, ';  '
                                 ORDER BY p.strength DESC) AS planted_taste
  FROM shop.customers c JOIN shop.customer_preferences p USING (customer_id)
 WHERE c.customer_id = ANY (:'customers'::bigint[]) GROUP BY 1 ORDER BY 1;

SELECT t.user_id AS customer_id, pr.product_id, pr.article_type, pr.colour, pr.price_band, t.weight
  FROM (SELECT user_id, item_id, weight, row_number() OVER (PARTITION BY user_id ORDER BY weight DESC, item_id) AS r
          FROM shop.train WHERE user_id = ANY (:'customers'::bigint[])) t
  JOIN shop.products pr ON pr.product_id = t.item_id
 WHERE t.r <= 4 ORDER BY 1, t.weight DESC, 2;

SELECT m.name AS best_model FROM fashionrec.model_metrics m ORDER BY m.ndcg DESC LIMIT 1 \gset
\echo
\echo 'recommended by' :best_model
SELECT u.customer_id, r.rank, pr.product_id, pr.article_type, pr.colour, pr.price_band, round(r.score::numeric, 3) AS score
  FROM unnest(:'customers'::bigint[]) u(customer_id),
       LATERAL fashionrec.recommend(:'best_model', u.customer_id, k => 4) r
  JOIN shop.products pr ON pr.product_id = r.item_id
 ORDER BY 1, 2;

\echo
\echo '== more like this: neighbours of a product by item-KNN ("customers who bought this also bought")'
SELECT r.rank, pr.product_id, pr.article_type, pr.colour, pr.price_band, round(r.score::numeric, 3) AS score
  FROM (SELECT 0 AS rank, 1::bigint AS item_id, NULL::real AS score
        UNION ALL SELECT s.rank, s.item_id, s.score FROM fashionrec.similar_items('shop-itemknn', 1, k => 5) s) r
  JOIN shop.products pr ON pr.product_id = r.item_id ORDER BY r.rank;

\echo
\echo '== more like this from the product itself: TF-IDF over the description plus weighted attributes'
SELECT fashionrec.train('shop-content', 'tfidf',
       'SELECT product_id, description, article_type, colour, season, gender, usage, price_band FROM shop.products',
       '{"attribute_columns": "article_type, colour, season, gender, usage, price_band",
         "weights": {"article_type": 3, "colour": 2},
         "interactions": "SELECT user_id, item_id, weight FROM shop.train"}') IS NOT NULL AS trained \g /dev/null
SELECT r.rank, pr.product_id, pr.name, pr.colour, pr.season, round(r.score::numeric, 3) AS score
  FROM (SELECT 0 AS rank, 1::bigint AS item_id, NULL::real AS score
        UNION ALL SELECT s.rank, s.item_id, s.score FROM fashionrec.similar_items('shop-content', 1, k => 5) s) r
  JOIN shop.products pr ON pr.product_id = r.item_id ORDER BY r.rank;

\echo
\echo '== an anonymous session that looked at two products: fold-in without retraining'
SELECT r.rank, pr.product_id, pr.article_type, pr.colour, round(r.score::numeric, 3) AS score
  FROM fashionrec.recommend_for_items(:'best_model', ARRAY[1, 2], k => 5) r
  JOIN shop.products pr ON pr.product_id = r.item_id ORDER BY r.rank;

\ir demo_hybrid.sql
\ir demo_features.sql

\echo
\echo '== the first customer again, filtered: only in-stock summer products'
SELECT r.rank, pr.product_id, pr.article_type, pr.season, round(r.score::numeric, 3) AS score
  FROM fashionrec.recommend(:'best_model', (:'customers'::bigint[])[1], k => 5,
         candidates => ARRAY(SELECT product_id FROM shop.products WHERE in_stock AND season = 'Summer')) r
  JOIN shop.products pr ON pr.product_id = r.item_id ORDER BY r.rank;

\ir demo_abtest.sql

\ir demo_monitoring.sql
