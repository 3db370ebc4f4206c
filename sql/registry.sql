-- Registry: train, versions, activation, rollback, archive, drop, validate.
-- progress notices carry timings; keep the output stable
-- PL/pgSQL line numbers in CONTEXT lines would change with every edit
\set SHOW_CONTEXT never
SET client_min_messages = warning;

CREATE TABLE interactions (customer_id int, article_id bigint, qty numeric, at timestamptz);
INSERT INTO interactions VALUES
  (1, 10, 1, '2025-01-01'), (1, 11, 2, '2025-01-02'), (1, 10, 1, '2025-01-03'),
  (2, 10, 1, '2025-01-01'), (2, 12, 1, '2025-01-05'),
  (3, 11, 1, '2025-01-02'), (3, 12, 3, '2025-01-06'), (3, 13, 1, '2025-01-07'),
  (4, 10, 1, '2025-01-04');

-- train from a table name: the first version is activated
SELECT fashionrec.train('shop-pop', 'popularity', 'interactions');
SELECT name, version, algorithm, status, active, users, items, interactions
  FROM fashionrec.models WHERE name = 'shop-pop';
SELECT data - ARRAY['checksum', 'byte_order', 'library_version'] AS data FROM fashionrec.model WHERE name = 'shop-pop';

-- same data, same checksum, whatever the row order
SELECT fashionrec.train('shop-pop', 'popularity',
       'SELECT customer_id, article_id, qty FROM interactions ORDER BY at DESC');
SELECT count(DISTINCT data ->> 'checksum') AS checksums FROM fashionrec.model WHERE name = 'shop-pop';
-- the second version is not activated unless asked
SELECT version, active FROM fashionrec.models WHERE name = 'shop-pop';
SELECT * FROM fashionrec.recommend('shop-pop', 4, k => 3);
SELECT * FROM fashionrec.recommend('shop-pop', 4, k => 3, version => 2);

-- named columns and a time column; recency-weighted popularity
SELECT fashionrec.train('shop-recent', 'popularity', 'SELECT * FROM interactions',
       '{"user_column": "customer_id", "item_column": "article_id", "weight_column": "qty",
         "time_column": "at", "half_life_days": 2}');
SELECT item_id, round(score::numeric, 4) AS score, rank
  FROM fashionrec.recommend('shop-recent', 999, k => 4);

-- activate, rollback, archive, drop
SELECT fashionrec.activate('shop-pop', 2);
SELECT version, active FROM fashionrec.models WHERE name = 'shop-pop';
SELECT fashionrec.rollback('shop-pop');
SELECT version, active FROM fashionrec.models WHERE name = 'shop-pop';
SELECT fashionrec.rollback('shop-pop');
SELECT fashionrec.archive('shop-pop', 2);
SELECT fashionrec.archive('shop-pop', 1);
SELECT version, status, active FROM fashionrec.models WHERE name = 'shop-pop';
SELECT fashionrec.drop_model('shop-pop', 1);
SELECT fashionrec.drop_model('shop-pop', 2);
SELECT fashionrec.activate('shop-pop', 7);
SELECT fashionrec.activate('no-such-model', 1);

-- a failed training leaves the registry as it was
SELECT count(*) AS models_before FROM fashionrec.model WHERE name LIKE 'shop-%';
SELECT fashionrec.train('shop-pop', 'popularity', 'SELECT customer_id, article_id, qty / 0 FROM interactions');
SELECT count(*) AS models_after FROM fashionrec.model WHERE name LIKE 'shop-%';
SELECT max(version) FROM fashionrec.model WHERE name = 'shop-pop';

-- invalid input: names, algorithms, sources
SELECT fashionrec.train(NULL, 'popularity', 'interactions');
SELECT fashionrec.train('bad name!', 'popularity', 'interactions');
SELECT fashionrec.train('m', 'no_such_algorithm', 'interactions');
SELECT fashionrec.train('m', 'popularity', 'no_such_table');
SELECT fashionrec.train('m', 'popularity', '');
SELECT fashionrec.train('m', 'popularity', 'SELECT 1');
SELECT fashionrec.train('m', 'popularity', 'SELECT ''a''::text, 1');
SELECT fashionrec.train('m', 'popularity', 'SELECT 1, 2 WHERE false');
SELECT fashionrec.train('m', 'popularity', 'WITH d AS (DELETE FROM interactions RETURNING customer_id, article_id) SELECT * FROM d');
SELECT count(*) AS interactions_untouched FROM interactions;
-- invalid input: data
SELECT fashionrec.train('m', 'popularity', 'VALUES (1::bigint, NULL::bigint)');
SELECT fashionrec.train('m', 'popularity', 'VALUES (1, 2, ''NaN''::float8)');
SELECT fashionrec.train('m', 'popularity', 'VALUES (1, 2, -1.0)');
SELECT fashionrec.train('m', 'popularity', 'VALUES (1, 2, NULL::float8)');
-- invalid input: params
SELECT fashionrec.train('m', 'popularity', 'interactions', '{"half_life": 3}');
SELECT fashionrec.train('m', 'popularity', 'interactions', '{"half_life_days": "soon"}');
SELECT fashionrec.train('m', 'popularity', 'interactions', '{"half_life_days": -1}');
SELECT fashionrec.train('m', 'popularity', 'interactions', '[1, 2]');
SELECT fashionrec.train('m', 'popularity', 'interactions', '{"user_column": "nope"}');
SELECT fashionrec.train('m', 'popularity', 'interactions', '{"min_user_interactions": 1.5}');
SELECT fashionrec.train('m', 'popularity', 'SELECT customer_id, article_id FROM interactions', '{"half_life_days": 2}');
SELECT count(*) AS no_trace_of_failures FROM fashionrec.model WHERE name = 'm';

