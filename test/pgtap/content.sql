-- Content features: svec and tfidf_vocab binary input of forged values
-- (through COPY ... FORMAT binary, the path a client's binary data takes),
-- SQLSTATEs, labels of the SQL objects, TF-IDF against hand values, and a
-- planted category structure that the content models must recover.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(61);

-- ---- labels -------------------------------------------------------------
SELECT has_type('fashionrec', 'svec', 'type svec');
SELECT has_type('fashionrec', 'tfidf_vocab', 'type tfidf_vocab');
SELECT has_function('fashionrec', 'tfidf', ARRAY['fashionrec.tfidf_vocab', 'tsvector']);
SELECT volatility_is('fashionrec', 'tfidf', ARRAY['fashionrec.tfidf_vocab', 'tsvector'], 'immutable');
SELECT is_strict('fashionrec', 'tfidf', ARRAY['fashionrec.tfidf_vocab', 'tsvector']);
SELECT is_aggregate('fashionrec', 'tfidf_fit', ARRAY['tsvector']);
SELECT is_aggregate('fashionrec', 'tfidf_fit', ARRAY['tsvector', 'jsonb']);
SELECT is((SELECT bool_and(p.proparallel = 's' AND a.aggcombinefn <> 0 AND a.aggserialfn <> 0
                           AND a.aggdeserialfn <> 0)
             FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
            WHERE p.proname = 'tfidf_fit' AND p.pronamespace = 'fashionrec'::regnamespace),
          true, 'tfidf_fit is parallel safe with combine, serialise and deserialise functions');
SELECT is((SELECT count(*)::int FROM pg_proc
            WHERE pronamespace = 'fashionrec'::regnamespace
              AND (proname LIKE 'svec%' OR proname LIKE 'tfidf%' OR proname IN ('dims', 'nnz', 'l2_normalize', 'array_to_svec'))
              AND proparallel <> 's'),
          0, 'every svec and tfidf function is parallel safe');
SELECT is((SELECT count(*)::int FROM pg_proc p
            WHERE p.pronamespace = 'fashionrec'::regnamespace
              AND (p.proname LIKE 'svec%' OR p.proname LIKE 'tfidf%' OR p.proname IN ('dims', 'nnz', 'l2_normalize', 'array_to_svec'))
              AND obj_description(p.oid, 'pg_proc') IS NULL),
          0, 'every svec and tfidf function has a comment');
SELECT is((SELECT count(*)::int FROM pg_operator
            WHERE oprname IN ('<=>', '<#>', '<->') AND oprleft = 'fashionrec.svec'::regtype
              AND oprcom <> 0),
          3, 'three commutative distance operators on svec');

-- ---- SQLSTATEs of text input and operators ------------------------------------
SELECT throws_ok($$SELECT '{1:1'::fashionrec.svec$$, '22P02', NULL, 'malformed text');
SELECT throws_ok($$SELECT '{2:1,1:1}/3'::fashionrec.svec$$, '22023', NULL, 'unsorted indices');
SELECT throws_ok($$SELECT '{1:1,1:2}/3'::fashionrec.svec$$, '22023', NULL, 'duplicate index');
SELECT throws_ok($$SELECT '{4:1}/3'::fashionrec.svec$$, '22023', NULL, 'index beyond the dimension');
SELECT throws_ok($$SELECT '{1:NaN}/3'::fashionrec.svec$$, '22023', NULL, 'NaN value');
SELECT throws_ok($$SELECT '{1:1e39}/3'::fashionrec.svec$$, '22003', NULL, 'value beyond float4');
SELECT throws_ok($$SELECT '{}/1000000001'::fashionrec.svec$$, '54000', NULL, 'dimension limit');
SELECT throws_ok($$SELECT ARRAY[1, NULL]::real[]::fashionrec.svec$$, '22004', NULL, 'NULL array element');
SELECT throws_ok($$SELECT '{1:1}/3'::fashionrec.svec OPERATOR(fashionrec.<=>) '{1:1}/4'::fashionrec.svec$$,
                 '22000', NULL, 'dimension mismatch');
SELECT throws_ok($$SELECT '{1:1}/4'::fashionrec.svec(3)$$, '22000', NULL, 'typmod mismatch');
SELECT throws_ok($$SELECT '{1:1}/200000000'::fashionrec.svec::real[]$$, '54000', NULL, 'too large for a dense array');
SELECT throws_ok($$SELECT '{"documents": 1, "terms": [["b", 1], ["a", 1]]}'::fashionrec.tfidf_vocab$$,
                 '22023', NULL, 'vocabulary terms out of order');
SELECT throws_ok($$SELECT fashionrec.tfidf_fit(to_tsvector('simple', 'a'), '{"min_df": 0.0, "max_df": 2.5}')$$,
                 '22023', NULL, 'fraction above 1');

-- ---- binary input, forged ---------------------------------------------------------
-- A one-column binary COPY file around a payload, fed through base64 so that
-- no file is left behind.
CREATE TEMP TABLE svec_in (v fashionrec.svec);
CREATE TEMP TABLE vocab_in (v fashionrec.tfidf_vocab);
CREATE FUNCTION pg_temp.recv(tab text, payload bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    file bytea := '\x5047434f50590aff0d0a00'::bytea || int4send(0) || int4send(0)
                  || int2send(1::int2) || int4send(length(payload)) || payload || int2send((-1)::int2);
    result text;
BEGIN
    EXECUTE format('TRUNCATE %I', tab);
    EXECUTE format('COPY %I FROM PROGRAM %L WITH (FORMAT binary)', tab,
                   'echo ' || translate(encode(file, 'base64'), E'\n', '') || ' | base64 -d');
    EXECUTE format('SELECT v::text FROM %I', tab) INTO result;
    RETURN result;
END
$$;
-- svec wire format: dim, nnz, 0, nnz 0-based indices, nnz float4 values
CREATE FUNCTION pg_temp.sv(dim int, nnz int, reserved int, idx int[], val real[]) RETURNS bytea
LANGUAGE sql AS $$
    SELECT int4send(dim) || int4send(nnz) || int4send(reserved)
           || coalesce((SELECT string_agg(int4send(i), ''::bytea ORDER BY o) FROM unnest(idx) WITH ORDINALITY t(i, o)), '')
           || coalesce((SELECT string_agg(float4send(x), ''::bytea ORDER BY o) FROM unnest(val) WITH ORDINALITY t(x, o)), '')
$$;

SELECT is(pg_temp.recv('svec_in', pg_temp.sv(5, 2, 0, '{0,3}', '{1.5,-2}')), '{1:1.5,4:-2}/5', 'binary input');
SELECT is(pg_temp.recv('svec_in', fashionrec.svec_send('{2:0.25,9:3}/9')), '{2:0.25,9:3}/9', 'send then receive');
SELECT is(pg_temp.recv('svec_in', pg_temp.sv(5, 2, 0, '{0,3}', '{0,2}')), '{4:2}/5', 'binary zeros are dropped, as in text');
SELECT is(pg_temp.recv('svec_in', pg_temp.sv(5, 0, 0, '{}', '{}')), '{}/5', 'binary empty vector');
SELECT throws_ok($$SELECT pg_temp.recv('svec_in', pg_temp.sv(0, 0, 0, '{}', '{}'))$$, '22023', NULL, 'binary dimension 0');
SELECT throws_ok($$SELECT pg_temp.recv('svec_in', pg_temp.sv(-7, 0, 0, '{}', '{}'))$$, '22023', NULL, 'binary negative dimension');
SELECT throws_ok($$SELECT pg_temp.recv('svec_in', pg_temp.sv(1000000001, 0, 0, '{}', '{}'))$$, '54000', NULL, 'binary dimension limit');
SELECT throws_ok($$SELECT pg_temp.recv('svec_in', pg_temp.sv(5, -1, 0, '{}', '{}'))$$, '22023', NULL, 'binary negative nnz');
SELECT throws_ok($$SELECT pg_temp.recv('svec_in', pg_temp.sv(1000000000, 200000000, 0, '{}', '{}'))$$,
                 '54000', NULL, 'binary nnz limit, refused before allocating');
SELECT throws_ok($$SELECT pg_temp.recv('svec_in', pg_temp.sv(2, 3, 0, '{0,1,1}', '{1,1,1}'))$$, '22023', NULL, 'binary nnz above dim');
SELECT throws_ok($$SELECT pg_temp.recv('svec_in', pg_temp.sv(5000, 1000, 0, '{0}', '{1}'))$$, '22P03', NULL, 'binary nnz beyond the message');
SELECT throws_ok($$SELECT pg_temp.recv('svec_in', pg_temp.sv(5, 1, 7, '{0}', '{1}'))$$, '22P03', NULL, 'binary reserved word not 0');
SELECT throws_ok($$SELECT pg_temp.recv('svec_in', pg_temp.sv(5, 1, 0, '{5}', '{1}'))$$, '22023', NULL, 'binary index = dim');
SELECT throws_ok($$SELECT pg_temp.recv('svec_in', pg_temp.sv(5, 1, 0, '{-1}', '{1}'))$$, '22023', NULL, 'binary negative index');
SELECT throws_ok($$SELECT pg_temp.recv('svec_in', pg_temp.sv(5, 2, 0, '{3,1}', '{1,1}'))$$, '22023', NULL, 'binary unsorted');
SELECT throws_ok($$SELECT pg_temp.recv('svec_in', pg_temp.sv(5, 2, 0, '{1,1}', '{1,1}'))$$, '22023', NULL, 'binary duplicate');
SELECT throws_ok($$SELECT pg_temp.recv('svec_in', pg_temp.sv(5, 1, 0, '{1}', '{NaN}'))$$, '22023', NULL, 'binary NaN');
SELECT throws_ok($$SELECT pg_temp.recv('svec_in', pg_temp.sv(5, 1, 0, '{1}', '{-Infinity}'))$$, '22023', NULL, 'binary infinity');
SELECT throws_ok($$SELECT pg_temp.recv('svec_in', pg_temp.sv(5, 1, 0, '{1}', '{1}') || '\x00'::bytea)$$,
                 '22P03', NULL, 'binary trailing bytes');
SELECT throws_ok($$SELECT pg_temp.recv('svec_in', '\x000000'::bytea)$$, '08P01', NULL, 'binary truncated header');
SELECT is(pg_temp.recv('vocab_in', fashionrec.tfidf_vocab_send('{"documents": 2, "terms": [["a", 1], ["b", 2]]}')),
          '{"documents": 2, "sublinear_tf": false, "use_idf": true, "smooth_idf": true, "norm": "l2", "terms": [["a", 1], ["b", 2]]}',
          'tfidf_vocab binary round trip');
SELECT throws_ok($$SELECT pg_temp.recv('vocab_in', convert_to('{"documents": 2, "terms": [["b", 1], ["a", 1]]}', 'UTF8'))$$,
                 '22023', NULL, 'binary vocabulary out of order');
SELECT throws_ok($$SELECT pg_temp.recv('vocab_in', convert_to('{"documents": 2, "terms": [["a", 3]]}', 'UTF8'))$$,
                 '22023', NULL, 'binary vocabulary df above documents');
SELECT throws_ok($$SELECT pg_temp.recv('vocab_in', '\x00ff00'::bytea)$$, '22021', NULL, 'binary vocabulary not text');

-- ---- TF-IDF against hand values -------------------------------------------------------
-- docs 'red dress red', 'blue dress', 'red shoes': red idf ln(4/3) + 1,
-- doc 1 = (dress 1, red 2) * idf / norm = (1, 2) / sqrt 5
CREATE TEMP TABLE d3 (id int, tsv tsvector);
INSERT INTO d3 VALUES (1, to_tsvector('english', 'red dress red')), (2, to_tsvector('english', 'blue dress')),
                      (3, to_tsvector('english', 'red shoes'));
CREATE TEMP TABLE v3 AS SELECT fashionrec.tfidf_fit(tsv) AS v FROM d3;
SELECT cmp_ok(abs((SELECT x FROM unnest((SELECT fashionrec.tfidf(v, tsv)::real[] FROM v3, d3 WHERE id = 1)) WITH ORDINALITY t(x, i) WHERE i = 3)
                  - 2 / sqrt(5)), '<', 1e-6::float8, 'tf 2 against tf 1 with equal idf');
SELECT cmp_ok(abs((SELECT idf FROM fashionrec.tfidf_terms((SELECT v FROM v3)) WHERE term = 'blue') - (ln(2) + 1)),
              '<', 1e-12::float8, 'smoothed idf of a term in 1 of 3 documents');
SELECT cmp_ok(abs((SELECT fashionrec.tfidf(v, tsv) OPERATOR(fashionrec.<->) '{}/4'::fashionrec.svec FROM v3, d3 WHERE id = 2) - 1),
              '<', 1e-6::float8, 'tfidf vectors have unit length');
SELECT is((SELECT fashionrec.dims(fashionrec.tfidf(v, tsv)) FROM v3, d3 WHERE id = 3), 4, 'dimension = vocabulary size');
SELECT cmp_ok((SELECT fashionrec.tfidf(v, tsv) OPERATOR(fashionrec.<#>) fashionrec.tfidf(v, tsv) FROM v3, d3 WHERE id = 1),
              '<', -0.999999::float8, 'a unit vector''s inner product with itself is 1');

-- ---- planted structure ----------------------------------------------------------------------
-- 300 items in 5 categories: two words of their own category, one shared
-- word and one of 40 noise words.  Every item's 5 nearest neighbours must
-- be of its own category; a shopper of category 2 gets category 2.
CREATE TEMP TABLE catalog AS
SELECT i AS id, i % 5 AS category,
       (ARRAY['floral dress', 'leather boot', 'steel watch', 'denim jacket', 'silk scarf'])[i % 5 + 1]
       || ' ' || (ARRAY['summer', 'winter', 'classic', 'casual', 'party'])[i % 5 + 1]
       || ' new noise' || (i * 7 % 40) AS title,
       (ARRAY['red', 'black', 'silver', 'blue', 'green'])[(i / 5) % 5 + 1] AS colour
  FROM generate_series(1, 300) i;
CREATE TEMP TABLE shopper AS SELECT 1 AS u, id FROM catalog WHERE category = 2 AND id <= 30;
SELECT is(fashionrec.train('planted', 'tfidf', 'SELECT id, title FROM catalog',
                           '{"interactions": "SELECT u, id FROM shopper"}'), 1, 'planted catalog trains');
SELECT is((SELECT count(*)::int FROM catalog c, fashionrec.similar_items('planted', c.id, 5) s
             JOIN catalog n ON n.id = s.item_id
            WHERE c.id <= 60 AND n.category = c.category), 300, 'all 5 neighbours of 60 items share their category');
SELECT is((SELECT count(*)::int FROM fashionrec.recommend('planted', 1, 10) r JOIN catalog c ON c.id = r.item_id
            WHERE c.category = 2), 10, 'the category shopper gets the category');
SELECT is((SELECT count(*)::int FROM fashionrec.recommend('planted', 1, 10) r WHERE r.item_id <= 30 AND r.item_id % 5 = 2),
          0, 'bought items are not recommended again');
SELECT is((SELECT count(*)::int FROM fashionrec.recommend_for_items('planted', ARRAY[4, 9], 10) r
             JOIN catalog c ON c.id = r.item_id WHERE c.category = 4), 10, 'fold-in of a session stays in its category');
-- attributes: colour weighted 5 dominates the category (weight 1)
SELECT is(fashionrec.train('planted-attr', 'attributes', 'SELECT id, category, colour FROM catalog',
                           '{"weights": "{\"colour\": 5}"}'), 1, 'attribute model trains');
SELECT is((SELECT count(*)::int FROM fashionrec.similar_items('planted-attr', 7, 20) s JOIN catalog n ON n.id = s.item_id
            WHERE n.colour = (SELECT colour FROM catalog WHERE id = 7)), 20, 'the heavier field decides the neighbours');
SELECT cmp_ok((SELECT min(score) FROM fashionrec.similar_items('planted-attr', 7, 20)), '>', 0.9::real,
              'same colour, any category: cosine 25 / 26');
SELECT * FROM finish();
ROLLBACK;
