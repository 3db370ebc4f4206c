#!/usr/bin/env bash
# featurefm on the H&M sample (/work/shared/data/hm-fashion-sample: the first
# 10,000 transactions of the Kaggle data, one day, 2,954 customers, 4,903
# articles), beside popularity, ALS and the "attributes" content model, with
# the articles' catalogue attributes (product type and group, graphical
# appearance, colour group, perceived colour, department, index, section,
# garment group) as item features.
#
# 1. Warm split: per customer with two or more articles, a fifth of them
#    (by a hash of the pair, at least one) is the test set; k = 10.
# 2. New articles: the split of test/bench/hybrid_ml100k.sh (a fifth of the
#    articles by a hash of the id held out entirely, every customer who
#    bought one ranks all held-out articles): NDCG@10 and AUC.
# The sample is small and one day long (three articles per customer on
# average): read the figures as a comparison within this run only.
#
#   bash test/bench/featurefm_hm.sh        (FR_DATA=/path/to/data to override)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

fr_data_bench hm-fashion-sample articles.csv transactions_train.csv
echo "load: $(uptime)"

q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION fashionrec;
CREATE TABLE articles_raw (idx text, article_id bigint, product_code text, prod_name text,
    product_type_no text, product_type_name text, product_group_name text,
    graphical_appearance_no text, graphical_appearance_name text, colour_group_code text,
    colour_group_name text, perceived_colour_value_id text, perceived_colour_value_name text,
    perceived_colour_master_id text, perceived_colour_master_name text, department_no text,
    department_name text, index_code text, index_name text, index_group_no text,
    index_group_name text, section_no text, section_name text, garment_group_no text,
    garment_group_name text, detail_desc text);
\copy articles_raw FROM '$DIR/articles.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE articles AS
SELECT article_id AS item_id, product_type_name, product_group_name, graphical_appearance_name,
       colour_group_name, perceived_colour_master_name, department_name, index_name,
       section_name, garment_group_name
  FROM articles_raw;
CREATE TABLE tx_raw (t_dat date, customer text, article_id bigint, price float8, channel int);
\copy tx_raw FROM '$DIR/transactions_train.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE customers AS
SELECT customer, row_number() OVER (ORDER BY customer) AS user_id FROM (SELECT DISTINCT customer FROM tx_raw) c;
-- the ML-100K split helpers read "ratings(user_id, item_id)"
CREATE TABLE ratings AS
SELECT DISTINCT c.user_id, t.article_id AS item_id FROM tx_raw t JOIN customers c USING (customer);
-- one (article, "column=value") row per attribute
CREATE VIEW article_features AS
SELECT a.item_id, f.col || '=' || f.val AS feature
  FROM articles a,
       LATERAL (VALUES ('type', a.product_type_name), ('group', a.product_group_name),
                       ('look', a.graphical_appearance_name), ('colour', a.colour_group_name),
                       ('tone', a.perceived_colour_master_name), ('dept', a.department_name),
                       ('index', a.index_name), ('section', a.section_name),
                       ('garment', a.garment_group_name)) AS f(col, val)
 WHERE f.val IS NOT NULL;
$(fr_ml100k_cold_sql)
-- warm split: a fifth of each customer's articles (at least one) when they have two or more
CREATE TABLE warm_split AS
SELECT r.user_id, r.item_id,
       row_number() OVER w <= greatest(1, count(*) OVER (PARTITION BY r.user_id) / 5) AS is_test
  FROM ratings r
 WHERE r.user_id IN (SELECT user_id FROM ratings GROUP BY user_id HAVING count(*) >= 2)
WINDOW w AS (PARTITION BY r.user_id ORDER BY md5(r.user_id || ':' || r.item_id));
CREATE VIEW warm_train AS
SELECT user_id, item_id FROM ratings
 WHERE (user_id, item_id) NOT IN (SELECT user_id, item_id FROM warm_split WHERE is_test);
CREATE VIEW warm_test AS SELECT user_id, item_id FROM warm_split WHERE is_test;
SQL
echo "$(q -c "SELECT count(*) || ' pairs, ' || count(DISTINCT user_id) || ' customers, ' || count(DISTINCT item_id) || ' articles' FROM ratings"); $(q -c "SELECT count(*) FROM article_features") article features"

# ---- 1. warm split ----------------------------------------------------------------
q >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT fashionrec.train('w-pop', 'popularity', 'warm_train');
SELECT fashionrec.train('w-als', 'als', 'warm_train', '{"factors": 64, "iterations": 15}');
SELECT fashionrec.train('w-attr', 'attributes', 'articles', '{"interactions": "warm_train"}');
SELECT fashionrec.train('w-fm', 'featurefm', 'warm_train', '{"item_features": "article_features"}');
SELECT fashionrec.train('w-fm-noid', 'featurefm', 'warm_train',
                        '{"item_features": "article_features", "item_identity": false}');
SQL
echo
echo "warm split: $(q -c "SELECT count(*) || ' test pairs of ' || count(DISTINCT user_id) || ' customers' FROM warm_test")"
fr_eval_rows warm_test w-pop w-als w-attr w-fm w-fm-noid

# ---- 2. new articles ----------------------------------------------------------------
q >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT fashionrec.train('c-pop', 'popularity', 'warm');
SELECT fashionrec.train('c-attr', 'attributes', 'articles', '{"interactions": "warm"}');
SELECT fashionrec.train('c-als', 'als', 'warm', '{"factors": 64, "iterations": 15}');
SELECT fashionrec.train('c-hybrid', 'hybrid', NULL,
    '{"cf": "c-als", "content": "c-attr", "popularity": "c-pop", "interactions": "warm"}');
SELECT fashionrec.train('c-fm', 'featurefm', 'warm',
    '{"item_features": "article_features", "item_identity": false}');
SQL
echo
echo "new articles: $(q -c "SELECT count(*) || ' held-out articles, ' || (SELECT count(*) FROM cold_test) || ' test pairs' FROM held_out")"
fr_cold_rows c-pop c-attr c-hybrid c-fm
echo "load: $(uptime)"
