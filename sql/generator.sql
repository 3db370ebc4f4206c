-- The synthetic fashion shop: generate_shop() and the streaming functions
-- behind it.  Small shops (200 customers, 100 products, 5000 events) so the
-- file runs in a second; the larger statistical checks are in
-- test/pgtap/generator.sql.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
\set SHOW_CONTEXT never

-- ---- a shop --------------------------------------------------------------
SELECT * FROM fashionrec.generate_shop(200, 100, 5000, seed => 42, target_schema => 'gen_a');

-- the catalogue reads like a fashion shop (seed 42 is fixed: these rows are too)
SELECT product_id, name, article_type, colour, season, gender, usage, price, price_band,
       created_at, in_stock
  FROM gen_a.products ORDER BY product_id LIMIT 5;
SELECT product_id, description FROM gen_a.products ORDER BY product_id LIMIT 3;
SELECT category, count(*) FROM gen_a.products GROUP BY 1 ORDER BY 1;

SELECT * FROM gen_a.customers ORDER BY customer_id LIMIT 5;
SELECT customer_id, article_type, colour, price_band, round(strength::numeric, 4) AS strength
  FROM gen_a.customer_preferences ORDER BY customer_id, article_type LIMIT 7;
SELECT * FROM gen_a.events ORDER BY event_id LIMIT 8;

-- the tables carry their keys, indexes and a note of how they were made
SELECT c.relname, pg_catalog.pg_get_indexdef(i.indexrelid) AS index
  FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
 WHERE c.relnamespace = 'gen_a'::regnamespace
 ORDER BY 1, 2;
SELECT conrelid::regclass, pg_catalog.pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'gen_a'::regnamespace AND contype = 'f'
 ORDER BY 1, 2;
SELECT obj_description('gen_a.events'::regclass, 'pg_class');

-- ---- what is planted -------------------------------------------------------
-- funnel: views far above carts, carts above purchases
SELECT event_type, count(*) FROM gen_a.events GROUP BY 1 ORDER BY 2 DESC;

-- every event falls in 2025, after the customer signed up and the product
-- appeared; every purchase follows a cart of that product in its session
SELECT count(*) FILTER (WHERE e.occurred_at < '2025-01-01' OR e.occurred_at >= '2026-01-01') AS outside_2025,
       count(*) FILTER (WHERE e.occurred_at < c.signup_at) AS before_signup,
       count(*) FILTER (WHERE e.occurred_at < p.created_at) AS before_product
  FROM gen_a.events e
  JOIN gen_a.customers c USING (customer_id)
  JOIN gen_a.products p USING (product_id);
SELECT count(*) AS purchases_without_cart
  FROM gen_a.events e
 WHERE e.event_type = 'purchase'
   AND NOT EXISTS (SELECT FROM gen_a.events x
                    WHERE x.session_id = e.session_id AND x.product_id = e.product_id
                      AND x.event_type = 'cart' AND x.event_id < e.event_id);

-- sessions belong to one customer and last minutes, not days
SELECT count(*) FILTER (WHERE customers > 1) AS shared_sessions,
       max(span) < interval '2 hours' AS short,
       round(avg(n), 1) > 2 AS several_events
  FROM (SELECT session_id, count(DISTINCT customer_id) AS customers,
               max(occurred_at) - min(occurred_at) AS span, count(*) AS n
          FROM gen_a.events GROUP BY 1) s;

-- customers of a segment share one style cluster
SELECT count(*) AS segments, count(*) FILTER (WHERE clusters = 1) AS one_cluster_each
  FROM (SELECT segment, count(DISTINCT cells) AS clusters
          FROM (SELECT c.segment, c.customer_id,
                       string_agg(article_type || '/' || colour || '/' || price_band, ','
                                  ORDER BY article_type) AS cells
                  FROM gen_a.customers c JOIN gen_a.customer_preferences USING (customer_id)
                 GROUP BY 1, 2) per_customer
         GROUP BY 1) per_segment;

-- the planted preference: a customer's purchases land in their preferred
-- article types far more often than the shop's purchases as a whole do
WITH bought AS (
    SELECT e.customer_id, p.article_type
      FROM gen_a.events e JOIN gen_a.products p USING (product_id)
     WHERE e.event_type = 'purchase'),
own AS (
    SELECT b.customer_id,
           avg((b.article_type IN (SELECT article_type FROM gen_a.customer_preferences cp
                                    WHERE cp.customer_id = b.customer_id))::int) AS share
      FROM bought b GROUP BY 1),
base AS (
    SELECT o.customer_id,
           (SELECT avg((b.article_type IN (SELECT article_type FROM gen_a.customer_preferences cp
                                            WHERE cp.customer_id = o.customer_id))::int)
              FROM bought b) AS share
      FROM own o)
SELECT round(avg(own.share), 2) > 0.7 AS own_high, round(avg(base.share), 2) < 0.5 AS base_low,
       avg(own.share) > 2 * avg(base.share) AS planted
  FROM own JOIN base USING (customer_id);

