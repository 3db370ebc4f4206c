#!/usr/bin/env bash
# featurefm on the Amazon Fashion 5-core reviews (2018; /work/shared/data/
# amazon-fashion-5core-2018, read its SOURCE.md): 3,176 reviews, 406
# reviewers, 31 products, no catalogue.  The only item-side data are the
# reviews themselves: their text and summary, and the `style` of the variant
# bought (Color:, Size:, Style:, Size Name:).  A review is an interaction;
# the duplicates the dump lists once per product variant are one pair.
#
# Items are described by what their reviews say, beside popularity, ALS and
# the two content models that fit such data: "tfidf" over the reviews' text
# and "attributes" over the styles bought.  featurefm gets the styles as
# item features (and, in a second variant, the text's lexemes too).
#
# 1. Warm split, temporal (as test/bench/ml100k.sh: each reviewer's latest
#    20% of products are the test set), k = 10; the item texts and styles
#    come from the training reviews only.
# 2. New products (the split of test/bench/hybrid_ml100k.sh: a fifth of the
#    products by a hash of the id held out entirely, every reviewer of one
#    ranks all held-out products): NDCG@10 and AUC.  A held-out product's
#    only reviews are the test's, so its text and styles come from them: an
#    upper bound for what a catalogue description would give.
#
# The script first prints how many distinct reviews the pairs are: the dump
# copies one review to every listing of a product family, so most of a
# reviewer's "products" are one review on sibling listings, and both splits
# mostly ask which siblings go together (docs/benchmarks.md).
#
#   bash test/bench/featurefm_amazon.sh        (FR_DATA=/path/to/data to override)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

fr_data_bench amazon-fashion-5core-2018 AMAZON_FASHION_5.json
echo "load: $(uptime)"

q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION fashionrec;
-- one JSON document per line, read verbatim (no CSV quoting, no text-format escapes)
CREATE TABLE reviews_raw (doc jsonb);
\copy reviews_raw FROM '$DIR/AMAZON_FASHION_5.json' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02')
CREATE TABLE reviews AS
SELECT doc ->> 'reviewerID' AS reviewer, doc ->> 'asin' AS asin, (doc ->> 'overall')::real AS rating,
       (doc ->> 'unixReviewTime')::bigint AS ts,
       coalesce(doc ->> 'summary', '') || ' ' || coalesce(doc ->> 'reviewText', '') AS body,
       doc -> 'style' AS style
  FROM reviews_raw;
CREATE TABLE reviewers AS SELECT reviewer, row_number() OVER (ORDER BY reviewer) AS user_id
  FROM (SELECT DISTINCT reviewer FROM reviews) r;
CREATE TABLE products AS SELECT asin, row_number() OVER (ORDER BY asin) AS item_id
  FROM (SELECT DISTINCT asin FROM reviews) p;
CREATE TABLE review AS
SELECT u.user_id, p.item_id, r.rating, r.ts, r.body, r.style
  FROM reviews r JOIN reviewers u USING (reviewer) JOIN products p USING (asin);
-- the split helpers read ratings(user_id, item_id, rating, ts): one row per pair, its first review
CREATE TABLE ratings AS
SELECT user_id::int, item_id::int, max(rating)::int AS rating, min(ts) AS ts
  FROM review GROUP BY 1, 2;
