-- The monitoring part of the demo, included last by demo.sql: a running
-- experiment with traffic in rounds and a serving-statistics snapshot after
-- each (so stats_history and online_history hold series the gateway's
-- dashboard draws), and two champion/challenger retraining runs for the
-- retraining log.  Rounds are a second apart: the series are short in time
-- but real.

\echo
\echo '== monitoring: a running experiment served in rounds, a snapshot of the serving statistics after each'
SELECT fashionrec.create_experiment('product-page', primary_metric => 'click', salt => 'demo-product-page',
       description => 'ALS against EASE on the product page') \g /dev/null
SELECT fashionrec.add_variant('product-page', 'als', 'shop-als', 50) \g /dev/null
SELECT fashionrec.add_variant('product-page', 'ease', 'shop-ease', 50) \g /dev/null
SELECT fashionrec.start_experiment('product-page') \g /dev/null
SELECT fashionrec.snapshot_stats() \g /dev/null

-- each round: 250 customers served by variant (an exposure each), a click
-- when the list holds an item of their test split, and some plain serving
\o /dev/null
SELECT pg_catalog.format($round$
SELECT count(fashionrec.track('product-page', s.customer_id, 'click', s.item_id))
  FROM (SELECT DISTINCT ON (g.c) g.c AS customer_id, r.item_id
          FROM generate_series(%1$s * 250 + 1, %1$s * 250 + 250) AS g(c)
         CROSS JOIN LATERAL fashionrec.recommend_experiment('product-page', g.c, k => 10) r
          JOIN shop.test t ON t.user_id = g.c AND t.item_id = r.item_id
         ORDER BY g.c, r.rank) s;
SELECT count(*) FROM generate_series(1, 200 + 40 * %1$s) u, LATERAL fashionrec.recommend('shop-als', u, 10) r;
SELECT count(*) FROM generate_series(1, 100) i, LATERAL fashionrec.similar_items('shop-itemknn', i, 10) r;
SELECT pg_catalog.pg_sleep(1);
SELECT fashionrec.snapshot_stats();
$round$, g) FROM generate_series(0, 9) g \gexec
\o

\echo
\echo '== retraining: the champion against a challenger trained on fresher data'
CALL fashionrec.retrain('shop-popularity', source => 'shop.interactions');
CALL fashionrec.retrain('shop-als', source => 'shop.interactions', margin => 0.5);
SELECT name, decision, champion_version, promoted_version, round(champion_score::numeric, 4) AS champion,
       round(challenger_score::numeric, 4) AS challenger
  FROM fashionrec.retrain_log ORDER BY id;
SELECT count(*) AS history_rows FROM fashionrec.stats_history;
