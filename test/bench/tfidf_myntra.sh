#!/usr/bin/env bash
# TF-IDF and content similarity on the Myntra catalogs, next to scikit-learn
# in the same run (tfidf_reference.py):
#
#   1. fit + transform throughput: fashionrec.tfidf_fit() + tfidf() over
#      tsvectors against TfidfVectorizer.fit_transform() fed the very same
#      lexemes (exported from the tsvectors, repeated once per position), on
#      the long descriptions of myntra-products-catalog (12,491 products) and
#      the titles of myntra-fashion-product-styles (44,446 products);
#      values compared entry by entry (must agree to 1e-6);
#   2. similar_items() latency for one item among the 44k styles, against a
#      sequential scan ordering by the svec <=> operator (same top 10);
#   3. neighbours of a dress, a shoe and a watch, for docs/content.md;
# figures and commands are recorded in docs/content.md.
#
#   bash test/bench/tfidf_myntra.sh        (FR_DATA=/path/to/data, FR_REPEATS=5)
# Single-core comparison: parallel query is off for the timed statements.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

DATA=${FR_DATA:-$PWD/../shared/data}
STYLES=$DATA/myntra-fashion-product-styles
CATALOG=$DATA/myntra-products-catalog/myntra_products_catalog.csv
REPEATS=${FR_REPEATS:-5}
if [ ! -r "$STYLES/styles.part1.csv" ] || [ ! -r "$CATALOG" ]; then
    echo "skipped: Myntra data not found under $DATA (set FR_DATA)"; exit 0
fi
PY=/usr/bin/python3
if ! $PY -c 'import sklearn, scipy, numpy' 2>/dev/null; then
    echo "skipped: $PY has no scikit-learn (apt-get install python3-sklearn)"; exit 0
fi

fr_install_deps
fr_setup_paths
fr_build_install

fr_bench_cluster
Q() { psql -qXAt -v ON_ERROR_STOP=1 -d bench "$@"; }

fr_log "loading the catalogs"
Q <<SQL
SET client_min_messages = warning;
CREATE EXTENSION fashionrec;
-- styles: unquoted CSV whose titles may hold commas: split on the first 9 only
CREATE TABLE styles_raw (line text);
\copy styles_raw FROM PROGRAM 'tail -n +2 "$STYLES/styles.part1.csv"; cat "$STYLES/styles.part2.csv"' WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02')
CREATE TABLE styles AS
SELECT m[1]::bigint AS id, m[2] AS gender, m[3] AS master_category, m[4] AS sub_category,
       m[5] AS article_type, m[6] AS base_colour, m[7] AS season, m[8] AS year, m[9] AS usage,
       m[10] AS name
  FROM styles_raw, regexp_match(line, '^([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),(.*)$') m;
ALTER TABLE styles ADD PRIMARY KEY (id);
CREATE TABLE catalog (id bigint PRIMARY KEY, name text, brand text, gender text, price integer,
                      num_images integer, description text, primary_color text);
\copy catalog FROM '$CATALOG' WITH (FORMAT csv, HEADER)

-- the documents, tokenised and stemmed once by PostgreSQL
CREATE TABLE docs_styles AS SELECT id, to_tsvector('english', name) AS tsv FROM styles;
CREATE TABLE docs_catalog AS SELECT id, to_tsvector('english', description) AS tsv FROM catalog;
VACUUM ANALYZE;

-- best of n wall-clock runs of a statement, in ms
CREATE FUNCTION best_ms(query text, n integer) RETURNS double precision LANGUAGE plpgsql AS \$\$
DECLARE
    t timestamptz;
    best double precision := 'Infinity';
    dummy text;
BEGIN
    FOR i IN 1 .. n LOOP
        t := clock_timestamp();
        EXECUTE query INTO dummy;
        best := least(best, extract(epoch FROM clock_timestamp() - t) * 1000);
    END LOOP;
    RETURN best;
END
\$\$;
SQL
echo "styles: $(Q -c 'SELECT count(*) FROM styles') products; catalog: $(Q -c 'SELECT count(*) FROM catalog') products"

# ---- 1. fit + transform throughput ------------------------------------------
printf '\n%-9s %8s %9s %9s %12s %12s %12s %12s %8s %13s %9s\n' corpus docs tokens features \
    "to_tsvector" "fr fit" "fr fit+tf" "sklearn" "speedup" "max |diff|" "vocab"