-- ---- determinism -------------------------------------------------------------
-- the same seed into another schema gives the same rows, table by table
SELECT * FROM fashionrec.generate_shop(200, 100, 5000, seed => 42, target_schema => 'gen_b');
SELECT t,
       (SELECT md5(string_agg(r::text, '|' ORDER BY r::text)) FROM gen_a.products r) =
       (SELECT md5(string_agg(r::text, '|' ORDER BY r::text)) FROM gen_b.products r) AS products,
       (SELECT md5(string_agg(r::text, '|' ORDER BY r::text)) FROM gen_a.customers r) =
       (SELECT md5(string_agg(r::text, '|' ORDER BY r::text)) FROM gen_b.customers r) AS customers,
       (SELECT md5(string_agg(r::text, '|' ORDER BY r::text)) FROM gen_a.customer_preferences r) =
       (SELECT md5(string_agg(r::text, '|' ORDER BY r::text)) FROM gen_b.customer_preferences r) AS preferences,
       (SELECT md5(string_agg(r::text, '|' ORDER BY r.event_id)) FROM gen_a.events r) =
       (SELECT md5(string_agg(r::text, '|' ORDER BY r.event_id)) FROM gen_b.events r) AS events
  FROM (VALUES ('seed 42 twice')) v(t);

-- another seed gives another shop
SELECT * FROM fashionrec.generate_shop(200, 100, 5000, seed => 7, target_schema => 'gen_c');
SELECT (SELECT md5(string_agg(r::text, '|' ORDER BY product_id)) FROM gen_a.products r) <>
       (SELECT md5(string_agg(r::text, '|' ORDER BY product_id)) FROM gen_c.products r) AS products_differ,
       (SELECT md5(string_agg(r::text, '|' ORDER BY event_id)) FROM gen_a.events r) <>
       (SELECT md5(string_agg(r::text, '|' ORDER BY event_id)) FROM gen_c.events r) AS events_differ;

-- a prefix of the stream is the stream's prefix: rows do not depend on the plan
SELECT count(*) AS same_first_100
  FROM (SELECT * FROM fashionrec._shop_events(200, 100, 5000, 42) LIMIT 100) s
  JOIN gen_a.events e USING (event_id, customer_id, product_id, event_type, session_id, occurred_at);
SELECT count(*) AS same_products
  FROM fashionrec._shop_products(100, 42) s
  JOIN gen_a.products p USING (product_id, name, description, price, created_at);

-- ---- replacing ------------------------------------------------------------------
SELECT * FROM fashionrec.generate_shop(20, 10, 100, target_schema => 'gen_b');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM fashionrec.generate_shop(20, 10, 100, target_schema => 'gen_b', replace => true);
SELECT count(*) FROM gen_b.products;

-- a shop without behaviour
SELECT * FROM fashionrec.generate_shop(5, 3, 0, target_schema => 'gen_empty');
SELECT count(*) FROM gen_empty.events;

-- ---- invalid sizes ------------------------------------------------------------------
SELECT * FROM fashionrec.generate_shop(customers => 0, target_schema => 'gen_x');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM fashionrec.generate_shop(customers => -5, target_schema => 'gen_x');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM fashionrec.generate_shop(products => 0, target_schema => 'gen_x');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM fashionrec.generate_shop(events => -1, target_schema => 'gen_x');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM fashionrec._shop_events(0, 10, 10, 1);
\echo :LAST_ERROR_SQLSTATE

-- ---- limits: the largest sizes pass the check, one more fails -----------------------
SELECT fashionrec._shop_check(10000000, 1000000, 1000000000);
SELECT fashionrec._shop_check(10000001, 1, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT fashionrec._shop_check(1, 1000001, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT fashionrec._shop_check(1, 1, 1000000001);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM fashionrec.generate_shop(customers => 10000001, target_schema => 'gen_x');
\echo :LAST_ERROR_SQLSTATE

-- ---- bad schemas -------------------------------------------------------------------------
SELECT * FROM fashionrec.generate_shop(5, 3, 10, target_schema => '');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM fashionrec.generate_shop(5, 3, 10, target_schema => 'fashionrec');
\echo :LAST_ERROR_SQLSTATE
-- a quoted name is taken literally
SELECT * FROM fashionrec.generate_shop(5, 3, 10, target_schema => 'Odd "Shop"; x');
SELECT count(*) FROM "Odd ""Shop""; x".customers;

-- ---- NULLs ------------------------------------------------------------------------------------
SELECT * FROM fashionrec.generate_shop(customers => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM fashionrec.generate_shop(products => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM fashionrec.generate_shop(events => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM fashionrec.generate_shop(seed => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM fashionrec.generate_shop(target_schema => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM fashionrec.generate_shop(replace => NULL);
\echo :LAST_ERROR_SQLSTATE
-- the internal functions are STRICT: no rows
SELECT count(*) FROM fashionrec._shop_events(NULL, 10, 10, 1);

-- nothing was left behind by the failures: no gen_x, no default shop
SELECT nspname FROM pg_namespace WHERE nspname LIKE 'gen%' OR nspname = 'shop' ORDER BY 1;

SET client_min_messages = warning;
DROP SCHEMA gen_a, gen_b, gen_c, gen_empty, "Odd ""Shop""; x" CASCADE;
