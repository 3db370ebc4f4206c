-- pgTAP: the synthetic shop generator — signatures and labels, SQLSTATEs,
-- the shape of the tables, determinism by seed, and the planted structure on
-- a shop large enough for statistics (1000 customers, 300 products, 40000
-- events): preferences, funnel, seasonality, popularity, repeats, sessions,
-- cold-start users and items, sale peaks, and text that follows attributes.
BEGIN;
SELECT plan(80);

-- ---- signatures and labels ----------------------------------------------------
SELECT has_function('fashionrec', 'generate_shop',
                    ARRAY['integer', 'integer', 'bigint', 'bigint', 'name', 'boolean', 'boolean'],
                    'generate_shop(customers, products, events, seed, target_schema, replace, seasonal_tastes) exists');
SELECT is((SELECT provolatile::text || proisstrict::text FROM pg_proc
            WHERE oid = 'fashionrec.generate_shop(integer, integer, bigint, bigint, name, boolean, boolean)'::regprocedure),
          'vfalse', 'generate_shop is VOLATILE and not STRICT (so NULLs get an error)');
SELECT is((SELECT array_to_string(proconfig, ',') FROM pg_proc
            WHERE oid = 'fashionrec.generate_shop(integer, integer, bigint, bigint, name, boolean, boolean)'::regprocedure),
          'search_path=pg_catalog, pg_temp', 'generate_shop pins its search_path');
SELECT is((SELECT array_agg(proname::text ORDER BY proname) FROM pg_proc
            WHERE pronamespace = 'fashionrec'::regnamespace AND proname LIKE '\_shop\_%'
              AND provolatile = 'i' AND proisstrict AND proparallel = 's'),
          ARRAY['_shop_check', '_shop_customer_seasons', '_shop_customers', '_shop_events', '_shop_preferences', '_shop_products'],
          'the internal functions are IMMUTABLE STRICT PARALLEL SAFE');
SELECT is((SELECT count(*)::int FROM pg_proc
            WHERE pronamespace = 'fashionrec'::regnamespace
              AND (proname LIKE '\_shop\_%' OR proname = 'generate_shop')
              AND obj_description(oid, 'pg_proc') IS NOT NULL),
          7, 'every generator function has a comment');
SELECT is((SELECT count(*)::int FROM pg_proc
            WHERE pronamespace = 'fashionrec'::regnamespace AND proname LIKE '\_shop\_%'
              AND obj_description(oid, 'pg_proc') LIKE 'Internal:%'),
          6, 'the streaming functions say they are internal');

-- ---- SQLSTATEs -------------------------------------------------------------------------
SELECT throws_ok($$SELECT fashionrec.generate_shop(customers => 0, target_schema => 'tap_x')$$,
                 '22023', NULL, 'customers = 0 is 22023');
SELECT throws_ok($$SELECT fashionrec.generate_shop(products => -1, target_schema => 'tap_x')$$,
                 '22023', NULL, 'products < 0 is 22023');
SELECT throws_ok($$SELECT fashionrec.generate_shop(events => -1, target_schema => 'tap_x')$$,
                 '22023', NULL, 'events < 0 is 22023');
SELECT throws_ok($$SELECT fashionrec.generate_shop(customers => 10000001, target_schema => 'tap_x')$$,
                 '54000', NULL, 'more than 10M customers is 54000');
SELECT throws_ok($$SELECT fashionrec.generate_shop(products => 1000001, target_schema => 'tap_x')$$,
                 '54000', NULL, 'more than 1M products is 54000');
SELECT throws_ok($$SELECT fashionrec.generate_shop(events => 1000000001, target_schema => 'tap_x')$$,
                 '54000', NULL, 'more than 1e9 events is 54000');
SELECT throws_ok($$SELECT fashionrec.generate_shop(target_schema => '')$$,
                 '22023', NULL, 'an empty schema name is 22023');
SELECT throws_ok($$SELECT fashionrec.generate_shop(target_schema => 'fashionrec')$$,
                 '22023', NULL, 'the extension schema is refused with 22023');
