-- Colour features of product images: dominant colours, histograms, names.
-- The images are built here with encode_png (or are tiny JPEGs written once
-- with libjpeg, quality 90, 4:4:4), so every answer is known in advance.
-- Expected Lab values: CIE formulas, sRGB primaries, D65 white, computed
-- independently in Python: red (53.24, 80.09, 67.20), blue (32.30, 79.19,
-- -107.86), #C8102E (42.54, 65.89, 35.71).

-- a w x h PNG: colour fg inside [x0, x1) x [y0, y1), bg elsewhere
CREATE FUNCTION rect_png(w int, h int, bg text, fg text, x0 int, y0 int, x1 int, y1 int)
RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
  SELECT fashionrec.encode_png(w, h, string_agg(
           decode(CASE WHEN x >= x0 AND x < x1 AND y >= y0 AND y < y1 THEN fg ELSE bg END, 'hex'),
           ''::bytea ORDER BY y, x))
    FROM generate_series(0, h - 1) AS y, generate_series(0, w - 1) AS x
$$;
CREATE FUNCTION r2(real[]) RETURNS numeric[] LANGUAGE sql IMMUTABLE AS
  $$ SELECT array_agg(round(v::numeric, 2) ORDER BY i) FROM unnest($1) WITH ORDINALITY AS t(v, i) $$;

CREATE TABLE img (id text PRIMARY KEY, data bytea);
INSERT INTO img VALUES
  ('red',      rect_png(16, 16, 'ff0000', 'ff0000', 0, 0, 0, 0)),
  ('stripes',  rect_png(20, 10, 'ff0000', '0000ff', 10, 0, 20, 10)),
  ('product',  rect_png(20, 20, 'ffffff', 'c8102e', 5, 5, 15, 15)),
  ('grey-bg',  rect_png(30, 20, 'eeeeee', '1f2a44', 10, 4, 20, 16)),
  ('one',      rect_png(1, 1, '00ff00', '00ff00', 0, 0, 0, 0)),
  ('red.jpg',  '\xffd8ffdb0043000302020302020303030304030304050805050404050a070706080c0a0c0c0b0a0b0b0d0e12100d0e110e0b0b1016101113141515150c0f171816141812141514ffdb00430103040405040509050509140d0b0d1414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141414ffc00011080010001003011100021101031101ffc4001500010100000000000000000000000000000008ffc40014100100000000000000000000000000000000ffc400160101010100000000000000000000000000000709ffc40014110100000000000000000000000000000000ffda000c03010002110311003f009d10c6a980000fffd9'),
  ('stripes.jpg', '\xffd8ffdb0043000302020302020303030304030304050805050404050a070706080c0a0c0c0b0a0b0b0d0e12100d0e110e0b0b1016101113141515150c0f171816141812141514ffdb00430103040405040509050509140d0b0d1414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141414ffc00011080008001003011100021101031101ffc4001500010100000000000000000000000000000708ffc40014100100000000000000000000000000000000ffc4001501010100000000000000000000000000000907ffc40014110100000000000000000000000000000000ffda000c03010002110311003f009d10c2a60238c1d1ffd9');

SELECT id, (fashionrec.image_info(data)).* FROM img ORDER BY id;

-- solid red: one colour, #FF0000, all of the image
SELECT rank, hex, r2(lab) AS lab, share, name
  FROM fashionrec.dominant_colors((SELECT data FROM img WHERE id = 'red'));
-- half red, half blue: two colours of 0.5 (a tie is ordered by hex)
SELECT rank, hex, r2(lab) AS lab, share, name
  FROM fashionrec.dominant_colors((SELECT data FROM img WHERE id = 'stripes'));
-- k = 1: the Lab mean of red and blue, (42.77, 79.64, -20.33) = #CA0088
SELECT rank, hex, r2(lab) AS lab, share, name
  FROM fashionrec.dominant_colors((SELECT data FROM img WHERE id = 'stripes'), k => 1);
-- a red square on white: the white border is background ...
SELECT rank, hex, r2(lab) AS lab, share, name
  FROM fashionrec.dominant_colors((SELECT data FROM img WHERE id = 'product'));
-- ... unless asked to keep it: 300 white pixels of 400, 100 red
SELECT rank, hex, share, name
  FROM fashionrec.dominant_colors((SELECT data FROM img WHERE id = 'product'),
                                  ignore_background => false);
-- a navy garment on a light grey studio background
SELECT rank, hex, share, name
  FROM fashionrec.dominant_colors((SELECT data FROM img WHERE id = 'grey-bg'));
-- a single pixel
SELECT rank, hex, share, name
  FROM fashionrec.dominant_colors((SELECT data FROM img WHERE id = 'one'));
-- JPEG: its YCbCr round trip turns pure red into #FE0000; two 8x8 blocks of red and blue
SELECT rank, hex, share, name
  FROM fashionrec.dominant_colors((SELECT data FROM img WHERE id = 'red.jpg'));
SELECT rank, hex, share, name
  FROM fashionrec.dominant_colors((SELECT data FROM img WHERE id = 'stripes.jpg'));
-- the seed only matters when k-means has a choice: these clusters are clear
SELECT count(DISTINCT (SELECT array_agg(hex || share ORDER BY rank)
                         FROM fashionrec.dominant_colors(data, 2, seed => s))) AS distinct_answers
  FROM img, generate_series(1, 20) AS s WHERE id = 'stripes';

