-- "embedding": externally computed item vectors as a content model.
-- Six items in 3-d, normalised by hand:
--   101 (1, 0, 0)     102 (1, 1, 0)/sqrt 2   103 (0, 1, 0)
--   104 (0, 0, 2)/2   105 (1, 1, 1)/sqrt 3   106 (-1, 0, 0)
CREATE TABLE vecs (item bigint, v real[]);
INSERT INTO vecs VALUES (101, '{1,0,0}'), (102, '{1,1,0}'), (103, '{0,1,0}'),
                        (104, '{0,0,2}'), (105, '{1,1,1}'), (106, '{-1,0,0}');
CREATE TABLE bought (customer bigint, product bigint);
INSERT INTO bought VALUES (1, 101), (1, 103), (2, 104), (3, 999);  -- 999 is not in the catalog

SET client_min_messages = warning;
SELECT fashionrec.train('emb', 'embedding', 'SELECT item, v FROM vecs',
                        '{"interactions": "SELECT customer, product FROM bought"}');
SELECT algorithm, users, items, interactions, info FROM fashionrec.models WHERE name = 'emb';
SELECT name, predicts_ratings, parameters FROM fashionrec.algorithms() WHERE name = 'embedding';

-- similar items: cosine to 101 = first coordinate of each unit vector:
-- 102 1/sqrt 2 = 0.7071, 105 1/sqrt 3 = 0.5774, 103 and 104 0, 106 -1
SELECT item_id, round(score::numeric, 4) AS score, rank FROM fashionrec.similar_items('emb', 101);
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.similar_items('emb', 101, k => 2, candidates => ARRAY[103, 105, 106]::bigint[]);
SELECT count(*) AS unknown_item FROM fashionrec.similar_items('emb', 999);

-- fold-in of 101 and 103: mean (1/2, 1/2, 0), unit (0.7071, 0.7071, 0):
-- 102 1, 105 2/sqrt 6 = 0.8165, 104 0, 106 -0.7071
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.recommend_for_items('emb', ARRAY[101, 103]::bigint[]);
-- weighted 3 x 101 + 1 x 104: (3, 0, 1)/sqrt 10 = (0.9487, 0, 0.3162):
-- 105 (0.9487 + 0.3162)/sqrt 3 = 0.7303, 102 0.9487/sqrt 2 = 0.6708, 103 0, 106 -0.9487
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.recommend_for_items('emb', ARRAY[101, 104]::bigint[], weights => ARRAY[3, 1]::real[]);
-- an item the model does not know counts for nothing
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.recommend_for_items('emb', ARRAY[101, 103, 999]::bigint[], k => 2);

-- user 1 bought 101 and 103: the same profile as the fold-in above
SELECT item_id, round(score::numeric, 4) AS score, rank FROM fashionrec.recommend('emb', 1);
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.recommend('emb', 1, candidates => ARRAY[105, 106]::bigint[]);
-- user 2 bought 104 = (0, 0, 1): only 105 shares a direction; ties by id
SELECT item_id, round(score::numeric, 4) AS score, rank FROM fashionrec.recommend('emb', 2, k => 3);
-- user 3 bought only an item outside the catalog, so is unknown: popularity
-- (101, 103, 104 bought once each), like any unknown user
SELECT item_id, round(score::numeric, 4) AS score, rank FROM fashionrec.recommend('emb', 3, k => 4);
SELECT item_id, round(score::numeric, 4) AS score, rank FROM fashionrec.recommend('emb', 424242, k => 4);
SELECT round(fashionrec.predict('emb', 1, 105)::numeric, 4) AS predicted;
SELECT (SELECT array_agg(round(x::numeric, 4)) FROM unnest(fashionrec.item_embedding('emb', 104)) x) AS item_104,
       (SELECT array_agg(round(x::numeric, 4)) FROM unnest(fashionrec.user_embedding('emb', 1)) x) AS user_1,
       fashionrec.item_embedding('emb', 999) AS unknown;

-- without interactions: a catalog with no users; everyone gets popularity (all 0, by id)
SELECT fashionrec.train('emb-plain', 'embedding', 'vecs');
SELECT users, items, interactions FROM fashionrec.models WHERE name = 'emb-plain';
SELECT item_id, score, rank FROM fashionrec.recommend('emb-plain', 1, k => 2);

-- float8[] and numeric[] vectors, and "normalize": false keeps lengths
-- (similar_items is then the inner product: 105 . 104 = 2, 102 . 101 = 1)
SELECT fashionrec.train('emb-raw', 'embedding', 'SELECT item, v::float8[] FROM vecs', '{"normalize": false}');
SELECT item_id, round(score::numeric, 4) AS score, rank FROM fashionrec.similar_items('emb-raw', 104, k => 2);
SELECT item_id, round(score::numeric, 4) AS score, rank FROM fashionrec.similar_items('emb-raw', 101, k => 2);
SELECT fashionrec.train('emb-num', 'embedding', 'SELECT item::int, v::numeric[] FROM vecs');
SELECT item_id, round(score::numeric, 4) AS score FROM fashionrec.similar_items('emb-num', 101, k => 1);

-- rows in any order give the same model: (item * 5) % 7 reads them as one 6-cycle
SELECT array_agg(item ORDER BY (item * 5) % 7) AS read_order FROM vecs;
SELECT fashionrec.train('emb-shuffled', 'embedding', 'SELECT item, v FROM vecs ORDER BY (item * 5) % 7');
SELECT count(*) AS differences
  FROM vecs, LATERAL (SELECT * FROM fashionrec.similar_items('emb', item)
                      EXCEPT SELECT * FROM fashionrec.similar_items('emb-shuffled', item)) d;
SELECT count(*) AS same_vectors FROM vecs
 WHERE fashionrec.item_embedding('emb', item) = fashionrec.item_embedding('emb-shuffled', item);

