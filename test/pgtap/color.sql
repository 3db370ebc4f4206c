-- Content features: colour extraction from images and the "embedding" model.
-- Signatures and labels, the SQLSTATE of every class of bad input, limits as
-- pass/fail pairs, properties over many random images, and a planted
-- palette that k-means must recover.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(52);

-- signatures and labels
SELECT has_function('fashionrec', 'dominant_colors', ARRAY['bytea', 'integer', 'boolean', 'bigint']);
SELECT has_function('fashionrec', 'color_histogram', ARRAY['bytea', 'integer', 'boolean']);
SELECT has_function('fashionrec', 'encode_png', ARRAY['integer', 'integer', 'bytea']);
SELECT has_function('fashionrec', 'image_info', ARRAY['bytea']);
SELECT has_function('fashionrec', 'color_name', ARRAY['text']);
SELECT volatility_is('fashionrec', 'dominant_colors', ARRAY['bytea', 'integer', 'boolean', 'bigint'], 'immutable');
SELECT volatility_is('fashionrec', 'color_histogram', ARRAY['bytea', 'integer', 'boolean'], 'immutable');
SELECT is_strict('fashionrec', 'dominant_colors', ARRAY['bytea', 'integer', 'boolean', 'bigint']);
SELECT is_strict('fashionrec', 'color_histogram', ARRAY['bytea', 'integer', 'boolean']);
SELECT is((SELECT bool_and(proparallel = 's') FROM pg_proc
            WHERE pronamespace = 'fashionrec'::regnamespace
              AND proname IN ('dominant_colors', 'color_histogram', 'encode_png', 'image_info',
                              'color_name', 'color_vocabulary')),
          true, 'colour functions are parallel safe');
SELECT is((SELECT count(*)::int FROM pg_description d JOIN pg_proc p ON p.oid = d.objoid
            WHERE p.pronamespace = 'fashionrec'::regnamespace
              AND p.proname IN ('dominant_colors', 'color_histogram', 'encode_png', 'image_info',
                                'color_name', 'color_vocabulary')),
          6, 'every colour function has a comment');

-- test images
CREATE TEMP TABLE t_img (id text PRIMARY KEY, data bytea);
INSERT INTO t_img
SELECT 'stripes', fashionrec.encode_png(20, 10, string_agg(
         CASE WHEN x < 10 THEN '\xff0000'::bytea ELSE '\x0000ff'::bytea END, ''::bytea ORDER BY y, x))
  FROM generate_series(0, 9) y, generate_series(0, 19) x;
INSERT INTO t_img VALUES ('jpeg', '\xffd8ffdb0043000302020302020303030304030304050805050404050a070706080c0a0c0c0b0a0b0b0d0e12100d0e110e0b0b1016101113141515150c0f171816141812141514ffdb00430103040405040509050509140d0b0d1414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141414ffc00011080010001003011100021101031101ffc4001500010100000000000000000000000000000008ffc40014100100000000000000000000000000000000ffc400160101010100000000000000000000000000000709ffc40014110100000000000000000000000000000000ffda000c03010002110311003f009d10c6a980000fffd9');

-- bad images: 22P02 for corrupt or unsupported bytes, 54000 for limits
SELECT throws_ok($$SELECT * FROM fashionrec.dominant_colors(''::bytea)$$, '22P02', NULL, 'empty image');
SELECT throws_ok($$SELECT * FROM fashionrec.dominant_colors(decode(md5('x') || md5('y'), 'hex'))$$,
                 '22P02', 'unsupported image format', 'random bytes');
SELECT throws_ok($$SELECT * FROM fashionrec.dominant_colors('GIF89a'::bytea)$$, '22P02', 'unsupported image format', 'GIF');
SELECT throws_ok($$SELECT fashionrec.color_histogram(substring(data FROM 1 FOR 60)) FROM t_img WHERE id = 'stripes'$$,
                 '22P02', 'invalid image data', 'truncated PNG');
SELECT throws_ok($$SELECT fashionrec.color_histogram(substring(data FROM 1 FOR 200)) FROM t_img WHERE id = 'jpeg'$$,
                 '22P02', 'invalid image data', 'truncated JPEG');
