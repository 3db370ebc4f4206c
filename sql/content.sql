-- Content models in the registry: "tfidf" (text, optional attribute columns)
-- and "attributes" (structured columns), trained from a catalog source, with
-- interactions for users from the "interactions" parameter.
SET client_min_messages = warning;  -- training NOTICEs carry timings
\set SHOW_CONTEXT never
SET search_path = fashionrec, public;
CREATE TABLE products (id bigint, title text, colour text, category text, season text);
INSERT INTO products VALUES
  (1, 'Red summer dress',    'Red',    'Dress', 'Summer'),
  (2, 'Blue summer dress',   ' Blue',  'Dress', 'Summer'),
  (3, 'Red leather shoes',   'red',    'Shoes', 'Winter'),
  (4, 'Black leather shoes', 'Black',  'Shoes', 'Winter'),
  (5, 'Steel watch',         'Silver', 'Watch', NULL),
  (6, NULL,                  NULL,     NULL,    NULL);
CREATE TABLE buys (customer bigint, product bigint);
INSERT INTO buys VALUES (10, 1), (10, 3), (11, 4), (12, 99);

SELECT name, predicts_ratings, parameters FROM algorithms()
 WHERE name IN ('tfidf', 'attributes') ORDER BY name;

-- TF-IDF over the titles.  Lexemes (english): 1 red summer dress, 2 blue
-- summer dress, 3 red leather shoe, 4 black leather shoe, 5 steel watch,
-- 6 none.  n = 6 items; idf = ln(7 / (1 + df)) + 1: df 2 -> a = 1.847298,
-- df 1 -> b = 2.252763.  Rows are scaled to unit length:
--   x1 = (red, summer, dress) all a             -> 0.577350 each
--   x2 = (blue b, summer a, dress a) / 3.449632 -> blue 0.653044, summer and dress 0.535506
-- cos(1, 2) = 2 * 0.577350 * 0.535506 = 0.6183; cos(1, 3) = 0.577350^2 = 0.3333;
-- 4 and 5 share no term with 1 and are not similar at all (no row).
-- Scores are float4, shown to 4 places.
SELECT train('txt', 'tfidf', 'SELECT id, title FROM products', '{"interactions": "SELECT customer, product FROM buys"}');
SELECT info, data->'items' AS items, data->'users' AS users FROM model WHERE name = 'txt';
SELECT item_id, round(score::numeric, 4) AS score, rank FROM similar_items('txt', 1);
SELECT item_id, round(score::numeric, 4) AS score, rank FROM similar_items('txt', 4);
SELECT count(*) AS similar_to_watch FROM similar_items('txt', 5);       -- shares no term
SELECT count(*) AS similar_to_empty FROM similar_items('txt', 6);       -- has no text
SELECT count(*) AS similar_to_unknown FROM similar_items('txt', 999);
SELECT item_id, round(score::numeric, 4) AS score FROM similar_items('txt', 1, candidates => ARRAY[3, 4, 5]);

-- users from the interactions: 10 bought 1 and 3.  Profile = x1 + x3,
-- scaled: red 0.707107, summer dress leather shoe 0.353553 each, so
-- item 2 = 2 * 0.353553 * 0.535506 = 0.3787 and item 4 the same (tie to
-- the lower id); bought items are excluded, 5 and 6 are not similar.
SELECT item_id, round(score::numeric, 4) AS score, rank FROM recommend('txt', 10);
-- 11 bought 4: item 3 shares leather and shoe, 0.6183
SELECT item_id, round(score::numeric, 4) AS score, rank FROM recommend('txt', 11);
-- 12 only bought an item outside the catalog: an unknown user, who gets the
-- popularity fallback (items 1, 3, 4 were bought once)
SELECT item_id, round(score::numeric, 4) AS score, rank FROM recommend('txt', 12, k => 3);
-- predict: the cosine of profile and item, 0 when they share no term
SELECT round(predict('txt', 10, 2)::numeric, 4) AS predicted, predict('txt', 10, 5) AS not_similar,
       predict('txt', 10, 999) AS unknown_item;

-- fold-in: items 5 and 2.  x5 = (steel, watch) 0.707107 each; the profile is
-- (x5 + x2) / sqrt 2, so item 1 = 2 * (0.535506 / sqrt 2) * 0.577350 = 0.4372.
SELECT item_id, round(score::numeric, 4) AS score, rank FROM recommend_for_items('txt', ARRAY[5, 2]);
-- weights 1 and 3: (x5 + 3 x2) / sqrt 10 -> item 1 = 2 * (3 * 0.535506 / sqrt 10) * 0.577350 = 0.5866
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM recommend_for_items('txt', ARRAY[5, 2], weights => ARRAY[1, 3]::real[]);

