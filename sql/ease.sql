-- EASE: closed-form item-item weights (Steck 2019).
-- The data are the 6 x 5 matrix of test/unit/test_ease.c, whose weight
-- matrix B (lambda 2) was computed independently with numpy; the weights
-- of 2 and 3 below must not matter, EASE uses presence only.
CREATE TABLE ease_data (u bigint, i bigint, w real);
INSERT INTO ease_data VALUES
  (1, 101, 1), (1, 102, 2), (1, 105, 1),
  (2, 102, 1), (2, 103, 1),
  (3, 101, 3), (3, 103, 1), (3, 104, 1),
  (4, 101, 1), (4, 102, 1), (4, 103, 1),
  (5, 104, 1), (5, 105, 1),
  (6, 102, 1), (6, 104, 1);

SET client_min_messages = warning;  -- progress NOTICEs carry timings
\set SHOW_CONTEXT never
SELECT fashionrec.train('ease-shop', 'ease', 'SELECT u, i, w FROM ease_data', '{"lambda": 2}');
SELECT algorithm, params, info FROM fashionrec.model WHERE name = 'ease-shop';

-- user 1 has 101, 102, 105: x B over the other items is
--   103: B[101,103] + B[102,103] + B[105,103] = 0.3146 + 0.2360 - 0.1685 = 0.3820
--   104: 0.0751 + 0.0563 + 0.2172 = 0.3485
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.recommend('ease-shop', 1, k => 5);
-- without excluding the history, own items score by the others' weights
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.recommend('ease-shop', 1, k => 5, exclude_seen => false);
-- an unknown user gets the popularity fallback
SELECT item_id, rank FROM fashionrec.recommend('ease-shop', 999, k => 3);

-- similar items: row 101 of B (0.2353, 0.3146, 0.0751, 0.1761)
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.similar_items('ease-shop', 101, k => 10);
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.similar_items('ease-shop', 101, k => 2, candidates => ARRAY[104, 105]);

-- fold-in: 1 * row 101 + 2 * row 105; 103 = 0.3146 - 2 * 0.1685 = -0.0225
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.recommend_for_items('ease-shop', ARRAY[101, 105], k => 5,
                                      weights => ARRAY[1, 2]::real[]);
-- the same as user 1 when the session is user 1's history
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.recommend_for_items('ease-shop', ARRAY[101, 102, 105], k => 5);
SELECT round(fashionrec.predict('ease-shop', 1, 103)::numeric, 4) AS predicted;

-- max_items: only the 3 most popular items are modelled (102 has 4 users;
-- 101, 103, 104 have 3 and the lower ids win); 104 and 105 are never
-- recommended and have no similar items
SELECT fashionrec.train('ease-top3', 'ease', 'SELECT u, i, w FROM ease_data',
                        '{"lambda": 2, "max_items": 3}');
SELECT info FROM fashionrec.model WHERE name = 'ease-top3';
-- user 5 has only 104 and 105, which are not modelled: everything scores 0
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.recommend('ease-top3', 5, k => 5);
-- user 6 has 102 and 104: row 102 of the 3-item B (0.2308, -, 0.2308);
-- 101 and 103 tie exactly only in exact arithmetic, so no ranks here
SELECT item_id, round(score::numeric, 4) AS score
  FROM fashionrec.recommend('ease-top3', 6, k => 5) ORDER BY item_id;
SELECT count(*) AS similar_to_104 FROM fashionrec.similar_items('ease-top3', 104);
SELECT item_id, round(score::numeric, 4) AS score
  FROM fashionrec.similar_items('ease-top3', 101);

-- invalid parameters
SELECT fashionrec.train('ease-bad', 'ease', 'ease_data', '{"lambda": -1}');
SELECT fashionrec.train('ease-bad', 'ease', 'ease_data', '{"lambda": 0}');
SELECT fashionrec.train('ease-bad', 'ease', 'ease_data', '{"lambda": "high"}');
SELECT fashionrec.train('ease-bad', 'ease', 'ease_data', '{"max_items": 2.5}');
SELECT fashionrec.train('ease-bad', 'ease', 'ease_data', '{"max_items": -1}');
-- (terse: the hint lists every parameter, source ones included)
\set VERBOSITY terse
SELECT fashionrec.train('ease-bad', 'ease', 'ease_data', '{"lamda": 10}');
\set VERBOSITY default
SELECT count(*) AS bad_models FROM fashionrec.model WHERE name = 'ease-bad';

-- memory budget: 2000 items need a 2000 x 2000 float matrix (15.3 MB); with 2 MB the training is
-- refused before it starts, and the hint says how many items fit
SET fashionrec.max_memory = '2MB';
SELECT fashionrec.train('ease-big', 'ease',
       'SELECT i % 50, i, 1 FROM generate_series(1, 2000) i');
SELECT fashionrec.train('ease-big', 'ease',
       'SELECT i % 50, i, 1 FROM generate_series(1, 2000) i', '{"max_items": 500}');
SELECT info FROM fashionrec.model WHERE name = 'ease-big';
RESET fashionrec.max_memory;