SELECT throws_ok($$SELECT fashionrec.color_histogram('\xffd8ff'::bytea || decode(md5('z'), 'hex'))$$,
                 '22P02', 'invalid image data', 'JPEG magic, random body');
SELECT throws_ok($$SELECT fashionrec.color_histogram(overlay(data PLACING '\x7fffffff7fffffff' FROM 17)) FROM t_img WHERE id = 'stripes'$$,
                 '54000', 'image is too large', 'PNG declaring 2^31 x 2^31 pixels');
SELECT throws_ok($$SELECT fashionrec.color_histogram(overlay(data PLACING '\xffdcffdc' FROM position('\xffc0'::bytea IN data) + 5)) FROM t_img WHERE id = 'jpeg'$$,
                 '54000', 'image is too large', 'JPEG declaring 65500 x 65500 pixels');
SELECT throws_ok($$SELECT fashionrec.color_histogram(overlay(data PLACING '\xffffffff' FROM position('\xffc0'::bytea IN data) + 5)) FROM t_img WHERE id = 'jpeg'$$,
                 '54000', NULL, 'JPEG over libjpeg''s own 65500 limit');
-- the byte limit (100 MB) is checked before the value is read: exactly 100 MB
-- passes it (and is then not an image), one byte more does not
SELECT throws_ok($$SELECT fashionrec.color_histogram(convert_to(repeat('a', 104857600), 'SQL_ASCII'))$$,
                 '22P02', 'unsupported image format', '100 MB of text is within the byte limit');
SELECT throws_ok($$SELECT fashionrec.color_histogram(convert_to(repeat('a', 104857601), 'SQL_ASCII'))$$,
                 '54000', 'image is too large', 'one byte over 100 MB');

-- bad parameters: 22023
SELECT throws_ok($$SELECT fashionrec.dominant_colors(data, 0) FROM t_img WHERE id = 'stripes'$$, '22023', NULL, 'k = 0');
SELECT throws_ok($$SELECT fashionrec.dominant_colors(data, 33) FROM t_img WHERE id = 'stripes'$$, '22023', NULL, 'k = 33');
SELECT throws_ok($$SELECT fashionrec.color_histogram(data, 17) FROM t_img WHERE id = 'stripes'$$, '22023', NULL, 'bins = 17');
SELECT throws_ok($$SELECT fashionrec.encode_png(2, 2, '\x00'::bytea)$$, '22023', NULL, 'encode_png: wrong byte count');
SELECT throws_ok($$SELECT fashionrec.encode_png(-1, 2, '\x00'::bytea)$$, '22023', NULL, 'encode_png: negative width');
SELECT throws_ok($$SELECT fashionrec.encode_png(50000, 50000, '\x00'::bytea)$$, '54000', NULL, 'encode_png: too many pixels');
SELECT throws_ok($$SELECT fashionrec.color_name('#zzzzzz')$$, '22P02', NULL, 'color_name: not hex');

-- properties over 40 random images (a seeded palette of 6 colours, random layout)
SELECT setseed(0.42);
CREATE TEMP TABLE t_rand AS
SELECT i, fashionrec.encode_png(12, 9, string_agg(pal[1 + floor(random() * 6)::int], ''::bytea ORDER BY p)) AS data
  FROM generate_series(1, 40) i, generate_series(1, 108) p,
       (SELECT ARRAY(SELECT decode(lpad(to_hex(floor(random() * 16777216)::int), 6, '0'), 'hex')
                       FROM generate_series(1, 6)) AS pal) AS palette
 GROUP BY i;
SELECT is((SELECT count(*)::int FROM t_rand
            WHERE abs((SELECT sum(share) FROM fashionrec.dominant_colors(data, 4, false)) - 1) > 1e-6),
          0, 'shares sum to 1');
SELECT is((SELECT count(*)::int FROM t_rand
            WHERE (SELECT count(*) FROM fashionrec.dominant_colors(data, 4)) NOT BETWEEN 1 AND 4),
          0, 'between 1 and k colours');
