-- pgTAP: evaluation metrics — signatures and labels, SQLSTATEs, hand-computed
-- values to 1e-12, agreement with an independent SQL formulation on random
-- lists, and aggregates that give the same answer in parallel.
BEGIN;
SELECT plan(56);

-- ---- signatures and labels ------------------------------------------------
SELECT has_function('fashionrec', f, ARRAY['bigint[]', 'bigint[]', 'integer'], f || ' exists')
  FROM unnest(ARRAY['precision_at_k', 'recall_at_k', 'ndcg_at_k', 'map_at_k', 'hit_rate_at_k']) AS f;
SELECT has_function('fashionrec', f, ARRAY['double precision[]', 'double precision[]'], f || ' exists')
  FROM unnest(ARRAY['rmse', 'mae']) AS f;
SELECT is_aggregate('fashionrec', f, ARRAY['double precision', 'double precision'], f || ' is an aggregate')
  FROM unnest(ARRAY['rmse_agg', 'mae_agg']) AS f;
SELECT is_aggregate('fashionrec', 'catalog_coverage', ARRAY['bigint[]', 'bigint'],
                    'catalog_coverage is an aggregate');

SELECT is(
    (SELECT array_agg(p.proname::text ORDER BY p.proname)
       FROM pg_proc p
      WHERE p.pronamespace = 'fashionrec'::regnamespace
        AND p.proname IN ('precision_at_k', 'recall_at_k', 'ndcg_at_k', 'map_at_k',
                          'hit_rate_at_k', 'rmse', 'mae')
        AND p.provolatile = 'i' AND p.proisstrict AND p.proparallel = 's'),
    ARRAY['hit_rate_at_k', 'mae', 'map_at_k', 'ndcg_at_k', 'precision_at_k', 'recall_at_k', 'rmse'],
    'scalar metrics are IMMUTABLE STRICT PARALLEL SAFE');
SELECT is(
    (SELECT count(*)::int FROM pg_proc p
      WHERE p.pronamespace = 'fashionrec'::regnamespace
        AND p.proname IN ('rmse_agg', 'mae_agg', 'catalog_coverage')
        AND p.prokind = 'a' AND p.proparallel = 's'),
    3, 'the aggregates are PARALLEL SAFE');
SELECT is(
    (SELECT count(*)::int FROM pg_aggregate a
      WHERE a.aggfnoid IN ('fashionrec.rmse_agg(float8, float8)'::regprocedure,
                           'fashionrec.mae_agg(float8, float8)'::regprocedure,
                           'fashionrec.catalog_coverage(bigint[], bigint)'::regprocedure)
        AND a.aggcombinefn <> 0),
    3, 'the aggregates have combine functions');

-- ---- hand-computed values (arithmetic in the comments) -----------------------
-- d(p) = 1/log2(p+1): d(1) = 1, d(2) = 0.6309297535714575, d(3) = 0.5,
-- d(4) = 0.43067655807339306, d(5) = 0.38685280723454163

-- rec 1 2 3 4 5, rel {2,5,9}, k 5: hits at 2, 5
-- NDCG = (d(2) + d(5)) / (d(1) + d(2) + d(3)) = 1.0177825608059991 / 2.1309297535714575
SELECT cmp_ok(abs(fashionrec.ndcg_at_k('{1,2,3,4,5}', '{2,5,9}', 5) - 0.4776237035032179), '<', 1e-12::float8,
              'ndcg: hits at 2 and 5 of 3 relevant');
-- AP = (1/2 + 2/5) / min(3, 5) = 0.3
SELECT cmp_ok(abs(fashionrec.map_at_k('{1,2,3,4,5}', '{2,5,9}', 5) - 0.3), '<', 1e-12::float8,
              'map: (1/2 + 2/5) / 3');
SELECT cmp_ok(abs(fashionrec.precision_at_k('{1,2,3,4,5}', '{2,5,9}', 5) - 0.4), '<', 1e-12::float8,
              'precision: 2 / 5');
SELECT cmp_ok(abs(fashionrec.recall_at_k('{1,2,3,4,5}', '{2,5,9}', 5) - 2.0 / 3.0), '<', 1e-12::float8,
              'recall: 2 / 3');

-- rec 1 9 2 8 3, rel {1,2,3,4}, k 5: hits at 1, 3, 5
-- NDCG = (d(1) + d(3) + d(5)) / (d(1) + d(2) + d(3) + d(4)) = 1.8868528072345416 / 2.5616063116448506
SELECT cmp_ok(abs(fashionrec.ndcg_at_k('{1,9,2,8,3}', '{1,2,3,4}', 5) - 0.7365896932159578), '<', 1e-12::float8,
              'ndcg: hits at 1, 3, 5 of 4 relevant');
