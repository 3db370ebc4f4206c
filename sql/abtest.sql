-- A/B testing: statistics, experiment lifecycle, sticky weighted assignment,
-- QA overrides, holdout, serving by variant, tracking, results with segments,
-- two sessions assigning one user, then every class of invalid input.
-- Model and experiment names start with ab- and everything is dropped at the
-- end: the suites share one database.
SET client_min_messages = warning;
-- errors show their detail and hint; the PL/pgSQL call stack would only add noise
\set SHOW_CONTEXT never

CREATE TABLE ab_buys AS
SELECT (g % 97) AS customer, ((g * 7919) % 211) AS product FROM generate_series(1, 5000) g;
SELECT fashionrec.train('ab-pop', 'popularity', 'ab_buys') AS version;
-- version 2 is trained on other data and not activated: the challenger
SELECT fashionrec.train('ab-pop', 'popularity',
       'SELECT customer, product FROM ab_buys WHERE product % 3 <> 0') AS version;
SELECT fashionrec.train('ab-knn', 'itemknn', 'ab_buys') AS version;

-- ---- statistics: textbook table values -------------------------------------
SELECT round(fashionrec.normal_cdf(1.96)::numeric, 6) AS phi_1_96,
       round(fashionrec.normal_quantile(0.975)::numeric, 6) AS z_975,
       round(fashionrec.normal_quantile(0.8)::numeric, 6) AS z_80,
       round(fashionrec.t_cdf(2.228139, 10)::numeric, 6) AS t10_975,
       round(fashionrec.t_cdf(-12.706205, 1)::numeric, 6) AS t1_025,
       round(fashionrec.chisq_cdf(3.841459, 1)::numeric, 6) AS chi1_95,
       round(fashionrec.chisq_cdf(18.307038, 10)::numeric, 6) AS chi10_95;
-- 100 of 1000 against 130 of 1000: lift 3 points, p = 0.0355
SELECT round(lift::numeric, 6) AS lift, round(ci_low::numeric, 6) AS ci_low,
       round(ci_high::numeric, 6) AS ci_high, round(z::numeric, 6) AS z, round(p_value::numeric, 6) AS p
  FROM fashionrec.proportion_test(100, 1000, 130, 1000);
-- scipy.stats.ttest_ind_from_stats(10, 2, 30, 11.5, 3, 25, equal_var=False): t 2.135605, p 0.038812
SELECT round(diff::numeric, 6) AS diff, round(t::numeric, 6) AS t, round(df::numeric, 6) AS df,
       round(p_value::numeric, 6) AS p
  FROM fashionrec.welch_test(10, 4, 30, 11.5, 9, 25);
-- sample-ratio mismatch: 5050/4950 is chance (chi2 = 1), 10300/9700 is not (chi2 = 18)
SELECT round(fashionrec.srm_p_value('{5050, 4950}', '{50, 50}')::numeric, 6) AS fair,
       round(fashionrec.srm_p_value('{10300, 9700}', '{50, 50}')::numeric, 8) AS mismatch,
       round(fashionrec.srm_p_value('{2000, 1000, 1000}', '{50, 25, 25}')::numeric, 6) AS three_exact;
-- users per variant: +10% of 10% is 14751; one point from 10%, the same; alpha 1%, power 90%
SELECT fashionrec.required_sample_size(0.1, 0.1) AS relative_10pct,
       fashionrec.required_sample_size(0.1, 0.01, relative => false) AS one_point,
       fashionrec.required_sample_size(0.05, 0.2, alpha => 0.01, power => 0.9) AS strict,
       fashionrec.required_sample_size(0.2, 0.1) AS from_20pct;
-- undefined statistics are NULL, not errors
SELECT * FROM fashionrec.proportion_test(0, 100, 0, 100);
SELECT * FROM fashionrec.welch_test(1, 0, 10, 1, 0, 10);
SELECT fashionrec.srm_p_value('{0, 0}', '{50, 50}') AS nobody;

-- ---- an experiment: draft, variants, QA before the start -------------------
SELECT fashionrec.create_experiment('ab-home', salt => 'ab-home-salt',
       description => 'challenger v2 against the active v1') AS id \gset