SELECT throws_ok(pg_catalog.format('SELECT fashionrec.generate_shop(%s => NULL)', a), '22004',
                 a || ' must not be NULL', 'NULL ' || a || ' is 22004')
  FROM unnest(ARRAY['customers', 'products', 'events', 'seed', 'target_schema', 'replace']) AS a;
SELECT throws_ok($$SELECT count(*) FROM fashionrec._shop_events(5, 0, 10, 1)$$,
                 '22023', NULL, 'the streaming functions check their sizes too');
SELECT is((SELECT count(*)::int FROM pg_namespace WHERE nspname IN ('tap_x', 'shop')), 0,
          'failed calls create no schema');

-- cancellation reaches the generator (fr_check_interrupts in its loops);
-- WHEN OTHERS, and so throws_ok, does not trap a cancel, hence the function
CREATE FUNCTION pg_temp.huge_generation() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM count(*) FROM fashionrec._shop_events(10000000, 1000000, 1000000000, 1);
    RETURN 'finished';
EXCEPTION WHEN query_canceled THEN
    RETURN 'cancelled';
END
$$;
SET LOCAL statement_timeout = '300ms';
SELECT is(pg_temp.huge_generation(), 'cancelled', 'statement_timeout cancels a huge generation');
RESET statement_timeout;

-- ---- the shop and its tables ---------------------------------------------------------------
SELECT results_eq(
    $$SELECT * FROM fashionrec.generate_shop(1000, 300, 40000, seed => 11, target_schema => 'tap_a')$$,
    $$SELECT t, n FROM (VALUES ('products', 300::bigint), ('customers', 1000), ('customer_preferences',
        (SELECT count(*) FROM fashionrec._shop_preferences(1000, 300, 11))), ('events', 40000)) v(t, n)$$,
    'generate_shop reports the rows it made, in table order');
SELECT is((SELECT count(*)::int FROM tap_a.products), 300, '300 products');
SELECT is((SELECT count(*)::int FROM tap_a.customers), 1000, '1000 customers');
SELECT is((SELECT count(*)::int FROM tap_a.events), 40000, '40000 events');
SELECT ok((SELECT count(*) BETWEEN 2000 AND 4000 FROM tap_a.customer_preferences),
          'two to four preferences per customer');
SELECT is((SELECT count(*)::int FROM tap_a.customers c
            WHERE NOT EXISTS (SELECT FROM tap_a.customer_preferences p WHERE p.customer_id = c.customer_id)),
          0, 'every customer has a preference');

SELECT col_is_pk('tap_a', 'products', 'product_id', 'products keyed by product_id');
SELECT col_is_pk('tap_a', 'customers', 'customer_id', 'customers keyed by customer_id');
SELECT col_is_pk('tap_a', 'events', 'event_id', 'events keyed by event_id');
SELECT col_is_pk('tap_a', 'customer_preferences', ARRAY['customer_id', 'article_type'],
                 'preferences keyed by customer and article type');
SELECT has_index('tap_a', 'events', 'events_customer_id_idx', 'customer_id', 'events indexed by customer');
SELECT has_index('tap_a', 'events', 'events_product_id_idx', 'product_id', 'events indexed by product');
SELECT fk_ok('tap_a', 'events', 'customer_id', 'tap_a', 'customers', 'customer_id', 'events -> customers');
SELECT fk_ok('tap_a', 'events', 'product_id', 'tap_a', 'products', 'product_id', 'events -> products');
SELECT col_type_is('tap_a', 'products', 'price', 'numeric(10,2)', 'price is numeric(10,2)');
SELECT col_type_is('tap_a', 'events', 'occurred_at', 'timestamp with time zone', 'occurred_at is timestamptz');
SELECT col_type_is('tap_a', 'customer_preferences', 'strength', 'real', 'strength is real');
SELECT is((SELECT count(*)::int FROM pg_class
            WHERE relnamespace = 'tap_a'::regnamespace AND relkind = 'r'
              AND obj_description(oid, 'pg_class') LIKE '%generate_shop(customers => 1000, products => 300, events => 40000, seed => 11)%'),
          4, 'each table records the call that made it');

SELECT set_eq($$SELECT DISTINCT category FROM tap_a.products$$,
              ARRAY['Apparel', 'Footwear', 'Accessories', 'Personal Care'],
              'Myntra master categories');
