-- The DBA's limits: fashionrec.max_memory, blas_threads, cache_models and
-- max_k are superuser settings, which a plain role (a trainer included)
-- cannot raise by any route; and every serving function cuts k to the
-- model's number of items, so that a k up to max_k allocates no more than
-- the catalogue.  Names start with lim-; everything is dropped at the end.
SET client_min_messages = warning;
\set SHOW_CONTEXT never

-- the settings exist once the library is loaded (the test cluster preloads it)
SELECT fashionrec.version() IS NOT NULL AS loaded;

-- the SQLSTATE and message of a statement's error, or 'allowed'
CREATE FUNCTION pg_temp.attempt(statement text) RETURNS text
    LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'allowed';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

SELECT name, setting, unit, context FROM pg_settings
 WHERE name IN ('fashionrec.max_memory', 'fashionrec.blas_threads', 'fashionrec.cache_models',
                'fashionrec.max_k')
 ORDER BY name;

-- ---- a plain login role that trains cannot raise them -----------------------
CREATE ROLE fr_limits_trainer LOGIN IN ROLE fashionrec_trainer;
-- the budget the superuser chose for this session stays in force
SET fashionrec.max_memory = '2MB';
SET ROLE fr_limits_trainer;
SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user;
SELECT s AS statement, pg_temp.attempt(s) AS result
  FROM (VALUES ($$SET fashionrec.max_memory = '1TB'$$),
               ($$SET fashionrec.blas_threads = 64$$),
               ($$SET fashionrec.cache_models = 1000$$),
               ($$SET fashionrec.max_k = 100000000$$),
               ($$SET LOCAL fashionrec.max_memory = '1TB'$$),
               ($$SELECT set_config('fashionrec.max_memory', '1TB', false)$$),
               ($$RESET fashionrec.max_memory$$),
               ($$ALTER ROLE CURRENT_USER SET fashionrec.blas_threads = 64$$),
               ($$ALTER ROLE CURRENT_USER SET fashionrec.cache_models = 1000$$)) v(s);
SHOW fashionrec.max_memory;
SHOW fashionrec.blas_threads;
SHOW fashionrec.cache_models;
SHOW fashionrec.max_k;
-- so an EASE model over 1500 items is refused before it allocates anything
SELECT fashionrec.train('lim-ease', 'ease', 'SELECT g % 40, g % 1500 FROM generate_series(1, 6000) g');
RESET ROLE;
RESET fashionrec.max_memory;
-- the superuser sets them for the server, a database or a role
ALTER ROLE fr_limits_trainer SET fashionrec.max_k = 100;
SELECT setconfig FROM pg_db_role_setting WHERE setrole = 'fr_limits_trainer'::regrole;
ALTER ROLE fr_limits_trainer RESET fashionrec.max_k;

-- ---- k above the catalogue --------------------------------------------------
-- 12 products bought by 30 customers, two each: c % 12 + 1 and (c + 5) % 12 + 1
CREATE TABLE lim_buys AS
SELECT c AS customer, (c + o) % 12 + 1 AS product, pg_catalog.make_timestamptz(2024, 1, 1, 0, 0, 0) + o * interval '1 hour' AS at
  FROM generate_series(1, 30) c, (VALUES (0), (5)) v(o);
SELECT fashionrec.train('lim-knn', 'itemknn', 'SELECT customer, product FROM lim_buys') AS version;
SELECT fashionrec.train('lim-als', 'als', 'SELECT customer, product FROM lim_buys',
                        '{"factors": 2, "iterations": 5, "solver": "cholesky"}') AS version;
SELECT fashionrec.train('lim-pop', 'popularity', 'SELECT customer, product FROM lim_buys') AS version;
SELECT fashionrec.train('lim-seq', 'sequence', 'SELECT customer, product, 1, at FROM lim_buys') AS version;
SELECT fashionrec.train('lim-h', 'hybrid', NULL,
                        '{"cf": "lim-als", "popularity": "lim-pop",
                          "interactions": "SELECT customer, product FROM lim_buys"}') AS version;
SELECT fashionrec.create_experiment('lim-exp', salt => 'lim-exp') > 0 AS created;
SELECT fashionrec.add_variant('lim-exp', 'a', 'lim-knn', 50);
SELECT fashionrec.add_variant('lim-exp', 'b', 'lim-pop', 50);
SELECT fashionrec.start_experiment('lim-exp');
SELECT name, items FROM fashionrec.models WHERE name LIKE 'lim-%' ORDER BY name;

