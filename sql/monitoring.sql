-- Monitoring: serving statistics, their history, anomaly scores, drift,
-- evaluation by segment, retraining and its scheduling.  The test cluster
-- preloads fashionrec, so the statistics are on.
SET client_min_messages = warning;
-- errors show their detail and hint; the PL/pgSQL call stack would only add noise
\set SHOW_CONTEXT never

-- ---- serving statistics ----------------------------------------------------
SELECT enabled, tracking, max_entries FROM fashionrec.serving_stats_info();
SHOW fashionrec.track_serving;
SHOW fashionrec.stats_max_entries;
-- the counters are per database: start from nothing
SELECT fashionrec.reset_serving_stats() >= 0 AS reset;
SELECT count(*) FROM fashionrec.serving_stats;

CREATE TABLE mon_buys (customer bigint, product bigint, at timestamptz);
INSERT INTO mon_buys
SELECT c, p, '2025-01-01'::timestamptz + ((c * 7 + p) % 50 || ' days')::interval
  FROM generate_series(1, 30) c, generate_series(1, 12) p WHERE (c + p) % 4 = 0;
INSERT INTO mon_buys SELECT c, 1, '2025-01-01' FROM generate_series(1, 30) c;
SELECT fashionrec.train('mon-pop', 'popularity', 'mon_buys') AS version;

-- 7 recommend calls of 3 rows, 3 predict calls (one for an unknown item:
-- no row), 2 anonymous sessions, 1 similar_items that fails after the model
-- was found, 2 calls that fail before (unknown model, bad k)
SELECT count(*) FROM generate_series(1, 7) u, fashionrec.recommend('mon-pop', u, 3);
SELECT count(fashionrec.predict('mon-pop', u, i))
  FROM (VALUES (1, 1), (2, 1), (3, 999)) v(u, i);
SELECT count(*) FROM generate_series(1, 2) s, fashionrec.recommend_for_items('mon-pop', ARRAY[s]::bigint[], 4);
SELECT * FROM fashionrec.similar_items('mon-pop', 1);
SELECT * FROM fashionrec.recommend('mon-nope', 1);
SELECT * FROM fashionrec.recommend('mon-pop', 1, 0);
-- preloaded, the first call loads into the shared store (shared_loads), not privately
SELECT name, version, function, calls, rows, errors, cache_loads, shared_loads,
       p50_ms <= p95_ms AND p95_ms <= p99_ms AND p99_ms <= max_ms AS ordered,
       abs(mean_ms * calls - total_ms) < 1e-6 AS mean_is_total_over_calls,
       (load_ms > 0) = (cache_loads + shared_loads + attaches > 0) AS load_time_with_loads,
       note
  FROM fashionrec.serving_stats ORDER BY name, function;

-- ---- histogram arithmetic ------------------------------------------------
SELECT count(*) AS buckets, min(lower_ms) AS lowest, count(*) FILTER (WHERE upper_ms IS NULL) AS open_buckets
  FROM fashionrec.latency_buckets();
-- 8 buckets per doubling: bucket 2 starts at 1 us, bucket 10 at 2 us, bucket 106 at 8.192 ms
SELECT bucket, round(lower_ms::numeric, 6) AS lower_ms, round(upper_ms::numeric, 6) AS upper_ms
  FROM fashionrec.latency_buckets() WHERE bucket IN (1, 2, 3, 10, 106, 217, 218) ORDER BY bucket;
-- ten calls in bucket 106 ([8.192, 8.933) ms): the median is the geometric middle
SELECT round(fashionrec.latency_quantile(x.h, 0.5)::numeric, 4) AS p50,
       round(fashionrec.latency_quantile(x.h, 0.0)::numeric, 4) AS p0,
       round(fashionrec.latency_quantile(x.h, 1.0)::numeric, 4) AS p100
  FROM (SELECT array_fill(0::bigint, ARRAY[218]) AS zeros) z,
       LATERAL (SELECT z.zeros[1:105] || 10::bigint || z.zeros[107:218]) x(h);
-- 90 fast calls (bucket 2) and 10 slow ones (bucket 106): p50 fast, p95 slow
SELECT round(fashionrec.latency_quantile(x.h, 0.5)::numeric, 4) AS p50,
       round(fashionrec.latency_quantile(x.h, 0.95)::numeric, 4) AS p95
  FROM (SELECT array_fill(0::bigint, ARRAY[218]) AS zeros) z,
       LATERAL (SELECT z.zeros[1:1] || 90::bigint || z.zeros[3:105] || 10::bigint || z.zeros[107:218]) x(h);