SELECT fashionrec.add_variant('ab-home', 'control', 'ab-pop', 50);
SELECT fashionrec.add_variant('ab-home', 'challenger', 'ab-pop', 50, version => 2);
SELECT name, status, primary_metric, holdout, variants, users, winner FROM fashionrec.experiments
 WHERE name = 'ab-home';
-- a QA user is served the challenger before the start; nobody else is
SELECT fashionrec.force_variant('ab-home', 900001, 'challenger');
SELECT fashionrec.assign('ab-home', 900001) AS qa_user;
SELECT fashionrec.track('ab-home', 900001, 'click') AS qa_click_recorded;
SELECT fashionrec.assign('ab-home', 1);
SELECT fashionrec.track('ab-home', 1, 'click');
SELECT fashionrec.start_experiment('ab-home');
SELECT status, started_at IS NOT NULL AS started FROM fashionrec.experiment WHERE name = 'ab-home';

-- ---- assignment: the hash decides, the first answer sticks -----------------
-- ab_bucket(salt, user) below 0.5 is the control's half
SELECT u, fashionrec.assign('ab-home', u) AS variant,
       round(fashionrec.ab_bucket('ab-home-salt', u)::numeric, 4) AS bucket
  FROM generate_series(1, 8) u;
SELECT count(*) AS recorded FROM fashionrec.assignment WHERE experiment_id = :id AND NOT forced;
-- asking again answers the same and records nothing new
SELECT bool_and(fashionrec.assign('ab-home', u) = CASE WHEN fashionrec.ab_bucket('ab-home-salt', u) < 0.5
                                                       THEN 'control' ELSE 'challenger' END) AS same_again
  FROM generate_series(1, 8) u;
SELECT count(*) AS recorded FROM fashionrec.assignment WHERE experiment_id = :id AND NOT forced;

-- ---- serving by variant ----------------------------------------------------
-- user 2 is in the control: the active version 1; user 3 in the challenger: pinned version 2
SELECT * FROM fashionrec.recommend_experiment('ab-home', 2, 3);
SELECT (SELECT array_agg(item_id ORDER BY rank) FROM fashionrec.recommend_experiment('ab-home', 3, 5))
     = (SELECT array_agg(item_id ORDER BY rank) FROM fashionrec.recommend('ab-pop', 3, 5, version => 2))
       AS challenger_serves_v2,
       (SELECT array_agg(item_id ORDER BY rank) FROM fashionrec.recommend('ab-pop', 3, 5, version => 2))
    <> (SELECT array_agg(item_id ORDER BY rank) FROM fashionrec.recommend('ab-pop', 3, 5, version => 1))
       AS versions_differ;
-- a filter passes through; no exposure logged when asked not to
SELECT variant, item_id FROM fashionrec.recommend_experiment('ab-home', 3, 2, candidates => '{4, 5, 6}',
                                                             log_exposure => false);
-- every option positionally, in the serving API's order: (experiment, user_id, k,
-- exclude_seen, candidates, exclude, context, log_exposure); the variant's version
SELECT (SELECT array_agg(item_id ORDER BY rank)
          FROM fashionrec.recommend_experiment('ab-home', 3, 3, false, '{4, 5, 6, 7}', '{5}', 'summer', false))
     = (SELECT array_agg(item_id ORDER BY rank)
          FROM fashionrec.recommend('ab-pop', 3, 3, false, '{4, 5, 6, 7}', '{5}', 'summer', 2)) AS options_pass_through;
-- a new user is assigned on the spot
SELECT DISTINCT variant FROM fashionrec.recommend_experiment('ab-home', 5000, 2);
SELECT user_id, event_type, v.name AS variant FROM fashionrec.event e
  JOIN fashionrec.variant v ON v.id = e.variant_id
 WHERE e.experiment_id = :id AND event_type = 'exposure' ORDER BY user_id;

-- ---- tracking and results --------------------------------------------------
-- 2000 more users; the control converts one in 20, the challenger one in 10
SELECT fashionrec.assign('ab-home', u) AS variant, count(*) AS users
  FROM generate_series(1001, 3000) u GROUP BY 1 ORDER BY 1;
