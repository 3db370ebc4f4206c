-- Serving: recommend, similar_items, recommend_for_items, predict; the
-- serving API's one shape; filters, limits, NULLs, and a newly activated
-- version seen by another session; 0.1's definitions on this library.
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
-- every option in the serving API's order, positionally: (name, user_id, k,
-- exclude_seen, candidates, exclude, context, version)
SELECT * FROM fashionrec.recommend('pop', 2, 3, true, ARRAY[2, 4, 5, 6]::bigint[], ARRAY[5]::bigint[], NULL, 1);
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

-- recommend_for_items: the given items are the "seen" ones; exclude and
-- candidates as in recommend(); weights, its own option, last
SELECT * FROM fashionrec.recommend_for_items('pop', ARRAY[1]::bigint[], 3, exclude => ARRAY[2]::bigint[]);
SELECT * FROM fashionrec.recommend_for_items('pop', ARRAY[1]::bigint[], 3, false, ARRAY[1, 3, 4]::bigint[],
                                             ARRAY[3]::bigint[], NULL, NULL, ARRAY[2]::real[]);

-- the serving API: (name, subject, k), then of exclude_seen, candidates,
-- exclude, context, version those a function takes, in that order, then its
-- own options (docs/serving.md); predict and the embeddings end with version.
-- An option appended after 0.2 froze a function's shape (recommend_all's
-- context, 0.3) comes last instead, so that 0.2's positional calls keep
-- their meaning
SELECT p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid) AS arguments
  FROM pg_catalog.pg_proc p
 WHERE p.pronamespace = 'fashionrec'::regnamespace
   AND p.proname IN ('recommend', 'similar_items', 'recommend_for_items', 'next_items', 'recommend_all',
                     'explain', 'recommend_experiment', 'predict', 'user_embedding', 'item_embedding')
 ORDER BY 1;
WITH common(opt, ord) AS (VALUES ('exclude_seen', 1), ('candidates', 2), ('exclude', 3), ('context', 4), ('version', 5)),
args AS (
    SELECT p.proname, a.name, a.pos, c.ord
      FROM pg_catalog.pg_proc p
     CROSS JOIN LATERAL unnest(p.proargnames[1:p.pronargs]) WITH ORDINALITY a(name, pos)
      LEFT JOIN common c ON c.opt = a.name AND NOT (p.proname = 'recommend_all' AND a.name = 'context')
     WHERE p.pronamespace = 'fashionrec'::regnamespace
       AND p.proname IN ('recommend', 'similar_items', 'recommend_for_items', 'next_items', 'recommend_all',
                         'explain', 'recommend_experiment'))
SELECT proname,
       bool_or(pos = 3 AND name = 'k') AS k_third,
       array_agg(name ORDER BY pos) FILTER (WHERE ord IS NOT NULL)
         = array_agg(name ORDER BY ord) FILTER (WHERE ord IS NOT NULL) AS common_in_order,
       coalesce(min(pos) FILTER (WHERE ord IS NOT NULL), 4) = 4
         AND coalesce(max(pos) FILTER (WHERE ord IS NOT NULL), 3)
             = 3 + count(*) FILTER (WHERE ord IS NOT NULL) AS common_right_after_k
  FROM args GROUP BY proname ORDER BY proname;
SELECT p.proname, p.proargnames[p.pronargs] AS last_option
  FROM pg_catalog.pg_proc p
 WHERE p.pronamespace = 'fashionrec'::regnamespace AND p.proname IN ('recommend_all', 'recommend_all_into')
 ORDER BY 1;

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
SELECT count(*) AS rows, count(DISTINCT user_id) AS users FROM fashionrec.recommend_all('knn', k => 3);
SELECT count(*) AS mismatches
  FROM (SELECT user_id, item_id, rank FROM fashionrec.recommend_all('knn', k => 3)
        EXCEPT
        SELECT u, r.item_id, r.rank FROM generate_series(1, 20) u, LATERAL fashionrec.recommend('knn', u, 3) r) d;