SELECT fashionrec.latency_quantile(array_fill(0::bigint, ARRAY[218]), 0.5) AS empty;
-- invalid histograms and quantiles
SELECT fashionrec.latency_quantile('{1,2,3}', 0.5);
SELECT fashionrec.latency_quantile(array_fill(0::bigint, ARRAY[2, 109]), 0.5);
SELECT fashionrec.latency_quantile(array_fill(NULL::bigint, ARRAY[218]), 0.5);
SELECT fashionrec.latency_quantile(array_fill(-1::bigint, ARRAY[218]), 0.5);
SELECT fashionrec.latency_quantile(array_fill(0::bigint, ARRAY[218]), 1.5);
SELECT fashionrec.latency_quantile(array_fill(0::bigint, ARRAY[218]), 'NaN');
SELECT fashionrec.latency_quantile(NULL, 0.5) AS null_histogram;

-- ---- history -----------------------------------------------------------------
SELECT fashionrec.snapshot_stats() AS recorded;
SELECT model, version, function, calls, rows, errors, cache_loads, seconds >= 0 AS has_interval
  FROM fashionrec.stats_history ORDER BY model, function;
-- the next snapshot records only what happened in between
SELECT count(*) FROM generate_series(1, 4) u, fashionrec.recommend('mon-pop', u, 2);
SELECT fashionrec.snapshot_stats() AS recorded;
SELECT model, function, calls, rows, errors, cache_loads, p50_ms IS NOT NULL AS has_latency
  FROM fashionrec.stats_history
 WHERE taken_at = (SELECT max(taken_at) FROM fashionrec.stats_history) ORDER BY model, function;
-- after a reset an entry counts from its new start
SELECT fashionrec.reset_serving_stats('mon-pop') AS dropped;
SELECT count(*) FROM fashionrec.serving_stats WHERE name = 'mon-pop';
SELECT count(*) FROM fashionrec.recommend('mon-pop', 1, 2);
SELECT fashionrec.snapshot_stats() AS recorded;
SELECT model, function, calls, rows
  FROM fashionrec.stats_history
 WHERE taken_at = (SELECT max(taken_at) FROM fashionrec.stats_history) AND model = 'mon-pop';
SELECT count(*) AS state_rows FROM fashionrec.stats_snapshot_state;
SELECT series, metric, round(value::numeric, 4) AS value FROM fashionrec.metric_series
 WHERE metric IN ('error_rate') ORDER BY taken_at, series LIMIT 6;
-- old history is dropped by retention
UPDATE fashionrec.stats_history SET taken_at = taken_at - interval '100 days';
SELECT fashionrec.snapshot_stats() AS recorded;
SELECT count(*) AS older_than_90_days FROM fashionrec.stats_history WHERE taken_at < now() - interval '90 days';
DELETE FROM fashionrec.stats_history;

-- ---- anomaly scores ------------------------------------------------------------
-- median 3, MAD 1: z = (10 - 3) / 1.4826
SELECT round(median::numeric, 4) AS median, round(scale::numeric, 4) AS scale, round(z::numeric, 4) AS z
  FROM fashionrec.robust_zscore(10, '{1,2,3,4,5}');
-- MAD 0 falls back to the mean absolute deviation: window 5 5 5 5 9, median 5,
-- mean |d| 0.8, scale 1.2533 * 0.8
SELECT round(median::numeric, 4) AS median, round(scale::numeric, 4) AS scale, round(z::numeric, 4) AS z
  FROM fashionrec.robust_zscore(7, '{5,5,5,5,9}');
-- a constant window: the scale is 5% of the median
SELECT round(scale::numeric, 4) AS scale, round(z::numeric, 4) AS z FROM fashionrec.robust_zscore(6, '{5,5,5}');
SELECT z FROM fashionrec.robust_zscore(5, '{5,5,5}');
-- a window of zeros flags any other value
SELECT z FROM fashionrec.robust_zscore(0.01, '{0,0,0,0}');
SELECT z FROM fashionrec.robust_zscore(-1, '{0,0,0,0}');
SELECT median, z FROM fashionrec.robust_zscore(1, '{}');
SELECT median, z FROM fashionrec.robust_zscore(1, NULL);

-- a steady series with one spike, and a steady one without
INSERT INTO fashionrec.stats_history (taken_at, seconds, model, version, model_id, function,
                                      calls, rows, errors, cache_loads, mean_ms, p50_ms, p95_ms, p99_ms)