-- AP = (1/1 + 2/3 + 3/5) / min(4, 5) = 2.2666666666666666 / 4
SELECT cmp_ok(abs(fashionrec.map_at_k('{1,9,2,8,3}', '{1,2,3,4}', 5) - 0.5666666666666667), '<', 1e-12::float8,
              'map: (1 + 2/3 + 3/5) / 4');
SELECT cmp_ok(abs(fashionrec.recall_at_k('{1,9,2,8,3}', '{1,2,3,4}', 5) - 0.75), '<', 1e-12::float8,
              'recall: 3 / 4');

-- rec 4, rel {4,5}, k 10: NDCG = d(1) / (d(1) + d(2)) = 1 / 1.6309297535714575
SELECT cmp_ok(abs(fashionrec.ndcg_at_k('{4}', '{4,5}', 10) - 0.6131471927654584), '<', 1e-12::float8,
              'ndcg: ideal over min(|relevant|, k) when the list is short');
SELECT cmp_ok(abs(fashionrec.precision_at_k('{4}', '{4,5}', 10) - 0.1), '<', 1e-12::float8,
              'precision: denominator is k, not the list length');

-- rec 3 7 7, rel {7,7,8}, k 3: relevant is {7,8}; 7 is a hit at 2 only
-- NDCG = d(2) / (d(1) + d(2)) = 0.6309297535714575 / 1.6309297535714575;
-- AP = (1/2) / min(2, 3) = 0.25
SELECT cmp_ok(abs(fashionrec.ndcg_at_k('{3,7,7}', '{7,7,8}', 3) - 0.38685280723454163), '<', 1e-12::float8,
              'ndcg: a repeated recommendation counts once');
SELECT cmp_ok(abs(fashionrec.map_at_k('{3,7,7}', '{7,7,8}', 3) - 0.25), '<', 1e-12::float8,
              'map: a repeated recommendation counts once');
SELECT cmp_ok(abs(fashionrec.precision_at_k('{3,7,7}', '{7,7,8}', 3) - 1.0 / 3.0), '<', 1e-12::float8,
              'precision: a repeated recommendation counts once');
SELECT is(fashionrec.hit_rate_at_k('{3,7,7}', '{8}', 2), 0::float8, 'hit rate: hit below the cut-off is no hit');
SELECT is(fashionrec.hit_rate_at_k('{3,7,7}', '{8,3}', 2), 1::float8, 'hit rate: one hit is enough');

-- predicted 3 4 5, actual 2.5 4 7: errors .5 0 -2
-- RMSE = sqrt((0.25 + 0 + 4) / 3) = 1.1902380714238083; MAE = 2.5 / 3
SELECT cmp_ok(abs(fashionrec.rmse('{3,4,5}', '{2.5,4,7}') - 1.1902380714238083), '<', 1e-12::float8, 'rmse');
SELECT cmp_ok(abs(fashionrec.mae('{3,4,5}', '{2.5,4,7}') - 0.8333333333333334), '<', 1e-12::float8, 'mae');
SELECT cmp_ok(abs((SELECT fashionrec.rmse_agg(p, a) FROM (VALUES (3, 2.5), (4, 4), (5, 7)) AS v(p, a))
                  - 1.1902380714238083), '<', 1e-12::float8, 'rmse_agg');
SELECT cmp_ok(abs((SELECT fashionrec.mae_agg(p, a) FROM (VALUES (3, 2.5), (4, 4), (5, 7)) AS v(p, a))
                  - 0.8333333333333334), '<', 1e-12::float8, 'mae_agg');

-- ---- undefined and empty --------------------------------------------------------
SELECT ok(fashionrec.ndcg_at_k('{1,2}', '{}', 2) IS NULL AND fashionrec.precision_at_k('{1,2}', '{}', 2) IS NULL
          AND fashionrec.recall_at_k('{1,2}', '{}', 2) IS NULL AND fashionrec.map_at_k('{1,2}', '{}', 2) IS NULL
          AND fashionrec.hit_rate_at_k('{1,2}', '{}', 2) IS NULL,
          'every ranking metric is NULL without relevant items');
SELECT is(fashionrec.ndcg_at_k('{}', '{1}', 2), 0::float8, 'an empty list scores 0');
SELECT ok(fashionrec.rmse('{}', '{}') IS NULL AND fashionrec.mae('{}', '{}') IS NULL, 'rating errors of nothing are NULL');

