-- Evaluation metrics: ranking metrics at k, rating errors, catalog coverage.
-- Hand-computed expectations are in the comments; d(p) = 1/log2(p + 1).
SET search_path = fashionrec, public;

-- the worked example: recommended 1 2 3 4 5, relevant {2,5,9}, k 5
-- hits at positions 2 and 5: P = 2/5, R = 2/3, AP = (1/2 + 2/5)/3 = 0.3,
-- NDCG = (d(2) + d(5)) / (d(1) + d(2) + d(3)) = 0.477624
SELECT round(precision_at_k('{1,2,3,4,5}', '{2,5,9}', 5)::numeric, 6) AS p,
       round(recall_at_k('{1,2,3,4,5}', '{2,5,9}', 5)::numeric, 6) AS r,
       round(ndcg_at_k('{1,2,3,4,5}', '{2,5,9}', 5)::numeric, 6) AS ndcg,
       round(map_at_k('{1,2,3,4,5}', '{2,5,9}', 5)::numeric, 6) AS ap,
       hit_rate_at_k('{1,2,3,4,5}', '{2,5,9}', 5) AS hit;

-- k cuts the list: at k 3 only the hit at 2 counts: P = 1/3, R = 1/3,
-- NDCG = d(2) / (d(1) + d(2) + d(3)) = 0.296082, AP = (1/2)/3
SELECT round(precision_at_k('{1,2,3,4,5}', '{2,5,9}', 3)::numeric, 6) AS p,
       round(recall_at_k('{1,2,3,4,5}', '{2,5,9}', 3)::numeric, 6) AS r,
       round(ndcg_at_k('{1,2,3,4,5}', '{2,5,9}', 3)::numeric, 6) AS ndcg,
       round(map_at_k('{1,2,3,4,5}', '{2,5,9}', 3)::numeric, 6) AS ap;

-- fewer recommendations than k: the missing slots are misses (P = 1/10),
-- the ideal DCG is over min(|relevant|, k) = 2: NDCG = 1/(1 + d(2)) = 0.613147
SELECT round(precision_at_k('{4}', '{4,5}', 10)::numeric, 6) AS p,
       round(recall_at_k('{4}', '{4,5}', 10)::numeric, 6) AS r,
       round(ndcg_at_k('{4}', '{4,5}', 10)::numeric, 6) AS ndcg,
       round(map_at_k('{4}', '{4,5}', 10)::numeric, 6) AS ap;

-- a recommendation repeated counts once; the repeat still takes its slot
SELECT precision_at_k('{7,7,8}', '{7}', 3) * 3 AS hits_in_top_3,
       recall_at_k('{7,7}', '{7,8}', 2) AS recall;
-- a relevant item listed twice is one relevant item
SELECT recall_at_k('{7}', '{7,7,8}', 5) AS recall;

-- a perfect list scores 1 whatever its order; no hit scores 0
SELECT ndcg_at_k('{3,1,2}', '{1,2,3}', 3) AS ndcg, map_at_k('{3,1,2}', '{1,2,3}', 3) AS ap,
       ndcg_at_k('{4,5,6}', '{1,2,3}', 3) AS ndcg_miss, hit_rate_at_k('{4,5,6}', '{1,2,3}', 3) AS hit_miss;

-- int[] arguments are cast to bigint[]
SELECT precision_at_k(ARRAY[1, 2], ARRAY[2], 2) AS from_int_arrays;
-- extreme ids
SELECT precision_at_k(ARRAY[-9223372036854775808, 9223372036854775807], ARRAY[9223372036854775807], 2) AS extreme_ids;

-- mean metrics over users with avg(); users without relevant items are NULL
-- and avg() skips them (user 3 below)
WITH lists(user_id, recommended, relevant) AS (VALUES
    (1, '{10,11,12}'::bigint[], '{11}'::bigint[]),
    (2, '{10,13,14}', '{10,14}'),
    (3, '{10,11,12}', '{}'))
SELECT round(avg(precision_at_k(recommended, relevant, 3))::numeric, 6) AS mean_p,
       round(avg(recall_at_k(recommended, relevant, 3))::numeric, 6) AS mean_r,
       round(avg(hit_rate_at_k(recommended, relevant, 3))::numeric, 6) AS hit_rate,
       count(ndcg_at_k(recommended, relevant, 3)) AS users_scored
  FROM lists;

-- rating errors: errors .5 0 -2: RMSE = sqrt(4.25/3) = 1.190238, MAE = 2.5/3
SELECT round(rmse('{3,4,5}', '{2.5,4,7}')::numeric, 6) AS rmse,
       round(mae('{3,4,5}', '{2.5,4,7}')::numeric, 6) AS mae;