SELECT ok((SELECT count(DISTINCT article_type) >= 30 FROM tap_a.products), 'a varied catalogue of article types');
SELECT set_has($$SELECT DISTINCT article_type FROM tap_a.products$$,
               $$VALUES ('Tshirts'), ('Shirts'), ('Jeans'), ('Casual Shoes'), ('Watches'), ('Handbags')$$,
               'the common Myntra article types are there');
SELECT is((SELECT count(*)::int FROM tap_a.products
            WHERE price_band NOT IN ('budget', 'mid', 'premium') OR price <= 0
               OR season NOT IN ('Winter', 'Spring', 'Summer', 'Fall')
               OR gender NOT IN ('Men', 'Women', 'Unisex', 'Boys', 'Girls')),
          0, 'attribute values come from the vocabulary');
SELECT ok((SELECT bool_and(lo < hi) FROM (
               SELECT article_type, avg(price) FILTER (WHERE price_band = 'budget') AS lo,
                      avg(price) FILTER (WHERE price_band = 'premium') AS hi
                 FROM tap_a.products GROUP BY 1
               HAVING count(*) FILTER (WHERE price_band = 'budget') > 0
                  AND count(*) FILTER (WHERE price_band = 'premium') > 0) b),
          'premium costs more than budget within every article type');

-- ---- determinism ---------------------------------------------------------------------------
SELECT lives_ok($$SELECT fashionrec.generate_shop(1000, 300, 40000, seed => 11, target_schema => 'tap_b')$$,
                'the same shop again, into another schema');
SELECT is((SELECT md5(string_agg(r::text, '|' ORDER BY event_id)) FROM tap_b.events r),
          (SELECT md5(string_agg(r::text, '|' ORDER BY event_id)) FROM tap_a.events r),
          'same seed, same events');
SELECT is((SELECT md5(string_agg(r::text, '|' ORDER BY product_id)) FROM tap_b.products r),
          (SELECT md5(string_agg(r::text, '|' ORDER BY product_id)) FROM tap_a.products r),
          'same seed, same products');
SELECT is((SELECT md5(string_agg(r::text, '|' ORDER BY customer_id, article_type)) FROM tap_b.customer_preferences r),
          (SELECT md5(string_agg(r::text, '|' ORDER BY customer_id, article_type)) FROM tap_a.customer_preferences r),
          'same seed, same planted preferences');
SELECT throws_ok($$SELECT fashionrec.generate_shop(1000, 300, 40000, seed => 12, target_schema => 'tap_b')$$,
                 '42P07', NULL, 'an existing shop is not overwritten without replace');
SELECT lives_ok($$SELECT fashionrec.generate_shop(1000, 300, 40000, seed => 12, target_schema => 'tap_b', replace => true)$$,
                'replace => true regenerates it');
SELECT isnt((SELECT md5(string_agg(r::text, '|' ORDER BY event_id)) FROM tap_b.events r),
            (SELECT md5(string_agg(r::text, '|' ORDER BY event_id)) FROM tap_a.events r),
            'another seed, other events');
SELECT isnt((SELECT md5(string_agg(r::text, '|' ORDER BY product_id)) FROM tap_b.products r),
            (SELECT md5(string_agg(r::text, '|' ORDER BY product_id)) FROM tap_a.products r),
            'another seed, other products');
SELECT is((SELECT md5(string_agg(r::text, '|' ORDER BY product_id))
             FROM (SELECT * FROM fashionrec._shop_products(300, 11) WHERE product_id % 7 = 3) r),
          (SELECT md5(string_agg(r::text, '|' ORDER BY product_id))
             FROM (SELECT * FROM tap_a.products WHERE product_id % 7 = 3) r),
          'a filtered scan sees the same products: rows do not depend on the plan');
SELECT is((SELECT md5(string_agg(r::text, '|' ORDER BY product_id))
             FROM (SELECT * FROM fashionrec._shop_products(200, 11)) r),
          (SELECT md5(string_agg(r::text, '|' ORDER BY product_id))
             FROM (SELECT * FROM tap_a.products WHERE product_id <= 200) r),
          'product i does not depend on the catalogue size');