-- the text may come as a tsvector column: the same model
SELECT train('txt-tsv', 'tfidf', 'SELECT id, to_tsvector(''english'', title) FROM products');
SELECT item_id, round(score::numeric, 4) AS score, rank FROM similar_items('txt-tsv', 1);
-- options of the vectoriser: min_df 2 keeps red, summer, dress, leather, shoe
SELECT train('txt-min2', 'tfidf', 'SELECT id, title FROM products', '{"min_df": 2}');
SELECT info->'features' AS features, info->'items_without_features' AS empty FROM model WHERE name = 'txt-min2';
-- a config of its own: 'simple' does not stem, so "shoes" and "shoe" differ
SELECT train('txt-simple', 'tfidf',
       'SELECT id, title FROM products UNION ALL SELECT 7, ''one shoe''', '{"config": "simple"}');
SELECT count(*) AS similar_to_one_shoe FROM similar_items('txt-simple', 7);

-- attributes: "column=value" terms, trimmed and lower-cased (" Blue" = "blue").
-- Without idf and with category weighted 3 (season NULL for the watch):
--   x1 = (colour=red 1, category=dress 3, season=summer 1) / sqrt 11
--   cos(1, 2) = (9 + 1) / 11 = 0.9091; cos(1, 3) = 1 / 11 = 0.0909 (colour)
SELECT train('attr', 'attributes', 'SELECT id, colour, category, season FROM products',
       '{"use_idf": false, "weights": "{\"category\": 3}"}');
SELECT item_id, round(score::numeric, 4) AS score, rank FROM similar_items('attr', 1);
-- x5 = (colour=silver, category=watch 3) / sqrt 10 shares nothing with anyone
SELECT count(*) AS similar_to_watch FROM similar_items('attr', 5);
-- weight 0 drops a field: without colour, 1 and 3 have nothing in common
SELECT train('attr-nocolour', 'attributes', 'SELECT id, colour, category, season FROM products',
       '{"use_idf": false, "weights": "{\"colour\": 0}"}');
SELECT item_id, round(score::numeric, 4) AS score, rank FROM similar_items('attr-nocolour', 1);
-- with idf (the default), rare values weigh more: df(colour=blue) = 1 ->
-- b = 2.252763, others df 2 -> a = 1.847298; x1 = (a, 3a, a) / (a sqrt 11);
-- x2 = (b, 3a, a) / sqrt(b^2 + 10 a^2) = (b, 3a, a) / 6.260994
-- cos(1, 2) = (9a + a) / (sqrt 11 * 6.260994) = 0.8896
SELECT train('attr-idf', 'attributes', 'SELECT id, colour, category, season FROM products',
       '{"weights": "{\"category\": 3}"}');
SELECT item_id, round(score::numeric, 4) AS score, rank FROM similar_items('attr-idf', 1, k => 1);
-- one row per value: multi-valued attributes (tags); rows of an item add up
SELECT train('tags', 'attributes',
       'SELECT * FROM (VALUES (1, ''floral''), (1, ''party''), (2, ''floral''), (3, ''party''), (3, ''leather'')) t(id, tag)',
       '{"use_idf": false}');
SELECT info->'catalog_rows' AS catalog_rows, info->'merged_rows' AS merged_rows FROM model WHERE name = 'tags';
-- x1 = (floral, party) / sqrt 2, x2 = floral, x3 = (leather, party) / sqrt 2
SELECT item_id, round(score::numeric, 4) AS score, rank FROM similar_items('tags', 1);

-- text and attributes in one vocabulary: the attribute terms join the
-- document.  Item 3 and 4 share leather, shoe and category=shoes (weight 2);
-- 1 and 3 share red and colour=red.  The same arithmetic (16 terms, n = 6)
-- in Python gives cos(3, 4) = 0.708118 and cos(3, 1) = 0.25.
SELECT train('both', 'tfidf', 'products',
       '{"text_column": "title", "attribute_columns": "colour, category", "weights": "{\"category\": 2}"}');
SELECT info->'features' AS features FROM model WHERE name = 'both';
SELECT item_id, round(score::numeric, 4) AS score, rank FROM similar_items('both', 3);
-- the list may also be a JSON array
SELECT train('both-json', 'tfidf', 'products',
       '{"text_column": "title", "attribute_columns": "[\"colour\", \"category\"]", "weights": "{\"category\": 2}"}');
SELECT (SELECT array_agg(round(score::numeric, 4)) FROM similar_items('both-json', 3)) =
       (SELECT array_agg(round(score::numeric, 4)) FROM similar_items('both', 3)) AS same_model;

