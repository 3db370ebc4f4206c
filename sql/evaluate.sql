-- evaluate(), cross_validate(), tune(): what is evaluated is what is served.
-- PL/pgSQL line numbers in CONTEXT lines would change with every edit
\set SHOW_CONTEXT never

-- 60 users in 3 taste groups over 30 items: group g likes items 10g+1 .. 10g+10
CREATE TABLE taste AS
SELECT u AS user_id, (u % 3) * 10 + 1 + ((u * 7 + j * 3) % 10) AS item_id,
       '2025-01-01'::timestamptz + (j || ' days')::interval AS at
  FROM generate_series(1, 60) u, generate_series(1, 6) j;
-- plus two popular items touched early on
INSERT INTO taste SELECT u, 31 + (u % 2), '2024-12-01' FROM generate_series(1, 60) u;

CREATE TABLE taste_split AS SELECT * FROM fashionrec.split('taste', 'temporal', 0.25, 42);
CREATE VIEW taste_train AS SELECT user_id, item_id FROM taste_split WHERE NOT is_test;
CREATE VIEW taste_test AS SELECT user_id, item_id FROM taste_split WHERE is_test;

SET client_min_messages = warning;
SELECT fashionrec.train('taste-pop', 'popularity', 'taste_train');
SELECT fashionrec.train('taste-knn', 'itemknn', 'taste_train');

-- item-KNN learns the groups; popularity cannot
SELECT model, model_version, users, round(precision_at_k::numeric, 4) AS p, round(recall_at_k::numeric, 4) AS r,
       round(ndcg_at_k::numeric, 4) AS ndcg, round(map_at_k::numeric, 4) AS map,
       round(hit_rate::numeric, 4) AS hit, round(coverage::numeric, 4) AS coverage, rmse, mae
  FROM fashionrec.evaluate('taste-pop', 'taste_test', 5);
SELECT model, model_version, users, round(precision_at_k::numeric, 4) AS p, round(ndcg_at_k::numeric, 4) AS ndcg
  FROM fashionrec.evaluate('taste-knn', 'taste_test', 5);
SELECT (SELECT ndcg_at_k FROM fashionrec.evaluate('taste-knn', 'taste_test', 5))
     > 2 * (SELECT ndcg_at_k FROM fashionrec.evaluate('taste-pop', 'taste_test', 5)) AS knn_beats_popularity;
-- the history and the metrics view
SELECT name, version, k, round(ndcg::numeric, 4) AS ndcg FROM fashionrec.model_metrics WHERE name LIKE 'taste-%' ORDER BY name;
SELECT count(*) AS evaluations FROM fashionrec.evaluation e JOIN fashionrec.model m ON m.id = e.model_id WHERE m.name LIKE 'taste-%';

-- the same metrics computed by hand from recommend() and the metric functions
SELECT round(avg(fashionrec.ndcg_at_k(r.recs, t.rel, 5))::numeric, 4) AS ndcg_by_hand
  FROM (SELECT user_id, array_agg(item_id) AS rel FROM taste_test GROUP BY user_id) t,
       LATERAL (SELECT ARRAY(SELECT item_id FROM fashionrec.recommend('taste-knn', t.user_id, 5) ORDER BY rank) AS recs) r;

-- named test columns
SELECT users FROM fashionrec.evaluate('taste-knn', 'SELECT item_id AS i, user_id AS u FROM taste_test', 5,
       params => '{"user_column": "u", "item_column": "i"}');

-- a rating model reports RMSE and MAE; others leave them NULL
SELECT fashionrec.train('taste-mf', 'mf', 'SELECT user_id, item_id, 1 + (user_id + item_id) % 5 FROM taste_train') > 0 AS trained;
SELECT rmse IS NOT NULL AS has_rmse, mae IS NOT NULL AS has_mae, rmse >= mae AS rmse_ge_mae
  FROM fashionrec.evaluate('taste-mf', 'SELECT user_id, item_id, 1 + (user_id + item_id) % 5 FROM taste_test', 5);

-- invalid input
SELECT * FROM fashionrec.evaluate('taste-knn', 'taste_test', 0);
SELECT * FROM fashionrec.evaluate('taste-knn', NULL);
SELECT * FROM fashionrec.evaluate('no-such-model', 'taste_test');
SELECT * FROM fashionrec.evaluate('taste-knn', 'taste_test', version => 7);
SELECT * FROM fashionrec.evaluate('taste-knn', 'no_such_table');

-- cross-validation: one trial version per fold, kept on request
SELECT fold, model_version, users > 0 AS has_users, ndcg_at_k > 0 AS learns
  FROM fashionrec.cross_validate('taste-cv', 'itemknn', 'taste', 3, keep_trials => true);
