-- PureSVD: truncated SVD of the interactions, scores x_u V V^T.
-- The expected numbers come from numpy's exact SVD of the same 9 x 5 matrix
-- (singular values 3.4005, 2.2559, 1.4894, 1.1746, 0.8658); with 5 items
-- the random sketch spans every direction, so the randomized result is exact.
SET client_min_messages = warning;  -- progress NOTICEs carry timings
\set SHOW_CONTEXT never
CREATE TABLE svd_data (u bigint, i bigint);
INSERT INTO svd_data VALUES
  (1, 201), (1, 202), (1, 203),
  (2, 201), (2, 202),
  (3, 201), (3, 203),
  (4, 202), (4, 203), (4, 204),
  (5, 204), (5, 205),
  (6, 204), (6, 205),
  (7, 204),
  (8, 203), (8, 205),
  (9, 201), (9, 202), (9, 203), (9, 205);

SELECT fashionrec.train('svd-shop', 'svd', 'svd_data', '{"factors": 2}');
SELECT algorithm, params,
       info ->> 'factors' AS factors,
       round((info ->> 'explained_energy')::numeric, 4) AS energy,
       round((info ->> 'largest_singular_value')::numeric, 4) AS s1,
       round((info ->> 'smallest_singular_value')::numeric, 4) AS s2
  FROM fashionrec.model WHERE name = 'svd-shop';

-- user 2 has 201, 202: x V V^T = (0.6991, 0.6173, 0.6396, -0.1932, 0.0119)
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.recommend('svd-shop', 2, k => 5);
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.recommend('svd-shop', 2, k => 5, exclude_seen => false);
-- user 7 has 204: (-0.1599, -0.0333, 0.0629, 0.5519, 0.4655)
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.recommend('svd-shop', 7, k => 3);
SELECT round(fashionrec.predict('svd-shop', 7, 205)::numeric, 4) AS predicted;

-- similar items: cosine of the item factors; 203 -> 202 0.9749, 201 0.8776, ...
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.similar_items('svd-shop', 203, k => 4);

-- fold-in: 201 + 2 * 204 -> (0.0577, 0.2550, 0.4483, 0.9439, 0.8861)
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.recommend_for_items('svd-shop', ARRAY[201, 204], k => 5,
                                      weights => ARRAY[1, 2]::real[], exclude_seen => false);
-- a session equal to user 2's history scores like user 2
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.recommend_for_items('svd-shop', ARRAY[201, 202], k => 3);

-- embeddings: x_u V for the user, the row of V for the item; their dot product is the score
SELECT array_length(fashionrec.item_embedding('svd-shop', 203), 1) AS dim,
       round((SELECT sum(a * b)
                FROM unnest(fashionrec.user_embedding('svd-shop', 2),
                            fashionrec.item_embedding('svd-shop', 203)) t(a, b))::numeric, 4) AS dot;
-- batch scoring (one GEMM per block of users) gives the same lists
SELECT user_id, item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.recommend_all('svd-shop', ARRAY[2, 7], 2);
-- a single candidate is scored on its own
SELECT item_id, round(score::numeric, 4) AS score
  FROM fashionrec.recommend('svd-shop', 7, candidates => ARRAY[203]);

-- normalisations change the subspace, not how users are projected:
-- user 2 with item normalisation (0.6245 for 203), user normalisation (0.6527)
SELECT fashionrec.train('svd-item', 'svd', 'svd_data', '{"factors": 2, "normalization": "item"}');
SELECT item_id, round(score::numeric, 4) AS score
  FROM fashionrec.recommend('svd-item', 2, k => 5, exclude_seen => false) ORDER BY item_id;
SELECT fashionrec.train('svd-user', 'svd', 'svd_data', '{"factors": 2, "normalization": "user"}');
SELECT item_id, round(score::numeric, 4) AS score
  FROM fashionrec.recommend('svd-user', 2, k => 5, exclude_seen => false) ORDER BY item_id;

-- more factors than items: clamped to 5, which reproduces every row exactly
SELECT fashionrec.train('svd-full', 'svd', 'svd_data', '{"factors": 64}');
SELECT info ->> 'factors' AS factors,
       round((info ->> 'explained_energy')::numeric, 4) AS energy
  FROM fashionrec.model WHERE name = 'svd-full';
SELECT item_id, round(score::numeric, 4) AS score
  FROM fashionrec.recommend('svd-full', 2, k => 5, exclude_seen => false) ORDER BY item_id;

-- the same seed gives the same model; a larger matrix where the sketch is random
CREATE TABLE svd_big AS
  SELECT u, i FROM generate_series(1, 300) u, generate_series(1, 120) i
   WHERE (u * 7 + i * 13) % 11 < 3 OR (u % 5 = i % 5 AND (u + i) % 3 = 0);
SELECT fashionrec.train('svd-seed-a', 'svd', 'svd_big', '{"factors": 8, "seed": 7}');
SELECT fashionrec.train('svd-seed-b', 'svd', 'svd_big', '{"factors": 8, "seed": 7}');
SELECT count(*) AS differing_items
  FROM fashionrec.recommend('svd-seed-a', 1, k => 20) a
  FULL JOIN fashionrec.recommend('svd-seed-b', 1, k => 20) b USING (rank)
 WHERE a.item_id IS DISTINCT FROM b.item_id OR a.score IS DISTINCT FROM b.score;

-- invalid parameters
SELECT fashionrec.train('svd-bad', 'svd', 'svd_data', '{"factors": 0}');
SELECT fashionrec.train('svd-bad', 'svd', 'svd_data', '{"factors": 2.5}');
SELECT fashionrec.train('svd-bad', 'svd', 'svd_data', '{"power_iterations": -1}');
SELECT fashionrec.train('svd-bad', 'svd', 'svd_data', '{"normalization": "zscore"}');
SELECT fashionrec.train('svd-bad', 'svd', 'svd_data', '{"normalization": 1}');
SELECT fashionrec.train('svd-bad', 'svd', 'svd_data', '{"popularity_exponent": 3}');
SELECT fashionrec.train('svd-bad', 'svd', 'svd_data', '{"seed": -5}');
-- (terse: the hint lists every parameter, source ones included)
\set VERBOSITY terse
SELECT fashionrec.train('svd-bad', 'svd', 'svd_data', '{"rank": 8}');
\set VERBOSITY default
SELECT count(*) AS bad_models FROM fashionrec.model WHERE name = 'svd-bad';

-- memory budget: 20000 factors' worth of sketch over 3000 items does not fit in 2 MB
SET fashionrec.max_memory = '2MB';
SELECT fashionrec.train('svd-big', 'svd',
       'SELECT i % 3000, i % 2999, 1 FROM generate_series(1, 6000) i', '{"factors": 1000}');
RESET fashionrec.max_memory;
