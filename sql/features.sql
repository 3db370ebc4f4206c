-- Feature store: feature sets over a product table, incremental refresh,
-- realtime trigger, validation, out-of-vocabulary drift (docs/features.md).
-- Work is counted, not only results: refresh's counts and which rows'
-- generation moved.

-- 2 x 2 PNG swatches (colour features, bins 2: 8 dimensions)
CREATE FUNCTION fs_swatch(hex text) RETURNS bytea LANGUAGE sql IMMUTABLE AS
  $$ SELECT fashionrec.encode_png(2, 2, decode(repeat(hex, 4), 'hex')) $$;

CREATE TABLE fs_products (
    id           integer PRIMARY KEY,
    title        text,
    colour       text,
    article_type text,
    emb          real[],
    image        bytea,
    price        numeric
);
INSERT INTO fs_products VALUES
  (1, 'Red summer dress',   'Red',    'Dress', '{1,0,0}', fs_swatch('ff0000'), 10),
  (2, 'Blue denim jeans',   'Blue',   'Jeans', '{0,1,0}', fs_swatch('0000ff'), 20),
  (3, 'Blue summer shirt',  ' blue ', 'Shirt', '{0,0,1}', fs_swatch('00ff00'), 30),
  (4, 'Black leather belt', 'Black',  'Belt',  '{1,1,0}', fs_swatch('000000'), 40),
  (5, 'White cotton shirt', 'White',  'Shirt', '{0,1,1}', fs_swatch('ffffff'), 50);

-- every kind: the result counts the work (seconds left out)
SELECT feature_set, added, updated, deleted, unchanged, failed, generation, vocabulary_version,
       round(oov_share::numeric, 4) AS oov, rebuild_advised
  FROM fashionrec.create_feature_set('text', 'tfidf', 'fs_products',
       '{"text_columns": "title", "attribute_columns": ["colour"], "weights": {"colour": 2}}');
SELECT feature_set, added, updated, deleted, unchanged, failed, generation, vocabulary_version
  FROM fashionrec.create_feature_set('attr', 'attributes', 'fs_products',
       '{"id_column": "id", "columns": ["colour", "article_type"]}');
SELECT feature_set, added, updated, deleted, unchanged, failed, generation, vocabulary_version
  FROM fashionrec.create_feature_set('colour', 'colors', 'fs_products', '{"image_column": "image", "bins": 2}');
SELECT feature_set, added, updated, deleted, unchanged, failed, generation, vocabulary_version
  FROM fashionrec.create_feature_set('clip', 'embedding', 'fs_products', '{"vector_column": "emb"}');

SELECT name, kind, source, dimension, vocabulary_version, generation, items, tombstones, errors, queued,
       realtime, refreshed_at IS NOT NULL AS refreshed, rebuilt_at IS NOT NULL AS rebuilt
  FROM fashionrec.feature_sets WHERE name IN ('text', 'attr', 'colour', 'clip', 'drift', 'v8') ORDER BY name;
SELECT name, id_column, columns, params FROM fashionrec.feature_set WHERE name IN ('text', 'attr', 'colour', 'clip', 'drift', 'v8') ORDER BY name;

-- the terms: title lexemes plus "colour=..." (trimmed, lower-cased), weight 2
SELECT feature, term, document_frequency
  FROM fashionrec.feature_set s, fashionrec.tfidf_terms(s.vocabulary) WHERE s.name = 'text';