-- histograms: 4^3 cells, soft binning (each pixel shared between the cells
-- whose centres surround it).  Red sits at cell coordinates (1.63, 3, 2.95),
-- blue at (0.79, 3, 0); the shares below were computed in Python (1-based).
SELECT array_length(fashionrec.color_histogram(data, 4), 1) AS cells,
       round(sum(v)::numeric, 6) AS total
  FROM img, unnest(fashionrec.color_histogram(data, 4)) AS v WHERE id = 'stripes' GROUP BY data;
SELECT i AS cell, round(v::numeric, 4) AS share
  FROM img, unnest(fashionrec.color_histogram(data, 4)) WITH ORDINALITY AS t(v, i)
 WHERE id = 'stripes' AND v > 0;
SELECT array_length(fashionrec.color_histogram(data), 1) AS default_cells FROM img WHERE id = 'red';
-- background removal applies to histograms too: the product's red spreads
-- over 8 cells, the white adds 4 more (it sits between cells on a and b)
SELECT count(*) FILTER (WHERE v > 0) AS with_removal
  FROM img, unnest(fashionrec.color_histogram(data)) AS v WHERE id = 'product';
SELECT count(*) FILTER (WHERE v > 0) AS without_removal
  FROM img, unnest(fashionrec.color_histogram(data, ignore_background => false)) AS v WHERE id = 'product';

-- names
SELECT c, fashionrec.color_name(c)
  FROM unnest(ARRAY['#FF0000', '#1f2a44', '000080', '#F5F5DC', 'fff', '#2B2B2B', '#C8102E']) AS c;
SELECT count(*) AS anchors, count(DISTINCT name) AS names FROM fashionrec.color_vocabulary();

-- encode_png round trip: 3 x 2 pixels read back as colours
SELECT (fashionrec.image_info(fashionrec.encode_png(3, 2, '\xff0000ff0000ff00000000ff0000ff0000ff'))).*;
SELECT hex, share FROM fashionrec.dominant_colors(
  fashionrec.encode_png(3, 2, '\xff0000ff0000ff00000000ff0000ff0000ff'), ignore_background => false);

-- invalid images: empty, random bytes, another format
SELECT * FROM fashionrec.dominant_colors(''::bytea);
SELECT * FROM fashionrec.dominant_colors(decode(md5('not an image'), 'hex'));
SELECT * FROM fashionrec.dominant_colors('GIF89a\001\000\001\000'::bytea);
-- truncated PNG and JPEG
SELECT * FROM fashionrec.dominant_colors((SELECT substring(data FROM 1 FOR length(data) / 2) FROM img WHERE id = 'stripes'));
SELECT * FROM fashionrec.dominant_colors((SELECT substring(data FROM 1 FOR 20) FROM img WHERE id = 'stripes'));
SELECT * FROM fashionrec.dominant_colors((SELECT substring(data FROM 1 FOR length(data) - 10) FROM img WHERE id = 'red.jpg'));
SELECT * FROM fashionrec.dominant_colors((SELECT substring(data FROM 1 FOR 150) FROM img WHERE id = 'red.jpg'));
-- a flipped byte inside the PNG's compressed pixels
SELECT * FROM fashionrec.color_histogram((SELECT set_byte(data, length(data) - 20, get_byte(data, length(data) - 20) # 85) FROM img WHERE id = 'stripes'));

-- decompression bombs: refused from the header (IHDR at byte 16, SOF0 in a JPEG)
SELECT * FROM fashionrec.dominant_colors((SELECT overlay(data PLACING '\x0001000000010000' FROM 17) FROM img WHERE id = 'red'));
SELECT * FROM fashionrec.dominant_colors((SELECT overlay(data PLACING '\x4e204e20' FROM position('\xffc0'::bytea IN data) + 5) FROM img WHERE id = 'red.jpg'));
-- the limit is 50,000,000 pixels: 5000 x 10000 passes it (and is then too short
-- for its size), 5000 x 10001 does not
SELECT * FROM fashionrec.dominant_colors((SELECT overlay(data PLACING '\x0000138800002710' FROM 17) FROM img WHERE id = 'red'));
SELECT * FROM fashionrec.dominant_colors((SELECT overlay(data PLACING '\x0000138800002711' FROM 17) FROM img WHERE id = 'red'));
-- image_info reads the header only, so it reports the declared size
SELECT (fashionrec.image_info((SELECT overlay(data PLACING '\x0001000000010000' FROM 17) FROM img WHERE id = 'red'))).*;

-- invalid parameters
SELECT * FROM fashionrec.dominant_colors((SELECT data FROM img WHERE id = 'red'), k => 0);
SELECT * FROM fashionrec.dominant_colors((SELECT data FROM img WHERE id = 'red'), k => 33);
SELECT count(*) FROM fashionrec.dominant_colors((SELECT data FROM img WHERE id = 'red'), k => 32);
SELECT fashionrec.color_histogram((SELECT data FROM img WHERE id = 'red'), bins => 1);
SELECT fashionrec.color_histogram((SELECT data FROM img WHERE id = 'red'), bins => 17);
SELECT array_length(fashionrec.color_histogram((SELECT data FROM img WHERE id = 'red'), bins => 16), 1);
SELECT fashionrec.encode_png(0, 1, '\x000000');
SELECT fashionrec.encode_png(2, 1, '\x000000');
SELECT fashionrec.encode_png(10000, 10000, '\x000000');
SELECT fashionrec.color_name('#12345');
SELECT fashionrec.color_name('navy');

-- NULLs: no colours, no histogram
SELECT count(*) FROM fashionrec.dominant_colors(NULL);
SELECT fashionrec.color_histogram(NULL) IS NULL AS null_histogram;
SELECT count(*) FROM fashionrec.dominant_colors((SELECT data FROM img WHERE id = 'red'), NULL);
