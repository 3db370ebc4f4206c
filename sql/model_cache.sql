-- The shared model store (src/store.c, docs/serving.md "One copy per
-- server"): the test cluster preloads fashionrec, so each version is loaded
-- once per server and every backend maps that copy.  Eviction under a small
-- fashionrec.shared_cache_size, the oversize fallback, a cancelled load and
-- the standby are in test/shared_store.sh and test/replica.sh (they need
-- their own clusters).
SET client_min_messages = warning;
CREATE TABLE mc_buys AS
SELECT (g % 97) + 1 AS customer, ((g * 7919) % 211) + 1 AS product FROM generate_series(1, 5000) g;
SELECT fashionrec.train('mc', 'als', 'mc_buys', '{"factors": 8, "iterations": 2}') AS version;
SELECT fashionrec.reset_serving_stats('mc') >= 0 AS reset;
RESET client_min_messages;
CREATE EXTENSION dblink;
SELECT dblink_connect(c, format('host=%s port=%s dbname=%s', current_setting('unix_socket_directories'),
                                current_setting('port'), current_database()))
  FROM unnest(ARRAY['s1', 's2', 's3']) c;

-- ---- loaded once across sessions -------------------------------------------
-- three sessions serve it one after the other: the first loads it into the
-- store, the other two attach to that copy
SELECT c AS session, (SELECT count(*) FROM dblink(c, $$SELECT item_id FROM fashionrec.recommend('mc', 1, 5)$$)
                                           AS t(item_id bigint)) AS served
  FROM unnest(ARRAY['s1', 's2', 's3']) c;
SELECT name, version, "where", backends, hits, bytes >= 4 * 8 * (97 + 211) AS holds_factors,
       load_ms > 0 AS timed, loaded_at <= now() AS dated
  FROM fashionrec.model_cache WHERE name = 'mc';
SELECT function, calls, cache_loads, shared_loads, attaches
  FROM fashionrec.serving_stats WHERE name = 'mc';
-- their second calls are served from their cache: no load, no attach
SELECT c AS session, (SELECT count(*) FROM dblink(c, $$SELECT item_id FROM fashionrec.recommend('mc', 2, 5)$$)
                                           AS t(item_id bigint)) AS served
  FROM unnest(ARRAY['s1', 's2', 's3']) c;
SELECT function, calls, cache_loads, shared_loads, attaches
  FROM fashionrec.serving_stats WHERE name = 'mc';
-- this session attaches too, and serves what the others serve, every path
SELECT (SELECT array_agg(item_id ORDER BY rank) FROM fashionrec.recommend('mc', 1, 5)) =
       (SELECT array_agg(item_id) FROM dblink('s2', $$SELECT item_id FROM fashionrec.recommend('mc', 1, 5) ORDER BY rank$$)
                                          AS t(item_id bigint)) AS same_lists,
       (SELECT array_agg(item_id ORDER BY rank) FROM fashionrec.recommend_for_items('mc', ARRAY[3, 4]::bigint[], 5)) =
       (SELECT array_agg(item_id) FROM dblink('s3', $$SELECT item_id FROM fashionrec.recommend_for_items('mc', ARRAY[3, 4]::bigint[], 5) ORDER BY rank$$)
                                          AS t(item_id bigint)) AS same_fold_in,
       (SELECT array_agg(item_id ORDER BY rank) FROM fashionrec.similar_items('mc', 3, 5)) =
       (SELECT array_agg(item_id) FROM dblink('s1', $$SELECT item_id FROM fashionrec.similar_items('mc', 3, 5) ORDER BY rank$$)
                                          AS t(item_id bigint)) AS same_neighbours;
SELECT "where", backends FROM fashionrec.model_cache WHERE name = 'mc';
SELECT sum(shared_loads) AS loads, sum(cache_loads) AS private_loads, sum(attaches) AS attaches
  FROM fashionrec.serving_stats WHERE name = 'mc';

-- ---- activation switches versions ----------------------------------------
SET client_min_messages = warning;
SELECT fashionrec.train('mc', 'als', 'mc_buys', '{"factors": 8, "iterations": 3}') AS version;
RESET client_min_messages;
SELECT fashionrec.activate('mc', 2);
SELECT c AS session, (SELECT count(*) FROM dblink(c, $$SELECT item_id FROM fashionrec.recommend('mc', 1, 5)$$)
                                           AS t(item_id bigint)) AS served
  FROM unnest(ARRAY['s1', 's2', 's3']) c;
-- version 2 loaded once; version 1 stays mapped by the sessions that cached it
SELECT version, "where", backends FROM fashionrec.model_cache WHERE name = 'mc' ORDER BY version;
SELECT version, sum(shared_loads) AS loads, sum(attaches) AS attaches
  FROM fashionrec.serving_stats WHERE name = 'mc' GROUP BY version ORDER BY version;

-- ---- dropping a version from the store -------------------------------------
SELECT fashionrec.model_cache_drop('mc', 1) AS dropped;
SELECT version, "where" FROM fashionrec.model_cache WHERE name = 'mc' ORDER BY version;
-- the next call that asks for it loads it again, once
SELECT count(*) FROM dblink('s1', $$SELECT item_id FROM fashionrec.recommend('mc', 1, 5, version => 1)$$) AS t(item_id bigint);
SELECT count(*) FROM dblink('s2', $$SELECT item_id FROM fashionrec.recommend('mc', 1, 5, version => 1)$$) AS t(item_id bigint);
SELECT version, "where", backends FROM fashionrec.model_cache WHERE name = 'mc' ORDER BY version;
SELECT sum(shared_loads) AS version_1_loads FROM fashionrec.serving_stats WHERE name = 'mc' AND version = 1;
-- every version of a name; an unknown name or version drops nothing
SELECT fashionrec.model_cache_drop('mc') AS dropped;
SELECT fashionrec.model_cache_drop('mc', 99) AS dropped, fashionrec.model_cache_drop('no-such-model') AS unknown,
       fashionrec.model_cache_drop(NULL) AS null_name;
SELECT count(*) AS left_in_store FROM fashionrec.model_cache WHERE name = 'mc';
-- only trainers may drop: readers serve
SET ROLE fashionrec_reader;
SELECT fashionrec.model_cache_drop('mc');
SELECT count(*) > 0 AS reader_serves FROM fashionrec.recommend('mc', 1, 5);
RESET ROLE;

-- ---- which version is active, read by index -----------------------------------
-- under each statement's snapshot, through the registry's indexes
-- (model.c, no query planned): an activation not yet committed changes
-- nothing for other sessions, its own transaction serves it at once, and
-- every session's next call after the commit serves it (calls per version)
SELECT fashionrec.reset_serving_stats('mc') >= 0 AS reset;
BEGIN;
SELECT fashionrec.activate('mc', 1);
SELECT count(*) AS here FROM fashionrec.recommend('mc', 1, 5);
SELECT count(*) AS s1 FROM dblink('s1', $$SELECT item_id FROM fashionrec.recommend('mc', 1, 5)$$) AS t(item_id bigint);
SELECT version, sum(calls) AS calls FROM fashionrec.serving_stats WHERE name = 'mc' GROUP BY version ORDER BY version;
COMMIT;
SELECT count(*) AS s1 FROM dblink('s1', $$SELECT item_id FROM fashionrec.recommend('mc', 1, 5)$$) AS t(item_id bigint);
SELECT version, sum(calls) AS calls FROM fashionrec.serving_stats WHERE name = 'mc' GROUP BY version ORDER BY version;
-- rollback switches back as immediately
SELECT fashionrec.rollback('mc');
SELECT count(*) AS s1 FROM dblink('s1', $$SELECT item_id FROM fashionrec.recommend('mc', 1, 5)$$) AS t(item_id bigint);
SELECT version, sum(calls) AS calls FROM fashionrec.serving_stats WHERE name = 'mc' GROUP BY version ORDER BY version;
-- a backend started with ignore_system_indexes reads the same rows by scanning the table
SELECT dblink_connect('noidx', format('host=%s port=%s dbname=%s options=''-c ignore_system_indexes=on''',
                                      current_setting('unix_socket_directories'), current_setting('port'),
                                      current_database()));
SELECT * FROM dblink('noidx', 'SHOW ignore_system_indexes') AS t(setting text);
SELECT (SELECT array_agg(item_id ORDER BY rank) FROM fashionrec.recommend('mc', 1, 5)) =
       (SELECT array_agg(item_id) FROM dblink('noidx', $$SELECT item_id FROM fashionrec.recommend('mc', 1, 5) ORDER BY rank$$)
                                          AS t(item_id bigint)) AS same_active,
       (SELECT array_agg(item_id ORDER BY rank) FROM fashionrec.recommend('mc', 1, 5, version => 1)) =
       (SELECT array_agg(item_id) FROM dblink('noidx', $$SELECT item_id FROM fashionrec.recommend('mc', 1, 5, version => 1) ORDER BY rank$$)
                                          AS t(item_id bigint)) AS same_version_1;
SELECT * FROM dblink('noidx', $$SELECT count(*) FROM fashionrec.recommend('mc', 1, 5, version => 3)$$) AS t(n bigint);
SELECT dblink_disconnect('noidx');
-- reading the registry by index keeps the table's privileges: a role that is
-- no reader is refused as a query would refuse it
CREATE ROLE mc_outsider;
SET ROLE mc_outsider;
SELECT count(*) FROM fashionrec.recommend('mc', 1, 5);
RESET ROLE;
DROP ROLE mc_outsider;

-- ---- a model that reads a feature set live -----------------------------------
-- its key holds the set's generation: a write to the set makes the next call
-- load the version again, with the new product, once for every session
SET client_min_messages = warning;
CREATE TABLE mc_catalog AS
SELECT g AS product_id, (ARRAY['dress', 'shirt', 'shoe'])[1 + g % 3] AS article_type,
       (ARRAY['red', 'blue'])[1 + g % 2] AS colour
  FROM generate_series(1, 211) g;
ALTER TABLE mc_catalog ADD PRIMARY KEY (product_id);
SELECT added FROM fashionrec.create_feature_set('mc-attr', 'attributes', 'mc_catalog',
       '{"id_column": "product_id", "columns": ["article_type", "colour"]}');
SELECT fashionrec.train('mc-feat', 'features', 'mc-attr', '{"interactions": "mc_buys"}') AS version;
SELECT fashionrec.enable_realtime('mc-attr');
RESET client_min_messages;
SELECT count(*) FROM fashionrec.similar_items('mc-feat', 1, 3);
SELECT count(*) FROM dblink('s1', $$SELECT item_id FROM fashionrec.similar_items('mc-feat', 1, 3)$$) AS t(item_id bigint);
INSERT INTO mc_catalog VALUES (1001, 'dress', 'red');
SELECT count(*) AS neighbours_of_new FROM fashionrec.similar_items('mc-feat', 1001, 3);
SELECT count(*) AS neighbours_of_new
  FROM dblink('s1', $$SELECT item_id FROM fashionrec.similar_items('mc-feat', 1001, 3)$$) AS t(item_id bigint);
-- the copy both sessions now map (the superseded one, unused, stays until the
-- store needs its room: tests running beside this one may take it first)
SELECT version, "where", backends FROM fashionrec.model_cache WHERE name = 'mc-feat' AND backends > 0;
SELECT sum(shared_loads) AS loads, sum(attaches) AS attaches FROM fashionrec.serving_stats WHERE name = 'mc-feat';

SELECT dblink_disconnect(c) FROM unnest(ARRAY['s1', 's2', 's3']) c;
DROP EXTENSION dblink;

-- ---- the BLAS kernel ----------------------------------------------------------
-- the test cluster sets OPENBLAS_CORETYPE when OpenBLAS would pick a generic
-- kernel (test/lib.sh), so there is never advice here
SELECT core <> '' AS has_core, threads, config LIKE 'OpenBLAS%' AS has_config, advice IS NULL AS kernel_fits,
       sgemm_gflops > 0 AS measured
  FROM fashionrec.blas_info(0.05);
SELECT sgemm_gflops IS NULL AS not_measured FROM fashionrec.blas_info(0);
SET fashionrec.blas_threads = 2;
SELECT threads FROM fashionrec.blas_info(0);
RESET fashionrec.blas_threads;
-- invalid probe times
SELECT * FROM fashionrec.blas_info(-1);
SELECT * FROM fashionrec.blas_info(61);
SELECT * FROM fashionrec.blas_info('NaN');