SELECT version, status, active FROM fashionrec.models WHERE name = 'taste-cv';
SELECT * FROM fashionrec.cross_validate('taste-cv', 'itemknn', 'taste', 1);

-- grid search: every combination is a trial; the best is flagged and can be
-- activated; the other trials are dropped at the end
CREATE TEMP TABLE taste_trials AS
SELECT * FROM fashionrec.tune('taste-tune', 'itemknn', 'taste', '{"neighbors": [1, 20], "similarity": ["cosine", "bm25"]}',
                              k => 5, activate_best => true);
SELECT model_version, trial_params, best FROM taste_trials ORDER BY model_version;
SELECT count(*) FILTER (WHERE active) AS active_versions, count(*) AS versions
  FROM fashionrec.models WHERE name = 'taste-tune';
-- refit (the default): what is activated is the best combination trained
-- again on the whole source (420 rows), not the trial that never saw its
-- held-out fifth (336 rows)
SELECT m.version NOT IN (SELECT model_version FROM taste_trials) AS new_version, m.status,
       m.params @> t.trial_params AS best_params, m.interactions
  FROM fashionrec.models m, taste_trials t
 WHERE m.name = 'taste-tune' AND m.active AND t.best;
-- refit => false activates the best trial itself
SELECT fashionrec.drop_model('taste-tune');
SELECT count(*) FROM fashionrec.tune('taste-tune', 'itemknn', 'taste', '{"neighbors": [1, 20], "similarity": ["cosine", "bm25"]}',
                                     k => 5, activate_best => true, refit => false);
SELECT m.version = t.model_version AS best_is_active, m.status, m.interactions
  FROM fashionrec.models m,
       (SELECT mm.version FROM fashionrec.evaluation e JOIN fashionrec.model mm ON mm.id = e.model_id
         WHERE mm.name = 'taste-tune' ORDER BY (e.metrics ->> 'ndcg')::float8 DESC, mm.version LIMIT 1) t(model_version)
 WHERE m.name = 'taste-tune' AND m.active;

-- folds => 3: each combination is scored on three rolling-origin splits,
-- each user's last fifth of the rows, then the last fifth of what is left
-- (7 rows a user: trained on 6, 5, then 4 of them); its score is their mean
SELECT fashionrec.drop_model('taste-tune');
CREATE TEMP TABLE taste_folds AS
SELECT * FROM fashionrec.tune('taste-tune', 'itemknn', 'taste', '{"neighbors": [1, 20]}', k => 5,
                              split_method => 'temporal', folds => 3, keep_trials => true);
SELECT t.trial_params, t.best, array_agg(m.interactions ORDER BY m.version) AS trained_on,
       abs(t.score - avg(mm.ndcg)) < 1e-12 AS score_is_mean, count(mm.ndcg) AS splits_scored
  FROM taste_folds t
  JOIN fashionrec.models m ON m.name = 'taste-tune' AND m.version BETWEEN t.model_version AND t.model_version + 2
  JOIN fashionrec.model_metrics mm ON mm.name = m.name AND mm.version = m.version
 GROUP BY t.trial_params, t.best, t.score ORDER BY t.trial_params::text;
SELECT count(*) AS trial_versions, count(*) FILTER (WHERE active) AS active
  FROM fashionrec.model WHERE name = 'taste-tune' AND status = 'trial';
-- bad folds and refit
SELECT * FROM fashionrec.tune('taste-tune', 'itemknn', 'taste', '{"neighbors": [5]}', folds => 0);
SELECT * FROM fashionrec.tune('taste-tune', 'itemknn', 'taste', '{"neighbors": [5]}', folds => 11);
SELECT * FROM fashionrec.tune('taste-tune', 'itemknn', 'taste', '{"neighbors": [5]}', folds => NULL);
SELECT * FROM fashionrec.tune('taste-tune', 'itemknn', 'taste', '{"neighbors": [5]}', refit => NULL);
SELECT * FROM fashionrec.tune('taste-tune', 'itemknn', 'taste', '[1, 2]');
SELECT * FROM fashionrec.tune('taste-tune', 'itemknn', 'taste', '{"neighbors": []}');
SELECT * FROM fashionrec.tune('taste-tune', 'itemknn', 'taste', '{"neighbors": [5]}', metric => 'accuracy');
SELECT * FROM fashionrec.tune('taste-tune', 'itemknn', 'taste', '{"no_such_param": [5]}');

SELECT fashionrec.drop_model(n) FROM (VALUES ('taste-pop'), ('taste-knn'), ('taste-mf'), ('taste-cv'), ('taste-tune')) v(n);