SELECT count(*) FILTER (WHERE fashionrec.track('ab-home', u, 'purchase', item_id => 10, value => 20 + u % 7))
       AS purchases
  FROM generate_series(1001, 3000) u
 WHERE u % CASE fashionrec.assign('ab-home', u) WHEN 'control' THEN 20 ELSE 10 END = 0;
SELECT fashionrec.track('ab-home', 2, 'click', 17) AS click, fashionrec.track('ab-home', 2, 'cart', 17) AS cart;
SELECT segment, variant, is_control, users, exposures, conversions, round(rate::numeric, 4) AS rate,
       round(lift::numeric, 4) AS lift, round(relative_lift::numeric, 4) AS rel_lift,
       round(ci_low::numeric, 4) AS ci_low, round(ci_high::numeric, 4) AS ci_high,
       round(p_value::numeric, 4) AS p, significant,
       round(value_per_user::numeric, 4) AS value_per_user, round(value_lift::numeric, 4) AS value_lift,
       round(value_p_value::numeric, 4) AS value_p, round(srm_p_value::numeric, 4) AS srm_p, srm
  FROM fashionrec.experiment_results('ab-home');
-- the results are the statistics functions applied to plain counts
SELECT r.users, r.conversions, round(r.p_value::numeric, 10) = round(t.p_value::numeric, 10) AS same_p
  FROM fashionrec.experiment_results('ab-home') r,
       LATERAL fashionrec.proportion_test(
           (SELECT conversions FROM fashionrec.experiment_results('ab-home') WHERE is_control),
           (SELECT users FROM fashionrec.experiment_results('ab-home') WHERE is_control),
           r.conversions, r.users) t
 WHERE NOT r.is_control;
-- another metric; the forced QA user and its click are left out
SELECT variant, users, conversions FROM fashionrec.experiment_results('ab-home', metric => 'click');
-- segments from a query of (user, segment): odd and even users (the planted
-- conversions are all even users; users above 2000 fall in the NULL segment)
SELECT segment, variant, users, conversions, round(p_value::numeric, 4) AS p, srm
  FROM fashionrec.experiment_results('ab-home',
       segment_by => $$SELECT u, CASE WHEN u % 2 = 0 THEN 'even' ELSE 'odd' END FROM generate_series(1, 2000) u$$);
-- or from a table; users it does not list fall in the NULL segment
CREATE TABLE ab_customers AS SELECT u AS customer_id, CASE WHEN u <= 1200 THEN 'returning' ELSE 'new' END AS kind
  FROM generate_series(1001, 3000) u;
SELECT segment, variant, users FROM fashionrec.experiment_results('ab-home', segment_by => 'ab_customers');

-- ---- new weights: assigned users keep their variant unless asked -----------
SELECT fashionrec.create_experiment('ab-weights', salt => 'ab-weights-salt') > 0 AS created;
SELECT fashionrec.add_variant('ab-weights', 'a', 'ab-pop', 50);
SELECT fashionrec.add_variant('ab-weights', 'b', 'ab-knn', 50);
SELECT fashionrec.start_experiment('ab-weights');
SELECT fashionrec.assign('ab-weights', u) AS variant, count(*) AS users
  FROM generate_series(1, 1000) u GROUP BY 1 ORDER BY 1;
SELECT string_agg(fashionrec.assign('ab-weights', u), ',' ORDER BY u) AS first_ten,
       string_agg(round(fashionrec.ab_bucket('ab-weights-salt', u)::numeric, 2)::text, ',' ORDER BY u) AS buckets
  FROM generate_series(1, 10) u;
SELECT fashionrec.set_weights('ab-weights', '{"a": 10, "b": 90}');
SELECT string_agg(fashionrec.assign('ab-weights', u), ',' ORDER BY u) AS first_ten_again
  FROM generate_series(1, 10) u;
SELECT fashionrec.assign('ab-weights', u) AS variant, count(*) AS new_users
  FROM generate_series(1001, 3000) u GROUP BY 1 ORDER BY 1;