-- a chosen list of users; an unknown one gets the popularity list
SELECT * FROM fashionrec.recommend_all('knn', ARRAY[3, 424242]::bigint[], 2);
SELECT * FROM fashionrec.recommend_all('knn', k => 0);
SELECT * FROM fashionrec.recommend_all('knn', ARRAY[NULL]::bigint[], 2);

-- the same candidates and exclusions for every user, equal to recommend()'s;
-- an excluded item a user has seen stays excluded for the next user
SELECT count(*) AS rows,
       count(*) FILTER (WHERE item_id = 4) AS excluded_rows,
       count(*) FILTER (WHERE item_id NOT IN (1, 2, 3, 4, 5, 6)) AS outside_candidates
  FROM fashionrec.recommend_all('knn', NULL, 3, true, ARRAY[1, 2, 3, 4, 5, 6]::bigint[], ARRAY[4]::bigint[]);
SELECT count(*) AS mismatches
  FROM ((SELECT user_id, item_id, rank
           FROM fashionrec.recommend_all('knn', NULL, 3, true, ARRAY[1, 2, 3, 4, 5, 6]::bigint[], ARRAY[4]::bigint[])
         EXCEPT
         SELECT u, r.item_id, r.rank FROM generate_series(1, 20) u,
                LATERAL fashionrec.recommend('knn', u, 3, true, ARRAY[1, 2, 3, 4, 5, 6]::bigint[], ARRAY[4]::bigint[]) r)
        UNION ALL
        (SELECT u, r.item_id, r.rank FROM generate_series(1, 20) u,
                LATERAL fashionrec.recommend('knn', u, 3, true, ARRAY[1, 2, 3, 4, 5, 6]::bigint[], ARRAY[4]::bigint[]) r
         EXCEPT
         SELECT user_id, item_id, rank
           FROM fashionrec.recommend_all('knn', NULL, 3, true, ARRAY[1, 2, 3, 4, 5, 6]::bigint[], ARRAY[4]::bigint[]))) d;
SELECT count(*) AS mismatches
  FROM (SELECT user_id, item_id, rank FROM fashionrec.recommend_all('knn', k => 2, exclude_seen => false)
        EXCEPT
        SELECT u, r.item_id, r.rank FROM generate_series(1, 20) u,
               LATERAL fashionrec.recommend('knn', u, 2, exclude_seen => false) r) d;
SELECT * FROM fashionrec.recommend_all('knn', ARRAY[3]::bigint[], 2, candidates => '{}');
SELECT * FROM fashionrec.recommend_all('knn', k => 2, exclude => ARRAY[[1]]::bigint[]);

-- similar_items: exclude removes items from the neighbours, the rest move up
SELECT * FROM fashionrec.similar_items('knn', 4, 3);
SELECT (SELECT array_agg(item_id ORDER BY rank) FROM fashionrec.similar_items('knn', 4, 2,
            exclude => (SELECT array_agg(item_id) FROM fashionrec.similar_items('knn', 4, 1))))
     = (SELECT (array_agg(item_id ORDER BY rank))[2:3] FROM fashionrec.similar_items('knn', 4, 3)) AS exclude_shifts;
-- every option positionally: (name, item_id, k, candidates, exclude, version)
SELECT * FROM fashionrec.similar_items('knn', 4, 3, ARRAY[1, 2, 7, 10]::bigint[], ARRAY[7]::bigint[], 1);
SELECT * FROM fashionrec.similar_items('knn', 4, exclude => ARRAY[NULL]::bigint[]);
-- a context needs an algorithm that has contexts, whichever function gets it
SELECT * FROM fashionrec.recommend('knn', 1, context => 'summer');
SELECT * FROM fashionrec.recommend_for_items('knn', ARRAY[1]::bigint[], context => 'summer');

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
  FROM fashionrec.recommend_all('als', k => 3) b
  JOIN (SELECT u, r.* FROM (SELECT DISTINCT customer FROM buys) c(u), LATERAL fashionrec.recommend('als', c.u, 3) r) s
    ON s.u = b.user_id AND s.rank = b.rank;
