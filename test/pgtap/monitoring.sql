-- Monitoring: signatures and privileges, serving counts that match the calls
-- made, online metrics from A/B events, planted drift found (and an unchanged
-- window not flagged), planted anomalies found, evaluation by segment
-- consistent with evaluate(), and retraining decisions.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(57);

-- ---- signatures, labels, privileges -----------------------------------------
SELECT has_view('fashionrec', 'serving_stats', 'serving_stats view');
SELECT has_view('fashionrec', 'anomalies', 'anomalies view');
SELECT has_view('fashionrec', 'metric_series', 'metric_series view');
SELECT has_table('fashionrec', 'stats_history', 'serving history table');
SELECT has_table('fashionrec', 'online_history', 'online metrics history table');
SELECT has_table('fashionrec', 'retrain_log', 'retraining log');
SELECT has_function('fashionrec', 'drift',
       ARRAY['text', 'text', 'integer', 'text', 'integer', 'jsonb', 'jsonb']);
SELECT has_function('fashionrec', 'evaluate_segments',
       ARRAY['text', 'text', 'text', 'integer', 'integer', 'text', 'boolean', 'jsonb']);
SELECT is((SELECT p.prokind FROM pg_proc p WHERE p.oid = 'fashionrec.retrain'::regproc), 'p',
          'retrain is a procedure (CALL)');
SELECT volatility_is('fashionrec', 'latency_quantile', ARRAY['bigint[]', 'double precision'], 'immutable');
SELECT volatility_is('fashionrec', 'robust_zscore', ARRAY['double precision', 'double precision[]'], 'immutable');
SELECT volatility_is('fashionrec', 'snapshot_stats', ARRAY['interval'], 'volatile');
SELECT function_privs_are('fashionrec', 'reset_serving_stats', ARRAY['text'], 'fashionrec_reader', '{}'::text[],
       'readers cannot reset serving statistics');
SELECT function_privs_are('fashionrec', 'snapshot_stats', ARRAY['interval'], 'fashionrec_trainer', ARRAY['EXECUTE'],
       'trainers take snapshots');
SELECT ok(NOT has_function_privilege('fashionrec_reader',
          'fashionrec.retrain(text, text, double precision, text, integer, double precision, jsonb, boolean, text, boolean)',
          'EXECUTE'), 'readers cannot retrain');
SELECT ok(has_function_privilege('fashionrec_trainer',
          'fashionrec.retrain(text, text, double precision, text, integer, double precision, jsonb, boolean, text, boolean)',
          'EXECUTE'), 'trainers can retrain');
SELECT table_privs_are('fashionrec', 'retrain_log', 'public', '{}'::text[], 'PUBLIC has no rights on retrain_log');
SELECT table_privs_are('fashionrec', 'stats_history', 'fashionrec_reader', ARRAY['SELECT'], 'readers read the history');

-- ---- a shop, and a champion trained before September -------------------------
SELECT lives_ok($$SELECT fashionrec.generate_shop(customers => 1000, products => 300, events => 20000,
                                                 seed => 42, target_schema => 'mon_shop')$$, 'a shop');
SELECT lives_ok($$SELECT fashionrec.generate_shop(customers => 1000, products => 300, events => 20000,
                                                 seed => 7, target_schema => 'mon_shop7')$$, 'another shop');
CREATE TEMP TABLE mon_buys AS
SELECT customer_id, product_id, 1.0::float8 AS w, occurred_at
  FROM mon_shop.events WHERE event_type <> 'view' AND occurred_at < '2025-09-01';
SELECT is(fashionrec.train('mon-als', 'als', 'mon_buys', '{"factors": 16, "iterations": 8}'), 1, 'champion');

-- ---- serving statistics count what was called ---------------------------------
SELECT ok((SELECT enabled FROM fashionrec.serving_stats_info()), 'statistics are on in the test cluster');
SELECT ok(fashionrec.reset_serving_stats() >= 0, 'reset');
SELECT is((SELECT count(*) FROM generate_series(1, 37) u, fashionrec.recommend('mon-als', u, 5)), 185::bigint,
          '37 calls of 5 rows');
DO $$
BEGIN
    FOR i IN 1 .. 5 LOOP
        BEGIN
            PERFORM fashionrec.recommend('mon-als', i, 3, context => 'winter');
        EXCEPTION WHEN feature_not_supported THEN
            NULL;
        END;
    END LOOP;
