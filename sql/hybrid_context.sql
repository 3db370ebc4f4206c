-- context that personalises: a hybrid weighs the popularity component's
-- scores in a context (a season) and the items' lift in it together with
-- the personal signals, instead of replacing them by the context's list
-- (docs/hybrid.md, "Context").
--
-- A generated shop plants seasonality: off-season products are accepted
-- less (src/shopgen.c).  An event's season comes from its date.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SELECT count(*) FROM fashionrec.generate_shop(customers => 300, products => 200, events => 40000,
                                              target_schema => 'hctx');
CREATE TABLE hctx.ev AS
SELECT customer_id AS user_id, product_id AS item_id,
       CASE event_type WHEN 'purchase' THEN 5 WHEN 'cart' THEN 2 ELSE 1 END::float8 AS weight,
       occurred_at AS event_time,
       CASE WHEN extract(month FROM occurred_at AT TIME ZONE 'UTC') IN (12, 1, 2) THEN 'Winter'
            WHEN extract(month FROM occurred_at AT TIME ZONE 'UTC') IN (3, 4, 5) THEN 'Spring'
            WHEN extract(month FROM occurred_at AT TIME ZONE 'UTC') IN (6, 7, 8) THEN 'Summer'
            ELSE 'Fall' END AS season
  FROM hctx.events;
CREATE VIEW hctx.fit AS SELECT * FROM hctx.ev WHERE event_time < '2025-10-01';
CREATE VIEW hctx.val AS SELECT user_id, item_id, season FROM hctx.ev WHERE event_time >= '2025-10-01';
SELECT fashionrec.train('hctx-als', 'als', 'SELECT user_id, item_id, weight FROM hctx.ev',
                        '{"factors": 16, "iterations": 8, "solver": "cholesky"}');
SELECT fashionrec.train('hctx-pop', 'popularity', 'hctx.ev', '{"context_column": "season"}');
SELECT fashionrec.train('hctx', 'hybrid', NULL,
       '{"cf": "hctx-als", "popularity": "hctx-pop", "interactions": "hctx.ev", "context_column": "season"}');
SELECT fashionrec.train('hctx-plain', 'hybrid', NULL,
       '{"cf": "hctx-als", "popularity": "hctx-pop", "interactions": "hctx.ev"}');
SELECT info ->> 'context_column' AS context_column, info -> 'contexts' AS contexts,
       info -> 'contexts_known_to_popularity' AS known
  FROM fashionrec.models WHERE name = 'hctx';

-- customers with a history, their lists in Winter, without context, and the
-- Winter popularity list (also without their seen items)
CREATE TABLE hctx.lists AS
SELECT u.user_id,
       ARRAY(SELECT item_id FROM fashionrec.recommend('hctx', u.user_id, 10, context => 'Winter') ORDER BY rank) AS winter,
       ARRAY(SELECT item_id FROM fashionrec.recommend('hctx', u.user_id, 10) ORDER BY rank) AS plain,
       ARRAY(SELECT item_id FROM fashionrec.recommend('hctx-pop', u.user_id, 10, context => 'Winter') ORDER BY rank) AS popular,
       ARRAY(SELECT item_id FROM fashionrec.recommend('hctx-plain', u.user_id, 10) ORDER BY rank) AS plain_model
  FROM (SELECT DISTINCT user_id FROM hctx.ev ORDER BY user_id LIMIT 40) u;
CREATE FUNCTION hctx.in_winter(items bigint[]) RETURNS bigint LANGUAGE sql AS
$$ SELECT count(*) FROM hctx.products WHERE product_id = ANY (items) AND season = 'Winter' $$;
-- every list differs from both the list without context and the Winter
-- popularity list, and keeps a good part of the personal list
SELECT count(*) AS customers,
       bool_and(winter <> plain) AS differs_from_personal,
       bool_and(winter <> popular) AS differs_from_popularity,
       min(cardinality(ARRAY(SELECT unnest(winter) INTERSECT SELECT unnest(plain)))) >= 3 AS keeps_personal,
       avg(cardinality(ARRAY(SELECT unnest(winter) INTERSECT SELECT unnest(plain))))
         > avg(cardinality(ARRAY(SELECT unnest(winter) INTERSECT SELECT unnest(popular)))) AS closer_to_personal
  FROM hctx.lists;
-- ... and ranks more Winter products than the personal list, for most customers
SELECT sum(hctx.in_winter(winter)) > sum(hctx.in_winter(plain)) AS more_in_season,
       count(*) FILTER (WHERE hctx.in_winter(winter) > hctx.in_winter(plain)) >= 20 AS most_customers,
       count(*) FILTER (WHERE hctx.in_winter(winter) < hctx.in_winter(plain)) AS fewer
  FROM hctx.lists;