-- the aggregate forms agree, and skip rows with a NULL
SELECT round(rmse_agg(p, a)::numeric, 6) AS rmse, round(mae_agg(p, a)::numeric, 6) AS mae
  FROM (VALUES (3, 2.5), (4, 4), (5, 7), (NULL, 1), (2, NULL)) AS v(p, a);
-- real[] arrays are accepted
SELECT round(rmse(ARRAY[1, 2]::real[], ARRAY[1, 4]::real[])::numeric, 6) AS rmse_real;
-- NaN and infinity propagate, as in avg()
SELECT rmse('{NaN,1}', '{1,1}') AS rmse_nan, mae('{Infinity}', '{1}') AS mae_inf,
       rmse_agg(p, a) AS agg_nan
  FROM (VALUES (1::float8, 'NaN'::float8)) AS v(p, a);

-- catalog coverage: items 1..4 of 10 recommended; NULL lists are skipped
SELECT catalog_coverage(r, 10) AS coverage
  FROM (VALUES ('{1,2,3}'::bigint[]), ('{3,4}'), (NULL), ('{}')) AS v(r);
-- every item recommended: coverage 1
SELECT catalog_coverage(ARRAY[i, i + 1], 11) AS coverage FROM generate_series(1, 10) AS i;
-- as a running window aggregate
SELECT i, round(catalog_coverage(ARRAY[i % 3], 3) OVER (ORDER BY i)::numeric, 6) AS coverage
  FROM generate_series(0, 3) AS i;

-- invalid k
SELECT precision_at_k('{1}', '{1}', 0);
SELECT ndcg_at_k('{1}', '{1}', -5);
-- limits: k = 1 is the smallest, a huge k is fine (no memory per slot)
SELECT precision_at_k('{1}', '{1}', 1) AS k_1, recall_at_k('{1}', '{1}', 2147483647) AS k_max;

-- NULL elements
SELECT precision_at_k('{1,NULL}', '{1}', 5);
SELECT recall_at_k('{1}', '{NULL}', 5);
SELECT rmse('{1,NULL}', '{1,2}');
SELECT catalog_coverage(r, 10) FROM (VALUES ('{1,NULL}'::bigint[])) AS v(r);

-- multi-dimensional arrays
SELECT map_at_k('{{1,2},{3,4}}', '{1}', 5);
SELECT hit_rate_at_k('{1}', '{{1},{2}}', 5);
SELECT mae('{{1,2}}', '{{1,2}}');

-- arrays of different lengths
SELECT rmse('{1,2}', '{1,2,3}');
SELECT mae('{}', '{1}');

-- catalog_size: positive, the same in every row, at least the distinct items
SELECT catalog_coverage(r, 0) FROM (VALUES ('{1}'::bigint[])) AS v(r);
SELECT catalog_coverage(r, NULL) FROM (VALUES ('{1}'::bigint[])) AS v(r);
SELECT catalog_coverage(r, n) FROM (VALUES ('{1}'::bigint[], 5), ('{2}', 6)) AS v(r, n);
SELECT catalog_coverage(r, 2) AS at_limit FROM (VALUES ('{1,2}'::bigint[])) AS v(r);
SELECT catalog_coverage(r, 2) FROM (VALUES ('{1,2,3}'::bigint[])) AS v(r);

-- a forged aggregate state is refused
SELECT rating_error_accum('{1,2}', 1, 2);
SELECT rmse_final('{1,NULL,3}');
SELECT mae_final('{{1,2,3}}');

-- NULL and empty inputs: STRICT functions give NULL; empty relevant is
-- undefined (NULL), an empty list with relevant items scores 0
SELECT precision_at_k(NULL, '{1}', 5) IS NULL AS null_list,
       precision_at_k('{1}', '{1}', NULL) IS NULL AS null_k,
       precision_at_k('{1}', '{}', 5) IS NULL AS empty_relevant,
       ndcg_at_k('{}', '{1}', 5) AS empty_list_ndcg,
       map_at_k('{}', '{1}', 5) AS empty_list_ap;
SELECT rmse('{}', '{}') IS NULL AS rmse_empty, mae(NULL, '{1}') IS NULL AS mae_null;
SELECT rmse_agg(p, a) IS NULL AS no_rows FROM (VALUES (1::float8, 2::float8)) AS v(p, a) WHERE false;
SELECT catalog_coverage(r, 5) IS NULL AS no_rows FROM (VALUES ('{1}'::bigint[])) AS v(r) WHERE false;
SELECT catalog_coverage(r, 5) IS NULL AS only_null_lists FROM (VALUES (NULL::bigint[])) AS v(r);
SELECT catalog_coverage(r, 5) AS only_empty_lists FROM (VALUES ('{}'::bigint[])) AS v(r);
