-- Splits: random, temporal, leave_last_n, new_users, new_items; sources,
-- determinism, split_into, and every class of invalid input.
SET search_path = fashionrec, public;
-- errors show their message, detail and hint, not the PL/pgSQL call stack
\set SHOW_CONTEXT never

-- user u has u events, one an hour from 2024-01-01; items and weights vary
CREATE TEMP TABLE events AS
SELECT u AS customer_id, ((u * 31 + j * 17) % 50)::bigint AS product_id, j % 3 + 1 AS qty,
       '2024-01-01 00:00+00'::timestamptz + j * interval '1 hour' AS occurred_at
  FROM generate_series(1, 20) AS u, generate_series(1, u) AS j;
SELECT count(*) AS events, count(DISTINCT customer_id) AS users, count(DISTINCT product_id) AS items
  FROM events;

-- ---- temporal -----------------------------------------------------------------
-- per user, the last floor(n * 0.2) events by (time, item, weight) are test:
-- users 1-4 none, 5-9 one, 10-14 two, 15-19 three, 20 four: 34 in all
SELECT is_test, count(*) FROM split('events') GROUP BY 1 ORDER BY 1;
SELECT count(*) AS users_with_wrong_count
  FROM (SELECT user_id, count(*) FILTER (WHERE is_test) AS t, count(*) AS n
          FROM split('events', 'temporal', 0.2) GROUP BY user_id) AS s
 WHERE t <> floor(n * 0.2);
-- the test events are each user's latest
SELECT count(*) AS users_with_test_before_train
  FROM (SELECT user_id, max(event_time) FILTER (WHERE NOT is_test) AS last_train,
               min(event_time) FILTER (WHERE is_test) AS first_test
          FROM split('events') GROUP BY user_id) AS s
 WHERE first_test <= last_train;
-- one user in full: hours 1-5, the fifth is test
SELECT user_id, item_id, weight, extract(epoch FROM event_time - '2024-01-01 00:00+00')::int / 3600 AS hour, is_test
  FROM split('SELECT * FROM events WHERE customer_id = 5')
 ORDER BY event_time;