-- ---- SQLSTATEs ---------------------------------------------------------------------
SELECT throws_ok($$SELECT fashionrec.precision_at_k('{1}', '{1}', 0)$$, '22023', NULL, 'k = 0 is 22023');
SELECT throws_ok($$SELECT fashionrec.map_at_k('{1}', '{1}', -1)$$, '22023', NULL, 'k < 0 is 22023');
SELECT throws_ok($$SELECT fashionrec.ndcg_at_k('{1,NULL}', '{1}', 2)$$, '22004', NULL, 'NULL element in recommended is 22004');
SELECT throws_ok($$SELECT fashionrec.recall_at_k('{1}', '{NULL}', 2)$$, '22004', NULL, 'NULL element in relevant is 22004');
SELECT throws_ok($$SELECT fashionrec.mae('{NULL}', '{1}')$$, '22004', NULL, 'NULL rating is 22004');
SELECT throws_ok($$SELECT fashionrec.hit_rate_at_k('{{1,2}}', '{1}', 2)$$, '2202E', NULL, '2-D recommended is 2202E');
SELECT throws_ok($$SELECT fashionrec.rmse('{{1}}', '{{1}}')$$, '2202E', NULL, '2-D ratings are 2202E');
SELECT throws_ok($$SELECT fashionrec.rmse('{1,2}', '{1}')$$, '22023', NULL, 'different lengths are 22023');
SELECT throws_ok($$SELECT fashionrec.rating_error_accum('{1}', 1, 1)$$, '22023', NULL, 'a forged state is 22023');
SELECT throws_ok($$SELECT fashionrec.catalog_coverage(r, 0) FROM (VALUES ('{1}'::bigint[])) v(r)$$,
                 '22023', NULL, 'catalog_size 0 is 22023');
SELECT throws_ok($$SELECT fashionrec.catalog_coverage(r, 1) FROM (VALUES ('{1,2}'::bigint[])) v(r)$$,
                 '22023', NULL, 'more distinct items than catalog_size is 22023');

-- ---- agreement with an independent SQL formulation on random lists ---------------
-- 300 users, lists of 0..15 items (repeats possible) from 40 items, relevant
-- sets of 0..8 items, k from 1 to 12; the reference counts only the first
-- occurrence of an item and uses ln(x)/ln(2) for log2.
CREATE TEMP TABLE lists AS
SELECT u,
       ARRAY(SELECT (abs(hashint4(u * 1000 + j)) % 40)::bigint
               FROM generate_series(1, abs(hashint4(u)) % 16) AS j) AS rec,
       ARRAY(SELECT (abs(hashint4(u * 1000 + 500 + j)) % 40)::bigint
               FROM generate_series(1, abs(hashint4(u + 7)) % 9) AS j) AS rel,
       1 + abs(hashint4(u + 13)) % 12 AS k
  FROM generate_series(1, 300) AS u;

CREATE TEMP TABLE reference AS
WITH pos AS (
    SELECT l.u, l.k, x.item, x.p,
           x.item = ANY (l.rel) AND x.p = min(x.p) OVER (PARTITION BY l.u, x.item) AS hit
      FROM lists l, unnest(l.rec) WITH ORDINALITY AS x(item, p)
     WHERE x.p <= l.k),
hits AS (
    SELECT u, p, hit, count(*) FILTER (WHERE hit) OVER (PARTITION BY u ORDER BY p) AS hits_so_far
      FROM pos),
nrel AS (
    SELECT l.u, l.k, (SELECT count(DISTINCT r) FROM unnest(l.rel) r) AS n FROM lists l)
SELECT nrel.u,
       CASE WHEN n = 0 THEN NULL ELSE coalesce(sum(1.0::float8) FILTER (WHERE hit), 0) / nrel.k END AS p,
       CASE WHEN n = 0 THEN NULL ELSE coalesce(sum(1.0::float8) FILTER (WHERE hit), 0) / n END AS r,
       CASE WHEN n = 0 THEN NULL
            ELSE coalesce(sum(ln(2::float8) / ln(hits.p + 1::float8)) FILTER (WHERE hit), 0)
                 / (SELECT sum(ln(2::float8) / ln(i + 1::float8)) FROM generate_series(1, least(n, nrel.k)) AS i) END AS ndcg,
       CASE WHEN n = 0 THEN NULL
            ELSE coalesce(sum(hits_so_far::float8 / hits.p) FILTER (WHERE hit), 0) / least(n, nrel.k) END AS ap,
       CASE WHEN n = 0 THEN NULL WHEN bool_or(hit) THEN 1::float8 ELSE 0::float8 END AS hit
  FROM nrel LEFT JOIN hits ON hits.u = nrel.u
 GROUP BY nrel.u, nrel.k, nrel.n;