SELECT now() - (40 - i) * interval '5 minutes', 300, m, 1, 0, 'recommend', 3000, 30000, 0, 0,
       1.0, 0.8, CASE WHEN m = 'mon-spiky' AND i = 36 THEN 9.0 ELSE 2.0 + (i % 4) * 0.1 END, 3.0 + (i % 3) * 0.2
  FROM generate_series(1, 40) i, (VALUES ('mon-spiky'), ('mon-steady')) v(m);
SELECT series, metric, round(value::numeric, 4) AS value, round(median::numeric, 4) AS median,
       round(z::numeric, 2) AS z, direction
  FROM fashionrec.anomalies;
-- with a looser threshold the small wobbles still do not count
SELECT count(*) FROM fashionrec.detect_anomalies(threshold => 2.0);
-- only points after since
SELECT count(*) FROM fashionrec.detect_anomalies(since => now() + interval '1 hour');
SELECT fashionrec.detect_anomalies(window_size => 2);
SELECT fashionrec.detect_anomalies(threshold => 0);
SELECT fashionrec.detect_anomalies(min_points => 30);
DELETE FROM fashionrec.stats_history;

-- ---- drift ---------------------------------------------------------------------
-- training popularity 4 3 2 1 of items 1..4; two bins of equal mass:
-- {1, 2} hold 7/10, {3, 4} 3/10
CREATE TABLE mon_old (u bigint, i bigint);
INSERT INTO mon_old VALUES (1, 1), (2, 1), (3, 1), (4, 1), (1, 2), (2, 2), (3, 2), (1, 3), (2, 3), (1, 4);
SELECT fashionrec.train('mon-drift', 'popularity', 'mon_old') AS version;
-- recent: one unknown user (9) and one unknown item (77)
CREATE TABLE mon_new (u bigint, i bigint);
INSERT INTO mon_new VALUES (1, 1), (2, 3), (3, 3), (4, 3), (9, 2), (1, 77);
-- known items 1, 3, 3, 3, 2 (user 9's too): bin shares 2/5, 3/5, so
-- PSI = (.4 - .7) ln(.4/.7) + (.6 - .3) ln(.6/.3) = 0.3758 and
-- KL = .4 ln(.4/.7) + .6 ln(.6/.3) = 0.1920.  Users by training activity
-- 4 3 | 2 1: recent pairs of known users 3 | 2, PSI 0.0442.
SELECT signal, measure, round(value::numeric, 4) AS value, warning, alert, verdict, detail
  FROM fashionrec.drift('mon-drift', 'mon_new', bins => 2, thresholds => '{"min_interactions": 1}');
-- the same window compared with itself: no drift
SELECT signal, measure, round(value::numeric, 4) AS value, verdict
  FROM fashionrec.drift('mon-drift', 'mon_old', bins => 2, thresholds => '{"min_interactions": 1}');
-- too little data is said so
SELECT DISTINCT verdict FROM fashionrec.drift('mon-drift', 'mon_old', bins => 2)
 WHERE measure IN ('psi', 'kl');
-- attributes: item 1, 2 are red, 3 blue; item 77 is new and green
CREATE TABLE mon_items (id bigint, colour text, size text);
INSERT INTO mon_items VALUES (1, 'red', 'S'), (2, 'red', NULL), (3, 'blue', 'M'), (77, 'green', 'M');
SELECT signal, measure, round(value::numeric, 4) AS value, verdict, detail
  FROM fashionrec.drift('mon-drift', 'mon_new', bins => 2, attributes => 'mon_items',
                        thresholds => '{"min_interactions": 1}')
 WHERE signal LIKE 'attribute:%';
-- invalid input
SELECT * FROM fashionrec.drift('mon-none', 'mon_new');
SELECT * FROM fashionrec.drift(NULL, 'mon_new');
SELECT * FROM fashionrec.drift('mon-drift', NULL);
SELECT * FROM fashionrec.drift('mon-drift', 'mon_new', bins => 1);
SELECT * FROM fashionrec.drift('mon-drift', 'mon_new', bins => 1001);
SELECT * FROM fashionrec.drift('mon-drift', 'mon_new', thresholds => '{"psi": 1}');
SELECT * FROM fashionrec.drift('mon-drift', 'mon_new', thresholds => '{"psi_alert": -1}');
SELECT * FROM fashionrec.drift('mon-drift', 'mon_new', thresholds => '[1]');
SELECT * FROM fashionrec.drift('mon-drift', 'mon_new', attributes => 'SELECT id FROM mon_items');
SELECT * FROM fashionrec.drift('mon-drift', 'mon_new', attributes => 'no_such_table');
SELECT * FROM fashionrec.drift('mon-drift', 'mon_missing');
SELECT * FROM fashionrec.drift('mon-drift', 'mon_new', version => 7);

-- ---- evaluation by segment ----------------------------------------------------------
-- test users 3 and 4 had 2 and 1 training items, user 9 is new.  Popularity
-- recommends the unseen items by training popularity: 1 2 3 4.
CREATE TABLE mon_test (u bigint, i bigint);
INSERT INTO mon_test VALUES (3, 4), (4, 2), (9, 1), (9, 77);
SELECT segment, users, relevant, round(precision_at_k::numeric, 4) AS p, round(recall_at_k::numeric, 4) AS r,
       round(ndcg_at_k::numeric, 4) AS ndcg, round(hit_rate::numeric, 4) AS hit
  FROM fashionrec.evaluate_segments('mon-drift', 'mon_test', k => 2);
SELECT segment, users, relevant, round(precision_at_k::numeric, 4) AS p, round(recall_at_k::numeric, 4) AS r
  FROM fashionrec.evaluate_segments('mon-drift', 'mon_test', 'item_popularity', k => 2);
SELECT segment, users, relevant, round(recall_at_k::numeric, 4) AS r
  FROM fashionrec.evaluate_segments('mon-drift', 'mon_test', 'items', k => 2,
                                    segment_query => 'SELECT id, colour FROM mon_items');
SELECT segment, users, relevant, round(recall_at_k::numeric, 4) AS r
  FROM fashionrec.evaluate_segments('mon-drift', 'mon_test', 'users', k => 2,
                                    segment_query => 'SELECT u, CASE WHEN u < 4 THEN ''old'' ELSE ''new'' END FROM mon_new');
-- the "all" row is evaluate()
SELECT round(e.precision_at_k::numeric, 4) AS p, round(e.ndcg_at_k::numeric, 4) AS ndcg
  FROM fashionrec.evaluate('mon-drift', 'mon_test', 2) e;
-- invalid input
SELECT * FROM fashionrec.evaluate_segments('mon-drift', 'mon_test', 'colour');
SELECT * FROM fashionrec.evaluate_segments('mon-drift', 'mon_test', 'items');
SELECT * FROM fashionrec.evaluate_segments('mon-drift', 'mon_test', 'user_activity', segment_query => 'SELECT 1, 2');
SELECT * FROM fashionrec.evaluate_segments('mon-drift', 'mon_test', k => 0);
SELECT * FROM fashionrec.evaluate_segments('mon-drift', NULL);
SELECT * FROM fashionrec.evaluate_segments('mon-none', 'mon_test');

-- ---- retraining ----------------------------------------------------------------------
-- January: 20 users, items 1..8.  The champion is trained on it.
CREATE TABLE mon_events (u bigint, i bigint, at timestamptz);
INSERT INTO mon_events
SELECT u, 1 + (u * 3 + j) % 8, '2025-01-01'::timestamptz + (j || ' days')::interval
  FROM generate_series(1, 20) u, generate_series(0, 9) j;
SELECT fashionrec.train('mon-retrain', 'popularity', 'mon_events') AS version;
-- nothing new: every held-out interaction is known to the champion
CALL fashionrec.retrain('mon-retrain');
-- February: everybody moves to the new items 9..13, each user in another
-- order, so every new item is in some users' earlier events
INSERT INTO mon_events
SELECT u, 9 + (u + j) % 5, '2025-02-01'::timestamptz + (j || ' days')::interval
  FROM generate_series(1, 20) u, generate_series(0, 4) j;
CALL fashionrec.retrain('mon-retrain', k => 3);
SELECT decision, reason, champion_version, challenger_version, promoted_version, metric, k,
       test_users, test_interactions, round(champion_score::numeric, 4) AS champion,
       round(challenger_score::numeric, 4) AS challenger, source, details
  FROM fashionrec.retrain_log WHERE name = 'mon-retrain' ORDER BY id;
-- the challenger (version 2) was dropped, version 3 is trained on everything
SELECT version, status, active, source, users, items, interactions
  FROM fashionrec.models WHERE name = 'mon-retrain' ORDER BY version;
-- the new champion was trained on everything: the next run keeps it
CALL fashionrec.retrain('mon-retrain', k => 3);
SELECT decision, champion_version FROM fashionrec.retrain_log WHERE name = 'mon-retrain' ORDER BY id DESC LIMIT 1;
-- A champion that saw each user's first February item: it knows the new items
-- but not which ones each user already has, so it scores between 0 and 1.
SELECT fashionrec.train('mon-retrain', 'popularity', 'SELECT * FROM mon_events WHERE at < ''2025-02-02''',
                        activate => true) AS version;
-- its own source has nothing fresh: retrain from the full table.  A margin
-- the challenger cannot beat keeps the champion; the challenger can be kept
-- for inspection.
CALL fashionrec.retrain('mon-retrain', source => 'mon_events', k => 3, margin => 1000, keep_challenger => true);
SELECT decision, reason, champion_version, challenger_version, promoted_version, margin
  FROM fashionrec.retrain_log WHERE name = 'mon-retrain' ORDER BY id DESC LIMIT 1;
-- promote => 'challenger' activates the evaluated challenger itself
CALL fashionrec.retrain('mon-retrain', source => 'mon_events', k => 3, promote => 'challenger');
SELECT decision, reason, challenger_version, promoted_version
  FROM fashionrec.retrain_log WHERE name = 'mon-retrain' ORDER BY id DESC LIMIT 1;
-- challengers keep the source a retraining reads again, and say how they were trained
SELECT version, status, active, source, info ->> 'retrain_challenger' AS trained
  FROM fashionrec.models WHERE name = 'mon-retrain' ORDER BY version;
-- a source without times cannot be split by time: recorded as failed
SET client_min_messages = warning;
CALL fashionrec.retrain('mon-retrain', source => 'SELECT u, i FROM mon_events');
SELECT decision, reason, details ->> 'sqlstate' AS sqlstate
  FROM fashionrec.retrain_log WHERE name = 'mon-retrain' ORDER BY id DESC LIMIT 1;
-- invalid input
CALL fashionrec.retrain('mon-none');
CALL fashionrec.retrain(NULL);
CALL fashionrec.retrain('mon-retrain', metric => 'auc');
CALL fashionrec.retrain('mon-retrain', margin => -0.1);
CALL fashionrec.retrain('mon-retrain', margin => 'NaN');
CALL fashionrec.retrain('mon-retrain', k => 0);
CALL fashionrec.retrain('mon-retrain', holdout => 1);
CALL fashionrec.retrain('mon-retrain', promote => 'always');
CALL fashionrec.retrain('mon-retrain', params => '[1]');
SELECT count(*) AS log_rows FROM fashionrec.retrain_log WHERE name = 'mon-retrain';

-- ---- scheduling ------------------------------------------------------------------------
-- pg_cron lives in database postgres (cron.database_name): the error says
-- what to run there (the database name is masked: it depends on the runner)
CREATE FUNCTION mon_error(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    m text; h text; s text;
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, h = PG_EXCEPTION_HINT, s = RETURNED_SQLSTATE;
    RETURN s || E': ' || replace(m, current_database(), '<db>') || E'\nHINT: ' || replace(COALESCE(h, ''), current_database(), '<db>');
END
$$;
SELECT mon_error($$SELECT fashionrec.schedule_retraining('mon-retrain', '0 3 * * *')$$);
SELECT mon_error($$SELECT fashionrec.unschedule_retraining('mon-retrain')$$);
SELECT mon_error($$SELECT fashionrec.schedule_snapshots('*/10 * * * *', '30 days')$$);
SELECT mon_error($$SELECT fashionrec.schedule_retraining('mon-none')$$);
SELECT mon_error($$SELECT fashionrec.schedule_retraining('mon-retrain', NULL)$$);
DROP FUNCTION mon_error(text);

-- ---- privileges ------------------------------------------------------------------------
CREATE ROLE mon_reader IN ROLE fashionrec_reader;
GRANT SELECT ON mon_new TO mon_reader;
SET ROLE mon_reader;
SELECT count(*) >= 0 AS reader_sees_stats FROM fashionrec.serving_stats;
SELECT count(*) >= 0 AS reader_sees_history FROM fashionrec.stats_history;
SELECT count(*) >= 0 AS reader_measures_drift FROM fashionrec.drift('mon-drift', 'mon_new');
SELECT fashionrec.reset_serving_stats();
SELECT fashionrec.snapshot_stats();
CALL fashionrec.retrain('mon-retrain');
RESET ROLE;
REVOKE SELECT ON mon_new FROM mon_reader;
DROP ROLE mon_reader;

-- recording can be switched off by a superuser
SET fashionrec.track_serving = off;
SELECT count(*) FROM fashionrec.recommend('mon-pop', 1, 2);
SELECT calls FROM fashionrec.serving_stats WHERE name = 'mon-pop' AND function = 'recommend';
RESET fashionrec.track_serving;
SELECT count(*) FROM fashionrec.recommend('mon-pop', 1, 2);
SELECT calls FROM fashionrec.serving_stats WHERE name = 'mon-pop' AND function = 'recommend';