-- ties in time are broken by item, then weight: item 9 (the largest) is test
SELECT item_id, weight, is_test
  FROM split('VALUES (1, 9, 1.0, date ''2024-01-01''), (1, 3, 2.0, date ''2024-01-01''),
                     (1, 5, 1.0, date ''2024-01-01''), (1, 3, 1.0, date ''2024-01-01'')', 'temporal', 0.25)
 ORDER BY item_id, weight;
-- the fraction is taken as the decimal it prints as: 0.29 of 100 events is 29,
-- not the 28 that binary floating point (100 * 0.29 = 28.999999999999996) gives
SELECT count(*) FILTER (WHERE is_test) AS test_rows
  FROM split('SELECT 1, g, 1, g FROM generate_series(1, 100) AS g', 'temporal', 0.29);

-- ---- leave_last_n ---------------------------------------------------------------
-- the last n per user, but every user keeps one event for training:
-- user 1 gives none, user 2 one, the 18 others two: 37
SELECT count(*) FILTER (WHERE is_test) AS test_rows,
       count(DISTINCT user_id) FILTER (WHERE NOT is_test) AS users_in_train
  FROM split('events', 'leave_last_n', params => '{"n": 2}');
SELECT item_id, is_test FROM split('SELECT * FROM events WHERE customer_id = 3', 'leave_last_n')
 ORDER BY event_time;

-- ---- random -----------------------------------------------------------------------
-- exactly floor(210 * 0.3) = 63 rows
SELECT count(*) FILTER (WHERE is_test) AS test_rows FROM split('events', 'random', 0.3);
-- the same seed gives the same split whatever the row order; another seed another
SELECT count(*) AS differences
  FROM ((SELECT * FROM split('SELECT * FROM events ORDER BY occurred_at', 'random', 0.3, 7)
         EXCEPT ALL
         SELECT * FROM split('SELECT * FROM events ORDER BY customer_id DESC, product_id', 'random', 0.3, 7))
        UNION ALL
        (SELECT * FROM split('SELECT * FROM events ORDER BY customer_id DESC, product_id', 'random', 0.3, 7)
         EXCEPT ALL
         SELECT * FROM split('SELECT * FROM events ORDER BY occurred_at', 'random', 0.3, 7))) AS d;
SELECT count(*) > 0 AS seeds_differ
  FROM (SELECT * FROM split('events', 'random', 0.3, 7) WHERE is_test
        EXCEPT
        SELECT * FROM split('events', 'random', 0.3, 8) WHERE is_test) AS d;
-- the split does not depend on the session's time zone
CREATE TEMP TABLE split_utc AS SELECT * FROM split('events', 'random', 0.3, 7);
SET TIME ZONE 'Asia/Kolkata';
SELECT count(*) AS differences
  FROM (SELECT * FROM split('events', 'random', 0.3, 7) EXCEPT SELECT * FROM split_utc) AS d;
RESET TIME ZONE;

-- ---- new_users / new_items ------------------------------------------------------------
-- floor(20 * 0.2) = 4 users held out whole; none of them has a training row
SELECT count(DISTINCT user_id) FILTER (WHERE is_test) AS test_users,
       count(*) FILTER (WHERE is_test) AS test_rows
  FROM split('events', 'new_users', 0.2);
SELECT count(*) AS test_users_in_train
  FROM split('events', 'new_users', 0.2) AS t
 WHERE t.is_test AND t.user_id IN (SELECT user_id FROM split('events', 'new_users', 0.2) WHERE NOT is_test);
-- floor(50 * 0.1) = 5 items held out whole
SELECT count(DISTINCT item_id) FILTER (WHERE is_test) AS test_items,
       count(*) FILTER (WHERE is_test) = (SELECT count(*) FROM events WHERE product_id IN
           (SELECT item_id FROM split('events', 'new_items', 0.1) WHERE is_test)) AS all_their_rows
  FROM split('events', 'new_items', 0.1);
SELECT count(*) AS test_items_in_train
  FROM split('events', 'new_items', 0.1) AS t
 WHERE t.is_test AND t.item_id IN (SELECT item_id FROM split('events', 'new_items', 0.1) WHERE NOT is_test);
-- deterministic by seed
SELECT (SELECT array_agg(DISTINCT user_id) FROM split('events', 'new_users', 0.2, 1) WHERE is_test)
     = (SELECT array_agg(DISTINCT user_id) FROM split('events', 'new_users', 0.2, 1) WHERE is_test) AS same_seed_same_users;

-- ---- sources ---------------------------------------------------------------------------
-- by position: (user, item) only gives weight 1 and no time
SELECT DISTINCT weight, event_time FROM split('SELECT customer_id, product_id FROM events', 'random');
-- named columns, in any order, among other columns
SELECT count(*) FILTER (WHERE is_test) AS test_rows
  FROM split('SELECT occurred_at AS ts, ''x'' AS note, qty, product_id, customer_id FROM events',
             params => '{"user_column": "customer_id", "item_column": "product_id",
                         "weight_column": "qty", "time_column": "ts"}');
-- a numeric time column is epoch seconds; the weight column is the third
SELECT user_id, item_id, weight, extract(epoch FROM event_time)::bigint AS epoch, is_test
  FROM split('VALUES (7, 1, 4.5, 1000), (7, 2, 3, 2000)', 'temporal', 0.5) ORDER BY item_id;
-- TABLE, WITH, a trailing semicolon, a schema-qualified quoted name
SELECT count(*) FROM split('TABLE events');
SELECT count(*) FROM split('WITH e AS (SELECT * FROM events) SELECT * FROM e;  ');
CREATE SCHEMA "Split Test";
CREATE TABLE "Split Test"."Events" AS SELECT * FROM events;
SELECT count(*) FROM split('"Split Test"."Events"');
-- ids of any integer type or an integer domain; NULL ids are left out, as train() does
CREATE DOMAIN item_code AS integer;
SELECT user_id, item_id FROM split('SELECT 1::smallint, 2::item_code UNION ALL SELECT NULL, 3 UNION ALL SELECT 4, NULL', 'random');

-- ---- split_into ----------------------------------------------------------------------------
SELECT * FROM split_into('events', 'events_train', '"Split Test".events_test');
SELECT count(*) FROM events_train;
SELECT column_name, data_type FROM information_schema.columns
 WHERE table_schema = 'Split Test' AND table_name = 'events_test' ORDER BY ordinal_position;
-- without a time column there is no event_time column
SELECT * FROM split_into('SELECT customer_id, product_id FROM events', 'pairs_train', 'pairs_test', 'random', 0.5);
SELECT column_name FROM information_schema.columns WHERE table_name = 'pairs_test' ORDER BY ordinal_position;
-- refused up front: an existing table, the same table twice, a bad name
SELECT * FROM split_into('events', 'events_train', 'other_test');
SELECT * FROM split_into('events', 'x', 'X');
SELECT * FROM split_into('events', 'a.b.c', 'y');
SELECT * FROM split_into('events', 'x; DROP TABLE events', 'y');
SELECT * FROM split_into('events', NULL, 'y');

-- ---- invalid method, fraction and params ---------------------------------------------------
SELECT count(*) FROM split('events', 'chronological');
SELECT count(*) FROM split('events', 'random', 0);
SELECT count(*) FROM split('events', 'random', 1);
SELECT count(*) FROM split('events', 'random', -0.5);
SELECT count(*) FROM split('events', 'random', 'NaN');
SELECT count(*) FROM split('events', params => '{"time_colum": "occurred_at"}');
SELECT count(*) FROM split('events', params => '{"time_column": 4}');
SELECT count(*) FROM split('events', params => '[1]');
SELECT count(*) FROM split('events', 'temporal', params => '{"n": 2}');
SELECT count(*) FROM split('events', 'leave_last_n', params => '{"n": 0}');
SELECT count(*) FROM split('events', 'leave_last_n', params => '{"n": 1.5}');
SELECT count(*) FROM split('events', 'leave_last_n', params => '{"n": "2"}');
-- limits: just inside (0, 1) passes, the bounds fail (above)
SELECT count(*) FILTER (WHERE is_test) AS smallest FROM split('events', 'random', 0.0001);
SELECT count(*) FILTER (WHERE is_test) AS largest FROM split('events', 'random', 0.9999);
-- leave_last_n ignores test_fraction
SELECT count(*) FILTER (WHERE is_test) AS test_rows FROM split('events', 'leave_last_n', 5);

-- ---- invalid sources -------------------------------------------------------------------------
SELECT count(*) FROM split('no_such_table');
SELECT count(*) FROM split('DELETE FROM events');
SELECT count(*) FROM split('WITH d AS (DELETE FROM events RETURNING *) SELECT * FROM d');
SELECT count(*) FROM split('SELECT 1, 2) AS s; DROP TABLE events; SELECT * FROM (SELECT 1, 2');
SELECT count(*) AS events_still_there FROM events;
SELECT count(*) FROM split('SELECT 1');
SELECT count(*) FROM split('SELECT ''a''::text, 2');
SELECT count(*) FROM split('events', params => '{"user_column": "user_id"}');
SELECT count(*) FROM split('events', params => '{"weight_column": "occurred_at"}');
SELECT count(*) FROM split('SELECT 1, 2, ''x''::text AS at', params => '{"time_column": "at"}');
-- a time-ordered split needs a time column, and a time in every row
SELECT count(*) FROM split('SELECT customer_id, product_id FROM events');
SELECT count(*) FROM split('SELECT customer_id, product_id FROM events', 'leave_last_n');
SELECT count(*) FROM split('VALUES (1, 2, now()), (1, 3, NULL)');
-- ... which random does not need
SELECT count(*) FROM split('VALUES (1, 2, now()), (1, 3, NULL)', 'random');

-- ---- NULL and empty inputs -----------------------------------------------------------------
SELECT count(*) FROM split(NULL);
SELECT count(*) FROM split('  ');
SELECT count(*) FROM split('events', NULL);
SELECT count(*) FROM split('events', 'random', NULL);
SELECT count(*) FROM split('events', 'random', 0.2, NULL);
SELECT count(*) FROM split('events', 'random', 0.2, 42, NULL);
SELECT count(*) AS empty_source FROM split('SELECT * FROM events WHERE false');

DROP SCHEMA "Split Test" CASCADE;
DROP TABLE events_train, pairs_train, pairs_test;
DROP DOMAIN item_code;