END
$$;
SELECT results_eq(
    $$SELECT function, calls, rows, errors FROM fashionrec.serving_stats WHERE name = 'mon-als'$$,
    $$VALUES ('recommend'::text, 42::bigint, 185::bigint, 5::bigint)$$,
    'calls, rows and errors are exact');
SELECT ok((SELECT p50_ms > 0 AND p50_ms <= p95_ms AND p95_ms <= p99_ms AND p99_ms <= max_ms
             AND mean_ms <= max_ms FROM fashionrec.serving_stats WHERE name = 'mon-als'),
          'percentiles are ordered and within the maximum');
-- a hybrid opens its components while it loads and while it scores: the
-- calls are the hybrid's, the loads include the components'
SELECT lives_ok($$
    SELECT fashionrec.train('mon-pop', 'popularity', 'mon_buys');
    SELECT fashionrec.train('mon-hybrid', 'hybrid', NULL,
           '{"cf": "mon-als", "popularity": "mon-pop", "interactions": "mon_buys"}');
    SELECT count(*) FROM generate_series(1, 6) u, fashionrec.recommend('mon-hybrid', u, 4);
$$, 'a hybrid serves');
SELECT results_eq(
    $$SELECT name, calls, rows FROM fashionrec.serving_stats WHERE name LIKE 'mon-%' ORDER BY name$$,
    $$VALUES ('mon-als'::text, 42::bigint, 185::bigint), ('mon-hybrid', 6, 24)$$,
    'calls of a hybrid are counted as the hybrid''s, not as its components'' calls');

-- ---- online metrics from A/B events (before any snapshot of this transaction) --
SELECT lives_ok($$
    SELECT fashionrec.create_experiment('mon-exp');
    SELECT fashionrec.add_variant('mon-exp', 'control', 'mon-als', 50, control => true);
    SELECT fashionrec.add_variant('mon-exp', 'treatment', 'mon-als', 50);
    SELECT fashionrec.start_experiment('mon-exp');
    SELECT fashionrec.assign('mon-exp', u) FROM generate_series(1, 200) u;
    SELECT fashionrec.track('mon-exp', u, 'exposure') FROM generate_series(1, 200) u, generate_series(1, 3) n;
    SELECT fashionrec.track('mon-exp', u, 'click') FROM generate_series(1, 200) u WHERE u % 4 = 0;
    SELECT fashionrec.track('mon-exp', u, 'purchase', value => 10) FROM generate_series(1, 200) u WHERE u % 10 = 0;
$$, 'an experiment with traffic');
SELECT ok(fashionrec.snapshot_stats() > 0, 'snapshot');
SELECT results_eq(
    $$SELECT variant, exposures, clicks, purchases, ctr, conversion_rate FROM fashionrec.online_history
       WHERE experiment = 'mon-exp' ORDER BY variant$$,
    $$SELECT v.name, count(*) FILTER (WHERE e.event_type = 'exposure'),
             count(*) FILTER (WHERE e.event_type = 'click'),
             count(*) FILTER (WHERE e.event_type = 'purchase'),
             count(*) FILTER (WHERE e.event_type = 'click')::float8 / count(*) FILTER (WHERE e.event_type = 'exposure'),
             count(*) FILTER (WHERE e.event_type = 'purchase')::float8 / count(*) FILTER (WHERE e.event_type = 'exposure')
        FROM fashionrec.event e JOIN fashionrec.variant v ON v.id = e.variant_id
        JOIN fashionrec.experiment x ON x.id = e.experiment_id
       WHERE x.name = 'mon-exp' GROUP BY v.name ORDER BY v.name$$,
    'online metrics per variant are the events'' counts');
SELECT results_eq(
    $$SELECT calls, rows, errors FROM fashionrec.stats_history WHERE model = 'mon-als' AND function = 'recommend'$$,
    $$VALUES (42::bigint, 185::bigint, 5::bigint)$$, 'the snapshot holds the calls so far');
SELECT is((SELECT count(*) FROM generate_series(1, 9) u, fashionrec.recommend('mon-als', u, 2)), 18::bigint, 'more calls');
SELECT ok(fashionrec.snapshot_stats() > 0, 'second snapshot');
SELECT results_eq(
    $$SELECT calls, rows, errors FROM fashionrec.stats_history WHERE model = 'mon-als' AND function = 'recommend'
       ORDER BY taken_at DESC LIMIT 1$$,
    $$VALUES (9::bigint, 18::bigint, 0::bigint)$$, 'the second snapshot holds only the calls in between');

