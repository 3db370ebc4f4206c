-- A damaged or tampered artifact is refused when its model loads: an ERROR
-- (XX001, data corrupted) naming the model, its version and the artifact,
-- never a model served from it.  Every case below crashed the backend (an
-- index out of range, signal 11, every session dropped) or served wrong
-- results before the loaders checked what they read.
--
-- The superuser edits fashionrec.artifact as disk damage or tampering
-- would.  Bytes are in the server's native order, little-endian on the
-- machines this runs on.  A load that fails caches nothing, so each case
-- tampers, serves, and puts the trained bytes back before the next one.
-- The shared model store keeps a version loaded across sessions, so
-- putting the bytes back also evicts the models from it.
SET client_min_messages = warning;
CREATE TABLE buy (customer bigint, product bigint, at timestamptz);
INSERT INTO buy VALUES
    (1, 1, '2024-01-01 10:00'), (1, 2, '2024-01-01 10:05'),
    (2, 1, '2024-01-01 11:00'), (2, 2, '2024-01-01 11:05'), (2, 3, '2024-01-01 11:10'),
    (3, 2, '2024-01-02 10:00'), (3, 3, '2024-01-02 10:05'), (3, 1, '2024-01-03 10:00'),
    (4, 4, '2024-01-01 10:00'), (4, 5, '2024-01-01 10:05'),
    (5, 4, '2024-01-01 12:00'), (5, 5, '2024-01-01 12:05'), (5, 6, '2024-01-01 12:10'),
    (6, 5, '2024-01-02 12:00'), (6, 6, '2024-01-02 12:05'), (6, 4, '2024-01-02 12:10'),
    (7, 1, '2024-01-04 09:00');
-- product 7 is new: only the catalog knows it
CREATE TABLE vec (item bigint, v real[]);
INSERT INTO vec VALUES (1, '{1,0}'), (2, '{1,0.1}'), (3, '{0.9,0.2}'),
                       (4, '{0,1}'), (5, '{0.1,1}'), (6, '{0.2,0.9}'), (7, '{1,0.05}');
CREATE TABLE attr (item bigint, colour text, category text);
INSERT INTO attr VALUES (1, 'red', 'dress'), (2, 'red', 'dress'), (3, 'blue', 'dress'),
                        (4, 'blue', 'shoe'), (5, 'black', 'shoe'), (6, 'black', 'shoe'), (7, 'red', 'dress');
CREATE TABLE buy_season AS
  SELECT customer, product, CASE WHEN product <= 3 THEN 'summer' ELSE 'winter' END AS season FROM buy;

SELECT fashionrec.train('x-als', 'als', 'SELECT customer, product FROM buy',
                        '{"factors": 2, "iterations": 5, "solver": "cholesky"}');
SELECT fashionrec.train('x-svd', 'svd', 'SELECT customer, product FROM buy', '{"factors": 2}');
SELECT fashionrec.train('x-knn', 'itemknn', 'SELECT customer, product FROM buy');
SELECT fashionrec.train('x-ease', 'ease', 'SELECT customer, product FROM buy', '{"lambda": 1, "max_items": 4}');
SELECT fashionrec.train('x-seq', 'sequence', 'SELECT customer, product, 1, at FROM buy');
SELECT fashionrec.train('x-pop', 'popularity', 'buy_season', '{"context_column": "season"}');
SELECT fashionrec.train('x-vec', 'embedding', 'vec', '{"interactions": "SELECT customer, product FROM buy"}');
SELECT fashionrec.train('x-attr', 'attributes', 'attr', '{"interactions": "SELECT customer, product FROM buy"}');
-- new items mapped into the ALS space ("cold_items"), recency-weighted histories ("history_*")
SELECT fashionrec.train('x-h', 'hybrid', NULL,
                        '{"cf": "x-als", "content": "x-vec", "popularity": "x-pop", "half_life_days": 7,
                          "interactions": "SELECT customer, product, 1, at FROM buy"}');
-- a hybrid over a feature set, which it serves live
SELECT added, failed FROM fashionrec.create_feature_set('x-set', 'attributes', 'attr',
       '{"id_column": "item", "columns": ["colour", "category"]}');
SELECT fashionrec.train('x-feat', 'features', 'x-set', '{"interactions": "SELECT customer, product FROM buy"}');
SELECT fashionrec.train('x-live', 'hybrid', NULL,
                        '{"cf": "x-als", "content": "x-feat", "interactions": "SELECT customer, product FROM buy"}');
-- one chunk each, so that tamper() reaches every byte
SELECT a.name, count(*) AS chunks FROM fashionrec.artifact a JOIN fashionrec.model m ON m.id = a.model_id
 WHERE m.name LIKE 'x-%' GROUP BY m.name, a.name HAVING count(*) > 1;
