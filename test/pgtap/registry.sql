-- Registry, training entry point and serving: signatures, volatility,
-- privileges, SQLSTATEs, and evaluate() against hand-computed metrics.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(40);

-- signatures and labels
SELECT has_function('fashionrec', 'train', ARRAY['text', 'text', 'text', 'jsonb', 'boolean']);
SELECT has_function('fashionrec', 'recommend',
       ARRAY['text', 'bigint', 'integer', 'boolean', 'bigint[]', 'bigint[]', 'text', 'integer', 'integer', 'boolean']);
SELECT has_function('fashionrec', 'similar_items',
       ARRAY['text', 'bigint', 'integer', 'bigint[]', 'bigint[]', 'integer', 'integer', 'boolean']);
SELECT has_function('fashionrec', 'recommend_for_items',
       ARRAY['text', 'bigint[]', 'integer', 'boolean', 'bigint[]', 'bigint[]', 'text', 'integer', 'real[]', 'integer', 'boolean']);
SELECT has_function('fashionrec', 'evaluate', ARRAY['text', 'text', 'integer', 'integer', 'boolean', 'jsonb']);
SELECT volatility_is('fashionrec', 'train', ARRAY['text', 'text', 'text', 'jsonb', 'boolean'], 'volatile');
SELECT volatility_is('fashionrec', 'recommend',
       ARRAY['text', 'bigint', 'integer', 'boolean', 'bigint[]', 'bigint[]', 'text', 'integer', 'integer', 'boolean'], 'stable');
SELECT volatility_is('fashionrec', 'version', '{}'::text[], 'immutable');
SELECT has_view('fashionrec', 'models', 'the registry view exists');
SELECT has_table('fashionrec', 'artifact', 'artifacts are stored in a table');
SELECT col_is_pk('fashionrec', 'artifact', ARRAY['model_id', 'name', 'chunk'], 'artifacts are chunked');

-- privileges: PUBLIC cannot write the catalog or train
SELECT table_privs_are('fashionrec', 'model', 'public', '{}'::text[], 'PUBLIC has no rights on model');
SELECT table_privs_are('fashionrec', 'artifact', 'fashionrec_reader', ARRAY['SELECT'], 'readers only read artifacts');
SELECT function_privs_are('fashionrec', 'train', ARRAY['text', 'text', 'text', 'jsonb', 'boolean'],
       'fashionrec_reader', '{}'::text[], 'readers cannot train');
SELECT function_privs_are('fashionrec', 'train', ARRAY['text', 'text', 'text', 'jsonb', 'boolean'],
       'fashionrec_trainer', ARRAY['EXECUTE'], 'trainers can train');

-- a tiny shop whose metrics can be computed by hand
CREATE TEMP TABLE tr (u bigint, i bigint);
INSERT INTO tr VALUES (1, 1), (1, 2), (2, 1), (2, 3), (3, 1), (3, 2), (3, 4), (4, 2);
-- popularity: item 1 (3), item 2 (3), item 3 (1), item 4 (1)
CREATE TEMP TABLE te (u bigint, i bigint);
INSERT INTO te VALUES (1, 3), (1, 4), (2, 2), (4, 5);
SELECT is(fashionrec.train('tiny', 'popularity', 'SELECT u, i FROM tr'), 1, 'first version is 1');
SELECT is((SELECT active FROM fashionrec.model WHERE name = 'tiny'), true, 'first version is active');
SELECT results_eq(
  $$SELECT item_id FROM fashionrec.recommend('tiny', 1, 2) ORDER BY rank$$,
  ARRAY[3, 4]::bigint[], 'user 1 gets the unseen items, ties by id');
