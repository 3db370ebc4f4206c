-- Biased matrix factorisation of explicit ratings.  The planted ratings are
-- additive, r = 3 + b_u + b_i with b_u = 0.2 (u - 4.5) and b_i = 0.3 (i - 13.5),
-- so a fitted model predicts the unobserved pairs from the biases alone.
-- Values are compared with tolerances: the last float digits depend on the
-- CPU (SIMD width, FMA).
SET client_min_messages = warning;  -- progress NOTICEs carry timings
CREATE TABLE mf_ratings AS
  SELECT u::bigint AS u, i::bigint AS i, (3 + 0.2 * (u - 4.5) + 0.3 * (i - 13.5))::real AS r
    FROM generate_series(1, 8) u, generate_series(11, 16) i
   WHERE (u + i) % 3 <> 0;
CREATE TABLE mf_test AS
  SELECT u::bigint AS u, i::bigint AS i, (3 + 0.2 * (u - 4.5) + 0.3 * (i - 13.5))::real AS r
    FROM generate_series(1, 8) u, generate_series(11, 16) i
   WHERE (u + i) % 3 = 0;
SELECT count(*) AS train_pairs, round(min(r)::numeric, 2) AS min_r, round(max(r)::numeric, 2) AS max_r
  FROM mf_ratings;

SELECT fashionrec.train('mf-shop', 'mf', 'mf_ratings', '{"factors": 4}');
SELECT algorithm, params, round((info ->> 'mean_rating')::numeric, 4) AS mean_rating,
       (info ->> 'train_rmse')::float8 < 0.05 AS fits_training
  FROM fashionrec.algorithms() a JOIN fashionrec.model m ON m.algorithm = a.name
 WHERE m.name = 'mf-shop' AND a.predicts_ratings;

-- unobserved pairs inside the observed range: within 0.1 of the planted rating
SELECT count(*) AS pairs,
       bool_and(abs(fashionrec.predict('mf-shop', u, i) - r) < 0.1) AS close
  FROM mf_test WHERE r BETWEEN 1.75 AND 4.25;
-- (8, 16) would be 4.45 and (1, 11) 1.55, outside every observed rating:
-- predictions are clipped to the observed range
SELECT fashionrec.predict('mf-shop', 8, 16) = (SELECT max(r) FROM mf_ratings) AS clipped_to_max,
       fashionrec.predict('mf-shop', 1, 11) = (SELECT min(r) FROM mf_ratings) AS clipped_to_min;
SELECT fashionrec.predict('mf-shop', 1, 99) AS unknown_item,
       fashionrec.predict('mf-shop', 99, 11) AS unknown_user;

-- evaluate reports RMSE and MAE on the held-out ratings
SELECT users, rmse < 0.1 AS small_rmse, mae < 0.1 AS small_mae, mae <= rmse AS mae_below_rmse
  FROM fashionrec.evaluate('mf-shop', 'SELECT u, i, r FROM mf_test', k => 3);

-- recommend ranks unseen items by predicted rating: the higher item bias
-- first (user 4 has not rated 11 and 14)
SELECT item_id, rank
  FROM fashionrec.recommend('mf-shop', 4, k => 5);
SELECT (SELECT array_agg(item_id ORDER BY rank) FROM fashionrec.recommend('mf-shop', u, k => 2)) AS top2
  FROM generate_series(1, 3) u;

-- fold-in: a visitor's ratings as weights; a generous rater's scores are higher
SELECT item_id, rank
  FROM fashionrec.recommend_for_items('mf-shop', ARRAY[11, 12], k => 2,
                                      weights => ARRAY[3.5, 3.8]::real[]);
SELECT (SELECT score FROM fashionrec.recommend_for_items('mf-shop', ARRAY[11, 12], k => 1,
                                                         weights => ARRAY[3.5, 3.8]::real[]))
     > (SELECT score FROM fashionrec.recommend_for_items('mf-shop', ARRAY[11, 12], k => 1,
                                                         weights => ARRAY[1.5, 1.8]::real[]))
       AS generous_rater_scores_higher;

-- similar items: cosine of the item factors, within [-1, 1]
SELECT count(*) AS neighbours, bool_and(abs(score) <= 1.000001) AS cosine
  FROM fashionrec.similar_items('mf-shop', 13, k => 5);