-- embeddings need a factor model
SELECT fashionrec.user_embedding('pop', 1);
SELECT fashionrec.item_embedding('knn', 1);

-- 0.1's definitions, as a database has them until ALTER EXTENSION fashionrec
-- UPDATE, name the C symbols without _0_2: those read 0.1's argument order
-- and serve what the new signatures serve
CREATE SCHEMA v01;
CREATE FUNCTION v01.recommend(name text, user_id bigint, k integer DEFAULT 10, exclude_seen boolean DEFAULT true,
                              candidates bigint[] DEFAULT NULL, version integer DEFAULT NULL,
                              exclude bigint[] DEFAULT NULL, context text DEFAULT NULL)
    RETURNS TABLE (item_id bigint, score real, rank integer) AS 'fashionrec', 'fashionrec_recommend' LANGUAGE C STABLE;
CREATE FUNCTION v01.similar_items(name text, item_id bigint, k integer DEFAULT 10, candidates bigint[] DEFAULT NULL,
                                  version integer DEFAULT NULL)
    RETURNS TABLE (item_id bigint, score real, rank integer) AS 'fashionrec', 'fashionrec_similar_items' LANGUAGE C STABLE;
CREATE FUNCTION v01.recommend_for_items(name text, item_ids bigint[], k integer DEFAULT 10, weights real[] DEFAULT NULL,
                                        exclude_given boolean DEFAULT true, candidates bigint[] DEFAULT NULL,
                                        version integer DEFAULT NULL)
    RETURNS TABLE (item_id bigint, score real, rank integer) AS 'fashionrec', 'fashionrec_recommend_for_items' LANGUAGE C STABLE;
CREATE FUNCTION v01.recommend_all(name text, k integer DEFAULT 10, users bigint[] DEFAULT NULL,
                                  exclude_seen boolean DEFAULT true, version integer DEFAULT NULL)
    RETURNS TABLE (user_id bigint, item_id bigint, score real, rank integer) AS 'fashionrec', 'fashionrec_recommend_all' LANGUAGE C STABLE;
SELECT (SELECT array_agg(row(item_id, score, rank)) FROM v01.recommend('knn', 3, 4, false, ARRAY[1, 2, 3, 4, 5, 6, 7]::bigint[], 2, ARRAY[5]::bigint[]))
     = (SELECT array_agg(row(item_id, score, rank)) FROM fashionrec.recommend('knn', 3, 4, false, ARRAY[1, 2, 3, 4, 5, 6, 7]::bigint[], ARRAY[5]::bigint[], NULL, 2))
       AS recommend_0_1,
       (SELECT array_agg(row(item_id, score, rank)) FROM v01.similar_items('knn', 4, 3, ARRAY[1, 2, 3, 5]::bigint[], 2))
     = (SELECT array_agg(row(item_id, score, rank)) FROM fashionrec.similar_items('knn', 4, 3, ARRAY[1, 2, 3, 5]::bigint[], NULL, 2))
       AS similar_items_0_1,
       (SELECT array_agg(row(item_id, score, rank)) FROM v01.recommend_for_items('knn', ARRAY[1, 4]::bigint[], 4, ARRAY[2, 1]::real[], false, NULL, 2))
     = (SELECT array_agg(row(item_id, score, rank)) FROM fashionrec.recommend_for_items('knn', ARRAY[1, 4]::bigint[], 4, false, NULL, NULL, NULL, 2, ARRAY[2, 1]::real[]))
       AS recommend_for_items_0_1,
       (SELECT array_agg(row(user_id, item_id, score, rank)) FROM v01.recommend_all('knn', 2, ARRAY[3, 5, 424242]::bigint[], false, 2))
     = (SELECT array_agg(row(user_id, item_id, score, rank)) FROM fashionrec.recommend_all('knn', ARRAY[3, 5, 424242]::bigint[], 2, false, version => 2))
       AS recommend_all_0_1;
DROP SCHEMA v01 CASCADE;

SELECT fashionrec.drop_model(name) FROM (VALUES ('pop'), ('ties'), ('inactive'), ('knn'), ('als')) v(name);