-- a new catalog item is not in a trained model: it needs a retraining
INSERT INTO products VALUES (7, 'Red summer dress with belt', 'Red', 'Dress', 'Summer');
SELECT count(*) AS new_item_similar FROM similar_items('txt', 7);
SELECT count(*) AS new_item_listed FROM similar_items('txt', 1) WHERE item_id = 7;
-- version 2, trained on the grown catalog and activated, knows item 7
-- (red, summer, dress, belt): the closest to item 1
SELECT train('txt', 'tfidf', 'SELECT id, title FROM products', '{"interactions": "SELECT customer, product FROM buys"}',
             activate => true);
SELECT item_id, rank FROM similar_items('txt', 1, k => 2);
SELECT count(*) AS version_1_still_without FROM similar_items('txt', 7, version => 1);

-- invalid sources and parameters
SELECT train('bad', 'tfidf', 'products', '{"attribute_columns": "size"}');
SELECT train('bad', 'tfidf', 'products', '{"attribute_columns": "colour, , season"}');
SELECT train('bad', 'tfidf', 'products', '{"attribute_columns": "title"}');
SELECT train('bad', 'tfidf', 'SELECT id, title, colour AS c, category AS c FROM products', '{"attribute_columns": "[\"c\", \"c\"]"}');
SELECT train('bad', 'tfidf', 'SELECT id, 42 FROM products');
SELECT train('bad', 'tfidf', 'products', '{"text_column": "id"}');
SELECT train('bad', 'tfidf', 'products', '{"text_column": "nope"}');
SELECT train('bad', 'tfidf', 'SELECT title, id FROM products');
SELECT train('bad', 'tfidf', 'SELECT id FROM products');
SELECT train('bad', 'tfidf', 'SELECT id, title FROM products', '{"config": "klingon"}');
SELECT train('bad', 'tfidf', 'SELECT id, title FROM products', '{"min_df": 1.5}');
SELECT train('bad', 'tfidf', 'SELECT id, title FROM products', '{"max_df": 2.5}');
SELECT train('bad', 'tfidf', 'SELECT id, title FROM products', '{"min_df": 7}');
SELECT train('bad', 'tfidf', 'SELECT id, title FROM products', '{"min_df": 3, "max_df": 2}');
SELECT train('bad', 'tfidf', 'SELECT id, title FROM products', '{"sublinear": true}');
SELECT train('bad', 'attributes', 'SELECT id, colour FROM products', '{"weights": "{\"size\": 3}"}');
SELECT train('bad', 'attributes', 'SELECT id, colour FROM products', '{"weights": "{\"colour\": -1}"}');
SELECT train('bad', 'attributes', 'SELECT id, colour FROM products', '{"weights": "[1]"}');
SELECT train('bad', 'attributes', 'SELECT id, colour FROM products', '{"weights": "{colour: 1}"}');
SELECT train('bad', 'attributes', 'SELECT id, colour FROM products', '{"config": "english"}');
SELECT train('bad', 'attributes', 'SELECT id, colour FROM products', '{"context_column": "colour"}');
SELECT train('bad', 'tfidf', 'WITH d AS (DELETE FROM products RETURNING id, title) SELECT * FROM d');
SELECT train('bad', 'tfidf', 'SELECT id, title FROM products', '{"interactions": "SELECT customer FROM buys"}');
SELECT count(*) AS bad_models FROM model WHERE name = 'bad';
SELECT count(*) AS products_kept FROM products;

-- the memory budget (fashionrec.max_memory) covers reading the catalog:
-- 40000 items x 2 attributes do not fit in 1.2 MB, 300 do
SET fashionrec.max_memory = '1200kB';
SELECT train('big', 'attributes', 'SELECT i, i % 7 AS a, i % 11 AS b FROM generate_series(1, 40000) i');
SELECT train('big', 'attributes', 'SELECT i, i % 7 AS a, i % 11 AS b FROM generate_series(1, 300) i');
RESET fashionrec.max_memory;
SELECT info->'features' AS features FROM model WHERE name = 'big';

-- NULLs and empty catalogs
SELECT train('bad', 'tfidf', 'SELECT NULL::bigint, title FROM products');
SELECT train('bad', 'tfidf', 'SELECT id, title FROM products WHERE false');
SELECT train('bad', 'tfidf', 'SELECT id, NULL::text FROM products');
SELECT train('bad', 'tfidf', 'SELECT id, ''the and of'' FROM products');
SELECT train('bad', 'attributes', 'SELECT id, NULL::text AS colour, '' '' AS category FROM products');