-- the first user in a with a bucket above 0.1 moves to b when re-hashed
SELECT min(u) AS mover FROM generate_series(1, 10) u
 WHERE fashionrec.ab_bucket('ab-weights-salt', u) BETWEEN 0.1 AND 0.5 \gset
SELECT fashionrec.assign('ab-weights', :mover, reassign => true) AS reassigned,
       fashionrec.assign('ab-weights', :mover) AS afterwards;
-- a QA override survives reassign: a user forced into a stays there though the hash says b
SELECT min(u) AS forced_user FROM generate_series(5001, 5100) u
 WHERE fashionrec.ab_bucket('ab-weights-salt', u) > 0.1 \gset
SELECT fashionrec.force_variant('ab-weights', :forced_user, 'a');
SELECT fashionrec.assign('ab-weights', :forced_user, reassign => true) AS reassigned,
       round(fashionrec.ab_bucket('ab-weights-salt', :forced_user)::numeric, 4) AS bucket;
SELECT a.forced, v.name AS variant FROM fashionrec.assignment a JOIN fashionrec.variant v ON v.id = a.variant_id
 WHERE a.experiment_id = (SELECT id FROM fashionrec.experiment WHERE name = 'ab-weights') AND a.user_id = :forced_user;
-- 500/500 and then 200/1800 is not 10/90: the sample-ratio check flags the mix
SELECT variant, users, round(srm_p_value::numeric, 6) AS srm_p, srm
  FROM fashionrec.experiment_results('ab-weights');

-- ---- two sessions assign one user at the same moment -----------------------
-- Session c1 assigns the user under 50/50 and keeps its transaction open;
-- meanwhile the weights change to 1/99, under which the hash says b.  Session
-- c2 asks for the same user: its insert waits for c1, then finds c1's row.
SELECT fashionrec.create_experiment('ab-race', salt => 'ab-race-salt') > 0 AS created;
SELECT fashionrec.add_variant('ab-race', 'a', 'ab-pop', 50);
SELECT fashionrec.add_variant('ab-race', 'b', 'ab-knn', 50);
SELECT fashionrec.start_experiment('ab-race');
SELECT min(u) AS racer FROM generate_series(1, 1000) u
 WHERE fashionrec.ab_bucket('ab-race-salt', u) BETWEEN 0.05 AND 0.45 \gset
CREATE EXTENSION dblink;
SELECT dblink_connect('c1', format('host=%s port=%s dbname=%s',
       current_setting('unix_socket_directories'), current_setting('port'), current_database()));
SELECT dblink_connect('c2', format('host=%s port=%s dbname=%s',
       current_setting('unix_socket_directories'), current_setting('port'), current_database()));
SELECT pid AS c2_pid FROM dblink('c2', 'SELECT pg_backend_pid()') AS t(pid integer) \gset
SELECT dblink_exec('c1', 'BEGIN');
SELECT * FROM dblink('c1', format('SELECT fashionrec.assign(%L, %s)', 'ab-race', :racer)) AS t(c1 text);
SELECT fashionrec.set_weights('ab-race', '{"a": 1, "b": 99}');
SELECT dblink_send_query('c2', format('SELECT fashionrec.assign(%L, %s)', 'ab-race', :racer));
-- wait (up to 10 s) until c2 blocks on c1's uncommitted row
SELECT set_config('ab.c2_pid', :'c2_pid', false) IS NOT NULL AS noted;
DO $$
BEGIN
    FOR i IN 1..200 LOOP
        EXIT WHEN EXISTS (SELECT FROM pg_stat_activity
                           WHERE pid = current_setting('ab.c2_pid')::int AND wait_event_type = 'Lock');
        PERFORM pg_sleep(0.05);
    END LOOP;
END
$$;
SELECT wait_event_type AS c2_waits_on FROM pg_stat_activity WHERE pid = :c2_pid;
SELECT dblink_exec('c1', 'COMMIT');
SELECT * FROM dblink_get_result('c2') AS t(c2 text);
SELECT * FROM dblink_get_result('c2') AS t(c2 text);
SELECT fashionrec.assign('ab-race', :racer) AS this_session,
       (SELECT count(*) FROM fashionrec.assignment a JOIN fashionrec.experiment x ON x.id = a.experiment_id
         WHERE x.name = 'ab-race' AND a.user_id = :racer) AS rows;