-- ---- invariants -------------------------------------------------------------------------------
SELECT is((SELECT count(*)::int FROM tap_a.events
            WHERE occurred_at < '2025-01-01 00:00:00+00' OR occurred_at >= '2026-01-01 00:00:00+00'),
          0, 'every event is in 2025');
SELECT is((SELECT count(*)::int FROM tap_a.events e JOIN tap_a.customers c USING (customer_id)
            WHERE e.occurred_at < c.signup_at), 0, 'no event before its customer signed up');
SELECT is((SELECT count(*)::int FROM tap_a.events e JOIN tap_a.products p USING (product_id)
            WHERE e.occurred_at < p.created_at), 0, 'no event before its product appeared');
SELECT is((SELECT count(*)::int FROM tap_a.events e
            WHERE e.event_type = 'purchase'
              AND NOT EXISTS (SELECT FROM tap_a.events x
                               WHERE x.session_id = e.session_id AND x.product_id = e.product_id
                                 AND x.event_type = 'cart' AND x.event_id < e.event_id)),
          0, 'every purchase follows a cart of the product in the same session');
SELECT is((SELECT count(*)::int FROM (SELECT session_id FROM tap_a.events GROUP BY 1
                                      HAVING count(DISTINCT customer_id) > 1
                                          OR max(occurred_at) - min(occurred_at) > interval '3 hours') s),
          0, 'a session is one customer within a few hours');
SELECT cmp_ok((SELECT avg(n) FROM (SELECT count(*) AS n FROM tap_a.events GROUP BY session_id) s),
              '>', 2.5::numeric, 'sessions hold several events');

-- ---- planted structure -------------------------------------------------------------------------
CREATE TEMP TABLE tap_counts AS
SELECT count(*) FILTER (WHERE event_type = 'view') AS views,
       count(*) FILTER (WHERE event_type = 'cart') AS carts,
       count(*) FILTER (WHERE event_type = 'purchase') AS purchases
  FROM tap_a.events;
SELECT cmp_ok((SELECT views FROM tap_counts), '>', (SELECT 3 * carts FROM tap_counts), 'views >> carts');
SELECT cmp_ok((SELECT carts FROM tap_counts), '>', (SELECT purchases FROM tap_counts), 'carts > purchases');
SELECT cmp_ok((SELECT purchases FROM tap_counts), '>', 0::bigint, 'there are purchases');

SELECT ok((SELECT bool_and(s BETWEEN 0.6 - 1e-6 AND 0.7 + 1e-6)
             FROM (SELECT sum(strength) AS s FROM tap_a.customer_preferences GROUP BY customer_id) x),
          'a customer''s strengths add up to 0.6-0.7, the share of fresh picks from the cluster');
SELECT is((SELECT count(*)::int FROM (
              SELECT segment FROM (
                  SELECT c.segment, c.customer_id,
                         string_agg(article_type || '/' || colour || '/' || price_band, ',' ORDER BY article_type) AS cells
                    FROM tap_a.customers c JOIN tap_a.customer_preferences USING (customer_id)
                   GROUP BY 1, 2) x
               GROUP BY segment HAVING count(DISTINCT cells) > 1) y),
          0, 'customers of a segment share its style cluster');
SELECT is((SELECT count(DISTINCT segment)::int FROM tap_a.customers), 16,
          'ceil(sqrt(1000) / 2) = 16 segments');

-- a customer's purchases land in their preferred article types far above
-- the rate of the shop's purchases as a whole (the base rate)
CREATE TEMP TABLE tap_pref AS
WITH bought AS (
    SELECT e.customer_id, p.article_type
      FROM tap_a.events e JOIN tap_a.products p USING (product_id)
     WHERE e.event_type = 'purchase'),
own AS (
    SELECT b.customer_id, avg((cp.article_type IS NOT NULL)::int) AS share
      FROM bought b
      LEFT JOIN tap_a.customer_preferences cp USING (customer_id, article_type)
     GROUP BY 1),
type_share AS (
    SELECT article_type, count(*)::numeric / (SELECT count(*) FROM bought) AS share
      FROM bought GROUP BY 1),
base AS (
    SELECT cp.customer_id, sum(coalesce(t.share, 0)) AS share
      FROM tap_a.customer_preferences cp LEFT JOIN type_share t USING (article_type)
     GROUP BY 1)