-- ---- planted drift ----------------------------------------------------------------
CREATE TEMP TABLE mon_even AS SELECT customer_id, product_id, 1.0::float8 AS w, occurred_at
  FROM mon_shop.events WHERE event_id % 2 = 0;
CREATE TEMP TABLE mon_odd AS SELECT customer_id, product_id, 1.0::float8 AS w, occurred_at
  FROM mon_shop.events WHERE event_id % 2 = 1;
SELECT is(fashionrec.train('mon-drift', 'popularity', 'mon_even'), 1, 'reference model');
CREATE TEMP TABLE mon_same AS SELECT * FROM fashionrec.drift('mon-drift', 'mon_odd',
       attributes => 'SELECT product_id, category, colour, season FROM mon_shop.products');
SELECT is((SELECT count(*) FROM mon_same), 12::bigint, 'twelve signals with three attributes');
SELECT is((SELECT array_agg(DISTINCT verdict) FROM mon_same), ARRAY['ok'],
          'an unchanged window (the other half of the same year) is not flagged');
-- another seed: other popular products, other heavy customers
CREATE TEMP TABLE mon_seed AS SELECT * FROM fashionrec.drift('mon-drift',
       'SELECT customer_id, product_id, 1.0, occurred_at FROM mon_shop7.events');
SELECT is((SELECT verdict FROM mon_seed WHERE signal = 'item_popularity' AND measure = 'psi'), 'drift',
          'a shop with other popular products: item popularity drifts');
SELECT is((SELECT verdict FROM mon_seed WHERE signal = 'user_activity' AND measure = 'psi'), 'drift',
          'other heavy customers: user activity drifts');