-- signed ratings are allowed; SGD fits them too
CREATE TABLE mf_signed AS SELECT u, i, r - 3 AS r FROM mf_ratings;
SELECT fashionrec.train('mf-signed', 'mf', 'mf_signed',
       '{"factors": 4, "solver": "sgd", "epochs": 400, "learning_rate": 0.02}');
SELECT bool_and(abs(fashionrec.predict('mf-signed', u, i) - (r - 3)) < 0.1) AS close,
       bool_or(fashionrec.predict('mf-signed', u, i) < 0) AS negative_predictions
  FROM mf_test WHERE r BETWEEN 1.75 AND 4.25;

-- the same seed gives the same model
SELECT fashionrec.train('mf-seed-a', 'mf', 'mf_ratings', '{"factors": 3, "solver": "sgd", "seed": 5}');
SELECT fashionrec.train('mf-seed-b', 'mf', 'mf_ratings', '{"factors": 3, "solver": "sgd", "seed": 5}');
SELECT count(*) AS differing
  FROM mf_test t
 WHERE fashionrec.predict('mf-seed-a', t.u, t.i) IS DISTINCT FROM fashionrec.predict('mf-seed-b', t.u, t.i);

-- the defaults (50 factors, 10 ALS sweeps)
SELECT fashionrec.train('mf-default', 'mf', 'mf_ratings');
SELECT params, bool_and(abs(fashionrec.predict('mf-default', u, i) - r) < 0.1) AS close
  FROM fashionrec.model, mf_test
 WHERE name = 'mf-default' AND r BETWEEN 1.75 AND 4.25 GROUP BY params;

-- invalid parameters: unknown key, wrong type, out of range, bad choice
-- (terse: the hint lists every parameter, including the generic source ones)
\set VERBOSITY terse
SELECT fashionrec.train('mf-bad', 'mf', 'mf_ratings', '{"alpha": 1}');
\set VERBOSITY default
SELECT fashionrec.train('mf-bad', 'mf', 'mf_ratings', '{"factors": "50"}');
SELECT fashionrec.train('mf-bad', 'mf', 'mf_ratings', '{"factors": 0}');
SELECT fashionrec.train('mf-bad', 'mf', 'mf_ratings', '{"iterations": 1.5}');
SELECT fashionrec.train('mf-bad', 'mf', 'mf_ratings', '{"regularization": -1}');
SELECT fashionrec.train('mf-bad', 'mf', 'mf_ratings', '{"bias_regularization": "high"}');
SELECT fashionrec.train('mf-bad', 'mf', 'mf_ratings', '{"solver": "adam"}');
SELECT fashionrec.train('mf-bad', 'mf', 'mf_ratings', '{"epochs": 0}');
SELECT fashionrec.train('mf-bad', 'mf', 'mf_ratings', '{"learning_rate": 0}');
SELECT fashionrec.train('mf-bad', 'mf', 'mf_ratings', '{"learning_rate": 2}');
SELECT fashionrec.train('mf-bad', 'mf', 'mf_ratings', '{"seed": 1e12}');
SELECT count(*) AS bad_models FROM fashionrec.model WHERE name = 'mf-bad';

-- zero regularisation with one rating per user: the ridge system is singular
SELECT fashionrec.train('mf-singular', 'mf', 'SELECT 1, 2, 4.0',
       '{"factors": 2, "regularization": 0, "bias_regularization": 0}');

-- too large a learning rate makes SGD diverge: an error, no model
SELECT fashionrec.train('mf-diverged', 'mf', 'mf_ratings',
       '{"solver": "sgd", "learning_rate": 1, "epochs": 50}');
SELECT count(*) AS diverged_models FROM fashionrec.model WHERE name = 'mf-diverged';

-- memory budget: 1000 factors for 3000 users and items do not fit in 2 MB
SET fashionrec.max_memory = '2MB';
SELECT fashionrec.train('mf-big', 'mf',
       'SELECT i % 3000, i % 2999, 1 + i % 5 FROM generate_series(1, 6000) i', '{"factors": 1000}');
RESET fashionrec.max_memory;
