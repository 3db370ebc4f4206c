-- TF-IDF on text search: tfidf_fit() aggregate, tfidf_vocab type, tfidf().
-- Hand example (english configuration), three documents:
--   1 'red dress red'  -> 'dress':2 'red':1,3   (tf: dress 1, red 2)
--   2 'blue dress'     -> 'blue':1 'dress':2
--   3 'red shoes'      -> 'red':1 'shoe':2
-- df: blue 1, dress 2, red 2, shoe 1; n = 3
-- idf (smooth) = ln((1 + n) / (1 + df)) + 1: blue, shoe 1.693147; dress, red 1.287682
-- doc 1: (dress 1.287682, red 2.575364) / 2.879253 = (0.447214, 0.894427)
-- doc 2: (blue 1.693147, dress 1.287682) / 2.127175 = (0.795961, 0.605349)
-- doc 3: (red 1.287682, shoe 1.693147) / 2.127175 = (0.605349, 0.795961)
-- (the same numbers as scikit-learn's TfidfVectorizer on these tokens)
SET search_path = fashionrec, public;
CREATE TABLE docs (id int, body text);
INSERT INTO docs VALUES (1, 'red dress red'), (2, 'blue dress'), (3, 'red shoes');

-- an svec with its values rounded to 5 places: float4 output is not meant to be read digit by digit
CREATE FUNCTION show(v svec) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT coalesce(string_agg(i || ':' || round(x::float8::numeric, 5), ',' ORDER BY i), '') || '/' || dims(v)
    FROM unnest(v::real[]) WITH ORDINALITY AS t(x, i) WHERE x <> 0
$$;

SELECT id, to_tsvector('english', body) FROM docs ORDER BY id;
CREATE TABLE vocab AS SELECT tfidf_fit(to_tsvector('english', body)) AS v FROM docs;
SELECT v FROM vocab;
SELECT feature, term, document_frequency, round(idf::numeric, 6) AS idf
  FROM vocab, tfidf_terms(v);
SELECT d.id, show(tfidf(v, to_tsvector('english', body)))
  FROM docs d, vocab ORDER BY d.id;
-- unknown lexemes are ignored; an empty document is the zero vector
SELECT show(tfidf(v, to_tsvector('english', 'green dress'))) AS dress_only,
       tfidf(v, to_tsvector('english', 'the')) AS empty
  FROM vocab;
-- no positions (strip): every lexeme counts once -> doc 1 = (0.707107, 0.707107)
SELECT show(tfidf(v, strip(to_tsvector('english', 'red dress red')))) AS stripped FROM vocab;
-- the vectors are unit length; cosine distance of docs 1 and 3: 1 - 0.894427 * 0.605349 = 0.4586
SELECT round((tfidf(v, to_tsvector('english', 'red dress red')) <=>
              tfidf(v, to_tsvector('english', 'red shoes')))::numeric, 4) AS cosine_1_3
  FROM vocab;

-- options (scikit-learn's meanings)
-- sublinear_tf: red tf' = 1 + ln 2 -> doc 1 = (0.508542, 0.861037)
SELECT d.id, show(tfidf(tfidf_fit(to_tsvector('english', body), '{"sublinear_tf": true}') OVER (),
                        to_tsvector('english', body)))
  FROM docs d ORDER BY d.id;
-- smooth_idf false: idf = ln(n / df) + 1 -> doc 2 = (0.830881, 0.556451)
SELECT d.id, show(tfidf(tfidf_fit(to_tsvector('english', body), '{"smooth_idf": false}') OVER (),
                        to_tsvector('english', body)))
  FROM docs d ORDER BY d.id;
-- norm none: raw tf * idf; use_idf false: tf only, normalised
SELECT d.id, show(tfidf(tfidf_fit(to_tsvector('english', body), '{"norm": "none"}') OVER (),
                        to_tsvector('english', body))) AS raw,
       show(tfidf(tfidf_fit(to_tsvector('english', body), '{"use_idf": false}') OVER (),
                  to_tsvector('english', body))) AS tf_only
  FROM docs d ORDER BY d.id;
-- min_df / max_df: an integer is a count of documents, a number with a
-- decimal point a fraction (0.5 of 3 documents = 1.5)
SELECT (SELECT array_agg(term ORDER BY feature) FROM tfidf_terms(tfidf_fit(to_tsvector('english', body), '{"min_df": 2}'))) AS min_df_2,
       (SELECT array_agg(term ORDER BY feature) FROM tfidf_terms(tfidf_fit(to_tsvector('english', body), '{"min_df": 0.5}'))) AS min_df_half,
       (SELECT array_agg(term ORDER BY feature) FROM tfidf_terms(tfidf_fit(to_tsvector('english', body), '{"max_df": 1}'))) AS max_df_1,
       (SELECT array_agg(term ORDER BY feature) FROM tfidf_terms(tfidf_fit(to_tsvector('english', body), '{"max_df": 0.5}'))) AS max_df_half,
       (SELECT array_agg(term ORDER BY feature) FROM tfidf_terms(tfidf_fit(to_tsvector('english', body), '{"max_df": 1.0, "min_df": 1}'))) AS defaults
  FROM docs;
-- max_features keeps the most frequent terms over the corpus: red (3), then dress (2)
SELECT (SELECT array_agg(term ORDER BY feature) FROM tfidf_terms(tfidf_fit(to_tsvector('english', body), '{"max_features": 1}'))) AS top1,
       (SELECT array_agg(term ORDER BY feature) FROM tfidf_terms(tfidf_fit(to_tsvector('english', body), '{"max_features": 2}'))) AS top2,
       (SELECT array_agg(term ORDER BY feature) FROM tfidf_terms(tfidf_fit(to_tsvector('english', body), '{"max_features": null}'))) AS all_terms
  FROM docs;
-- the vector of a pruned vocabulary has its dimension
SELECT show(tfidf(tfidf_fit(to_tsvector('english', body), '{"min_df": 2}') OVER (), to_tsvector('english', body)))
  FROM docs ORDER BY id;

-- invalid options: 22023
SELECT tfidf_fit(to_tsvector('english', body), '{"mindf": 2}') FROM docs;
SELECT tfidf_fit(to_tsvector('english', body), '{"min_df": 0}') FROM docs;
SELECT tfidf_fit(to_tsvector('english', body), '{"min_df": 1.5}') FROM docs;
SELECT tfidf_fit(to_tsvector('english', body), '{"max_df": -0.5}') FROM docs;
SELECT tfidf_fit(to_tsvector('english', body), '{"min_df": "2"}') FROM docs;
SELECT tfidf_fit(to_tsvector('english', body), '{"max_features": 0}') FROM docs;
SELECT tfidf_fit(to_tsvector('english', body), '{"max_features": 2.0}') FROM docs;
SELECT tfidf_fit(to_tsvector('english', body), '{"norm": "l1"}') FROM docs;
SELECT tfidf_fit(to_tsvector('english', body), '{"sublinear_tf": "yes"}') FROM docs;
SELECT tfidf_fit(to_tsvector('english', body), '[1, 2]') FROM docs;
-- options must not change from row to row
SELECT tfidf_fit(to_tsvector('english', body), jsonb_build_object('min_df', id)) FROM docs;
-- pruning that leaves nothing, or bounds that cross
SELECT tfidf_fit(to_tsvector('english', body), '{"min_df": 1.0}') FROM docs;
SELECT tfidf_fit(to_tsvector('english', body), '{"min_df": 3, "max_df": 2}') FROM docs;

-- the text form round-trips, and is checked on the way in
SELECT v::text::tfidf_vocab::text = v::text AS round_trip FROM vocab;
SELECT '{"documents": 2, "norm": "none", "sublinear_tf": true, "terms": [["a", 1], ["b", 2]]}'::tfidf_vocab;
SELECT feature, term, round(idf::numeric, 6) AS idf
  FROM tfidf_terms('{"documents": 2, "smooth_idf": false, "terms": [["a", 1], ["b", 2]]}');
SELECT 'nope'::tfidf_vocab;
SELECT '[1]'::tfidf_vocab;
SELECT '{"terms": [["a", 1]]}'::tfidf_vocab;
SELECT '{"documents": 3}'::tfidf_vocab;
SELECT '{"documents": 3, "terms": []}'::tfidf_vocab;
SELECT '{"documents": 3, "terms": [["a"]]}'::tfidf_vocab;
SELECT '{"documents": 3, "terms": [[1, 1]]}'::tfidf_vocab;
SELECT '{"documents": 3, "terms": [["", 1]]}'::tfidf_vocab;
SELECT '{"documents": 3, "terms": [["b", 1], ["a", 1]]}'::tfidf_vocab;
SELECT '{"documents": 3, "terms": [["a", 1], ["a", 1]]}'::tfidf_vocab;
SELECT '{"documents": 3, "terms": [["a", 4]]}'::tfidf_vocab;
SELECT '{"documents": 3, "terms": [["a", 0]]}'::tfidf_vocab;
SELECT '{"documents": 3, "terms": [["a", 1.5]]}'::tfidf_vocab;
SELECT '{"documents": 0, "terms": [["a", 1]]}'::tfidf_vocab;
SELECT '{"documents": 3, "norm": "l1", "terms": [["a", 1]]}'::tfidf_vocab;
SELECT '{"documents": 3, "use_idf": 1, "terms": [["a", 1]]}'::tfidf_vocab;
SELECT '{"documents": 3, "colour": "red", "terms": [["a", 1]]}'::tfidf_vocab;

-- a vocabulary stored out of line (TOAST) serves every row of a join the
-- same as the in-memory value
CREATE TABLE big_docs AS
SELECT i AS id, to_tsvector('simple', string_agg(md5((i * 7 + j % 5)::text), ' ')) AS tsv
  FROM generate_series(1, 400) i, generate_series(1, 6) j GROUP BY i;
CREATE TABLE big_vocab AS SELECT tfidf_fit(tsv) AS v FROM big_docs;
SELECT pg_column_size(v) > 8192 AS larger_than_a_page,
       (SELECT count(*) FROM tfidf_terms(v)) AS terms
  FROM big_vocab;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE tfidf(b.v, d.tsv)::text =
                              tfidf((SELECT tfidf_fit(tsv) FROM big_docs), d.tsv)::text) AS same
  FROM big_docs d, big_vocab b;

-- parallel aggregation gives exactly the serial vocabulary
CREATE TABLE many_docs AS
SELECT i AS id,
       to_tsvector('english', 'item ' || (i % 97) || ' colour' || (i % 13) || ' size' || (i % 7)
                   || repeat(' word' || (i % 31), 1 + i % 3)) AS tsv
  FROM generate_series(1, 20000) i;
ANALYZE many_docs;
SET max_parallel_workers_per_gather = 0;
CREATE TABLE serial_vocab AS SELECT tfidf_fit(tsv, '{"min_df": 2}') AS v FROM many_docs;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT tfidf_fit(tsv, '{"min_df": 2}') FROM many_docs;
SELECT (SELECT v::text FROM serial_vocab) = (SELECT tfidf_fit(tsv, '{"min_df": 2}')::text FROM many_docs)
       AS parallel_equals_serial;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
SELECT (SELECT count(*) FROM tfidf_terms(v)) AS terms, v::text LIKE '{"documents": 20000,%' AS all_documents
  FROM serial_vocab;

-- the memory budget covers the aggregate's term table: 40000 distinct terms
-- do not fit in 1 MB, 2000 do
SET fashionrec.max_memory = '1MB';
SELECT tfidf_fit(to_tsvector('simple', 'w' || i)) IS NOT NULL AS fitted FROM generate_series(1, 40000) i;
SELECT tfidf_fit(to_tsvector('simple', 'w' || i)) IS NOT NULL AS fitted FROM generate_series(1, 2000) i;
RESET fashionrec.max_memory;

-- NULL and empty input
SELECT tfidf_fit(to_tsvector('english', body)) IS NULL AS no_rows FROM docs WHERE false;
SELECT tfidf_fit(NULL::tsvector) IS NULL AS only_nulls FROM docs;
SELECT v::text LIKE '{"documents": 3,%' AS nulls_not_counted
  FROM (SELECT tfidf_fit(t) AS v FROM (SELECT to_tsvector('english', body) FROM docs
                                       UNION ALL SELECT NULL) s(t)) s;
SELECT tfidf_fit(to_tsvector('english', 'the a of')) FROM docs;
SELECT tfidf_fit(to_tsvector('english', body), NULL) IS NOT NULL AS null_options_are_defaults FROM docs;
SELECT tfidf(NULL, to_tsvector('english', 'dress')) IS NULL AS null_vocab,
       tfidf(v, NULL) IS NULL AS null_document
  FROM vocab;
