-- personal seasonal tastes: generate_shop(seasonal_tastes => true) plants a
-- favourite season per customer (three times the traffic in it, and
-- shopping for it: src/shopgen.c), and a hybrid with a context_column
-- weighs the context's affinity by each customer's propensity for it
-- (src/hybrid_context.c).  A customer who shops in winter gets a list
-- shifted further toward winter in winter, and less toward summer in summer,
-- than from the same hybrid without context_column (propensity 1).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
-- an event's (meteorological) season, from its date
CREATE FUNCTION pg_temp.season_of(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN extract(month FROM t AT TIME ZONE 'UTC') IN (12, 1, 2) THEN 'Winter'
                WHEN extract(month FROM t AT TIME ZONE 'UTC') IN (3, 4, 5) THEN 'Spring'
                WHEN extract(month FROM t AT TIME ZONE 'UTC') IN (6, 7, 8) THEN 'Summer'
                ELSE 'Fall' END $$;

-- ---- the generator option ---------------------------------------------------------------------
-- the same catalogue, customers and preferences as the default shop; other events
SELECT * FROM fashionrec.generate_shop(customers => 50, products => 40, events => 2000,
                                       target_schema => 'hs_off');
SELECT * FROM fashionrec.generate_shop(customers => 50, products => 40, events => 2000,
                                       target_schema => 'hs_on', seasonal_tastes => true);
SELECT (SELECT md5(string_agg(r::text, '|' ORDER BY r.product_id)) FROM hs_off.products r) =
       (SELECT md5(string_agg(r::text, '|' ORDER BY r.product_id)) FROM hs_on.products r) AS same_products,
       (SELECT md5(string_agg(r::text, '|' ORDER BY r.customer_id)) FROM hs_off.customers r) =
       (SELECT md5(string_agg(r::text, '|' ORDER BY r.customer_id)) FROM hs_on.customers r) AS same_customers,
       (SELECT md5(string_agg(r::text, '|' ORDER BY r::text)) FROM hs_off.customer_preferences r) =
       (SELECT md5(string_agg(r::text, '|' ORDER BY r::text)) FROM hs_on.customer_preferences r) AS same_preferences,
       (SELECT md5(string_agg(r::text, '|' ORDER BY r.event_id)) FROM hs_off.events r) <>
       (SELECT md5(string_agg(r::text, '|' ORDER BY r.event_id)) FROM hs_on.events r) AS other_events,
       (SELECT count(*) FROM hs_off.events) = (SELECT count(*) FROM hs_on.events) AS as_many_events;
-- the planted truth is in the comment and the table; without the option there is none
SELECT obj_description('hs_on.customer_seasons'::regclass) LIKE '%seasonal_tastes => true%' AS described,
       to_regclass('hs_off.customer_seasons') IS NULL AS none_by_default;
-- replace => true drops the planted seasons with the rest
SELECT * FROM fashionrec.generate_shop(customers => 50, products => 40, events => 2000,
                                       target_schema => 'hs_on', replace => true);
SELECT to_regclass('hs_on.customer_seasons') IS NULL AS dropped;
SELECT * FROM fashionrec.generate_shop(seasonal_tastes => NULL);
\echo :LAST_ERROR_SQLSTATE

-- ---- what is planted --------------------------------------------------------------------------
SELECT count(*) FROM fashionrec.generate_shop(customers => 300, products => 200, events => 40000,
                                              target_schema => 'hs', seasonal_tastes => true);
SELECT favourite_season, count(*) FROM hs.customer_seasons GROUP BY 1 ORDER BY 1;
CREATE TABLE hs.ev AS
SELECT customer_id AS user_id, product_id AS item_id,
       CASE event_type WHEN 'purchase' THEN 5 WHEN 'cart' THEN 2 ELSE 1 END::float8 AS weight,
       occurred_at AS event_time,
       pg_temp.season_of(occurred_at) AS season
  FROM hs.events;
-- customers shop about three times as much in their favourite season as
-- everyone does, and buy for it: more of its products than in other seasons
SELECT round(avg((e.season = s.favourite_season)::int), 2) AS share_in_favourite,
       round(avg((p.season = e.season)::int) FILTER (WHERE e.season = s.favourite_season), 2)
         AS in_season_in_favourite,
       round(avg((p.season = e.season)::int) FILTER (WHERE e.season <> s.favourite_season), 2)
         AS in_season_otherwise
  FROM hs.ev e JOIN hs.customer_seasons s ON s.customer_id = e.user_id
  JOIN hs.products p ON p.product_id = e.item_id;

-- ---- the per-customer affinity ----------------------------------------------------------------
-- ALS and popularity by season on the events, and two hybrids of them:
-- PREFIX-ctx with the season as its context_column, PREFIX-plain without
CREATE FUNCTION pg_temp.train_pair(prefix text, events text) RETURNS boolean LANGUAGE sql AS $$
    SELECT fashionrec.train(prefix || '-als', 'als', 'SELECT user_id, item_id, weight FROM ' || events,
                            '{"factors": 16, "iterations": 8, "solver": "cholesky"}') IS NOT NULL
       AND fashionrec.train(prefix || '-pop', 'popularity', events, '{"context_column": "season"}') IS NOT NULL
       AND fashionrec.train(prefix || '-ctx', 'hybrid', NULL,
               jsonb_build_object('cf', prefix || '-als', 'popularity', prefix || '-pop',
                                  'interactions', events, 'context_column', 'season')) IS NOT NULL
       AND fashionrec.train(prefix || '-plain', 'hybrid', NULL,
               jsonb_build_object('cf', prefix || '-als', 'popularity', prefix || '-pop',
                                  'interactions', events)) IS NOT NULL $$;
SELECT pg_temp.train_pair('hs', 'hs.ev') AS trained;

-- a customer's propensity is the ratio of the affinity rows of the two
-- hybrids (explain's normalized affinity includes it): the planted winter
-- shopper with the most winter days above 1 in winter and below 1 in summer,
-- the planted summer shopper with the most summer days the other way round
CREATE TABLE hs.planted AS
SELECT DISTINCT ON (s.favourite_season) s.favourite_season, e.user_id
  FROM hs.ev e JOIN hs.customer_seasons s ON s.customer_id = e.user_id AND s.favourite_season = e.season
 WHERE s.favourite_season IN ('Winter', 'Summer')
 GROUP BY 1, 2
 ORDER BY s.favourite_season, count(DISTINCT e.event_time::date) DESC, e.user_id;
CREATE FUNCTION hs.propensity(u bigint, ctx text) RETURNS numeric LANGUAGE sql AS $$
    SELECT round((a.normalized / b.normalized)::numeric, 2)
      FROM fashionrec.explain('hs-ctx', u, 1, context => ctx) a
      JOIN fashionrec.explain('hs-plain', u, 1, context => ctx) b USING (item_id, signal)
     WHERE a.signal = 'context_affinity' AND b.normalized <> 0 $$;
SELECT favourite_season, hs.propensity(user_id, 'Winter') > 1 AS winter_above_1,
       hs.propensity(user_id, 'Summer') > 1 AS summer_above_1
  FROM hs.planted ORDER BY 1;

-- the planted winter shopper's lists of 20: in Winter more Winter products
-- than the hybrid without context_column gives them, in Summer no more
-- Summer products
CREATE FUNCTION hs.in_season(model text, u bigint, ctx text, k integer DEFAULT 10) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM fashionrec.recommend(model, u, k, context => ctx) r
      JOIN hs.products p ON p.product_id = r.item_id WHERE p.season = ctx $$;
SELECT hs.in_season('hs-ctx', user_id, 'Winter', 20) > hs.in_season('hs-plain', user_id, 'Winter', 20)
         AS more_winter_in_winter,
       hs.in_season('hs-ctx', user_id, 'Summer', 20) <= hs.in_season('hs-plain', user_id, 'Summer', 20)
         AS no_more_summer_in_summer
  FROM hs.planted WHERE favourite_season = 'Winter';

-- over all planted winter and summer shoppers: the same direction, in sum
SELECT s.favourite_season,
       sum(hs.in_season('hs-ctx', s.customer_id, 'Winter') - hs.in_season('hs-plain', s.customer_id, 'Winter')) > 0
         AS more_winter_products,
       sum(hs.in_season('hs-ctx', s.customer_id, 'Summer') - hs.in_season('hs-plain', s.customer_id, 'Summer')) > 0
         AS more_summer_products
  FROM hs.customer_seasons s
 WHERE s.favourite_season IN ('Winter', 'Summer')
   AND EXISTS (SELECT FROM hs.ev e WHERE e.user_id = s.customer_id)
 GROUP BY 1 ORDER BY 1;

-- where every customer has the same seasonality (the default shop) the
-- fitted prior keeps the propensities near 1: the customers' shares vary
-- about as much as chance says
SELECT count(*) FROM fashionrec.generate_shop(customers => 300, products => 200, events => 40000,
                                              target_schema => 'hs_same');
CREATE TABLE hs_same.ev AS
SELECT customer_id AS user_id, product_id AS item_id, 1::float8 AS weight, occurred_at AS event_time,
       pg_temp.season_of(occurred_at) AS season
  FROM hs_same.events;
SELECT pg_temp.train_pair('hs-same', 'hs_same.ev') AS trained;
CREATE FUNCTION hs.spread(ctx text, plain text, users text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE r numeric;
BEGIN
    EXECUTE format($q$SELECT round(avg(abs(ln(a.normalized / b.normalized)))::numeric, 3)
                        FROM (SELECT DISTINCT user_id FROM %s ORDER BY 1 LIMIT 60) u,
                             LATERAL fashionrec.explain(%L, u.user_id, 1, context => 'Winter') a
                        JOIN LATERAL fashionrec.explain(%L, u.user_id, 1, context => 'Winter') b USING (item_id, signal)
                       WHERE a.signal = 'context_affinity' AND b.normalized <> 0$q$, users, ctx, plain) INTO r;
    RETURN r;
END $$;
-- the mean |log propensity| in Winter of 60 customers: far smaller than on
-- the shop with seasonal tastes
SELECT hs.spread('hs-same-ctx', 'hs-same-plain', 'hs_same.ev') < hs.spread('hs-ctx', 'hs-plain', 'hs.ev') / 3
         AS much_closer_to_1;

SET client_min_messages = warning;
DROP SCHEMA hs, hs_on, hs_off, hs_same CASCADE;
