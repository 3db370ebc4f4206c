-- Serving: recommend, similar_items, recommend_for_items, predict; filters,
-- limits, NULLs, and a newly activated version seen by another session.
-- progress notices carry timings; keep the output stable
-- PL/pgSQL line numbers in CONTEXT lines would change with every edit
\set SHOW_CONTEXT never
SET client_min_messages = warning;

CREATE TABLE buys (customer bigint, product bigint, qty real);
INSERT INTO buys
SELECT c, p, 1 FROM generate_series(1, 20) c, generate_series(1, 10) p WHERE (c + p) % 3 = 0;
-- product 1 is the most popular, then 2, ...; product 100 bought once
INSERT INTO buys SELECT c, 1, 5 FROM generate_series(1, 20) c;
INSERT INTO buys VALUES (1, 100, 1);
SELECT fashionrec.train('pop', 'popularity', 'buys') AS version;

-- a known user: items already bought are excluded by default
SELECT * FROM fashionrec.recommend('pop', 2, 5);
SELECT * FROM fashionrec.recommend('pop', 2, 5, exclude_seen => false);
-- an unknown user gets the popularity ranking
SELECT * FROM fashionrec.recommend('pop', 424242, 3);
-- candidates restrict the ranking exactly; unknown candidate ids are ignored
SELECT * FROM fashionrec.recommend('pop', 2, 5, candidates => ARRAY[100, 7, 4, 999]::bigint[]);
-- empty candidates: nothing to rank
SELECT count(*) FROM fashionrec.recommend('pop', 2, 5, candidates => '{}');
-- exclude removes items
SELECT * FROM fashionrec.recommend('pop', 424242, 3, exclude => ARRAY[1, 2]::bigint[]);
-- k larger than the catalog returns every eligible item
SELECT count(*) FROM fashionrec.recommend('pop', 424242, 1000);
-- candidate filtering equals full scoring followed by a SQL filter
SELECT (SELECT array_agg(item_id ORDER BY rank) FROM fashionrec.recommend('pop', 5, 3,
            candidates => ARRAY[2, 3, 4, 5, 6]::bigint[]))
     = (SELECT (array_agg(item_id ORDER BY rank))[1:3] FROM fashionrec.recommend('pop', 5, 1000)
         WHERE item_id IN (2, 3, 4, 5, 6)) AS candidates_exact;

-- anonymous sessions
SELECT * FROM fashionrec.recommend_for_items('pop', ARRAY[1, 2]::bigint[], 3);
SELECT * FROM fashionrec.recommend_for_items('pop', '{}', 2);
SELECT round(fashionrec.predict('pop', 2, 1)::numeric, 2) AS predicted,
       fashionrec.predict('pop', 2, 999) AS unknown_item,
       fashionrec.predict('pop', 999, 1) AS unknown_user;

-- ties are broken by item id
CREATE TABLE ties AS SELECT u, i FROM generate_series(1, 3) u, generate_series(10, 14) i;
SELECT fashionrec.train('ties', 'popularity', 'ties') AS version;
SELECT * FROM fashionrec.recommend('ties', 99, 3);

-- invalid input
SELECT * FROM fashionrec.recommend('no-such-model', 1);
SELECT * FROM fashionrec.recommend(NULL, 1);
SELECT * FROM fashionrec.recommend('pop', NULL);
SELECT * FROM fashionrec.recommend('pop', 1, 0);
SELECT * FROM fashionrec.recommend('pop', 1, -5);
SELECT * FROM fashionrec.recommend('pop', 1, NULL);
SELECT * FROM fashionrec.recommend('pop', 1, 20000);
SELECT * FROM fashionrec.recommend('pop', 1, version => 9);
SELECT * FROM fashionrec.recommend('pop', 1, version => 0);
SELECT * FROM fashionrec.recommend('pop', 1, candidates => ARRAY[1, NULL]::bigint[]);
SELECT * FROM fashionrec.recommend('pop', 1, candidates => ARRAY[[1, 2], [3, 4]]::bigint[]);
SELECT * FROM fashionrec.similar_items('pop', 1);
SELECT * FROM fashionrec.recommend_for_items('pop', NULL);
SELECT * FROM fashionrec.recommend_for_items('pop', ARRAY[1, 2]::bigint[], weights => ARRAY[1]::real[]);
SELECT * FROM fashionrec.recommend_for_items('pop', ARRAY[1, 2]::bigint[], weights => ARRAY[1, 'NaN']::real[]);
SELECT * FROM fashionrec.recommend_for_items('pop', ARRAY[1, 2]::bigint[], weights => ARRAY[1, -1]::real[]);
-- limits as pass/fail pairs
SET fashionrec.max_k = 5;
SELECT count(*) FROM fashionrec.recommend('pop', 1, 5);
SELECT count(*) FROM fashionrec.recommend('pop', 1, 6);
RESET fashionrec.max_k;

-- no active version
SELECT fashionrec.train('inactive', 'popularity', 'buys', activate => false) IS NOT NULL AS trained;
UPDATE fashionrec.model SET active = false WHERE name = 'inactive';
SELECT * FROM fashionrec.recommend('inactive', 1);

-- the cache holds what was served
SELECT name, version, algorithm FROM fashionrec.cache_info() ORDER BY name;

-- another session serves a newly activated version right after commit, not before
CREATE EXTENSION dblink;
SELECT dblink_connect('other', format('host=%s port=%s dbname=%s',
       current_setting('unix_socket_directories'), current_setting('port'), current_database()));