SELECT is((SELECT count(*)::int FROM t_rand, LATERAL (
             SELECT rank, share, lag(share) OVER (ORDER BY rank) AS prev,
                    row_number() OVER (ORDER BY rank) AS rn
               FROM fashionrec.dominant_colors(data, 5)) c
            WHERE c.rank <> c.rn OR c.share > c.prev),
          0, 'ranks are 1..n with shares non-increasing');
SELECT is((SELECT count(*)::int FROM t_rand
            WHERE (SELECT count(*) FROM fashionrec.dominant_colors(data, 6, false)) <> 6),
          0, 'six distinct colours give six clusters for k = 6');
SELECT is((SELECT count(*)::int FROM t_rand
            WHERE (SELECT array_agg(hex || share ORDER BY rank) FROM fashionrec.dominant_colors(data, 3, seed => 7))
              IS DISTINCT FROM (SELECT array_agg(hex || share ORDER BY rank) FROM fashionrec.dominant_colors(data, 3, seed => 7))),
          0, 'the same seed gives the same answer');
SELECT is((SELECT count(*)::int FROM t_rand
            WHERE abs((SELECT sum(v) FROM unnest(fashionrec.color_histogram(data, 6)) v) - 1) > 1e-5),
          0, 'histograms sum to 1');
SELECT is((SELECT count(*)::int FROM t_rand
            WHERE (SELECT bool_or(v < 0) FROM unnest(fashionrec.color_histogram(data)) v)),
          0, 'histogram cells are non-negative');

-- a planted palette: 50 % navy, 30 % beige, 20 % red in bands, each pixel
-- jittered by up to +-3 per channel; k = 3 recovers the colours and shares
SELECT setseed(0.7);
CREATE TEMP TABLE t_plant AS
SELECT fashionrec.encode_png(60, 40, string_agg(
         decode(lpad(to_hex(greatest(0, least(255, base[1] + floor(random() * 7)::int - 3))), 2, '0') ||
                lpad(to_hex(greatest(0, least(255, base[2] + floor(random() * 7)::int - 3))), 2, '0') ||
                lpad(to_hex(greatest(0, least(255, base[3] + floor(random() * 7)::int - 3))), 2, '0'), 'hex'),
         ''::bytea ORDER BY y, x)) AS data
  FROM generate_series(0, 39) y, generate_series(0, 59) x,
       LATERAL (SELECT CASE WHEN x < 30 THEN ARRAY[31, 42, 68]
                            WHEN x < 48 THEN ARRAY[216, 195, 165]
                            ELSE ARRAY[200, 16, 46] END AS base) b;
SELECT results_eq(
  $$SELECT name, round(share::numeric, 4) FROM t_plant, fashionrec.dominant_colors(data, 3, false) ORDER BY rank$$,
  $$VALUES ('navy', 0.5), ('beige', 0.3), ('red', 0.2)$$,
  'planted palette: names and shares recovered');
SELECT is((SELECT max(greatest(abs(get_byte(decode(substr(hex, 2), 'hex'), 0) - want[1]),
                               abs(get_byte(decode(substr(hex, 2), 'hex'), 1) - want[2]),
                               abs(get_byte(decode(substr(hex, 2), 'hex'), 2) - want[3])))
             FROM t_plant, fashionrec.dominant_colors(data, 3, false) c
             JOIN (VALUES (1, ARRAY[31, 42, 68]), (2, ARRAY[216, 195, 165]), (3, ARRAY[200, 16, 46])) w(rank, want)
               USING (rank)) <= 1,
          true, 'planted palette: centres within 1 level of the true colours');

-- a 2000 x 1500 image (3 megapixels) is sampled, not read whole: half red, half blue
CREATE TEMP TABLE t_big AS
SELECT fashionrec.encode_png(2000, 1500,
         decode(repeat(repeat('ff0000', 1000) || repeat('0000ff', 1000), 1500), 'hex')) AS data;
SELECT results_eq($$SELECT hex, share FROM t_big, fashionrec.dominant_colors(data, 5)$$,
                  $$VALUES ('#0000FF', 0.5::real), ('#FF0000', 0.5::real)$$,
                  'a large image: two colours, 0.5 each');