-- without context nothing changes: the list of a hybrid trained without context_column
SELECT bool_and(plain = plain_model) AS unchanged_without_context FROM hctx.lists;
-- a context the popularity component does not know: the list without context, no error
SELECT bool_and(ARRAY(SELECT item_id FROM fashionrec.recommend('hctx', l.user_id, 10, context => 'Monsoon') ORDER BY rank)
                = l.plain) AS unknown_context_falls_back
  FROM hctx.lists l;
-- a customer the hybrid does not know: the context's popularity, as before
SELECT ARRAY(SELECT item_id FROM fashionrec.recommend('hctx', -1, 10, context => 'Winter') ORDER BY rank)
     = ARRAY(SELECT item_id FROM fashionrec.recommend('hctx-pop', -1, 10, context => 'Winter') ORDER BY rank)
       AS unknown_customer_gets_context_popularity;
-- recommend_all with a context: each customer's list is recommend()'s in
-- that context, a customer the hybrid does not know gets the context's
-- popularity, and an unknown context gives the lists without context
CREATE TABLE hctx.batch AS
SELECT b.user_id, array_agg(b.item_id ORDER BY b.rank) AS winter
  FROM fashionrec.recommend_all('hctx', (SELECT array_agg(user_id) || ARRAY[-1::bigint] FROM hctx.lists), 10,
                                context => 'Winter') b
 GROUP BY 1;
SELECT count(*) AS customers, bool_and(l.winter = b.winter) AS same_as_recommend
  FROM hctx.lists l JOIN hctx.batch b USING (user_id);
SELECT winter = ARRAY(SELECT item_id FROM fashionrec.recommend('hctx', -1, 10, context => 'Winter') ORDER BY rank)
       AS unknown_customer_same_as_recommend
  FROM hctx.batch WHERE user_id = -1;
SELECT count(*) AS customers, bool_and(l.plain = b.items) AS unknown_context_same_as_plain
  FROM hctx.lists l
  JOIN (SELECT user_id, array_agg(item_id ORDER BY rank) AS items
          FROM fashionrec.recommend_all('hctx', (SELECT array_agg(user_id) FROM hctx.lists), 10, context => 'Monsoon')
         GROUP BY 1) b USING (user_id);
-- a hybrid trained without context_column weighs the context too (the
-- affinity then has no per-customer propensity)
SELECT count(*) FILTER (WHERE ARRAY(SELECT item_id FROM fashionrec.recommend('hctx-plain', l.user_id, 10, context => 'Winter') ORDER BY rank)
                               <> l.plain) >= 30 AS plain_model_shifts
  FROM hctx.lists l;
-- context weights of 0: the context adds nothing
SELECT fashionrec.train('hctx-zero', 'hybrid', NULL,
       '{"cf": "hctx-als", "popularity": "hctx-pop", "interactions": "hctx.ev", "context_weight": 0,
         "context_affinity_weight": 0}');
SELECT bool_and(ARRAY(SELECT item_id FROM fashionrec.recommend('hctx-zero', l.user_id, 10, context => 'Winter') ORDER BY rank)
                = l.plain) AS zero_weights_ignore_context
  FROM hctx.lists l;

-- explain() with a context: rows for the context signals (their component is
-- the popularity component), the rows sum to the score, and the list is
-- recommend()'s in that context
SELECT DISTINCT signal, component FROM fashionrec.explain('hctx', 3, 5, context => 'Winter') ORDER BY signal;
SELECT bool_and(abs(s.score - s.total) < 1e-4) AS sums_to_score
  FROM (SELECT item_id, min(score) AS score, sum(contribution) AS total
          FROM fashionrec.explain('hctx', 3, 5, context => 'Winter') GROUP BY item_id) s;
SELECT (SELECT array_agg(item_id ORDER BY rank) FROM fashionrec.recommend('hctx', 3, 5, context => 'Winter'))
     = (SELECT array_agg(item_id ORDER BY rank) FROM (SELECT DISTINCT rank, item_id
                                                        FROM fashionrec.explain('hctx', 3, 5, context => 'Winter')) e)
       AS same_list;
SELECT count(DISTINCT signal) AS signals_without_context FROM fashionrec.explain('hctx', 3, 5);

-- an anonymous session (recommend_for_items) in a context: shifted too
WITH s AS (SELECT ARRAY(SELECT item_id FROM hctx.ev WHERE user_id = l.user_id ORDER BY event_time, item_id LIMIT 3) AS items
             FROM hctx.lists l)