-- as the plain trainer, at the default max_k: k = 10000 gives the catalogue
-- (12 items, less what the user has, or the given items)
SET ROLE fr_limits_trainer;
SELECT 'recommend' AS function, count(*) AS rows, max(rank) AS last_rank
  FROM fashionrec.recommend('lim-knn', 1, 10000)
UNION ALL
SELECT 'recommend, unknown user', count(*), max(rank) FROM fashionrec.recommend('lim-knn', 424242, 10000)
UNION ALL
SELECT 'similar_items', count(*), max(rank) FROM fashionrec.similar_items('lim-als', 1, 10000)
UNION ALL
SELECT 'recommend_for_items', count(*), max(rank) FROM fashionrec.recommend_for_items('lim-knn', '{1, 2}', 10000)
UNION ALL
SELECT 'next_items', count(*), max(rank) FROM fashionrec.next_items('lim-seq', '{1, 2}', 10000)
UNION ALL
SELECT 'recommend_all, per user', max(n), max(r)
  FROM (SELECT user_id, count(*) AS n, max(rank) AS r
          FROM fashionrec.recommend_all('lim-knn', k => 10000) GROUP BY user_id) u
UNION ALL
SELECT 'explain', count(DISTINCT item_id), max(rank) FROM fashionrec.explain('lim-h', 1, 10000)
UNION ALL
SELECT 'recommend_experiment', count(*), max(rank)
  FROM fashionrec.recommend_experiment('lim-exp', 1, 10000, log_exposure => false);
SELECT fashionrec.recommend('lim-knn', 1, 10001);
RESET ROLE;

-- With max_k at its ceiling (10 million), every list of the old code
-- allocated buffers of k entries (160 MB, half of it zeroed) whatever the
-- catalogue: 500 calls of recommend() took 17 s, 6000 lists of
-- recommend_all() 10 s.  Cut to the 12 items they take milliseconds; the
-- timeout makes the difference a failure.
SET fashionrec.max_k = 10000000;
SET statement_timeout = '5s';
SELECT count(*) AS recommend FROM generate_series(1, 500) g, fashionrec.recommend('lim-knn', g, 10000000);
SELECT count(*) AS similar_items FROM generate_series(1, 500) g, fashionrec.similar_items('lim-als', g % 12 + 1, 10000000);
SELECT count(*) AS recommend_for_items
  FROM generate_series(1, 500) g, fashionrec.recommend_for_items('lim-knn', ARRAY[g % 12 + 1], 10000000);
SELECT count(*) AS next_items FROM generate_series(1, 500) g, fashionrec.next_items('lim-seq', ARRAY[g % 12 + 1], 10000000);
-- 30 users a call, 6000 lists
SELECT count(*) AS recommend_all FROM generate_series(1, 200) g, fashionrec.recommend_all('lim-knn', k => 10000000);
SELECT count(DISTINCT (g, item_id)) AS explain FROM generate_series(1, 500) g, fashionrec.explain('lim-h', g % 30 + 1, 10000000);
SELECT count(*) AS recommend_experiment
  FROM generate_series(1, 500) g, fashionrec.recommend_experiment('lim-exp', g % 30 + 1, 10000000, log_exposure => false);
RESET statement_timeout;
-- recommend_all() of a few users allocated the lists of 1,024 whatever their
-- number: for a k of a whole catalogue of 270,000 items, 1.1 GB, refused
-- (XX000) where recommend() serves the same list
SELECT fashionrec.train('lim-wide', 'popularity', 'SELECT g % 50 + 1 AS u, g AS i FROM generate_series(1, 270000) g') AS version;
SELECT count(*) AS recommend, max(rank) FROM fashionrec.recommend('lim-wide', 1, 270000);
SELECT count(*) AS recommend_all, max(rank) FROM fashionrec.recommend_all('lim-wide', ARRAY[1, 2]::bigint[], 270000);
-- above max_k is still refused
SELECT fashionrec.recommend('lim-knn', 1, 10000001);
RESET fashionrec.max_k;

-- ---- clean up -----------------------------------------------------------------
SELECT fashionrec.stop_experiment('lim-exp');
SELECT fashionrec.drop_experiment('lim-exp');
SELECT sum(fashionrec.drop_model(n)) AS dropped_versions
  FROM (VALUES ('lim-h'), ('lim-seq'), ('lim-pop'), ('lim-als'), ('lim-knn'), ('lim-wide')) v(n);
DROP TABLE lim_buys;
DROP ROLE fr_limits_trainer;