-- the embedding model: SQLSTATEs of bad vectors
SELECT throws_ok($$SELECT fashionrec.train('t-emb', 'embedding', 'VALUES (1, ''{1,2}''::real[]), (2, ''{1,2,3}'')')$$,
                 '22023', 'embedding of item 2 has 3 dimensions, expected 2', 'dimension mismatch');
SELECT throws_ok($$SELECT fashionrec.train('t-emb', 'embedding', 'VALUES (1, ''{1,2}''::real[]), (2, ''{NaN,2}'')')$$,
                 '22023', 'embedding of item 2 has NaN at position 1', 'NaN');
SELECT throws_ok($$SELECT fashionrec.train('t-emb', 'embedding', 'VALUES (1, ''{1,2}''::real[]), (2, ''{1,NULL}'')')$$,
                 '22004', 'embedding of item 2 must not contain NULL elements', 'NULL element');
SELECT throws_ok($$SELECT fashionrec.train('t-emb', 'embedding', 'VALUES (1, NULL::real[])')$$,
                 '22004', 'embedding of item 1 is NULL', 'NULL vector');
SELECT throws_ok($$SELECT fashionrec.train('t-emb', 'embedding', 'VALUES (5, ''{1,2}''::real[]), (5, ''{3,4}'')')$$,
                 '22023', 'embedding source has item 5 more than once', 'duplicate item');
SELECT throws_ok($$SELECT fashionrec.train('t-emb', 'embedding', 'SELECT 1, ''{1}''::real[] WHERE false')$$,
                 '22000', NULL, 'no rows');
SELECT throws_ok($$SELECT fashionrec.train('t-emb', 'embedding', 'SELECT 1, array_fill(0.5::real, ARRAY[16001])')$$,
                 '54000', NULL, 'more than 16000 dimensions');
SELECT throws_ok($$SELECT fashionrec.train('t-emb', 'embedding', 'SELECT 1, ''{1,2}''::text')$$,
                 '42804', NULL, 'a text vector');
SELECT is((SELECT count(*)::int FROM fashionrec.model WHERE name = 't-emb'), 0, 'failed trainings leave no model');

-- cosine similarity equals a computation in SQL over 50 random 16-d vectors
SELECT setseed(0.3);
CREATE TEMP TABLE t_vec AS
SELECT i AS item, ARRAY(SELECT (random() * 2 - 1)::real FROM generate_series(1, 16) WHERE i > 0) AS v
  FROM generate_series(1, 50) i;
SELECT is(fashionrec.train('t-emb-ok', 'embedding', 'SELECT item, v FROM t_vec'), 1, 'train on random vectors');
CREATE TEMP VIEW t_cos AS
SELECT a.item AS a, b.item AS b,
       (SELECT sum(x * y) FROM unnest(a.v, b.v) AS u(x, y))
       / sqrt((SELECT sum(x * x) FROM unnest(a.v) x) * (SELECT sum(y * y) FROM unnest(b.v) y)) AS cos
  FROM t_vec a JOIN t_vec b ON a.item <> b.item;
SELECT is((SELECT count(*)::int FROM t_vec t, LATERAL fashionrec.similar_items('t-emb-ok', t.item, k => 49) s,
                  t_cos c
            WHERE c.a = t.item AND c.b = s.item_id AND abs(s.score - c.cos) > 1e-5),
          0, 'similar_items scores are the cosines');
SELECT is((SELECT count(*)::int FROM t_vec t, LATERAL fashionrec.similar_items('t-emb-ok', t.item, k => 49) s),
          50 * 49, 'every other item is scored');
SELECT is((SELECT count(*)::int FROM t_vec t
            WHERE (SELECT item_id FROM fashionrec.similar_items('t-emb-ok', t.item, k => 1))
               <> (SELECT b FROM t_cos WHERE a = t.item ORDER BY cos DESC, b LIMIT 1)),
          0, 'the nearest neighbour is the one of highest cosine');

SELECT * FROM finish();
ROLLBACK;