SELECT sum(hctx.in_winter(ARRAY(SELECT item_id FROM fashionrec.recommend_for_items('hctx', s.items, 10, context => 'Winter'))))
     > sum(hctx.in_winter(ARRAY(SELECT item_id FROM fashionrec.recommend_for_items('hctx', s.items, 10)))) AS session_more_in_season,
       bool_and(ARRAY(SELECT item_id FROM fashionrec.recommend_for_items('hctx', s.items, 10, context => 'Winter') ORDER BY rank)
                <> ARRAY(SELECT item_id FROM fashionrec.recommend_for_items('hctx-pop', s.items, 10, context => 'Winter') ORDER BY rank))
         AS session_not_popularity
  FROM s;

-- learned fusion: the context signals are features, fitted on validation
-- events in their own season (the validation source carries the column)
SELECT fashionrec.train('hctx-als-fit', 'als', 'SELECT user_id, item_id, weight FROM hctx.fit',
                        '{"factors": 16, "iterations": 8, "solver": "cholesky"}');
SELECT fashionrec.train('hctx-pop-fit', 'popularity', 'hctx.fit', '{"context_column": "season"}');
SELECT fashionrec.train('hctx-lr', 'hybrid', NULL,
       '{"cf": "hctx-als-fit", "popularity": "hctx-pop-fit", "interactions": "hctx.fit", "fusion": "logistic",
         "validation": "hctx.val", "context_column": "season"}');
SELECT info ->> 'fusion' AS fusion, (info -> 'fusion_users')::int > 20 AS enough_users
  FROM fashionrec.models WHERE name = 'hctx-lr';
-- its net reads the context signals: a Winter list differs from the list without context
SELECT count(*) FILTER (WHERE ARRAY(SELECT item_id FROM fashionrec.recommend('hctx-lr', l.user_id, 10, context => 'Winter') ORDER BY rank)
                             <> ARRAY(SELECT item_id FROM fashionrec.recommend('hctx-lr', l.user_id, 10) ORDER BY rank)) >= 20
       AS learned_shifts
  FROM hctx.lists l;
-- reused over other components (fusion_from), it keeps its context inputs
SELECT fashionrec.train('hctx-lr-all', 'hybrid', NULL,
       '{"cf": "hctx-als", "popularity": "hctx-pop", "interactions": "hctx.ev", "fusion_from": "hctx-lr",
         "context_column": "season"}');
SELECT count(*) FILTER (WHERE ARRAY(SELECT item_id FROM fashionrec.recommend('hctx-lr-all', l.user_id, 10, context => 'Winter') ORDER BY rank)
                             <> ARRAY(SELECT item_id FROM fashionrec.recommend('hctx-lr-all', l.user_id, 10) ORDER BY rank)) >= 20
       AS reused_shifts
  FROM hctx.lists l;
-- explained: the context signals' contributions come from the net, and sum to the score
SELECT DISTINCT signal FROM fashionrec.explain('hctx-lr-all', 3, 5, context => 'Winter') ORDER BY signal;
SELECT bool_and(abs(s.score - s.total) < 1e-4) AS learned_sums_to_score
  FROM (SELECT item_id, min(score) AS score, sum(contribution) AS total
          FROM fashionrec.explain('hctx-lr-all', 3, 5, context => 'Winter') GROUP BY item_id) s;

-- ---- bad input ---------------------------------------------------------------------
SELECT fashionrec.train('hctx-pop-none', 'popularity', 'hctx.ev');
-- SQLSTATE, message and hint of a statement's error
CREATE FUNCTION pg_temp.error_of(query text) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    v_hint text;
BEGIN
    EXECUTE query;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_hint = PG_EXCEPTION_HINT;
    RETURN SQLSTATE || ': ' || SQLERRM || coalesce(E'\nhint: ' || nullif(v_hint, ''), '');