SELECT dblink_disconnect('c1');
SELECT dblink_disconnect('c2');
DROP EXTENSION dblink;

-- ---- holdout: 30% of users stay out ----------------------------------------
SELECT fashionrec.create_experiment('ab-holdout', primary_metric => 'click', holdout => 30, salt => 'ab-h') > 0 AS created;
SELECT fashionrec.add_variant('ab-holdout', 'base', 'ab-pop', 40);
SELECT fashionrec.add_variant('ab-holdout', 'knn', 'ab-knn', 60, control => false);
SELECT fashionrec.start_experiment('ab-holdout');
SELECT coalesce(fashionrec.assign('ab-holdout', u), '(held out)') AS variant, count(*) AS users
  FROM generate_series(1, 10000) u GROUP BY 1 ORDER BY 1;
SELECT min(u) AS held FROM generate_series(1, 100) u WHERE fashionrec.assign('ab-holdout', u) IS NULL \gset
-- a held-out user sees the control's model, is not recorded, and their events are dropped
SELECT variant, count(*) AS items FROM fashionrec.recommend_experiment('ab-holdout', :held, 3) GROUP BY 1;
SELECT (SELECT array_agg(item_id ORDER BY rank) FROM fashionrec.recommend_experiment('ab-holdout', :held, 3))
     = (SELECT array_agg(item_id ORDER BY rank) FROM fashionrec.recommend('ab-pop', :held, 3)) AS control_list;
SELECT count(*) AS recorded FROM fashionrec.assignment a JOIN fashionrec.experiment x ON x.id = a.experiment_id
 WHERE x.name = 'ab-holdout' AND a.user_id = :held;
SELECT fashionrec.track('ab-holdout', :held, 'click') AS recorded;
SELECT variant, users, srm FROM fashionrec.experiment_results('ab-holdout');

-- ---- lifecycle: stop, declare the winner -----------------------------------
SELECT fashionrec.stop_experiment('ab-home');
-- after the stop everybody gets the control, nothing is recorded, events are ignored
SELECT fashionrec.assign('ab-home', 3) AS user_3, fashionrec.assign('ab-home', 777777) AS new_user;
SELECT fashionrec.track('ab-home', 3, 'purchase', value => 10) AS recorded;
SELECT fashionrec.declare_winner('ab-home', 'challenger') AS activated_version;
SELECT version, active FROM fashionrec.models WHERE name = 'ab-pop';
SELECT status, winner, stopped_at IS NOT NULL AS stopped, decided_by IS NOT NULL AS decided
  FROM fashionrec.experiment WHERE name = 'ab-home';
SELECT DISTINCT variant FROM fashionrec.recommend_experiment('ab-home', 2, 3);
-- history is kept
SELECT (SELECT count(*) FROM fashionrec.assignment WHERE experiment_id = :id) AS assignments,
       (SELECT count(*) FROM fashionrec.event WHERE experiment_id = :id) AS events;