-- minimum counts drop sparse users and items
SELECT fashionrec.train('m', 'popularity', 'interactions', '{"min_user_interactions": 2}');
SELECT users, items, interactions FROM fashionrec.models WHERE name = 'm';

-- memory budget is checked before allocating
SET fashionrec.max_memory = '1MB';
SELECT fashionrec.train('big', 'popularity', 'SELECT g % 1000, g FROM generate_series(1, 200000) g');
RESET fashionrec.max_memory;

-- validate reports instead of refusing
SELECT * FROM fashionrec.validate(
  'VALUES (1::bigint, 10::bigint, 1.0::float8, ''2025-01-01''::timestamptz),
          (1, 10, 2.0, ''2025-01-02''), (NULL, 11, 1.0, ''2025-01-01''),
          (2, 11, ''NaN'', ''2025-01-01''), (2, 12, -1.0, ''2999-01-01''), (3, 12, NULL, NULL)');
SELECT * FROM fashionrec.validate(NULL);

-- statement_timeout cancels a training and leaves nothing behind
SET statement_timeout = '200ms';
SELECT fashionrec.train('slow', 'popularity',
       'SELECT g % 1000, g % 5000, pg_sleep(0.0001) IS NULL FROM generate_series(1, 1000000) g');
RESET statement_timeout;
SELECT count(*) AS slow_models FROM fashionrec.model WHERE name = 'slow';

SELECT fashionrec.drop_model('shop-pop');
SELECT fashionrec.drop_model('shop-recent');
SELECT fashionrec.drop_model('m');
SELECT count(*) AS artifacts_left FROM fashionrec.artifact a
  JOIN fashionrec.model m ON m.id = a.model_id WHERE m.name IN ('shop-pop', 'shop-recent', 'm');

-- popularity per context: what is popular within each season of the interactions
CREATE TABLE seasonal (customer int, product int, season text);
INSERT INTO seasonal VALUES (1, 10, 'summer'), (2, 10, 'summer'), (3, 11, 'summer'),
  (1, 12, 'winter'), (2, 12, 'winter'), (3, 12, 'winter'), (4, 11, 'winter'), (4, 11, NULL);
SELECT fashionrec.train('seasonal', 'popularity', 'seasonal', '{"context_column": "season"}');
SELECT info FROM fashionrec.models WHERE name = 'seasonal';
SELECT item_id, score, rank FROM fashionrec.recommend('seasonal', 99, 3, context => 'summer');
SELECT item_id, score, rank FROM fashionrec.recommend('seasonal', 99, 3, context => 'winter');
-- user 4 saw item 11: excluded in context too
SELECT item_id, score, rank FROM fashionrec.recommend('seasonal', 4, 3, context => 'winter');
-- an unknown context falls back to overall popularity
SELECT item_id, score, rank FROM fashionrec.recommend('seasonal', 99, 3, context => 'autumn');
-- an anonymous session in a context: the context's ranking without the session's items
SELECT item_id, score, rank FROM fashionrec.recommend_for_items('seasonal', ARRAY[12]::bigint[], 3, context => 'winter');
-- only popularity uses contexts
SELECT fashionrec.train('m2', 'itemknn', 'seasonal', '{"context_column": "season"}');
SELECT fashionrec.train('m2', 'popularity', 'seasonal', '{"context_column": "nope"}');
SELECT fashionrec.train('ctx-m', 'popularity', 'SELECT customer, product FROM seasonal');
SELECT * FROM fashionrec.recommend('ctx-m', 1, context => 'summer');
SELECT fashionrec.drop_model('seasonal');
SELECT fashionrec.drop_model('ctx-m');

-- every version records the artifact format, byte order and library that wrote it;
-- a version this library cannot read as written is refused before it is loaded
SELECT fashionrec.train('stamp-pop', 'popularity', 'interactions');
SELECT data ->> 'artifact_format' AS format, data ->> 'byte_order' IN ('little-endian', 'big-endian') AS byte_order,
       data ->> 'library_version' = fashionrec.version() AS library
  FROM fashionrec.model WHERE name = 'stamp-pop';
SELECT fashionrec.train('stamp-pop', 'popularity', 'interactions', activate => true);
UPDATE fashionrec.model SET data = data || '{"artifact_format": 2, "library_version": "9.0"}'
 WHERE name = 'stamp-pop' AND version = 2;
\set VERBOSITY terse
SELECT * FROM fashionrec.recommend('stamp-pop', 1, k => 2);
\set VERBOSITY default
UPDATE fashionrec.model SET data = data || jsonb_build_object('artifact_format', 1, 'byte_order',
       CASE data ->> 'byte_order' WHEN 'little-endian' THEN 'big-endian' ELSE 'little-endian' END)
 WHERE name = 'stamp-pop' AND version = 2;
SELECT count(*) FROM fashionrec.recommend('stamp-pop', 1, k => 2);
-- the version that was written here still serves
SELECT count(*) FROM fashionrec.recommend('stamp-pop', 1, k => 2, version => 1);
SELECT fashionrec.drop_model('stamp-pop');