for corpus in catalog styles; do
    T=docs_$corpus
    # the lexemes exactly as the tsvector holds them, repeated once per position
    Q -c "\copy (SELECT id, coalesce(string_agg(u.lexeme, E'\x1f' ORDER BY u.lexeme, g), '')
                   FROM $T d LEFT JOIN LATERAL unnest(d.tsv) u ON true
                   LEFT JOIN LATERAL generate_series(1, coalesce(array_length(u.positions, 1), 1)) g ON true
                  GROUP BY id ORDER BY id) TO '$TMP/tokens_$corpus.csv' WITH (FORMAT csv)"
    Q -c "CREATE TABLE vocab_$corpus AS SELECT fashionrec.tfidf_fit(tsv) AS v FROM $T"
    Q -c "\copy (SELECT d.id, fashionrec.tfidf(v, d.tsv) FROM $T d, vocab_$corpus ORDER BY d.id) TO '$TMP/vectors_$corpus.csv' WITH (FORMAT csv)"
    Q -c "\copy (SELECT feature, term FROM vocab_$corpus, fashionrec.tfidf_terms(v)) TO '$TMP/terms_$corpus.csv' WITH (FORMAT csv)"
    if [ "$corpus" = catalog ]; then src="SELECT description FROM catalog"; else src="SELECT name FROM styles"; fi
    read -r tsv_ms fit_ms fittf_ms < <(Q -F ' ' <<SQL
SET max_parallel_workers_per_gather = 0;
SELECT round(best_ms('SELECT count(to_tsvector(''english'', t)) FROM ($src) s(t)', $REPEATS)::numeric, 1),
       round(best_ms('SELECT fashionrec.tfidf_fit(tsv) IS NOT NULL FROM $T', $REPEATS)::numeric, 1),
       round(best_ms('SELECT sum(fashionrec.nnz(fashionrec.tfidf(f.v, d.tsv))) FROM $T d,
                             (SELECT fashionrec.tfidf_fit(tsv) AS v FROM $T) f', $REPEATS)::numeric, 1);
SQL
)
    $PY test/bench/tfidf_reference.py "$TMP/tokens_$corpus.csv" "$TMP/vectors_$corpus.csv" \
        "$TMP/terms_$corpus.csv" "$REPEATS" $([ "$corpus" = styles ] && echo 500) > "$TMP/ref_$corpus.tsv"
    ref() { awk -F'\t' -v k="$1" '$1 == k { print $2 }' "$TMP/ref_$corpus.tsv"; }
    sk_ms=$(awk -v s="$(ref sklearn_seconds)" 'BEGIN { printf "%.1f", s * 1000 }')
    speedup=$(awk -v a="$sk_ms" -v b="$fittf_ms" 'BEGIN { printf "%.2fx", a / b }')
    printf '%-9s %8s %9s %9s %9s ms %9s ms %9s ms %9s ms %8s %13s %9s\n' "$corpus" "$(ref documents)" \
        "$(ref tokens)" "$(ref features)" "$tsv_ms" "$fit_ms" "$fittf_ms" "$sk_ms" "$speedup" \
        "$(ref max_abs_diff)" "$(ref vocabulary_equal)"
done

# ---- 2. similar_items latency among the 44k styles ----------------------------
fr_log "similar_items over the styles"
SCIPY_MS=$(awk -F'\t' '$1 == "scipy_similar_ms" { print $2 }' "$TMP/ref_styles.tsv")
Q <<'SQL'
SET client_min_messages = warning;
SELECT fashionrec.train('styles-text', 'tfidf', 'SELECT id, name FROM styles') \gset
SELECT fashionrec.train('styles-attr', 'attributes',
       'SELECT id, gender, master_category, sub_category, article_type, base_colour, season, usage FROM styles',
       '{"weights": "{\"article_type\": 3, \"base_colour\": 2, \"sub_category\": 2}"}') \gset
SELECT fashionrec.train('styles-both', 'tfidf', 'styles',
       '{"text_column": "name", "attribute_columns": "article_type, base_colour, gender, usage",
         "weights": "{\"article_type\": 2, \"base_colour\": 1, \"gender\": 1, \"usage\": 0.5}"}') \gset
CREATE TABLE sample AS SELECT id FROM styles ORDER BY hashint8(id) LIMIT 500;
CREATE TABLE vec_styles AS SELECT id, fashionrec.tfidf(v, tsv) AS vec
  FROM docs_styles, vocab_styles;
CREATE FUNCTION call_ms(model text) RETURNS double precision[] LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz;
    out double precision[] := '{}';
    n integer;
    i bigint;
BEGIN
    FOR i IN SELECT id FROM sample ORDER BY id LOOP
        t := clock_timestamp();
        SELECT count(*) INTO n FROM fashionrec.similar_items(model, i, 10);
        out := out || extract(epoch FROM clock_timestamp() - t) * 1000;
    END LOOP;
    RETURN out;
END
$$;
SQL
Q -v scipy_ms="$SCIPY_MS" <<'SQL'
SET max_parallel_workers_per_gather = 0;
SELECT count(*) FROM fashionrec.similar_items('styles-text', 15970, 10) \gset
SELECT 'model load (first call, ms): ' || round(load_ms::numeric, 1) FROM fashionrec.cache_info() WHERE name = 'styles-text';
SELECT format('similar_items, %s calls, k = 10 (ms): mean %s, p50 %s, p95 %s, max %s', count(*),
              round(avg(x)::numeric, 3), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY x)::numeric, 3),
              round(percentile_cont(0.95) WITHIN GROUP (ORDER BY x)::numeric, 3), round(max(x)::numeric, 3))
  FROM unnest(call_ms('styles-text')) x;