-- k = 2.  user 1: recs [3, 4], relevant {3, 4}: P = 1, R = 1, NDCG = 1
--          user 2: recs [2, 4], relevant {2}: P = .5, R = 1, NDCG = 1
--          user 4: recs [1, 3], relevant {5}: P = 0, R = 0, NDCG = 0  (item 5 unknown)
-- mean P = 0.5, mean R = 2/3, mean NDCG = 2/3, hit rate = 2/3
CREATE TEMP TABLE ev AS SELECT * FROM fashionrec.evaluate('tiny', 'SELECT u, i FROM te', 2);
SELECT is((SELECT users FROM ev), 3::bigint, 'three test users');
SELECT cmp_ok((SELECT abs(precision_at_k - 0.5) FROM ev), '<', 1e-12::float8, 'precision@2');
SELECT cmp_ok((SELECT abs(recall_at_k - 2.0 / 3) FROM ev), '<', 1e-12::float8, 'recall@2');
SELECT cmp_ok((SELECT abs(ndcg_at_k - 2.0 / 3) FROM ev), '<', 1e-12::float8, 'ndcg@2');
SELECT cmp_ok((SELECT abs(hit_rate - 2.0 / 3) FROM ev), '<', 1e-12::float8, 'hit rate@2');
SELECT is((SELECT count(*) FROM fashionrec.evaluation e JOIN fashionrec.model m ON m.id = e.model_id
            WHERE m.name = 'tiny'), 1::bigint, 'evaluate() appends to the history');

-- SQLSTATEs of the error classes
SELECT throws_ok($$SELECT fashionrec.train('tiny', 'nope', 'tr')$$, '22023', NULL, 'unknown algorithm');
SELECT throws_ok($$SELECT fashionrec.train('tiny', 'popularity', 'tr', '{"nope": 1}')$$, '22023', NULL, 'unknown param');
SELECT throws_ok($$SELECT fashionrec.train('tiny', 'popularity', 'tr', '{"half_life_days": "x"}')$$, '22023', NULL, 'param type');
SELECT throws_ok($$SELECT fashionrec.train('tiny', 'popularity', 'no_such_table')$$, '42P01', NULL, 'missing source');
SELECT throws_ok($$SELECT fashionrec.train('tiny', 'popularity', 'VALUES (1, NULL::int)')$$, '22004', NULL, 'NULL id');
SELECT throws_ok($$SELECT fashionrec.train('tiny', 'popularity', 'VALUES (1, 2, -1)')$$, '22000', NULL, 'negative weight');
SELECT throws_ok($$SELECT fashionrec.train('tiny', 'popularity', 'SELECT 1, 2 WHERE false')$$, '22000', NULL, 'empty source');
SELECT throws_ok($$SELECT fashionrec.train(NULL, 'popularity', 'tr')$$, '22004', NULL, 'NULL name');
SELECT throws_ok($$SELECT * FROM fashionrec.recommend('nope', 1)$$, '42704', NULL, 'unknown model');
SELECT throws_ok($$SELECT * FROM fashionrec.recommend('tiny', 1, version => 5)$$, '42704', NULL, 'unknown version');
SELECT throws_ok($$SELECT * FROM fashionrec.recommend('tiny', 1, 0)$$, '22023', NULL, 'k <= 0');
SELECT throws_ok($$SELECT * FROM fashionrec.recommend('tiny', 1, 100000)$$, '54000', NULL, 'k too large');
SELECT throws_ok($$SELECT * FROM fashionrec.similar_items('tiny', 1)$$, '0A000', NULL, 'no similarity in popularity');
SELECT throws_ok($$SELECT fashionrec.activate('tiny', 9)$$, '42704', NULL, 'activate unknown version');
SELECT throws_ok($$SELECT fashionrec.rollback('tiny')$$, '55000', NULL, 'nothing to roll back to');
SELECT throws_ok($$SET LOCAL fashionrec.max_memory = '1MB';
                   SELECT fashionrec.train('big', 'popularity', 'SELECT g, g FROM generate_series(1, 100000) g')$$,
                 '54000', NULL, 'memory budget refused up front');

SELECT * FROM finish();
ROLLBACK;