-- one (product, "key=value") row per style value a review names
CREATE TABLE review_style AS
SELECT r.user_id, r.item_id, lower(rtrim(s.key, ':')) AS key, lower(btrim(s.value #>> '{}')) AS value
  FROM review r, jsonb_each(r.style) s
 WHERE jsonb_typeof(r.style) = 'object' AND btrim(s.value #>> '{}') <> '';
$(fr_ml100k_split_sql)
$(fr_ml100k_cold_sql)
-- the descriptions each split may see: the training reviews (warm), every review (new products)
CREATE FUNCTION item_text(warm_only boolean) RETURNS TABLE (item_id bigint, body text)
LANGUAGE sql STABLE AS \$\$
  SELECT item_id, string_agg(body, ' ' ORDER BY ts, user_id)
    FROM review r
   WHERE NOT warm_only OR (user_id, item_id) IN (SELECT user_id, item_id FROM split WHERE NOT is_tail)
   GROUP BY item_id
\$\$;
CREATE FUNCTION item_style(warm_only boolean) RETURNS TABLE (item_id bigint, key text, value text)
LANGUAGE sql STABLE AS \$\$
  SELECT DISTINCT item_id, key, value FROM review_style
   WHERE NOT warm_only OR (user_id, item_id) IN (SELECT user_id, item_id FROM split WHERE NOT is_tail)
\$\$;
-- content sources: (item, text), (item, color, size, style, size_name) one row per style value
CREATE VIEW text_warm AS SELECT * FROM item_text(true);
CREATE VIEW text_all AS SELECT * FROM item_text(false);
CREATE FUNCTION style_columns(warm_only boolean)
RETURNS TABLE (item_id bigint, color text, size text, style text, size_name text) LANGUAGE sql STABLE AS \$\$
  SELECT item_id, CASE key WHEN 'color' THEN value END, CASE key WHEN 'size' THEN value END,
         CASE key WHEN 'style' THEN value END, CASE key WHEN 'size name' THEN value END
    FROM item_style(warm_only)
\$\$;
CREATE VIEW style_warm AS SELECT * FROM style_columns(true);
CREATE VIEW style_all AS SELECT * FROM style_columns(false);
-- featurefm's item features: the styles; and the styles plus the text's lexemes
CREATE FUNCTION fm_features(warm_only boolean, words boolean) RETURNS TABLE (item_id bigint, feature text)
LANGUAGE sql STABLE AS \$\$
  SELECT item_id, key || '=' || value FROM item_style(warm_only)
  UNION ALL
  SELECT t.item_id, 'word=' || w.lexeme FROM item_text(warm_only) t, unnest(to_tsvector('english', t.body)) w
   WHERE words
\$\$;
CREATE VIEW fm_style_warm AS SELECT * FROM fm_features(true, false);
CREATE VIEW fm_style_all AS SELECT * FROM fm_features(false, false);
CREATE VIEW fm_words_warm AS SELECT * FROM fm_features(true, true);
CREATE VIEW fm_words_all AS SELECT * FROM fm_features(false, true);
SQL
echo "$(q -c "SELECT count(*) || ' reviews' FROM review"); $(q -c "
  SELECT count(*) || ' distinct (reviewer, text, day), ' || count(*) FILTER (WHERE listings >= 5)
         || ' of them copied to 5-8 listings; ' || (SELECT count(*) FROM (SELECT user_id FROM review GROUP BY 1
                                                   HAVING count(DISTINCT (body, ts)) >= 2) m)
         || ' reviewers wrote two or more'
    FROM (SELECT user_id, body, ts, count(DISTINCT item_id) AS listings FROM review GROUP BY 1, 2, 3) d")
$(q -c "SELECT count(*) || ' pairs, ' || count(DISTINCT user_id) || ' reviewers, ' || count(DISTINCT item_id) || ' products, ' || round(count(*)::numeric / count(DISTINCT user_id), 1) || ' products per reviewer' FROM ratings"); $(q -c "SELECT count(DISTINCT (key, value)) || ' style values, ' || count(DISTINCT (item_id, key, value)) || ' (product, style) rows' FROM review_style")"

# ---- 1. warm split -------------------------------------------------------------------
q >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT fashionrec.train('w-pop', 'popularity', 'SELECT user_id, item_id FROM train');
SELECT fashionrec.train('w-als', 'als', 'SELECT user_id, item_id FROM train', '{"factors": 16, "iterations": 15}');
SELECT fashionrec.train('w-tfidf', 'tfidf', 'text_warm', '{"interactions": "SELECT user_id, item_id FROM train"}');
SELECT fashionrec.train('w-attr', 'attributes', 'style_warm', '{"interactions": "SELECT user_id, item_id FROM train"}');
SELECT fashionrec.train('w-fm', 'featurefm', 'SELECT user_id, item_id FROM train', '{"factors": 16}');
SELECT fashionrec.train('w-fm-style', 'featurefm', 'SELECT user_id, item_id FROM train',
                        '{"item_features": "fm_style_warm", "factors": 16}');
SELECT fashionrec.train('w-fm-words', 'featurefm', 'SELECT user_id, item_id FROM train',
                        '{"item_features": "fm_words_warm", "factors": 16}');
SQL
echo
echo "warm split: $(q -c "SELECT count(*) || ' test pairs of ' || count(DISTINCT user_id) || ' reviewers' FROM test")"
fr_eval_rows test w-pop w-als w-tfidf w-attr w-fm w-fm-style w-fm-words

# ---- 2. new products -------------------------------------------------------------------
q >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT fashionrec.train('c-pop', 'popularity', 'warm');
SELECT fashionrec.train('c-als', 'als', 'warm', '{"factors": 16, "iterations": 15}');
SELECT fashionrec.train('c-tfidf', 'tfidf', 'text_all', '{"interactions": "warm"}');
SELECT fashionrec.train('c-attr', 'attributes', 'style_all', '{"interactions": "warm"}');
SELECT fashionrec.train('c-hybrid', 'hybrid', NULL,
    '{"cf": "c-als", "content": "c-tfidf", "popularity": "c-pop", "interactions": "warm"}');
SELECT fashionrec.train('c-fm-style', 'featurefm', 'warm',
    '{"item_features": "fm_style_all", "item_identity": false, "factors": 16}');
SELECT fashionrec.train('c-fm-words', 'featurefm', 'warm',
    '{"item_features": "fm_words_all", "item_identity": false, "factors": 16}');
SQL
echo
echo "new products: $(q -c "SELECT count(*) || ' held-out products of ' || (SELECT count(*) FROM products) || ', ' || (SELECT count(*) FROM cold_test) || ' test pairs' FROM held_out")"
fr_cold_rows c-pop c-tfidf c-attr c-hybrid c-fm-style c-fm-words
# what ranking the held-out products at random gives, for scale: a seeded shuffle per reviewer
echo "random order (mean of 20 seeded shuffles): $(q -c "
  WITH cand AS (SELECT array_agg(item_id ORDER BY item_id) AS ids FROM held_out),
  truth AS (SELECT user_id, array_agg(item_id) AS rel FROM cold_test GROUP BY user_id)
  SELECT 'NDCG@10 ' || round(avg(fashionrec.ndcg_at_k(
           ARRAY(SELECT x FROM unnest(c.ids) x ORDER BY md5(s || ':' || t.user_id || ':' || x)), t.rel, 10))::numeric, 4)
    FROM truth t, cand c, generate_series(1, 20) s")"
echo "load: $(uptime)"