-- reference: the same cosine top 10 by a sequential scan with the svec operator
SELECT format('seq scan ORDER BY vec <=> ... LIMIT 10 (ms, best of 5, one item): %s',
              round(best_ms('SELECT string_agg(id::text, '','') FROM (SELECT v.id FROM vec_styles v,
                               (SELECT vec FROM vec_styles WHERE id = 15970) q
                              WHERE v.id <> 15970 ORDER BY v.vec OPERATOR(fashionrec.<=>) q.vec, v.id LIMIT 10) s', 5)::numeric, 2));
-- both give the same neighbours (cosine ties by id), over 50 sampled items
SELECT format('same top-10 as the scan for %s of 50 items', count(*) FILTER (WHERE a = b))
  FROM (SELECT s.id,
               (SELECT array_agg(item_id ORDER BY rank) FROM fashionrec.similar_items('styles-text', s.id, 10)) a,
               (SELECT array_agg(id) FROM (SELECT v.id FROM vec_styles v, vec_styles q
                                            WHERE q.id = s.id AND v.id <> s.id
                                              AND NOT (v.vec OPERATOR(fashionrec.<=>) q.vec)::text = 'NaN'
                                            ORDER BY (v.vec OPERATOR(fashionrec.<=>) q.vec)::real, v.id LIMIT 10) t) b
          FROM (SELECT id FROM sample ORDER BY id LIMIT 50) s) c;
SELECT format('scipy reference, X @ x.T then top 10 (ms per query, 500 queries): %s', :'scipy_ms');
SELECT format('training seconds: text %s, attributes %s, text+attributes %s',
              (SELECT round(training_seconds::numeric, 2) FROM fashionrec.model WHERE name = 'styles-text'),
              (SELECT round(training_seconds::numeric, 2) FROM fashionrec.model WHERE name = 'styles-attr'),
              (SELECT round(training_seconds::numeric, 2) FROM fashionrec.model WHERE name = 'styles-both'));
SQL

# ---- 3. neighbours for the docs ----------------------------------------------
fr_log "neighbours (the first women's dress, men's casual shoe and men's watch by id)"
Q -F ' | ' <<'SQL'
WITH probe AS (
    SELECT DISTINCT ON (article_type) article_type, id, name FROM styles
     WHERE (article_type, gender) IN (('Dresses', 'Women'), ('Casual Shoes', 'Men'), ('Watches', 'Men'))
       AND name LIKE '%' || gender || ' %'        -- some kids'' dresses are filed under Women
     ORDER BY article_type, id)
SELECT p.name || ' (' || p.id || ')', m.model, s.rank, round(s.score::numeric, 3), n.name
  FROM probe p, (VALUES ('styles-text'), ('styles-attr'), ('styles-both')) m(model),
       fashionrec.similar_items(m.model, p.id, 5) s JOIN styles n ON n.id = s.item_id
 ORDER BY p.article_type, m.model, s.rank;
SQL