-- a domain over real[], and a type with its own cast to real[] (as pgvector's vector has)
CREATE DOMAIN unit3 AS real[] CHECK (array_length(VALUE, 1) = 3);
SELECT fashionrec.train('emb-domain', 'embedding', 'SELECT item, v::unit3 FROM vecs');
CREATE TYPE pair AS (x real, y real);
CREATE FUNCTION pair_to_real(pair) RETURNS real[] LANGUAGE sql IMMUTABLE AS 'SELECT ARRAY[$1.x, $1.y]';
CREATE CAST (pair AS real[]) WITH FUNCTION pair_to_real(pair);
SELECT fashionrec.train('emb-pair', 'embedding',
                        $$VALUES (1, ROW(1, 0)::pair), (2, ROW(3, 4)::pair), (3, ROW(0, 1)::pair)$$);
-- 1 . (3, 4)/5 = 0.6, 1 . (0, 1) = 0
SELECT item_id, round(score::numeric, 4) AS score FROM fashionrec.similar_items('emb-pair', 1);

-- a colour model: colour histograms of product images as the vectors
CREATE FUNCTION swatch_on_white(fg text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
  SELECT fashionrec.encode_png(12, 12, string_agg(
           decode(CASE WHEN x BETWEEN 3 AND 8 AND y BETWEEN 3 AND 8 THEN fg ELSE 'ffffff' END, 'hex'),
           ''::bytea ORDER BY y, x))
    FROM generate_series(0, 11) AS y, generate_series(0, 11) AS x
$$;
CREATE TABLE products (id bigint, image bytea);
INSERT INTO products VALUES (1, swatch_on_white('e00000')), (2, swatch_on_white('f01010')),
                            (3, swatch_on_white('1f2a44')), (4, swatch_on_white('0000ff'));
SELECT fashionrec.train('colors', 'embedding',
                        'SELECT id, fashionrec.color_histogram(image) FROM products');
SELECT info FROM fashionrec.models WHERE name = 'colors';
-- the two reds overlap in soft histogram cells, navy and blue share nothing with
-- red (the white background is ignored): cosine 0.817 computed in Python
SELECT item_id, round(score::numeric, 4) AS score, rank FROM fashionrec.similar_items('colors', 1);

-- invalid vectors: each error names the item
SELECT fashionrec.train('emb-bad', 'embedding', $$VALUES (1, '{1,2}'::real[]), (2, '{1,2,3}')$$);
SELECT fashionrec.train('emb-bad', 'embedding', $$VALUES (1, '{1,2}'::real[]), (2, '{1,NaN}')$$);
SELECT fashionrec.train('emb-bad', 'embedding', $$VALUES (1, '{1,2}'::real[]), (2, '{Infinity,0}')$$);
SELECT fashionrec.train('emb-bad', 'embedding', $$VALUES (1, '{1,2}'::float8[]), (2, '{1e300,0}')$$);
SELECT fashionrec.train('emb-bad', 'embedding', $$VALUES (1, '{1,2}'::real[]), (2, '{1,NULL}')$$);
SELECT fashionrec.train('emb-bad', 'embedding', $$VALUES (1, '{1,2}'::real[]), (2, NULL)$$);
SELECT fashionrec.train('emb-bad', 'embedding', $$VALUES (1, '{1,2}'::real[]), (NULL, '{1,2}')$$);
SELECT fashionrec.train('emb-bad', 'embedding', $$VALUES (7, '{1,2}'::real[]), (8, '{3,4}'), (7, '{5,6}')$$);
SELECT fashionrec.train('emb-bad', 'embedding', $$VALUES (1, '{}'::real[])$$);
SELECT fashionrec.train('emb-bad', 'embedding', $$VALUES (1, '{{1,2},{3,4}}'::real[])$$);
SELECT fashionrec.train('emb-bad', 'embedding', $$VALUES (1, '{1,2}'::real[]), (2, '{0,0}')$$);
-- an all-zero vector is fine when nothing is normalised
SELECT fashionrec.train('emb-zero', 'embedding', $$VALUES (1, '{1,2}'::real[]), (2, '{0,0}')$$,
                        '{"normalize": false}');
-- the source itself
SELECT fashionrec.train('emb-bad', 'embedding', 'SELECT item, v FROM vecs WHERE false');
SELECT fashionrec.train('emb-bad', 'embedding', 'SELECT item::text, v FROM vecs');
SELECT fashionrec.train('emb-bad', 'embedding', 'SELECT item FROM vecs');
SELECT fashionrec.train('emb-bad', 'embedding', 'SELECT item, ''a'' FROM vecs');
SELECT fashionrec.train('emb-bad', 'embedding', 'SELECT item, ARRAY[''1'', ''2''] FROM vecs');
SELECT fashionrec.train('emb-bad', 'embedding', 'WITH d AS (DELETE FROM vecs RETURNING item, v) SELECT * FROM d');
SELECT fashionrec.train('emb-bad', 'embedding', 'no_such_table');
SELECT fashionrec.train('emb-bad', 'embedding', 'vecs', '{"normalise": true}');
SELECT count(*) AS bad_models FROM fashionrec.model WHERE name = 'emb-bad';
SELECT count(*) AS vecs_intact FROM vecs;

-- the dimension limit, as a pass/fail pair
SELECT fashionrec.train('emb-wide', 'embedding', 'SELECT 1, array_fill(1::real, ARRAY[16000])');
SELECT fashionrec.train('emb-bad', 'embedding', 'SELECT 1, array_fill(1::real, ARRAY[16001])');
-- the only item has no neighbour but itself, which is never "similar"
SELECT count(*) AS neighbours FROM fashionrec.similar_items('emb-wide', 1);
