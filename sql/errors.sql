-- Bad input that the capability suites do not already show, one statement per
-- class, grouped by function (docs/errors.md lists every class with its
-- SQLSTATE and the file that tests it).  The classes were found by the
-- type-input fuzzer: test/fuzz/errors_table.py --missing lists the classes a
-- fuzz run met that no regression file exercises.
SET client_min_messages = warning;
CREATE TABLE err_buys AS
SELECT (g % 20) + 1 AS customer, ((g * 7) % 30) + 1 AS product, ((g % 5) + 1)::real AS rating,
       timestamptz '2024-01-01' + g * interval '1 hour' AS bought
  FROM generate_series(1, 400) g;
CREATE TABLE err_items AS
SELECT g AS id, 'red dress ' || g AS title, ARRAY[g, 1]::real[] AS vec FROM generate_series(1, 30) g;
SELECT fashionrec.train('err-pop', 'popularity', 'SELECT customer, product FROM err_buys');
SELECT fashionrec.train('err-knn', 'itemknn', 'SELECT customer, product FROM err_buys');

-- the SQLSTATE and message of a statement's error
CREATE FUNCTION pg_temp.error_of(query text) RETURNS text
    LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE query;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

SELECT n, function, pg_temp.error_of(query) AS error FROM (VALUES
    -- svec input: more entries than dimensions; text that is no svec at all
    (1, 'svec input', $q$SELECT '{1:0.5,7:0.25}/1'::fashionrec.svec$q$),
    (2, 'svec input', $q$SELECT 'red dress'::fashionrec.svec$q$),
    (3, 'svec input', $q$SELECT ''::fashionrec.svec$q$),
    -- the ranking metrics: each checks both arrays and k the same way
    (4, 'precision_at_k', $q$SELECT fashionrec.precision_at_k('{{1,2},{3,4}}'::bigint[], '{1}'::bigint[], 2)$q$),
    (5, 'precision_at_k', $q$SELECT fashionrec.precision_at_k('{1,2}'::bigint[], '{{1,2},{3,4}}'::bigint[], 2)$q$),
    (6, 'recall_at_k', $q$SELECT fashionrec.recall_at_k('{1,NULL}'::bigint[], '{1}'::bigint[], 2)$q$),
    (7, 'recall_at_k', $q$SELECT fashionrec.recall_at_k('{1,2}'::bigint[], '{1}'::bigint[], 0)$q$),
    (8, 'ndcg_at_k', $q$SELECT fashionrec.ndcg_at_k('{1,2}'::bigint[], '{1,NULL}'::bigint[], 2)$q$),
    (9, 'map_at_k', $q$SELECT fashionrec.map_at_k('{1,2}'::bigint[], '{1}'::bigint[], -2147483648)$q$),
    (10, 'map_at_k', $q$SELECT fashionrec.map_at_k('{1,2}'::bigint[], '{NULL}'::bigint[], 2)$q$),
    (11, 'hit_rate_at_k', $q$SELECT fashionrec.hit_rate_at_k('{{1}}'::bigint[], '{1}'::bigint[], 1)$q$),
    (12, 'hit_rate_at_k', $q$SELECT fashionrec.hit_rate_at_k('{NULL}'::bigint[], '{1}'::bigint[], 1)$q$),
    (13, 'rmse', $q$SELECT fashionrec.rmse('{1,NULL}'::real[], '{1,2}'::real[])$q$),
    -- recommend: exclude checked like candidates
    (14, 'recommend', $q$SELECT count(*) FROM fashionrec.recommend('err-pop', 1, 5, exclude => '{1,NULL}')$q$),
    (15, 'recommend', $q$SELECT count(*) FROM fashionrec.recommend('err-pop', 1, 5, exclude => '{{1,2},{3,4}}')$q$),
    -- similar_items: NULL ids and k, k and version out of range, arrays, unknown models, huge k
    (16, 'similar_items', $q$SELECT count(*) FROM fashionrec.similar_items('err-knn', NULL)$q$),
    (17, 'similar_items', $q$SELECT count(*) FROM fashionrec.similar_items('err-knn', 1, NULL)$q$),
    (18, 'similar_items', $q$SELECT count(*) FROM fashionrec.similar_items('err-knn', 1, -1)$q$),
    (19, 'similar_items', $q$SELECT count(*) FROM fashionrec.similar_items('err-knn', 1, 5, version => -2147483648)$q$),
    (20, 'similar_items', $q$SELECT count(*) FROM fashionrec.similar_items('err-knn', 1, 5, candidates => '{{1,2},{3,4}}')$q$),
    (21, 'similar_items', $q$SELECT count(*) FROM fashionrec.similar_items('', 1)$q$),
    (22, 'similar_items', $q$SELECT count(*) FROM fashionrec.similar_items('err-knn', 1, 5, version => 2147483647)$q$),
    (23, 'similar_items', $q$SELECT count(*) FROM fashionrec.similar_items('err-knn', 1, 1000000)$q$),
    -- recommend_for_items
    (24, 'recommend_for_items', $q$SELECT count(*) FROM fashionrec.recommend_for_items('err-knn', '{1,NULL}')$q$),
    (25, 'recommend_for_items', $q$SELECT count(*) FROM fashionrec.recommend_for_items('err-knn', '{{1,2},{3,4}}')$q$),
    (26, 'recommend_for_items', $q$SELECT count(*) FROM fashionrec.recommend_for_items('err-knn', '{1,2}', NULL)$q$),
    (27, 'recommend_for_items', $q$SELECT count(*) FROM fashionrec.recommend_for_items('err-knn', '{1,2}', 0)$q$),
    (28, 'recommend_for_items', $q$SELECT count(*) FROM fashionrec.recommend_for_items('err-knn', '{1,2}', 1000000)$q$),
    (29, 'recommend_for_items', $q$SELECT count(*) FROM fashionrec.recommend_for_items('err-knn', '{1,2}', weights => '{1,NULL}')$q$),
    (30, 'recommend_for_items', $q$SELECT count(*) FROM fashionrec.recommend_for_items('err-knn', '{1,2}', weights => '{1,Infinity}')$q$),
    (31, 'recommend_for_items', $q$SELECT count(*) FROM fashionrec.recommend_for_items('err-knn', '{1,2}', candidates => '{{1,2},{3,4}}')$q$),
    (32, 'recommend_for_items', $q$SELECT count(*) FROM fashionrec.recommend_for_items('no-such-model', '{1,2}')$q$),
    -- predict
    (33, 'predict', $q$SELECT fashionrec.predict('err-pop', 1, 1, version => -1)$q$),
    (34, 'predict', $q$SELECT fashionrec.predict('', 1, 1)$q$),
    (35, 'predict', $q$SELECT fashionrec.predict('err-pop', 1, 1, version => 1000000)$q$),
    -- recommend_all
    (36, 'recommend_all', $q$SELECT count(*) FROM fashionrec.recommend_all('err-pop', '{{1,2},{3,4}}', 5)$q$),
    (37, 'recommend_all', $q$SELECT count(*) FROM fashionrec.recommend_all('', k => 5)$q$),
    (38, 'recommend_all', $q$SELECT count(*) FROM fashionrec.recommend_all('err-pop', k => 100000)$q$),
    -- embeddings of a model that has none, of a model that does not exist
    (39, 'user_embedding', $q$SELECT fashionrec.user_embedding('err-pop', 1)$q$),
    (40, 'item_embedding', $q$SELECT fashionrec.item_embedding('', 1)$q$),
    -- images: another format, a truncated header, a size over the limit, a size PNG does not allow
    (41, 'color_histogram', $q$SELECT fashionrec.color_histogram('GIF89a\001\000\001\000'::bytea)$q$),
    (42, 'image_info', $q$SELECT fashionrec.image_info('GIF89a\001\000\001\000'::bytea)$q$),
    (43, 'image_info', $q$SELECT fashionrec.image_info(substring(fashionrec.encode_png(2, 2, '\x000000000000000000000000') FROM 1 FOR 20))$q$),
    (44, 'color_histogram', $q$SELECT fashionrec.color_histogram(overlay(fashionrec.encode_png(2, 2, '\x000000000000000000000000') PLACING '\x0001000000010000' FROM 17))$q$),
    (45, 'image_info', $q$SELECT fashionrec.image_info(overlay(fashionrec.encode_png(2, 2, '\x000000000000000000000000') PLACING '\xffffffffffffffff' FROM 17))$q$),
    -- train: the source does not fit the algorithm or the column names given
    (46, 'train', $q$SELECT fashionrec.train('err-seq', 'sequence', 'SELECT customer, product FROM err_buys')$q$),
    (47, 'train', $q$SELECT fashionrec.train('err-als', 'als', 'err_buys', '{"interactions": "SELECT customer, product FROM err_buys"}')$q$),
    (48, 'train', $q$SELECT fashionrec.train('err-hyb', 'hybrid', 'err_buys')$q$),
    (49, 'train', $q$SELECT fashionrec.train('err-pop2', 'popularity', 'err_buys', '{"item_column": "article"}')$q$),
    (50, 'train', $q$SELECT fashionrec.train('err-pop2', 'popularity', 'err_buys', '{"time_column": "at"}')$q$),
    (51, 'train', $q$SELECT fashionrec.train('err-pop2', 'popularity', 'err_buys', '{"weight_column": "stars"}')$q$),
    (52, 'train', $q$SELECT fashionrec.train('err-txt', 'tfidf', 'SELECT id, vec FROM err_items')$q$),
    (53, 'train', $q$SELECT fashionrec.train('err-pop2', 'popularity', 'SELECT customer, product::text FROM err_buys')$q$),
    (54, 'train', $q$SELECT fashionrec.train('err-emb', 'embedding', 'SELECT id, 42 FROM err_items')$q$)
) AS t(n, function, query) ORDER BY n;
-- none of the failed trainings left a model behind
SELECT name, version FROM fashionrec.model WHERE name LIKE 'err-%' ORDER BY name, version;

