-- Item-KNN: item-item cosine / BM25 neighbours from co-occurrence.
-- Same 6 x 5 data as sql/ease.sql, weights 1.  Cosine = co-occurrence /
-- sqrt(users of i * users of j); users per item: 101: 3, 102: 4, 103: 3,
-- 104: 3, 105: 2.  Expected values checked against numpy.
SET client_min_messages = warning;  -- progress NOTICEs carry timings
\set SHOW_CONTEXT never
CREATE TABLE knn_data (u bigint, i bigint);
INSERT INTO knn_data VALUES
  (1, 101), (1, 102), (1, 105),
  (2, 102), (2, 103),
  (3, 101), (3, 103), (3, 104),
  (4, 101), (4, 102), (4, 103),
  (5, 104), (5, 105),
  (6, 102), (6, 104);

-- two neighbours per item:
--   101: 103 (2/3 = 0.6667), 102 (2/sqrt(12) = 0.5774)
--   102: 101, 103 (both 0.5774; the lower id wins the tie)
--   103: 101 (0.6667), 102 (0.5774)
--   104: 105 (1/sqrt(6) = 0.4082), 101 (0.3333, tied with 103)
--   105: 101, 104 (both 0.4082)
SELECT fashionrec.train('knn-shop', 'itemknn', 'knn_data', '{"neighbors": 2}');
SELECT algorithm, params, info FROM fashionrec.model WHERE name = 'knn-shop';
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.similar_items('knn-shop', 101);
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.similar_items('knn-shop', 102);
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.similar_items('knn-shop', 104);
-- only neighbours are similar: fewer rows than k, none for 999 (unknown)
SELECT count(*) AS similar_to_105 FROM fashionrec.similar_items('knn-shop', 105, k => 10);
SELECT count(*) AS similar_to_999 FROM fashionrec.similar_items('knn-shop', 999);

-- user 1 has 101, 102, 105: 103 = 0.6667 (from 101) + 0.5774 (from 102) = 1.2440,
-- 104 = 0.4082 (from 105)
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.recommend('knn-shop', 1, k => 5);
-- user 5 has 104, 105: 101 = 0.3333 + 0.4082 = 0.7416; 102 and 103 are
-- nobody's neighbour here and follow with 0
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.recommend('knn-shop', 5, k => 5);
SELECT round(fashionrec.predict('knn-shop', 5, 101)::numeric, 4) AS predicted;

-- fold-in: 2 * neighbours of 104 + neighbours of 105 -> 105: 0.8165, 101: 0.6667 + 0.4082, 104: 0.4082
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.recommend_for_items('knn-shop', ARRAY[104, 105], k => 5,
                                      weights => ARRAY[2, 1]::real[], exclude_seen => false);
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.recommend_for_items('knn-shop', ARRAY[101, 102, 105], k => 5);

-- all neighbours by default (100 per item); item 103 and 105 never co-occur
SELECT fashionrec.train('knn-all', 'itemknn', 'knn_data');
SELECT info FROM fashionrec.model WHERE name = 'knn-all';
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.similar_items('knn-all', 103);

-- shrinkage 10: co / (sqrt(n_i n_j) + 10); 101 -> 103 0.1538, 102 0.1485, 105 0.0803, 104 0.0769
SELECT fashionrec.train('knn-shrunk', 'itemknn', 'knn_data', '{"shrinkage": 10}');
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.similar_items('knn-shrunk', 101);

-- BM25 (k1 1.2, b 0.75): 101 -> 103 0.0996, 102 0.0876, 105 0.0577, 104 0.0498;
-- 104 -> 105 0.3021, 102 0.2296, then 101 and 103 at 0.0498
SELECT fashionrec.train('knn-bm25', 'itemknn', 'knn_data', '{"similarity": "bm25"}');
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.similar_items('knn-bm25', 101);
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.similar_items('knn-bm25', 104, k => 2);

-- weights shape the similarity: user 1 bought 102 three times, so
-- 102 -> 101 4/sqrt(3 * 12) = 0.6667, 105 0.6124, 103 0.3333, 104 0.1667
SELECT fashionrec.train('knn-weighted', 'itemknn',
       'SELECT u, i, CASE WHEN u = 1 AND i = 102 THEN 3 ELSE 1 END FROM knn_data');
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.similar_items('knn-weighted', 102);

-- invalid parameters
SELECT fashionrec.train('knn-bad', 'itemknn', 'knn_data', '{"neighbors": 0}');
SELECT fashionrec.train('knn-bad', 'itemknn', 'knn_data', '{"neighbors": "many"}');
SELECT fashionrec.train('knn-bad', 'itemknn', 'knn_data', '{"similarity": "jaccard"}');
SELECT fashionrec.train('knn-bad', 'itemknn', 'knn_data', '{"shrinkage": -1}');
SELECT fashionrec.train('knn-bad', 'itemknn', 'knn_data', '{"bm25_b": 1.5}');
SELECT fashionrec.train('knn-bad', 'itemknn', 'knn_data', '{"bm25_k1": -0.1}');
-- (terse: the hint lists every parameter, source ones included)
\set VERBOSITY terse
SELECT fashionrec.train('knn-bad', 'itemknn', 'knn_data', '{"k": 10}');
\set VERBOSITY default
SELECT count(*) AS bad_models FROM fashionrec.model WHERE name = 'knn-bad';

-- memory budget: 3000 items x 1000 neighbours do not fit in 2 MB, 3000 x 20 do
SET fashionrec.max_memory = '2MB';
SELECT fashionrec.train('knn-big', 'itemknn',
       'SELECT i % 50, i, 1 FROM generate_series(1, 3000) i', '{"neighbors": 1000}');
SELECT fashionrec.train('knn-big', 'itemknn',
       'SELECT i % 50, i, 1 FROM generate_series(1, 3000) i', '{"neighbors": 20}');
SELECT info FROM fashionrec.model WHERE name = 'knn-big';
RESET fashionrec.max_memory;