SELECT fashionrec.train('pop', 'popularity', 'SELECT customer, product, 1 FROM buys WHERE product <> 1') AS version;
SELECT * FROM dblink('other', $$SELECT item_id FROM fashionrec.recommend('pop', 424242, 1)$$) AS t(item_id bigint);
BEGIN;
SELECT fashionrec.activate('pop', 2);
SELECT item_id AS this_session FROM fashionrec.recommend('pop', 424242, 1);
SELECT item_id AS other_before_commit
  FROM dblink('other', $$SELECT item_id FROM fashionrec.recommend('pop', 424242, 1)$$) AS t(item_id bigint);
COMMIT;
SELECT item_id AS other_after_commit
  FROM dblink('other', $$SELECT item_id FROM fashionrec.recommend('pop', 424242, 1)$$) AS t(item_id bigint);
SELECT dblink_disconnect('other');
DROP EXTENSION dblink;

-- batch: recommend_all equals recommend() user by user
SELECT fashionrec.train('knn', 'itemknn', 'buys') AS version;
SELECT count(*) AS rows, count(DISTINCT user_id) AS users FROM fashionrec.recommend_all('knn', 3);
SELECT count(*) AS mismatches
  FROM (SELECT user_id, item_id, rank FROM fashionrec.recommend_all('knn', 3)
        EXCEPT
        SELECT u, r.item_id, r.rank FROM generate_series(1, 20) u, LATERAL fashionrec.recommend('knn', u, 3) r) d;
-- a chosen list of users; an unknown one gets the popularity list
SELECT * FROM fashionrec.recommend_all('knn', 2, users => ARRAY[3, 424242]::bigint[]);
SELECT * FROM fashionrec.recommend_all('knn', 0);
SELECT * FROM fashionrec.recommend_all('knn', 2, users => ARRAY[NULL]::bigint[]);

-- refresh_user: a purchase after training changes the next recommendations
SELECT item_id FROM fashionrec.recommend('knn', 3, 3);
INSERT INTO buys VALUES (3, 4, 1), (3, 7, 1);
SELECT fashionrec.refresh_user('knn', 3) AS items_now;
SELECT item_id FROM fashionrec.recommend('knn', 3, 3);
-- the refreshed history is what the fold-in of the same items gives
SELECT (SELECT array_agg(item_id ORDER BY rank) FROM fashionrec.recommend('knn', 3, 3))
     = (SELECT array_agg(item_id ORDER BY rank) FROM fashionrec.recommend_for_items('knn',
          (SELECT array_agg(product ORDER BY product) FROM (SELECT DISTINCT product FROM buys WHERE customer = 3) p), 3,
          weights => (SELECT array_agg(w ORDER BY product) FROM (SELECT product, sum(qty)::real w FROM buys WHERE customer = 3 GROUP BY 1) p)))
       AS refresh_is_fold_in;
-- a customer who did not exist at training time
INSERT INTO buys VALUES (777, 2, 1);
SELECT fashionrec.refresh_user('knn', 777) AS items_now;
SELECT count(*) AS recs_for_new_customer FROM fashionrec.recommend('knn', 777, 3) WHERE item_id <> 2;
SELECT fashionrec.refresh_user('knn', NULL);
SELECT fashionrec.refresh_user('no-such-model', 1);
-- a new version starts from its own training data
SELECT fashionrec.train('knn', 'itemknn', 'buys', activate => true) AS version;
SELECT count(*) AS refreshed_rows_for_active FROM fashionrec.user_refresh r
  JOIN fashionrec.model m ON m.id = r.model_id WHERE m.name = 'knn' AND m.active;

-- embeddings of a factor model: the score is their dot product
SELECT fashionrec.train('als', 'als', 'buys', '{"factors": 4, "iterations": 3}') AS version;
SELECT array_length(fashionrec.user_embedding('als', 2), 1) AS dims,
       fashionrec.user_embedding('als', 424242) IS NULL AS unknown_user,
       fashionrec.item_embedding('als', 999) IS NULL AS unknown_item;
SELECT abs((SELECT sum(u * i) FROM unnest(fashionrec.user_embedding('als', 2), fashionrec.item_embedding('als', 5)) t(u, i))
           - fashionrec.predict('als', 2, 5)) < 1e-5 AS dot_is_score;
-- few candidates are scored alone, with the same result as full scoring
SELECT (SELECT array_agg(item_id ORDER BY rank) FROM fashionrec.recommend('als', 2, 3, candidates => ARRAY[2, 3, 5, 8]::bigint[]))
     = (SELECT (array_agg(item_id ORDER BY rank))[1:3] FROM fashionrec.recommend('als', 2, 100) WHERE item_id IN (2, 3, 5, 8))
       AS candidates_exact;
-- batch scoring in blocks (one GEMM) equals recommend() user by user; the
-- two differ only in float rounding, so a swap of two equal scores is allowed
SELECT count(*) AS rows, count(*) FILTER (WHERE abs(b.score - s.score) > 1e-5) AS mismatches
  FROM fashionrec.recommend_all('als', 3) b
  JOIN (SELECT u, r.* FROM (SELECT DISTINCT customer FROM buys) c(u), LATERAL fashionrec.recommend('als', c.u, 3) r) s
    ON s.u = b.user_id AND s.rank = b.rank;
-- embeddings need a factor model
SELECT fashionrec.user_embedding('pop', 1);
SELECT fashionrec.item_embedding('knn', 1);

SELECT fashionrec.drop_model(name) FROM (VALUES ('pop'), ('ties'), ('inactive'), ('knn'), ('als')) v(name);