-- every array argument is checked by the one validator (src/arrays.c): a
-- multi-dimensional array is 2202E and a NULL element 22004, with the same
-- words, whatever the function; arrays are checked before a model is opened
SELECT function, argument,
       pg_temp.error_of(replace(query, '$a', two_d)) AS two_dimensional,
       pg_temp.error_of(replace(query, '$a', with_null)) AS null_element
  FROM (VALUES
    ('recommend', 'candidates', $q$SELECT count(*) FROM fashionrec.recommend('err-pop', 1, candidates => $a::bigint[])$q$),
    ('recommend', 'exclude', $q$SELECT count(*) FROM fashionrec.recommend('err-pop', 1, exclude => $a::bigint[])$q$),
    ('similar_items', 'candidates', $q$SELECT count(*) FROM fashionrec.similar_items('err-knn', 1, candidates => $a::bigint[])$q$),
    ('similar_items', 'exclude', $q$SELECT count(*) FROM fashionrec.similar_items('err-knn', 1, exclude => $a::bigint[])$q$),
    ('recommend_for_items', 'item_ids', $q$SELECT count(*) FROM fashionrec.recommend_for_items('err-pop', $a::bigint[])$q$),
    ('recommend_for_items', 'exclude', $q$SELECT count(*) FROM fashionrec.recommend_for_items('err-pop', '{1}', exclude => $a::bigint[])$q$),
    ('recommend_for_items', 'weights', $q$SELECT count(*) FROM fashionrec.recommend_for_items('err-pop', '{1,2}', weights => $a::real[])$q$),
    ('next_items', 'recent_item_ids', $q$SELECT count(*) FROM fashionrec.next_items('err-pop', $a::bigint[])$q$),
    ('next_items', 'candidates', $q$SELECT count(*) FROM fashionrec.next_items('err-pop', '{1}', candidates => $a::bigint[])$q$),
    ('recommend_all', 'users', $q$SELECT count(*) FROM fashionrec.recommend_all('err-pop', $a::bigint[])$q$),
    ('recommend_all', 'exclude', $q$SELECT count(*) FROM fashionrec.recommend_all('err-pop', '{1}', exclude => $a::bigint[])$q$),
    ('explain', 'candidates', $q$SELECT count(*) FROM fashionrec.explain('err-pop', 1, candidates => $a::bigint[])$q$),
    ('ndcg_at_k', 'recommended', $q$SELECT fashionrec.ndcg_at_k($a::bigint[], '{1}', 2)$q$),
    ('mae', 'actual', $q$SELECT fashionrec.mae('{1,2}', $a::float8[])$q$),
    ('catalog_coverage', 'recommended', $q$SELECT fashionrec.catalog_coverage(r, 10) FROM (VALUES ($a::bigint[])) v(r)$q$),
    ('srm_p_value', 'weights', $q$SELECT fashionrec.srm_p_value('{1,2}', $a::float8[])$q$),
    ('latency_quantile', 'histogram', $q$SELECT fashionrec.latency_quantile($a::bigint[], 0.5)$q$),
    ('attribute_tsvector', 'names', $q$SELECT fashionrec.attribute_tsvector($a::text[], '{a,b}', '{1,1}')$q$),
    ('attribute_tsvector', 'weights', $q$SELECT fashionrec.attribute_tsvector('{a,b}', '{a,b}', $a::int[])$q$),
    ('real[] to svec', 'array', $q$SELECT $a::real[]::fashionrec.svec$q$)
  ) AS t(function, argument, query),
  (VALUES ($v$'{{1,2},{3,4}}'$v$, $v$'{2,NULL}'$v$)) AS a(two_d, with_null)
 ORDER BY function, argument;
SELECT fashionrec.drop_model('err-pop'), fashionrec.drop_model('err-knn');
DROP TABLE err_buys, err_items;