-- ---- invalid input: unknown objects ----------------------------------------
SELECT fashionrec.assign('ab-nope', 1);
SELECT fashionrec.track('ab-nope', 1, 'click');
SELECT * FROM fashionrec.experiment_results('ab-nope');
SELECT fashionrec.start_experiment('ab-nope');
SELECT fashionrec.add_variant('ab-race', 'c', 'ab-pop', 10);
SELECT fashionrec.create_experiment('ab-new') > 0 AS created;
SELECT fashionrec.add_variant('ab-new', 'a', 'no-such-model', 50);
SELECT fashionrec.add_variant('ab-new', 'a', 'ab-pop', 50, version => 9);
SELECT fashionrec.force_variant('ab-race', 1, 'zzz');
SELECT fashionrec.set_weights('ab-race', '{"a": 50, "zzz": 50}');
SELECT fashionrec.declare_winner('ab-race', 'zzz');
-- weights: not positive, not numbers, not summing to 100, not naming every variant
SELECT fashionrec.add_variant('ab-new', 'a', 'ab-pop', 0);
SELECT fashionrec.add_variant('ab-new', 'a', 'ab-pop', -5);
SELECT fashionrec.add_variant('ab-new', 'a', 'ab-pop', 'NaN');
SELECT fashionrec.add_variant('ab-new', 'a', 'ab-pop', 'Infinity');
SELECT fashionrec.add_variant('ab-new', 'a', 'ab-pop', 60);
SELECT fashionrec.add_variant('ab-new', 'b', 'ab-knn', 30);
SELECT fashionrec.start_experiment('ab-new');
SELECT fashionrec.set_weights('ab-new', '{"a": 60, "b": 50}');
SELECT fashionrec.set_weights('ab-new', '{"a": 100}');
SELECT fashionrec.set_weights('ab-new', '{"a": 70, "b": "30"}');
SELECT fashionrec.set_weights('ab-new', '{"a": 130, "b": -30}');
SELECT fashionrec.set_weights('ab-new', '[60, 40]');
SELECT fashionrec.set_weights('ab-new', '{"a": 60, "b": 40}', holdout => 100);
-- names and settings
SELECT fashionrec.create_experiment('ab-new');
SELECT fashionrec.create_experiment('bad name!');
SELECT fashionrec.create_experiment('ab-x', primary_metric => 'revenue');
SELECT fashionrec.create_experiment('ab-x', holdout => -1);
SELECT fashionrec.create_experiment('ab-x', holdout => 100);
SELECT fashionrec.create_experiment('ab-x', salt => '');
SELECT fashionrec.add_variant('ab-new', 'a', 'ab-pop', 10);
SELECT fashionrec.add_variant('ab-new', 'bad name', 'ab-pop', 10);
-- state: starting twice, stopping a draft, starting a stopped one, a winner twice
SELECT fashionrec.start_experiment('ab-race');
SELECT fashionrec.stop_experiment('ab-new');
SELECT fashionrec.start_experiment('ab-home');
SELECT fashionrec.declare_winner('ab-home', 'control');
SELECT fashionrec.declare_winner('ab-new', 'a');
SELECT fashionrec.add_variant('ab-home', 'late', 'ab-pop', 10);
SELECT fashionrec.drop_experiment('ab-race');
SELECT fashionrec.create_experiment('ab-one') > 0 AS created;
SELECT fashionrec.add_variant('ab-one', 'only', 'ab-pop', 100);
SELECT fashionrec.start_experiment('ab-one');
SELECT fashionrec.add_variant('ab-one', 'other', 'ab-knn', 50, control => false);
SELECT fashionrec.set_weights('ab-one', '{"only": 50, "other": 50}');
SELECT fashionrec.start_experiment('ab-one');
-- events: for a user never assigned, of an unknown type, with a negative, NaN, infinite or too
-- large value
SELECT fashionrec.track('ab-race', 424242, 'click');
SELECT fashionrec.track('ab-race', :racer, 'wishlist');
SELECT fashionrec.track('ab-race', :racer, 'purchase', value => -10);
SELECT fashionrec.track('ab-race', :racer, 'purchase', value => 'NaN');
SELECT fashionrec.track('ab-race', :racer, 'purchase', value => 'Infinity');
SELECT fashionrec.track('ab-race', :racer, 'purchase', value => 1e308);
SELECT fashionrec.track('ab-race', :racer, 'purchase', value => 1.000001e15);
SELECT fashionrec.track('ab-race', :racer, 'purchase', value => 0) AS free_purchase;
-- the largest value, twice: the value per user stays a number (two events of 1e308
-- used to make experiment_results() fail with an overflow until they were deleted)
SELECT fashionrec.track('ab-race', :racer, 'purchase', value => 1e15) AS largest,
       fashionrec.track('ab-race', :racer, 'purchase', value => 1e15) AS again;