SELECT avg(own.share) AS own, avg(base.share) AS base
  FROM own JOIN base USING (customer_id);
SELECT cmp_ok((SELECT own FROM tap_pref), '>', 0.6::numeric,
              'most purchases are in the customer''s preferred article types');
SELECT cmp_ok((SELECT own FROM tap_pref), '>', (SELECT 2 * base FROM tap_pref),
              'more than twice the base rate');
SELECT cmp_ok((SELECT avg((EXISTS (SELECT FROM tap_a.customer_preferences cp
                                   WHERE cp.customer_id = e.customer_id AND cp.article_type = p.article_type
                                     AND cp.colour = p.colour AND cp.price_band = p.price_band))::int)
                 FROM tap_a.events e JOIN tap_a.products p USING (product_id)
                WHERE e.event_type = 'view'),
              '>', 0.3::numeric, 'a third of views hit the exact planted cell (article type, colour, band)');

-- seasonality: summer products sell in summer
SELECT cmp_ok((SELECT avg((p.season = 'Summer')::int) FROM tap_a.events e JOIN tap_a.products p USING (product_id)
                WHERE e.occurred_at >= '2025-06-01 00:00:00+00' AND e.occurred_at < '2025-09-01 00:00:00+00'),
              '>',
              (SELECT 1.3 * avg((p.season = 'Summer')::int) FROM tap_a.events e JOIN tap_a.products p USING (product_id)
                WHERE e.occurred_at < '2025-03-01 00:00:00+00' OR e.occurred_at >= '2025-12-01 00:00:00+00'),
              'summer products: far more of the summer''s events than of the winter''s');

-- popularity: power law, the top tenth of the catalogue draws a large share
SELECT cmp_ok((SELECT sum(n) FROM (SELECT count(*) AS n FROM tap_a.events GROUP BY product_id
                                    ORDER BY n DESC LIMIT 30) t)::numeric / 40000,
              '>', 0.3::numeric, 'the top 10% of products get over 30% of events');

-- repeat behaviour and cold start
SELECT cmp_ok((SELECT count(*) FROM (SELECT FROM tap_a.events WHERE event_type = 'purchase'
                                     GROUP BY customer_id, product_id HAVING count(*) > 1) r),
              '>', 0::bigint, 'some customers buy the same product again');
SELECT ok((SELECT count(*) FILTER (WHERE signup_at >= '2025-01-01 00:00:00+00') BETWEEN 150 AND 350
             FROM tap_a.customers), 'about a quarter of customers sign up during the window');
SELECT ok((SELECT count(*) FROM tap_a.products WHERE created_at >= '2025-01-01 00:00:00+00') > 0
          AND (SELECT count(*) FROM tap_a.events e JOIN tap_a.products p USING (product_id)
                WHERE p.created_at >= '2025-01-01 00:00:00+00') > 0,
          'new arrivals appear during the window and get events');

-- traffic: Black Friday week is busier than the average week
SELECT cmp_ok((SELECT count(*) FROM tap_a.events
                WHERE occurred_at >= '2025-11-24 00:00:00+00' AND occurred_at < '2025-12-01 00:00:00+00')::numeric,
              '>', (SELECT 1.3 * count(*) / 52.0 FROM tap_a.events)::numeric,
              'Black Friday week draws more events than an average week');

-- text follows attributes, so TF-IDF over descriptions carries signal
SELECT is((SELECT count(*)::int FROM tap_a.products
            WHERE position(lower(colour) IN description) = 0 OR position(colour IN name) = 0
               OR position(gender IN name) = 0),
          0, 'every name carries gender and colour, every description the colour');
SELECT is((SELECT count(*)::int FROM tap_a.products
            WHERE (usage = 'Sports' AND description !~ '(training|workouts)')
               OR (usage = 'Ethnic' AND description !~ '(festive|festivals)')
               OR (usage = 'Formal' AND description !~ '(office|workdays)')),
          0, 'the description names the occasion of the usage');
SELECT ok((SELECT avg(length(description)) > 250 FROM tap_a.products),
          'descriptions are a few sentences long');

SELECT * FROM finish();
ROLLBACK;