-- training the hybrid loaded its components into this session's cache
\c
SET client_min_messages = warning;

-- v as `width` bytes, least significant first
CREATE FUNCTION le(v bigint, width int) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
  SELECT string_agg(set_byte('\x00'::bytea, 0, ((v >> (8 * i)) & 255)::int), ''::bytea ORDER BY i)
    FROM generate_series(0, width - 1) i $$;
-- overwrite the bytes at a 0-based offset of one artifact of a model
CREATE FUNCTION tamper(which_model text, which_artifact text, at_byte int, new_bytes bytea)
  RETURNS void LANGUAGE sql AS $$
  UPDATE fashionrec.artifact a SET data = overlay(a.data placing new_bytes from at_byte + 1)
    FROM fashionrec.model m
   WHERE m.id = a.model_id AND m.name = which_model AND a.name = which_artifact AND a.chunk = 0 $$;
CREATE TABLE pristine AS SELECT model_id, name, chunk, nrows, ncols, data FROM fashionrec.artifact;
CREATE FUNCTION forget() RETURNS bigint LANGUAGE sql AS $$
  SELECT sum(fashionrec.model_cache_drop(m.name)) FROM (SELECT DISTINCT name FROM fashionrec.model
                                                      WHERE name LIKE 'x-%') m $$;
CREATE FUNCTION restore() RETURNS void LANGUAGE sql AS $$
  SELECT forget();
  UPDATE fashionrec.artifact a SET nrows = p.nrows, ncols = p.ncols, data = p.data
    FROM pristine p
   WHERE p.model_id = a.model_id AND p.name = a.name AND p.chunk = a.chunk
     AND (a.nrows, a.ncols, a.data) IS DISTINCT FROM (p.nrows, p.ncols, p.data) $$;
-- training the hybrids loaded their components into the shared model store too
SELECT forget() > 0 AS evicted;

-- ---- what every model stores: id maps, "seen" lists, popularity --------------
-- a seen item index far out of range: recommend() wrote skip[100000000]
SELECT tamper('x-als', 'seen_indices', 0, le(100000000, 4));
SELECT * FROM fashionrec.recommend('x-als', 1, 3);
SELECT count(*) FROM fashionrec.recommend_all('x-als', k => 3);
-- its SQLSTATE: XX001, data_corrupted
\set VERBOSITY sqlstate
SELECT * FROM fashionrec.recommend('x-als', 1, 3);
\set VERBOSITY default
SELECT restore();
-- offsets that decrease: user 1's list ran 100 million entries past the end
SELECT tamper('x-attr', 'seen_indptr', 8, le(100000000, 8));
SELECT * FROM fashionrec.recommend('x-attr', 1, 3);
-- drift() reads the same lists: user 1 had 100 million training items
SELECT * FROM fashionrec._user_activity((SELECT id FROM fashionrec.model WHERE name = 'x-attr'));
SELECT restore();
-- offsets from -100000000: drift() read the item indices before the array
SELECT tamper('x-als', 'seen_indptr', 0, le(-100000000, 8));
SELECT count(*) FROM fashionrec._training_pairs((SELECT id FROM fashionrec.model WHERE name = 'x-als'));
SELECT restore();
-- ids out of order: the binary search missed a known user (user_embedding was NULL)
SELECT tamper('x-als', 'user_ids', 0, le(5, 8));
SELECT fashionrec.user_embedding('x-als', 1);
SELECT restore();
-- popularity of fewer items than the model has: an unknown user got bytes past its end
UPDATE fashionrec.artifact a SET nrows = 2, data = substr(a.data, 1, 8)
  FROM fashionrec.model m WHERE m.id = a.model_id AND m.name = 'x-als' AND a.name = 'item_popularity';
SELECT * FROM fashionrec.recommend('x-als', 999, 3);
SELECT restore();

-- ---- factor models ------------------------------------------------------------
-- one NaN item factor: the Gram matrix, so every fold-in, was NaN (no rows)
SELECT tamper('x-als', 'item_factors', 0, le(x'7fc00000'::int, 4));
SELECT * FROM fashionrec.recommend_for_items('x-als', ARRAY[4, 5]::bigint[], 3);
SELECT restore();
-- an infinite factor: item 1 dropped out of every similar list
SELECT tamper('x-svd', 'svd_item_factors', 4, le(x'7f800000'::int, 4));
SELECT * FROM fashionrec.similar_items('x-svd', 2, 3);
SELECT restore();