SELECT is((SELECT count(*)::int FROM reference WHERE p IS NULL) > 0
          AND (SELECT count(*)::int FROM reference WHERE hit = 0) > 0
          AND (SELECT count(*)::int FROM reference WHERE r > 0 AND r < 1) > 0,
          true, 'the random lists cover empty relevant sets, misses and partial hits');
SELECT is((SELECT count(*)::int FROM lists l JOIN reference f USING (u)
            WHERE (fashionrec.precision_at_k(l.rec, l.rel, l.k) IS NULL) <> (f.p IS NULL)
               OR abs(fashionrec.precision_at_k(l.rec, l.rel, l.k) - f.p) > 1e-12), 0,
          'precision_at_k agrees with the SQL formula on 300 random lists');
SELECT is((SELECT count(*)::int FROM lists l JOIN reference f USING (u)
            WHERE (fashionrec.recall_at_k(l.rec, l.rel, l.k) IS NULL) <> (f.r IS NULL)
               OR abs(fashionrec.recall_at_k(l.rec, l.rel, l.k) - f.r) > 1e-12), 0,
          'recall_at_k agrees with the SQL formula on 300 random lists');
SELECT is((SELECT count(*)::int FROM lists l JOIN reference f USING (u)
            WHERE (fashionrec.ndcg_at_k(l.rec, l.rel, l.k) IS NULL) <> (f.ndcg IS NULL)
               OR abs(fashionrec.ndcg_at_k(l.rec, l.rel, l.k) - f.ndcg) > 1e-12), 0,
          'ndcg_at_k agrees with the SQL formula on 300 random lists');
SELECT is((SELECT count(*)::int FROM lists l JOIN reference f USING (u)
            WHERE (fashionrec.map_at_k(l.rec, l.rel, l.k) IS NULL) <> (f.ap IS NULL)
               OR abs(fashionrec.map_at_k(l.rec, l.rel, l.k) - f.ap) > 1e-12), 0,
          'map_at_k agrees with the SQL formula on 300 random lists');
SELECT is((SELECT count(*)::int FROM lists l JOIN reference f USING (u)
            WHERE fashionrec.hit_rate_at_k(l.rec, l.rel, l.k) IS DISTINCT FROM f.hit), 0,
          'hit_rate_at_k agrees with the SQL formula on 300 random lists');
SELECT cmp_ok(abs((SELECT fashionrec.catalog_coverage(rec, 40) FROM lists)
                  - (SELECT count(DISTINCT i) / 40.0 FROM lists, unnest(rec) AS i)::float8),
              '<', 1e-12::float8, 'catalog_coverage agrees with count(DISTINCT)');

-- ---- aggregates in parallel -----------------------------------------------------------
-- many distinct ids: the coverage state compacts and grows several times
-- (a plain table: parallel workers cannot read temporary ones)
CREATE TABLE fr_tap_many AS
SELECT g AS u, ARRAY[g::bigint, (g * 7919) % 1000003] AS rec,
       (g % 11)::float8 / 2 AS p, (g % 7)::float8 AS a
  FROM generate_series(1, 200000) AS g;
ANALYZE fr_tap_many;
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    plan text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
        plan := plan || line || E'\n';
    END LOOP;
    RETURN plan;
END
$$;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
SELECT matches(pg_temp.plan_of('SELECT fashionrec.catalog_coverage(rec, 1000003), fashionrec.rmse_agg(p, a),
                                       fashionrec.mae_agg(p, a) FROM fr_tap_many'),
               'Partial Aggregate', 'the aggregates are planned in parallel');
CREATE TEMP TABLE par AS
SELECT fashionrec.catalog_coverage(rec, 1000003) AS cov, fashionrec.rmse_agg(p, a) AS rmse,
       fashionrec.mae_agg(p, a) AS mae
  FROM fr_tap_many;

SELECT cmp_ok(abs((SELECT cov FROM par)
                  - (SELECT count(DISTINCT i) / 1000003.0 FROM fr_tap_many, unnest(rec) AS i)::float8),
              '<', 1e-12::float8, 'catalog_coverage over 400k ids, parallel, equals count(DISTINCT)');
SELECT cmp_ok(abs((SELECT rmse FROM par) - (SELECT sqrt(avg((p - a) ^ 2)) FROM fr_tap_many)), '<', 1e-9::float8,
              'rmse_agg, parallel, equals sqrt(avg(error^2))');
SELECT cmp_ok(abs((SELECT mae FROM par) - (SELECT avg(abs(p - a)) FROM fr_tap_many)), '<', 1e-9::float8,
              'mae_agg, parallel, equals avg(|error|)');

SELECT * FROM finish();
ROLLBACK;