SELECT item_id, features FROM fashionrec.features('text');
-- the same vectors as tfidf() over the same document (the colour term twice)
SELECT p.id, fashionrec.item_features('text', p.id)::text = fashionrec.tfidf(s.vocabulary,
         to_tsvector('english', p.title) || ('''colour=' || lower(btrim(p.colour)) || ''':1,2')::tsvector)::text AS same
  FROM fs_products p, fashionrec.feature_set s WHERE s.name = 'text' ORDER BY p.id;
-- attributes: " blue " and "Blue" are one term
SELECT item_id, features FROM fashionrec.features('attr');
SELECT item_id, fashionrec.dims(features), fashionrec.nnz(features) FROM fashionrec.features('colour');
SELECT item_id, features FROM fashionrec.features('clip');
SELECT fashionrec.item_features('clip', 3), fashionrec.item_features('clip', 99) IS NULL AS unknown;

-- attribute_tsvector: weights are positions; NULL, empty and weight 0 give no term
SELECT fashionrec.attribute_tsvector('{a,b,c,d}', ARRAY['x''y', NULL, '', 'z\w'], '{3,1,1,1}');
SELECT fashionrec.attribute_tsvector('{a,b}', '{x,y}', '{1,0}');

-- ---- idempotence: a second refresh does nothing, generation stays -------------
SELECT feature_set, added, updated, deleted, unchanged, failed, generation FROM fashionrec.refresh_features('text');
SELECT feature_set, added, updated, deleted, unchanged, failed, generation FROM fashionrec.refresh_features('colour');

-- ---- incremental: exactly the changed items are recomputed ---------------------
CREATE TABLE fs_before AS
SELECT feature_set, item_id, generation, computed_at, features FROM fashionrec.item_feature;
UPDATE fs_products SET title = 'Red summer maxi dress' WHERE id = 1;   -- text only
UPDATE fs_products SET price = 99 WHERE id = 2;                        -- no feature column
UPDATE fs_products SET image = fs_swatch('ffff00'), emb = '{0,0,2}' WHERE id = 3;
DELETE FROM fs_products WHERE id = 4;
INSERT INTO fs_products VALUES (6, 'Red denim jacket', 'Red', 'Jacket', '{1,0,1}', fs_swatch('ff0000'), 60);
SELECT feature_set, added, updated, deleted, unchanged, failed, generation
  FROM fashionrec.refresh_features('text', batch_size => 1);
SELECT r.feature_set, added, updated, deleted, unchanged, failed, generation
  FROM unnest('{attr,colour,clip}'::text[]) n, fashionrec.refresh_features(n) r;
-- which rows moved: only 1 (text), 3 (colour, clip), 4 (tombstoned everywhere), 6 (new)
SELECT s.name, f.item_id, f.generation, f.features IS NULL AS tombstone
  FROM fashionrec.item_feature f
  JOIN fashionrec.feature_set s ON s.id = f.feature_set
  LEFT JOIN fs_before b ON b.feature_set = f.feature_set AND b.item_id = f.item_id
 WHERE b.item_id IS NULL OR b.generation <> f.generation OR b.computed_at <> f.computed_at
 ORDER BY 1, 2;
-- the vocabulary is fixed: "maxi" and "jacket" are out of it
SELECT item_id, terms, oov_terms FROM fashionrec.item_feature f, fashionrec.feature_set s
 WHERE s.id = f.feature_set AND s.name = 'text' ORDER BY item_id;
-- a deleted item is a tombstone; it comes back when re-inserted
SELECT item_id, features, content_hash IS NULL AS gone FROM fashionrec.item_feature f, fashionrec.feature_set s
 WHERE s.id = f.feature_set AND s.name = 'clip' AND item_id = 4;
INSERT INTO fs_products VALUES (4, 'Black leather belt', 'Black', 'Belt', '{1,1,0}', fs_swatch('000000'), 40);
SELECT feature_set, added, updated, deleted, unchanged, failed FROM fashionrec.refresh_features('clip');
SELECT fashionrec.item_features('clip', 4);
SELECT name, items, tombstones FROM fashionrec.feature_sets WHERE name IN ('text', 'attr', 'colour', 'clip', 'drift', 'v8') ORDER BY name;

-- ---- validation: bad rows are reported, the rest refresh ------------------------
INSERT INTO fs_products VALUES
  (7, NULL, NULL, 'Scarf', '{1,NaN,0}', '\x89504e470d0a1a0a0000', 70),    -- truncated PNG
  (8, 'the of and', NULL, 'Scarf', '{1,2}', 'GIF89a', 80),                 -- stop words only; GIF
  (9, 'Green silk scarf', 'Green', 'Scarf', '{1,NULL,0}', NULL, 90),
  (10, 'Grey wool scarf', 'Grey', 'Scarf', '{{1,0,0}}', fs_swatch('808080'), 100);
SELECT r.feature_set, added, updated, deleted, unchanged, failed
  FROM unnest('{text,attr,colour,clip}'::text[]) n, fashionrec.refresh_features(n) r;
SELECT s.name, e.item_id, e.reason, e.detail
  FROM fashionrec.feature_error e JOIN fashionrec.feature_set s ON s.id = e.feature_set
 WHERE s.name IN ('text', 'attr', 'colour', 'clip', 'drift', 'v8') ORDER BY 1, 2;
SELECT item_id, reason, detail, seen_at IS NOT NULL AS seen FROM fashionrec.feature_errors('colour');
-- failing items have no features and are not recomputed until they change
SELECT feature_set, added, updated, deleted, unchanged, failed FROM fashionrec.refresh_features('colour');
SELECT item_id FROM fashionrec.features('colour');
-- an item that had features and now fails is tombstoned; fixed, its error goes
UPDATE fs_products SET image = 'not an image' WHERE id = 1;
SELECT feature_set, added, updated, deleted, unchanged, failed FROM fashionrec.refresh_features('colour');
SELECT fashionrec.item_features('colour', 1) IS NULL AS tombstone, reason
  FROM fashionrec.feature_errors('colour') WHERE item_id = 1;
UPDATE fs_products SET image = fs_swatch('ff0000') WHERE id = 1;
SELECT feature_set, added, updated, deleted, unchanged, failed FROM fashionrec.refresh_features('colour');
SELECT count(*) AS errors_of_1 FROM fashionrec.feature_errors('colour') WHERE item_id = 1;
UPDATE fs_products SET emb = '{0.5,0.5,0}' WHERE id IN (7, 9, 10);
SELECT feature_set, added, updated, deleted, unchanged, failed FROM fashionrec.refresh_features('clip');
SELECT item_id, reason, detail FROM fashionrec.feature_errors('clip');

-- ---- realtime: features in the writer's transaction ------------------------------
SELECT fashionrec.enable_realtime(n) FROM unnest('{text,attr,colour,clip}'::text[]) n;
SELECT name, realtime FROM fashionrec.feature_sets WHERE name IN ('text', 'attr', 'colour', 'clip', 'drift', 'v8') ORDER BY name;
SELECT regexp_replace(pg_get_triggerdef(t.oid), '[0-9]+', 'N', 'g') AS trigger  -- N: the set's id
  FROM pg_trigger t WHERE tgrelid = 'fs_products'::regclass ORDER BY tgname;
-- the shop's writer has no rights on fashionrec's tables
CREATE ROLE fr_shop_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON fs_products TO fr_shop_writer;
SELECT has_table_privilege('fr_shop_writer', 'fashionrec.item_feature', 'INSERT') AS writer_may_insert;
CREATE TABLE fs_gen0 AS SELECT name, generation FROM fashionrec.feature_set WHERE name IN ('text', 'attr', 'colour', 'clip', 'drift', 'v8');
BEGIN;
SET LOCAL ROLE fr_shop_writer;
INSERT INTO fs_products VALUES (11, 'Navy linen blazer', 'Navy', 'Blazer', '{0,1,0}', fs_swatch('000080'), 110),
                            (12, 'Navy summer dress', 'Navy', 'Dress', '{0,0,1}', fs_swatch('000080'), 120);
UPDATE fs_products SET title = 'Blue denim skinny jeans' WHERE id = 2;
DELETE FROM fs_products WHERE id = 5;
-- a new photo: queued once (old and new id are the same item)
UPDATE fs_products SET image = fs_swatch('000090') WHERE id = 11;
RESET ROLE;
-- in the same transaction: the new items have vectors, the deleted one a tombstone
SELECT item_id, fashionrec.item_features('text', item_id) AS text, fashionrec.item_features('clip', item_id) AS clip
  FROM unnest('{2,5,11,12}'::bigint[]) item_id;
-- one generation for the whole transaction
SELECT s.name, f.item_id, f.generation - g.generation AS generation_step
  FROM fashionrec.item_feature f JOIN fashionrec.feature_set s ON s.id = f.feature_set
  JOIN fs_gen0 g ON g.name = s.name
 WHERE f.generation > g.generation ORDER BY 1, 2;
-- colours are queued, not decoded in the write
SELECT item_id FROM fashionrec.feature_queue q JOIN fashionrec.feature_set s ON s.id = q.feature_set
 WHERE s.name = 'colour' ORDER BY 1;
COMMIT;
SELECT s.name, s.generation - g.generation AS bumps FROM fashionrec.feature_set s JOIN fs_gen0 g USING (name) ORDER BY 1;
-- an update of a column no set uses fires no trigger; a no-op update writes nothing
UPDATE fs_products SET price = 1 WHERE id = 11;
UPDATE fs_products SET title = title WHERE id = 11;
SELECT s.name, s.generation - g.generation AS bumps FROM fashionrec.feature_set s JOIN fs_gen0 g USING (name) ORDER BY 1;
-- a bad row through the trigger is an error row, not a failed write
INSERT INTO fs_products VALUES (13, NULL, NULL, NULL, '{NaN,0,0}', NULL, 130);
SELECT s.name, e.item_id, e.reason FROM fashionrec.feature_error e JOIN fashionrec.feature_set s ON s.id = e.feature_set
 WHERE e.item_id = 13 AND s.name IN ('text', 'attr', 'colour', 'clip') ORDER BY 1;
-- a rolled-back savepoint takes its generation with it; the next write takes a new one
BEGIN;
SAVEPOINT a;
INSERT INTO fs_products VALUES (14, 'Olive cargo shorts', 'Olive', 'Shorts', '{1,0,0}', NULL, 140);
ROLLBACK TO a;
INSERT INTO fs_products VALUES (15, 'Olive cargo pants', 'Olive', 'Pants', '{1,0,0}', NULL, 150);
COMMIT;
SELECT f.item_id, f.generation = s.generation AS newest
  FROM fashionrec.item_feature f JOIN fashionrec.feature_set s ON s.id = f.feature_set
 WHERE s.name = 'text' AND f.item_id IN (14, 15);
-- the id changes: the old id is tombstoned, the new one computed
UPDATE fs_products SET id = 16 WHERE id = 15;
SELECT item_id, features IS NULL AS tombstone FROM fashionrec.item_feature f, fashionrec.feature_set s
 WHERE s.id = f.feature_set AND s.name = 'attr' AND item_id IN (15, 16) ORDER BY 1;
-- a renamed table is followed by the trigger (and then by refresh)
ALTER TABLE fs_products RENAME TO fs_products_renamed;
INSERT INTO fs_products_renamed VALUES (18, 'Teal silk tie', 'Teal', 'Tie', '{0,1,0}', NULL, 180);
SELECT name, source FROM fashionrec.feature_sets WHERE name IN ('text', 'attr', 'colour', 'clip') ORDER BY name;
ALTER TABLE fs_products_renamed RENAME TO fs_products;
DELETE FROM fs_products WHERE id = 18;
SELECT name, source FROM fashionrec.feature_sets WHERE name IN ('text', 'attr', 'colour', 'clip') ORDER BY name;
-- the queue is consumed by the next refresh; the trigger-fed sets have nothing left
SELECT r.feature_set, added, updated, deleted, unchanged, failed
  FROM unnest('{text,attr,colour,clip}'::text[]) n, fashionrec.refresh_features(n) r;
SELECT name, queued FROM fashionrec.feature_sets WHERE name IN ('text', 'attr', 'colour', 'clip', 'drift', 'v8') ORDER BY name;
SELECT * FROM fashionrec.feature_staleness('text');
-- staleness without a refresh: what refresh would do
SELECT fashionrec.disable_realtime('clip');
UPDATE fs_products SET emb = '{3,3,3}' WHERE id = 1;
INSERT INTO fs_products VALUES (17, 'Pink silk top', 'Pink', 'Top', '{1,1,1}', NULL, 170);
DELETE FROM fs_products WHERE id = 16;
SELECT * FROM fashionrec.feature_staleness('clip');
SELECT feature_set, added, updated, deleted, unchanged, failed FROM fashionrec.refresh_features('clip');
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'fs_products'::regclass AND NOT tgisinternal;

-- ---- out-of-vocabulary drift -------------------------------------------------------
CREATE TABLE fs_drift (id bigint PRIMARY KEY, title text);
INSERT INTO fs_drift SELECT g, 'blue cotton shirt' FROM generate_series(1, 10) g;
SELECT feature_set, added, round(oov_share::numeric, 4) AS oov, round(set_oov_share::numeric, 4) AS set_oov,
       rebuild_advised
  FROM fashionrec.create_feature_set('drift', 'tfidf', 'fs_drift', '{"text_columns": ["title"], "oov_threshold": 0.1}');
INSERT INTO fs_drift SELECT g, 'velvet corduroy blazer shirt' FROM generate_series(11, 14) g;
SELECT feature_set, added, round(oov_share::numeric, 4) AS oov, round(set_oov_share::numeric, 4) AS set_oov,
       rebuild_advised, vocabulary_version
  FROM fashionrec.refresh_features('drift');
SELECT name, dimension, vocabulary_version, round(oov_share::numeric, 4) AS oov FROM fashionrec.feature_sets WHERE name = 'drift';
SELECT feature_set, updated, round(oov_share::numeric, 4) AS oov, round(set_oov_share::numeric, 4) AS set_oov,
       rebuild_advised, vocabulary_version
  FROM fashionrec.refresh_features('drift', rebuild => true);
SELECT name, dimension, vocabulary_version, round(oov_share::numeric, 4) AS oov FROM fashionrec.feature_sets WHERE name = 'drift';

-- ---- a view as source; an embedding of double precision ----------------------------
CREATE TABLE fs_vec8 (id bigint, v double precision[]);
INSERT INTO fs_vec8 VALUES (1, '{1,2}'), (2, '{1e300,0}'), (3, '{0,0}');
CREATE VIEW fs_vec8_view AS SELECT id AS item, v FROM fs_vec8;
SELECT feature_set, added, failed, vocabulary_version
  FROM fashionrec.create_feature_set('v8', 'embedding', 'fs_vec8_view', '{"id_column": "item", "vector_column": "v", "dimension": 2}');
SELECT item_id, features FROM fashionrec.features('v8');
SELECT item_id, reason FROM fashionrec.feature_errors('v8');

-- ---- bad arguments ---------------------------------------------------------------
\set VERBOSITY default
SELECT fashionrec.create_feature_set('x', 'words', 'fs_products');
SELECT fashionrec.create_feature_set('bad name', 'tfidf', 'fs_products', '{"text_columns": "title"}');
SELECT fashionrec.create_feature_set('text', 'tfidf', 'fs_products', '{"text_columns": "title"}');
SELECT fashionrec.create_feature_set('x', 'tfidf', 'fs_products', '{}');
SELECT fashionrec.create_feature_set('x', 'tfidf', 'fs_products', '{"text_columns": "title", "colour": 1}');
SELECT fashionrec.create_feature_set('x', 'tfidf', 'fs_products', '{"text_columns": "nope"}');
SELECT fashionrec.create_feature_set('x', 'tfidf', 'fs_products', '{"text_columns": "price"}');
SELECT fashionrec.create_feature_set('x', 'tfidf', 'fs_products', '{"text_columns": "title", "config": "klingon"}');
SELECT fashionrec.create_feature_set('x', 'tfidf', 'fs_products', '{"text_columns": "title", "weights": {"title": 2}}');
SELECT fashionrec.create_feature_set('x', 'attributes', 'fs_products', '{"columns": "colour", "weights": {"colour": 0.5}}');
SELECT fashionrec.create_feature_set('x', 'attributes', 'fs_products', '{"columns": [1, 2]}');
SELECT fashionrec.create_feature_set('x', 'attributes', 'fs_products', '{"columns": "colour, colour"}');
SELECT fashionrec.create_feature_set('x', 'colors', 'fs_products', '{"image_column": "title"}');
SELECT fashionrec.create_feature_set('x', 'colors', 'fs_products', '{"image_column": "image", "bins": 40}');
SELECT fashionrec.create_feature_set('x', 'embedding', 'fs_products', '{"vector_column": "emb", "dimension": 0}');
SELECT fashionrec.create_feature_set('x', 'embedding', 'fs_vec8', '{"vector_column": "v"}');
SELECT fashionrec.create_feature_set('x', 'embedding', 'fs_vec8', '{"id_column": "v", "vector_column": "v"}');
\set VERBOSITY terse
SELECT fashionrec.create_feature_set('x', 'tfidf', 'fs_products', '{"text_columns": "title", "min_df": 50}');
\set VERBOSITY default
SELECT fashionrec.create_feature_set('x', 'tfidf', 'fs_products', '[1]');
SELECT fashionrec.create_feature_set('x', 'tfidf', 'no_such_table', '{}');
SELECT fashionrec.create_feature_set(NULL, 'tfidf', 'fs_products');
SELECT fashionrec.create_feature_set('x', 'tfidf', 'fashionrec.model_id_seq', '{}');
SELECT count(*) AS nothing_left_behind FROM fashionrec.feature_set WHERE name = 'x';
SELECT * FROM fashionrec.refresh_features('nope');
SELECT * FROM fashionrec.refresh_features('text', batch_size => 0);
SELECT * FROM fashionrec.refresh_features('text', rebuild => NULL);
SELECT * FROM fashionrec.features('nope');
SELECT fashionrec.item_features('nope', 1);
SELECT fashionrec.enable_realtime('v8');
SELECT fashionrec.drop_feature_set('nope');
\set VERBOSITY terse

-- the writer cannot call the writing functions
SET ROLE fr_shop_writer;
SELECT * FROM fashionrec.refresh_features('text');
SELECT fashionrec._feature_refresh_gone(1);
RESET ROLE;

-- drop: its rows, errors, queue and trigger go
SELECT fashionrec.enable_realtime('clip');
SELECT fashionrec.drop_feature_set('clip');
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'fs_products'::regclass AND NOT tgisinternal;
SELECT name FROM fashionrec.feature_sets WHERE name IN ('text', 'attr', 'colour', 'clip', 'drift', 'v8') ORDER BY name;
REVOKE ALL ON fs_products FROM fr_shop_writer;
DROP ROLE fr_shop_writer;

-- clean up (the tables' triggers go with them)
SELECT fashionrec.drop_feature_set(name) FROM fashionrec.feature_set WHERE name IN ('text', 'attr', 'colour', 'clip', 'drift', 'v8') ORDER BY name;
DROP VIEW fs_vec8_view;
DROP TABLE fs_products, fs_drift, fs_vec8, fs_before, fs_gen0;
DROP FUNCTION fs_swatch(text);
