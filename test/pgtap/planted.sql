-- Every implicit-feedback algorithm recovers the planted preferences of the
-- synthetic shop: on a temporal split, NDCG@10 well above popularity's, and
-- the top recommendations fall in the customer's planted article types far
-- more often than chance.  A model that ranked at random, or by popularity
-- alone, fails these.  (mf models explicit ratings, which the shop has not;
-- its test is RMSE on MovieLens, test/bench/ml100k_mf.sh and test_mf.c.)
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(11);

SELECT lives_ok($$SELECT * FROM fashionrec.generate_shop(1500, 400, 60000, 11, 'planted')$$, 'a small shop');
CREATE TEMP TABLE pairs AS
SELECT customer_id, product_id,
       sum(CASE event_type WHEN 'purchase' THEN 5 WHEN 'cart' THEN 2 ELSE 1 END)::real AS w,
       max(occurred_at) AS at
  FROM planted.events GROUP BY 1, 2;
CREATE TEMP TABLE sp AS SELECT * FROM fashionrec.split('SELECT * FROM pairs', 'temporal', 0.2, 7);
CREATE TEMP VIEW tr AS SELECT user_id, item_id, weight FROM sp WHERE NOT is_test;
CREATE TEMP VIEW te AS SELECT user_id, item_id FROM sp WHERE is_test;

CREATE TEMP TABLE results (algorithm text, ndcg float8, in_taste float8);
CREATE FUNCTION pg_temp.measure(algorithm text, params jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM fashionrec.train('planted-' || algorithm, algorithm, 'SELECT * FROM tr', params);
    INSERT INTO results
    SELECT algorithm,
           (SELECT ndcg_at_k FROM fashionrec.evaluate('planted-' || algorithm, 'SELECT * FROM te', 10)),
           (SELECT avg((p.article_type IN (SELECT cp.article_type FROM planted.customer_preferences cp
                                            WHERE cp.customer_id = c.customer_id))::int)
              FROM (SELECT DISTINCT user_id AS customer_id FROM te LIMIT 300) c,
                   LATERAL fashionrec.recommend('planted-' || algorithm, c.customer_id, 5) r
              JOIN planted.products p ON p.product_id = r.item_id);
END
$$;
SELECT pg_temp.measure('popularity', '{}');
SELECT pg_temp.measure('als', '{"factors": 32, "iterations": 10}');
SELECT pg_temp.measure('itemknn', '{"neighbors": 50}');
SELECT pg_temp.measure('svd', '{"factors": 32}');
SELECT pg_temp.measure('ease', '{"lambda": 200}');

-- chance: the share of (customer, product) pairs where the product is in a planted type
CREATE TEMP TABLE chance AS
SELECT avg((p.article_type IN (SELECT cp.article_type FROM planted.customer_preferences cp
                                WHERE cp.customer_id = c.customer_id))::int)::float8 AS share
  FROM (SELECT customer_id FROM planted.customers ORDER BY customer_id LIMIT 300) c, planted.products p;

SELECT cmp_ok((SELECT ndcg FROM results WHERE algorithm = a),
              '>', 1.5 * (SELECT ndcg FROM results WHERE algorithm = 'popularity'),
              a || ': NDCG@10 at least 1.5x popularity''s')
  FROM unnest(ARRAY['als', 'itemknn', 'svd', 'ease']) a;
SELECT cmp_ok((SELECT in_taste FROM results WHERE algorithm = a),
              '>', 3 * (SELECT share FROM chance),
              a || ': top 5 in the planted article types at least 3x chance')
  FROM unnest(ARRAY['als', 'itemknn', 'svd', 'ease']) a;
SELECT cmp_ok((SELECT in_taste FROM results WHERE algorithm = 'als'),
              '>', (SELECT in_taste FROM results WHERE algorithm = 'popularity'),
              'als beats popularity at finding the planted tastes');
SELECT cmp_ok((SELECT count(*) FROM fashionrec.models WHERE name LIKE 'planted-%' AND active), '=', 5::bigint,
              'five models trained and active');

SELECT * FROM finish();
ROLLBACK;