-- ---- neighbour lists, EASE, sequences -------------------------------------------
-- item 1's neighbours ran 100 million entries past the end
SELECT tamper('x-knn', 'knn_indptr', 8, le(100000000, 8));
SELECT * FROM fashionrec.similar_items('x-knn', 1, 3);
SELECT restore();
-- modelled items out of order (item 6, then 2, 4, 5): item 1 lost its column
-- and had no similar items
SELECT tamper('x-ease', 'ease_items', 0, le(5, 4));
SELECT * FROM fashionrec.similar_items('x-ease', 1, 3);
SELECT restore();
-- fewer modelled items than weight columns: the column map was read past its end
UPDATE fashionrec.artifact a SET nrows = 2, data = substr(a.data, 1, 8)
  FROM fashionrec.model m WHERE m.id = a.model_id AND m.name = 'x-ease' AND a.name = 'ease_items';
SELECT * FROM fashionrec.recommend_for_items('x-ease', ARRAY[1]::bigint[], 3);
SELECT restore();
-- a transition to item 100000000: next_items() added to scores[100000000]
SELECT tamper('x-seq', 'trans_indices', 0, le(100000000, 4));
SELECT * FROM fashionrec.next_items('x-seq', ARRAY[1]::bigint[], 3);
SELECT restore();
-- a user's recent item -5
SELECT tamper('x-seq', 'recent_indices', 0, le(-5, 4));
SELECT * FROM fashionrec.recommend('x-seq', 1, 3);
SELECT restore();

-- ---- content ----------------------------------------------------------------------
-- a NaN vector made every cosine NaN (no rows)
SELECT tamper('x-vec', 'embedding', 0, le(x'7fc00000'::int, 4));
SELECT * FROM fashionrec.recommend_for_items('x-vec', ARRAY[1]::bigint[], 3);
SELECT restore();

-- ---- popularity by context --------------------------------------------------------
-- names out of order: 'winter' got summer's list
SELECT tamper('x-pop', 'context_names', 0,
              convert_to('winter', 'UTF8') || '\x00'::bytea || convert_to('summer', 'UTF8') || '\x00'::bytea);
SELECT * FROM fashionrec.recommend('x-pop', 999, 3, context => 'winter');
SELECT restore();

-- ---- hybrid -------------------------------------------------------------------------
-- a new item's index out of range: its CF score was written to vals[100000000]
SELECT tamper('x-h', 'cold_items', 0, le(100000000, 4));
SELECT * FROM fashionrec.explain('x-h', 1, 3);
SELECT restore();
-- history offsets from -100000000: the load read history ids before the array
SELECT tamper('x-h', 'history_indptr', 0, le(-100000000, 8));
SELECT * FROM fashionrec.recommend_for_items('x-h', ARRAY[1]::bigint[], 3);
SELECT restore();
-- The maps and pins are checked against the components when a call needs
-- them, so unknown users are served without opening the components; the
-- hybrid loads (and stays cached), hence a new session after each case.
-- The cf map points at item 100000000 of the ALS model:
SELECT tamper('x-h', 'map_cf', 0, le(100000000, 4));
SELECT * FROM fashionrec.recommend('x-h', 1, 3);
SELECT restore();
\c
SET client_min_messages = warning;
-- the cf pin names the hybrid itself: serving recursed until the stack depth limit
SELECT tamper('x-h', 'hybrid_pins', 0, convert_to('x-h', 'UTF8') || '\x00'::bytea);
SELECT * FROM fashionrec.recommend('x-h', 1, 3);
SELECT restore();
\c
SET client_min_messages = warning;
-- A hybrid over a feature set opens its components while it loads, to map
-- the items added since training: a pin naming itself recursed there
SELECT tamper('x-live', 'hybrid_pins', 0, convert_to('x-live', 'UTF8') || '\x00'::bytea);
SELECT * FROM fashionrec.recommend('x-live', 999, 3);
SELECT restore();

-- ---- the trained bytes load and serve -----------------------------------------------
SELECT count(*) FROM fashionrec.artifact a JOIN pristine p USING (model_id, name, chunk)
 WHERE (a.nrows, a.ncols, a.data) IS DISTINCT FROM (p.nrows, p.ncols, p.data);
SELECT m.name, (SELECT count(*) FROM fashionrec.recommend(m.name, 1, 3)) AS recs
  FROM fashionrec.model m WHERE m.name LIKE 'x-%' ORDER BY m.name;
SELECT count(*) AS recs_all FROM fashionrec.recommend_all('x-als', k => 3);
SELECT count(*) AS pairs FROM fashionrec._training_pairs((SELECT id FROM fashionrec.model WHERE name = 'x-attr'));
SELECT count(*) AS explained FROM fashionrec.explain('x-h', 1, 3);
SELECT array_agg(item_id ORDER BY rank) AS winter FROM fashionrec.recommend('x-pop', 999, 3, context => 'winter');