END
$$;
SELECT n, pg_temp.error_of(query) AS error FROM (VALUES
    -- weights out of range or not numbers
    (1, $q$SELECT fashionrec.train('hctx-bad', 'hybrid', NULL,
        '{"cf": "hctx-als", "popularity": "hctx-pop", "interactions": "hctx.ev", "context_weight": -1}')$q$),
    (2, $q$SELECT fashionrec.train('hctx-bad', 'hybrid', NULL,
        '{"cf": "hctx-als", "popularity": "hctx-pop", "interactions": "hctx.ev", "context_affinity_weight": 2e6}')$q$),
    (3, $q$SELECT fashionrec.train('hctx-bad', 'hybrid', NULL,
        '{"cf": "hctx-als", "popularity": "hctx-pop", "interactions": "hctx.ev", "context_weight": "high"}')$q$),
    -- a context column the interactions do not have: named, with the columns there are
    (4, $q$SELECT fashionrec.train('hctx-bad', 'hybrid', NULL,
        '{"cf": "hctx-als", "popularity": "hctx-pop", "interactions": "hctx.ev", "context_column": "weather"}')$q$),
    -- ... or that the validation source of a learned fusion does not have
    (5, $q$SELECT fashionrec.train('hctx-bad', 'hybrid', NULL,
        '{"cf": "hctx-als-fit", "popularity": "hctx-pop-fit", "interactions": "hctx.fit", "fusion": "logistic",
          "validation": "SELECT user_id, item_id FROM hctx.val", "context_column": "season"}')$q$),
    -- a context column without a popularity component, or with one that has no contexts
    (6, $q$SELECT fashionrec.train('hctx-bad', 'hybrid', NULL,
        '{"cf": "hctx-als", "interactions": "hctx.ev", "context_column": "season"}')$q$),
    (7, $q$SELECT fashionrec.train('hctx-bad', 'hybrid', NULL,
        '{"cf": "hctx-als", "popularity": "hctx-pop-none", "interactions": "hctx.ev", "context_column": "season"}')$q$)
) AS t(n, query) ORDER BY n;
-- nothing was registered by the failures
SELECT count(*) AS bad_versions FROM fashionrec.models WHERE name = 'hctx-bad';

-- ---- retrain() of a hybrid with a context_column -------------------------------------
-- A champion trained on the events before October, retrained from all of
-- them: the split carries the column, the challenger's components (the
-- popularity component by season too) are retrained on its earlier part,
-- and the challenger keeps its context signals.
SELECT fashionrec.train('hctx-re', 'hybrid', NULL,
       '{"cf": "hctx-als-fit", "popularity": "hctx-pop-fit", "interactions": "hctx.fit", "context_column": "season"}');
CALL fashionrec.retrain('hctx-re', source => 'hctx.ev', keep_challenger => true);
CREATE TEMP TABLE re AS
SELECT decision, details ->> 'sqlstate' AS sqlstate, challenger_version
  FROM fashionrec.retrain_log WHERE name = 'hctx-re' ORDER BY id DESC LIMIT 1;
SELECT decision IN ('promoted', 'kept') AS decided, sqlstate, challenger_version IS NOT NULL AS has_challenger FROM re;
SELECT m.info ->> 'context_column' AS context_column, (m.info -> 'contexts')::int AS contexts,
       p.params ->> 'context_column' AS popularity_context, p.version > 1 AS popularity_retrained
  FROM fashionrec.model m, re
  JOIN fashionrec.model p ON true
 WHERE m.name = 'hctx-re' AND m.version = re.challenger_version
   AND p.name = 'hctx-pop-fit' AND p.version = pg_catalog.split_part(m.info ->> 'popularity', '@', 2)::int;
-- the challenger weighs the context: Winter lists differ from the lists without it
SELECT count(*) FILTER (WHERE ARRAY(SELECT item_id FROM fashionrec.recommend('hctx-re', l.user_id, 10, context => 'Winter',
                                                                                version => re.challenger_version) ORDER BY rank)
                             <> ARRAY(SELECT item_id FROM fashionrec.recommend('hctx-re', l.user_id, 10,
                                                                                version => re.challenger_version) ORDER BY rank)) >= 30
       AS challenger_shifts
  FROM hctx.lists l, re;
-- a learned fusion with the context is refitted on a split that carries it
CALL fashionrec.retrain('hctx-lr', source => 'hctx.ev');
SELECT decision IN ('promoted', 'kept') AS decided, details ->> 'sqlstate' AS sqlstate,
       challenger_version IS NOT NULL AS had_challenger
  FROM fashionrec.retrain_log WHERE name = 'hctx-lr' ORDER BY id DESC LIMIT 1;
-- a source without the column: failed, with the column named and a hint
CALL fashionrec.retrain('hctx-re', source => 'SELECT user_id, item_id, weight, event_time FROM hctx.ev');
SELECT decision, details ->> 'sqlstate' AS sqlstate, reason
  FROM fashionrec.retrain_log WHERE name = 'hctx-re' ORDER BY id DESC LIMIT 1;
SELECT pg_temp.error_of($q$SELECT * FROM fashionrec._split_context('SELECT user_id, item_id, weight, event_time FROM hctx.ev',
                                                                    'temporal', 0.2, '{}', 'season')$q$) AS error;