-- a new season's catalogue: the products are new, and all of them summer
CREATE TEMP TABLE mon_season AS SELECT * FROM fashionrec.drift('mon-drift',
       'SELECT e.customer_id, e.product_id + 100000, 1.0, e.occurred_at FROM mon_shop7.events e
          JOIN mon_shop7.products p USING (product_id) WHERE p.season = ''Summer''',
       attributes => 'SELECT product_id + 100000, season FROM mon_shop7.products
                      UNION ALL SELECT product_id, season FROM mon_shop.products');
SELECT is((SELECT verdict FROM mon_season WHERE signal = 'unknown_items'), 'drift',
          'a new catalogue: unknown items drift');
SELECT is((SELECT verdict FROM mon_season WHERE signal = 'attribute:season' AND measure = 'psi'), 'drift',
          'a summer-only window: the season shares drift');
SELECT is((SELECT verdict FROM mon_season WHERE signal = 'unknown_users'), 'ok',
          'the customers are the same ids: unknown users do not drift');

-- ---- planted anomalies ---------------------------------------------------------------
DELETE FROM fashionrec.stats_history;
DELETE FROM fashionrec.online_history;
INSERT INTO fashionrec.stats_history (taken_at, seconds, model, version, model_id, function,
                                      calls, rows, errors, cache_loads, mean_ms, p50_ms, p95_ms, p99_ms)
SELECT now() - (48 - i) * interval '5 minutes', 300, 'mon-lat', 1, 0, 'recommend',
       3000 + (i * 37) % 200, 30000, 0, 0, 1.0, 0.8,
       CASE WHEN i = 45 THEN 8.0 ELSE 2.0 + ((i * 7) % 5) * 0.05 END, 4.0
  FROM generate_series(1, 48) i;
INSERT INTO fashionrec.online_history (taken_at, seconds, experiment, variant, users, exposures, clicks,
                                       purchases, revenue, ctr, conversion_rate)
SELECT now() - (48 - i) * interval '5 minutes', 300, 'mon-exp', 'control', 900, 1000,
       c, 10, 100, c / 1000.0, 0.01
  FROM (SELECT i, CASE WHEN i = 47 THEN 20 ELSE 50 + (i * 13) % 9 END AS c FROM generate_series(1, 48) i) x;
SELECT results_eq(
    $$SELECT series, metric, direction FROM fashionrec.anomalies ORDER BY series, metric$$,
    $$VALUES ('mon-exp / control'::text, 'ctr'::text, 'low'::text), ('mon-lat v1 recommend', 'p95_ms', 'high')$$,
    'a latency jump and a CTR drop are flagged, nothing else');
SELECT is((SELECT count(*) FROM fashionrec.detect_anomalies(since => '-infinity', threshold => 3.5)), 2::bigint,
          'over the whole history too');

-- ---- evaluation by segment --------------------------------------------------------------
CREATE TEMP TABLE mon_test AS
SELECT customer_id, product_id FROM mon_shop.events WHERE event_type <> 'view' AND occurred_at >= '2025-09-01';
CREATE TEMP TABLE mon_seg AS SELECT * FROM fashionrec.evaluate_segments('mon-als', 'mon_test');
CREATE TEMP TABLE mon_all AS SELECT * FROM fashionrec.evaluate('mon-als', 'mon_test');
SELECT ok((SELECT abs(s.ndcg_at_k - a.ndcg_at_k) < 1e-12 AND s.users = a.users
             FROM mon_seg s, mon_all a WHERE s.segment = 'all'), 'the "all" row is evaluate()');
SELECT is((SELECT sum(users) FROM mon_seg WHERE segment <> 'all'), (SELECT users FROM mon_seg WHERE segment = 'all')::numeric,
          'user activity segments partition the users');
SELECT ok((SELECT users > 0 FROM mon_seg WHERE segment = 'new user'), 'new users are a segment of their own');
CREATE TEMP TABLE mon_iseg AS SELECT * FROM fashionrec.evaluate_segments('mon-als', 'mon_test', 'item_popularity');
SELECT is((SELECT sum(relevant) FROM mon_iseg WHERE segment <> 'all'), (SELECT relevant FROM mon_iseg WHERE segment = 'all')::numeric,
          'item popularity segments partition the relevant items');
SELECT ok((SELECT recall_at_k FROM mon_iseg WHERE segment = 'head') > (SELECT recall_at_k FROM mon_iseg WHERE segment = 'tail'),
          'head items are found more often than tail items');

-- ---- retraining ---------------------------------------------------------------------------
-- the champion knows January to August; the source now holds the whole year
INSERT INTO mon_buys SELECT customer_id, product_id, 1.0, occurred_at
  FROM mon_shop.events WHERE event_type <> 'view' AND occurred_at >= '2025-09-01';
CALL fashionrec.retrain('mon-als');
SELECT results_eq(
    $$SELECT decision, champion_version, challenger_version, promoted_version FROM fashionrec.retrain_log
       WHERE name = 'mon-als'$$,
    $$VALUES ('promoted'::text, 1, 2, 3)$$, 'a stale champion is replaced');
SELECT ok((SELECT challenger_score > champion_score AND test_interactions > 0 FROM fashionrec.retrain_log
            WHERE name = 'mon-als'), 'because the challenger scored better on fresh interactions');
SELECT results_eq(
    $$SELECT version, status, active FROM fashionrec.model WHERE name = 'mon-als' ORDER BY version$$,
    $$VALUES (1, 'ready'::text, false), (3, 'ready', true)$$,
    'the challenger was dropped and the full-data version serves');
CALL fashionrec.retrain('mon-als');
SELECT is((SELECT decision FROM fashionrec.retrain_log WHERE name = 'mon-als' ORDER BY id DESC LIMIT 1), 'kept',
          'nothing new: the champion is kept');
-- a champion of every other event of the year, retrained on drift only: the
-- other events look the same, so nothing is trained
CALL fashionrec.retrain('mon-drift', source => 'mon_shop.events', on_drift => true,
                        params => '{"user_column": "customer_id", "item_column": "product_id", "time_column": "occurred_at"}');
SELECT is((SELECT decision FROM fashionrec.retrain_log WHERE name = 'mon-drift' ORDER BY id DESC LIMIT 1), 'skipped',
          'no drift: retraining skipped');
SELECT is((SELECT count(*) FROM fashionrec.model WHERE name = 'mon-drift'), 1::bigint, 'and no version trained');
SET LOCAL client_min_messages = error;
CALL fashionrec.retrain('mon-drift', source => 'SELECT 1, 2');
SELECT is((SELECT decision FROM fashionrec.retrain_log WHERE name = 'mon-drift' ORDER BY id DESC LIMIT 1), 'failed',
          'a failing retraining is recorded');

SELECT * FROM finish();
ROLLBACK;