SELECT variant, users, conversions, value_per_user FROM fashionrec.experiment_results('ab-race');
-- results: unknown metric, alpha out of range, a segment query that repeats users
SELECT * FROM fashionrec.experiment_results('ab-race', metric => 'revenue');
SELECT * FROM fashionrec.experiment_results('ab-race', alpha => 1.5);
SELECT * FROM fashionrec.experiment_results('ab-race', segment_by => 'SELECT 1, ''x'' UNION ALL SELECT 1, ''y''');
SELECT * FROM fashionrec.experiment_results('ab-race', segment_by => 'no_such_table');
SELECT * FROM fashionrec.experiment_results('ab-race', segment_by => 'DELETE FROM ab_buys');
SELECT * FROM fashionrec.experiment_results('ab-race',
       segment_by => 'WITH d AS (DELETE FROM ab_buys RETURNING customer, ''x'') SELECT * FROM d');
SELECT count(*) AS buys_intact FROM ab_buys;
-- statistics: out-of-range arguments
SELECT fashionrec.normal_quantile(1.5);
SELECT fashionrec.normal_quantile('NaN');
SELECT fashionrec.t_cdf(1, 0);
SELECT fashionrec.chisq_cdf(1, -2);
SELECT * FROM fashionrec.proportion_test(-1, 100, 5, 100);
SELECT * FROM fashionrec.proportion_test(101, 100, 5, 100);
SELECT * FROM fashionrec.proportion_test(1, 100, 5, 100, alpha => 0);
SELECT * FROM fashionrec.welch_test(1, -1, 10, 2, 1, 10);
SELECT fashionrec.srm_p_value('{10, 20}', '{50}');
SELECT fashionrec.srm_p_value('{10, -20}', '{50, 50}');
SELECT fashionrec.srm_p_value('{10, 20}', '{50, 0}');
SELECT fashionrec.srm_p_value('{10, NULL}', '{50, 50}');
SELECT fashionrec.required_sample_size(0, 0.1);
SELECT fashionrec.required_sample_size(0.1, 0);
SELECT fashionrec.required_sample_size(0.1, -0.1);
SELECT fashionrec.required_sample_size(0.6, 1);
SELECT fashionrec.required_sample_size(0.1, 0.1, alpha => 1);
SELECT fashionrec.required_sample_size(0.1, 0.1, power => 0);
SELECT fashionrec.required_sample_size(0.1, 1e-9);

-- ---- NULLs -----------------------------------------------------------------
SELECT fashionrec.assign(NULL, 1);
SELECT fashionrec.assign('ab-race', NULL);
SELECT fashionrec.assign('ab-race', 1, NULL);
SELECT fashionrec.track('ab-race', NULL, 'click');
SELECT fashionrec.track('ab-race', 1, NULL);
SELECT * FROM fashionrec.recommend_experiment(NULL, 1);
SELECT fashionrec.create_experiment(NULL);
SELECT fashionrec.add_variant('ab-new', NULL, 'ab-pop', 10);
SELECT fashionrec.add_variant('ab-new', 'c', 'ab-pop', NULL);
SELECT fashionrec.set_weights('ab-new', NULL);
SELECT fashionrec.start_experiment(NULL);
SELECT fashionrec.force_variant('ab-race', NULL, 'a');
SELECT * FROM fashionrec.experiment_results(NULL);
SELECT fashionrec.normal_cdf(NULL) IS NULL AS strict_null, fashionrec.required_sample_size(NULL, 0.1) IS NULL AS strict_null;

-- ---- clean up: drop a stopped or draft experiment with its history ---------
SELECT fashionrec.stop_experiment('ab-race');
SELECT fashionrec.stop_experiment('ab-holdout');
SELECT fashionrec.stop_experiment('ab-one');
SELECT fashionrec.stop_experiment('ab-weights');
SELECT fashionrec.drop_experiment(name) FROM fashionrec.experiment WHERE name LIKE 'ab-%' ORDER BY name;
SELECT (SELECT count(*) FROM fashionrec.experiment) AS experiments,
       (SELECT count(*) FROM fashionrec.variant) AS variants,
       (SELECT count(*) FROM fashionrec.assignment) AS assignments,
       (SELECT count(*) FROM fashionrec.event) AS events;
SELECT fashionrec.drop_model('ab-pop') + fashionrec.drop_model('ab-knn') AS dropped_versions;
DROP TABLE ab_buys, ab_customers;
