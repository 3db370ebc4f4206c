#!/usr/bin/env bash
# Hybrid vs content-only vs popularity where collaborative filtering knows
# nothing: new customers (MovieLens 100K and the synthetic shop) and new
# products (the shop), everything trained and evaluated inside PostgreSQL.
#
# 1. MovieLens 100K, cold-start users: 20% of the users (by a hash of the id,
#    as hybrid_ml100k.sh holds out items) are held out entirely; the models
#    are trained on the others.  Each held-out user's ratings are ordered by
#    (timestamp, item, rating); the first n (n = 1, 3, 5) are revealed to
#    recommend_for_items() (fold-in, no retraining) and every item not
#    revealed is ranked; the user's remaining ratings are the truth:
#    NDCG@10, and AUC per user averaged over users (items a model cannot
#    score share the remaining ranks).  Content = the 19 genre flags.
# 2. The synthetic shop (fashionrec.generate_shop), interactions = distinct
#    (customer, product) pairs weighted purchase 5, cart 2, view 1:
#    a. cold-start customers, as in 1 (pairs ordered by their first event);
#    b. cold-start products: 20% of the products held out of every model but
#       the content one, which sees the whole catalogue; for every customer
#       the held-out products alone are ranked (as hybrid_ml100k.sh does).
#    Content = the product attributes one-hot (article type, colour, price
#    band, gender, season, usage) as an "embedding" model.  Besides NDCG@10
#    and AUC: the share of the top 10 in the customer's planted article types
#    (test/pgtap/planted.sql), next to the share of the ranked items in them
#    ("chance").
#
# The hybrid's weights are chosen on validation splits cut from the training
# side the same way, never on the test users or items: another hash puts the
# users (resp. items) in five folds; folds 0 and 1 in turn are held out of a
# set of components and a grid of hybrids trained on the rest of the training
# side, and the grid point with the best mean NDCG@10 over both folds wins
# (two folds rather than one, to halve the noise of ~170 validation users).  Then the components and the hybrid
# are retrained on the whole training side and evaluated once.  Also
# reported: the hybrid with the default weights (als, content 0.3,
# popularity 0.1, history_n0 5), every component alone (als100 = ALS with
# regularization 100, a grid choice for cf: folded-in ALS with the warm
# setting 0.05 falls far below popularity), and for cold users a learned
# fusion (learned_users below).
#
#   bash test/bench/hybrid_coldstart.sh     (FR_DATA=/path/to/data to override;
#                                            SHOP="customers products events";
#                                            LEARNED_FUSION=logistic|mlp instead of auto;
#                                            GRID_CF, GRID_CW, ... to shrink the grid)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

DATA=${FR_DATA:-$PWD/../shared/data}
DIR=$DATA/movielens-100k
read -r SHOP_C SHOP_P SHOP_E <<< "${SHOP:-3000 600 120000}"

fr_install_deps
fr_setup_paths
[ -n "${FR_NO_BUILD:-}" ] || fr_build_install

# FR_KEEP=1 leaves the cluster running for a look at the models afterwards (databases ml, shop)
fr_bench_cluster
START=$(date +%s)
DB=bench
q() { psql -qXAt -F $'\t' -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
elapsed() { echo "$(( $(date +%s) - START )) s"; }

# The evaluation, the same in both databases, over:
#   user_role(user_id, role)   'test', 'val0', 'val1' (held out) or 'fit'
#   ordered(user_id, item_id, pos)  the held-out users' interactions in time order
#   item_role(item_id, role)   the same for items
#   pairs(user_id, item_id, w, t)   all interactions
#   catalog(item_id), taste(user_id, item_id) (the planted tastes; empty for ML)
EVAL_SQL=$(cat <<'SQL'
-- cold users: reveal the first n interactions, rank every other item of the
-- catalogue (full_rank) or just the top 10 (for the validation grid)
CREATE FUNCTION cold_user_eval(model text, who text, n int, full_rank boolean,
                               OUT users bigint, OUT ndcg numeric, OUT auc numeric,
                               OUT taste numeric, OUT chance numeric)
LANGUAGE sql AS $$
  WITH hist AS (
    SELECT o.user_id,
           array_agg(o.item_id ORDER BY o.pos) FILTER (WHERE o.pos <= n) AS revealed,
           array_agg(o.item_id) FILTER (WHERE o.pos > n) AS rel
      FROM ordered o JOIN user_role r USING (user_id)
     WHERE r.role = who GROUP BY o.user_id),
  lists AS (
    SELECT h.user_id, h.revealed, h.rel, c.m - n AS m,
           ARRAY(SELECT f.item_id
                   FROM fashionrec.recommend_for_items(model, h.revealed,
                            CASE WHEN full_rank THEN (c.m - n)::int ELSE 10 END) f
                  ORDER BY f.rank) AS ranked
      FROM hist h, (SELECT count(*) AS m FROM catalog) c
     WHERE h.rel IS NOT NULL),
  ranks AS (
    SELECT l.user_id, l.m, cardinality(l.rel) AS p, cardinality(l.ranked) AS listed,
           array_position(l.ranked, x) AS pos
      FROM lists l, unnest(l.rel) x),
  per_user AS (
    -- unlisted positives: the average of the ranks after the listed items
    SELECT user_id, sum(m - coalesce(pos, (listed + 1 + m) / 2.0)) AS above,
           min(p) AS p, min(m) AS m
      FROM ranks GROUP BY user_id)
  SELECT count(*),
         round(avg(fashionrec.ndcg_at_k(l.ranked, l.rel, 10))::numeric, 4),
         CASE WHEN full_rank THEN
              round(avg((u.above - u.p * (u.p - 1) / 2.0) / (u.p * (u.m - u.p)))::numeric, 4) END,
         round(avg((SELECT avg((t.item_id IS NOT NULL)::int)
                      FROM unnest(l.ranked[1:10]) x
                      LEFT JOIN taste t ON t.user_id = l.user_id AND t.item_id = x))::numeric, 4),
         round(avg((SELECT count(*) FROM taste t
                     WHERE t.user_id = l.user_id AND t.item_id <> ALL (l.revealed))::numeric / l.m), 4)
    FROM lists l JOIN per_user u USING (user_id)
   WHERE u.m > u.p
$$;

-- cold items: for every user with an interaction on the items the models
-- were trained on, rank the held-out items alone against the user's
-- interactions with them
CREATE FUNCTION cold_item_eval(model text, who text, full_rank boolean,
                               OUT users bigint, OUT ndcg numeric, OUT auc numeric,
                               OUT taste numeric, OUT chance numeric)
LANGUAGE sql AS $$
  WITH cand AS (SELECT array_agg(item_id ORDER BY item_id) AS ids, count(*) AS m
                  FROM item_role WHERE role = who),
  truth AS (
    SELECT p.user_id, array_agg(p.item_id) AS rel
      FROM pairs p JOIN item_role r USING (item_id)
     WHERE r.role = who
       AND p.user_id IN (SELECT p2.user_id FROM pairs p2 JOIN item_role r2 USING (item_id)
                          WHERE r2.role NOT IN ('test', who))
     GROUP BY p.user_id),
  lists AS (
    SELECT t.user_id, t.rel, c.m,
           ARRAY(SELECT r.item_id
                   FROM fashionrec.recommend(model, t.user_id,
                            CASE WHEN full_rank THEN c.m::int ELSE 10 END,
                            candidates => c.ids) r
                  ORDER BY r.rank) AS ranked
      FROM truth t, cand c),
  ranks AS (
    SELECT l.user_id, l.m, cardinality(l.rel) AS p, cardinality(l.ranked) AS listed,
           array_position(l.ranked, x) AS pos
      FROM lists l, unnest(l.rel) x),
  per_user AS (
    SELECT user_id, sum(m - coalesce(pos, (listed + 1 + m) / 2.0)) AS above,
           min(p) AS p, min(m) AS m
      FROM ranks GROUP BY user_id)
  SELECT count(*),
         round(avg(fashionrec.ndcg_at_k(l.ranked, l.rel, 10))::numeric, 4),
         CASE WHEN full_rank THEN
              round(avg((u.above - u.p * (u.p - 1) / 2.0) / (u.p * (u.m - u.p)))::numeric, 4) END,
         round(avg((SELECT avg((t.item_id IS NOT NULL)::int)
                      FROM unnest(l.ranked[1:10]) x
                      LEFT JOIN taste t ON t.user_id = l.user_id AND t.item_id = x))::numeric, 4),
         round(avg((SELECT count(*) FROM taste t JOIN item_role r USING (item_id)
                     WHERE t.user_id = l.user_id AND r.role = who)::numeric / l.m), 4)
    FROM lists l JOIN per_user u USING (user_id)
   WHERE u.m > u.p
$$;
SQL
)

# hybrid NAME PREFIX CF CONTENT_W POP_W SEQ_W N0 INTERACTIONS [extra json]
hybrid() {
    local seq=""
    [ "$6" != 0 ] && seq="\"sequence\": \"$2-seq\", \"sequence_weight\": $6,"
    q -c "SET client_min_messages = warning" -c "SELECT fashionrec.train('$1', 'hybrid', NULL,
        '{\"cf\": \"$2-$3\", \"content\": \"$2-content\", \"popularity\": \"$2-pop\", $seq
          \"content_weight\": $4, \"popularity_weight\": $5, \"history_n0\": $7 ${9:-},
          \"interactions\": \"$8\"}')" >/dev/null
}
gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }

# test: 20% of the ids by the hash hybrid_ml100k.sh holds items out with;
# the rest in five folds by another hash, folds 0 and 1 validate the grid
role_of() {
    echo "CASE WHEN ('x' || substr(md5('fashionrec' || $1), 1, 8))::bit(32)::int % 5 = 0 THEN 'test'
            ELSE CASE (('x' || substr(md5('fashionrec-val' || $1), 1, 8))::bit(32)::int % 5 + 5) % 5
                      WHEN 0 THEN 'val0' WHEN 1 THEN 'val1' ELSE 'fit' END END"
}

# Grid on the validation users: the mean NDCG@10 over n = 1, 3, 5 and the
# two folds (one set of weights serves every history length; history_n0 is
# what adapts them).  $1, $2: the interactions of folds 0 and 1 (the
# components are f0-*, f1-*).  Prints "cf cw pw sw n0 ndcg" of the best.
tune_users() {
    local best="" best_v=-1 i=0 cf cw pw sw n0 v
    for cf in ${GRID_CF:-als als100 ease}; do
      for cw in ${GRID_CW:-0 0.1 0.3}; do
        for pw in ${GRID_PW:-0.1 0.3 1 3}; do
          for sw in ${GRID_SW:-0 0.3}; do
            for n0 in ${GRID_N0:-0 5}; do
              i=$((i + 1))
              hybrid "grid-$i-0" f0 "$cf" "$cw" "$pw" "$sw" "$n0" "$1"
              hybrid "grid-$i-1" f1 "$cf" "$cw" "$pw" "$sw" "$n0" "$2"
              v=$(q -c "SELECT round(avg(ndcg), 4)
                          FROM (VALUES ('grid-$i-0', 'val0'), ('grid-$i-1', 'val1')) f(m, who),
                               (VALUES (1), (3), (5)) t(n),
                               LATERAL cold_user_eval(f.m, f.who, t.n, false)")
              [ -z "${FR_VERBOSE:-}" ] || echo "  grid $cf $cw $pw $sw $n0: $v" >&2
              if gt "$v" "$best_v"; then best="$cf $cw $pw $sw $n0"; best_v=$v; fi
            done
          done
        done
      done
    done
    echo "$best $best_v"
}

# a model that lists nothing has no top 10: its taste share is "-"
COLS="users, ndcg, auc, coalesce(taste::text, '-'), chance"

# Learned fusion ("auto": weighted, logistic or MLP, docs/hybrid.md) for
# cold users: fitted with the fold-0 components on the fold-0 validation
# users, each revealed 1, 3 or 5 interactions (by id) in the hybrid's
# interactions with their other interactions as "validation", so the
# examples look like serving; then reused over the full components
# ("fusion_from").  Signals: the grid's cf, content, popularity, sequence
# (in a learned fusion the weights only switch signals on).  $1 cf, $2 the columns of the interactions (ML:
# user_id, item_id; shop: with w), $3 fold-0 training view, $4 full view.
learned_users() {
    q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE VIEW lf_inter AS
SELECT $2 FROM $3
 UNION ALL
SELECT o.user_id, o.item_id $([ "$2" = "user_id, item_id" ] || echo ", 1")
  FROM ordered o JOIN user_role r USING (user_id)
 WHERE r.role = 'val0' AND o.pos <= (ARRAY[1, 3, 5])[o.user_id % 3 + 1];
CREATE VIEW lf_val AS
SELECT o.user_id, o.item_id
  FROM ordered o JOIN user_role r USING (user_id)
 WHERE r.role = 'val0' AND o.pos > (ARRAY[1, 3, 5])[o.user_id % 3 + 1];
SELECT fashionrec.train('learned-fit', 'hybrid', NULL, '{
    "cf": "f0-$1", "content": "f0-content", "popularity": "f0-pop", "sequence": "f0-seq",
    "fusion": "${LEARNED_FUSION:-auto}", "validation": "lf_val", "interactions": "lf_inter"}');
SELECT fashionrec.train('hybrid-learned', 'hybrid', NULL, '{
    "cf": "full-$1", "content": "full-content", "popularity": "full-pop", "sequence": "full-seq",
    "fusion_from": "learned-fit", "interactions": "SELECT $2 FROM $4"}');
SQL
    q -c "SELECT 'learned fusion (cf $1): kept ' || (info ->> 'fusion') || '; its validation NDCG@10 (candidate lists) weighted '
                 || round((info ->> 'validation_ndcg_weighted')::numeric, 4) || ', logistic '
                 || round((info ->> 'validation_ndcg_logistic')::numeric, 4) || ', mlp '
                 || round((info ->> 'validation_ndcg_mlp')::numeric, 4) || ' (' || (info ->> 'fusion_examples') || ' examples)'
                 || coalesce('; auto''s noise (one standard error) logistic '
                             || round((info ->> 'validation_noise_logistic')::numeric, 4) || ', mlp '
                             || round((info ->> 'validation_noise_mlp')::numeric, 4), '')
            FROM fashionrec.models WHERE name = 'learned-fit' AND active"
}

user_table() {   # title, with taste?, models...
    local title=$1 cols=$COLS fmt='%-22s %3s %6s %8s %7s %7s %7s\n' m n
    local head=(model n users "NDCG@10" AUC taste chance)
    if [ "$2" = no ]; then cols="users, ndcg, auc"; fmt='%-22s %3s %6s %8s %7s\n'; head=("${head[@]:0:5}"); fi
    shift 2
    printf '\n%s\n' "$title"
    # shellcheck disable=SC2059
    printf "$fmt" "${head[@]}"
    for m in "$@"; do
        for n in 1 3 5; do
            # shellcheck disable=SC2046,SC2059  # one word per column
            printf "$fmt" "$m" "$n" $(q -c "SELECT $cols FROM cold_user_eval('$m', 'test', $n, true)")
        done
    done
}

# ---- 1. MovieLens 100K, cold-start users ------------------------------------
if [ -r "$DIR/u.data" ] && [ -r "$DIR/u.item" ]; then
DB=ml
psql -qX -d postgres -c 'CREATE DATABASE ml' >/dev/null
q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION fashionrec;
$(fr_ml100k_sql "$DIR")
CREATE TABLE catalog AS SELECT item_id FROM genres;
CREATE TABLE user_role AS
SELECT user_id::bigint, $(role_of user_id) AS role
  FROM (SELECT DISTINCT user_id FROM ratings) u;
CREATE TABLE ordered AS
SELECT user_id::bigint, item_id::bigint,
       row_number() OVER (PARTITION BY user_id ORDER BY ts, item_id, rating)::int AS pos
  FROM ratings WHERE user_id IN (SELECT user_id FROM user_role WHERE role <> 'fit');
CREATE TABLE item_role (item_id bigint, role text);
CREATE TABLE pairs (user_id bigint, item_id bigint, w real, t timestamptz);
CREATE TABLE taste (user_id bigint, item_id bigint);
CREATE VIEW train AS SELECT user_id, item_id, 1 AS w, to_timestamp(ts) AS t
  FROM ratings WHERE user_id IN (SELECT user_id FROM user_role WHERE role <> 'test');
CREATE VIEW fit0 AS SELECT user_id, item_id, 1 AS w, to_timestamp(ts) AS t
  FROM ratings WHERE user_id IN (SELECT user_id FROM user_role WHERE role NOT IN ('test', 'val0'));
CREATE VIEW fit1 AS SELECT user_id, item_id, 1 AS w, to_timestamp(ts) AS t
  FROM ratings WHERE user_id IN (SELECT user_id FROM user_role WHERE role NOT IN ('test', 'val1'));
$EVAL_SQL
SQL
echo "MovieLens 100K cold users: $(q -c "SELECT string_agg(role || ' ' || c, ', ' ORDER BY role) FROM
      (SELECT role, count(*) AS c FROM user_role GROUP BY role) s") users"

ml_components() {   # prefix, view
    q >/dev/null <<SQL
SET client_min_messages = warning;
SELECT fashionrec.train('$1-ease', 'ease', 'SELECT user_id, item_id FROM $2', '{"lambda": 500}');
SELECT fashionrec.train('$1-als', 'als', 'SELECT user_id, item_id FROM $2',
                        '{"factors": 64, "regularization": 0.05, "iterations": 15}');
SELECT fashionrec.train('$1-als100', 'als', 'SELECT user_id, item_id FROM $2',
                        '{"factors": 64, "regularization": 100, "iterations": 15}');
SELECT fashionrec.train('$1-pop', 'popularity', 'SELECT user_id, item_id FROM $2');
SELECT fashionrec.train('$1-content', 'embedding', 'genres',
                        '{"interactions": "SELECT user_id, item_id FROM $2"}');
SELECT fashionrec.train('$1-seq', 'sequence', '$2');
SQL
}
ml_components f0 fit0
ml_components f1 fit1
ml_components full train

echo "choosing the hybrid's weights on the validation users ... ($(elapsed))"
tune_users 'SELECT user_id, item_id FROM fit0' 'SELECT user_id, item_id FROM fit1' > "$TMP/best"
read -r cf cw pw sw n0 v < "$TMP/best"
echo "  best: cf $cf, content $cw, popularity $pw, sequence $sw, history_n0 $n0 (validation NDCG@10 $v) ($(elapsed))"
hybrid hybrid full "$cf" "$cw" "$pw" "$sw" "$n0" 'SELECT user_id, item_id FROM train'
hybrid hybrid-defaults full als 0.3 0.1 0 5 'SELECT user_id, item_id FROM train'
ML_TUNED="cf $cf, content $cw, popularity $pw, sequence $sw, history_n0 $n0"
learned_users "$cf" "user_id, item_id" fit0 train
user_table "MovieLens 100K, cold-start users (test; hybrid tuned: $ML_TUNED)" no \
    full-pop full-content full-als full-als100 full-ease full-seq hybrid-defaults hybrid hybrid-learned
echo "numpy reference of two rows (coldstart_reference.py, same split and protocol):"
/usr/bin/python3 test/bench/coldstart_reference.py "$DIR" |
    awk -F '\t' '{ printf "%-22s %3s %6s %8s %7s\n", "ref-" $1, $2, $3, $4, $5 }'
echo "($(elapsed))"
else
    echo "skipped MovieLens 100K: $DIR/u.data or u.item not found (set FR_DATA)"
fi

# ---- 2. the synthetic shop -------------------------------------------------------
DB=shop
psql -qX -d postgres -c 'CREATE DATABASE shop' >/dev/null
q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION fashionrec;
SELECT * FROM fashionrec.generate_shop($SHOP_C, $SHOP_P, $SHOP_E, 42, 'shop');
CREATE TABLE pairs AS
SELECT customer_id AS user_id, product_id AS item_id,
       sum(CASE event_type WHEN 'purchase' THEN 5 WHEN 'cart' THEN 2 ELSE 1 END)::real AS w,
       min(occurred_at) AS t
  FROM shop.events GROUP BY 1, 2;
CREATE TABLE catalog AS SELECT product_id AS item_id FROM shop.products;
-- content: the attributes one-hot
CREATE TABLE features AS
SELECT f, row_number() OVER (ORDER BY f) AS o FROM (
    SELECT DISTINCT unnest(ARRAY['type:' || article_type, 'colour:' || colour, 'band:' || price_band,
                                 'gender:' || gender, 'season:' || season, 'usage:' || usage]) AS f
      FROM shop.products) s;
CREATE TABLE attributes AS
SELECT p.product_id AS item_id,
       ARRAY(SELECT (f.f IN ('type:' || p.article_type, 'colour:' || p.colour, 'band:' || p.price_band,
                             'gender:' || p.gender, 'season:' || p.season, 'usage:' || p.usage))::int::real
               FROM features f ORDER BY f.o) AS v
  FROM shop.products p;
-- the planted taste: products of the customer's preferred article types
CREATE TABLE taste AS
SELECT DISTINCT cp.customer_id AS user_id, p.product_id AS item_id
  FROM shop.customer_preferences cp JOIN shop.products p USING (article_type);
CREATE INDEX ON taste (user_id, item_id);
-- cold users need more than 5 products (every n row scores the same users)
CREATE TABLE user_role AS
SELECT user_id, $(role_of user_id) AS role FROM (SELECT user_id FROM pairs GROUP BY 1) u;
CREATE TABLE ordered AS
SELECT user_id, item_id, row_number() OVER (PARTITION BY user_id ORDER BY t, item_id)::int AS pos
  FROM pairs
 WHERE user_id IN (SELECT user_id FROM user_role WHERE role <> 'fit')
   AND user_id IN (SELECT user_id FROM pairs GROUP BY 1 HAVING count(*) > 5);
CREATE TABLE item_role AS SELECT item_id, $(role_of item_id) AS role FROM catalog;
CREATE VIEW u_train AS SELECT * FROM pairs WHERE user_id IN (SELECT user_id FROM user_role WHERE role <> 'test');
CREATE VIEW u_fit0 AS SELECT * FROM pairs WHERE user_id IN (SELECT user_id FROM user_role WHERE role NOT IN ('test', 'val0'));
CREATE VIEW u_fit1 AS SELECT * FROM pairs WHERE user_id IN (SELECT user_id FROM user_role WHERE role NOT IN ('test', 'val1'));
CREATE VIEW i_train AS SELECT * FROM pairs WHERE item_id IN (SELECT item_id FROM item_role WHERE role <> 'test');
CREATE VIEW i_fit0 AS SELECT * FROM pairs WHERE item_id IN (SELECT item_id FROM item_role WHERE role NOT IN ('test', 'val0'));
CREATE VIEW i_fit1 AS SELECT * FROM pairs WHERE item_id IN (SELECT item_id FROM item_role WHERE role NOT IN ('test', 'val1'));
$EVAL_SQL
SQL
echo
echo "shop: $SHOP_C customers, $SHOP_P products, $SHOP_E events (seed 42): $(q -c "SELECT count(*) FROM pairs") pairs,
  $(q -c "SELECT count(DISTINCT user_id) FILTER (WHERE role = 'test') || ' test / ' || count(DISTINCT user_id) FILTER (WHERE role LIKE 'val%')
                FROM ordered o JOIN user_role r USING (user_id)") validation cold customers (over 5 products),
  $(q -c "SELECT count(*) FILTER (WHERE role = 'test') || ' test / ' || count(*) FILTER (WHERE role LIKE 'val%') FROM item_role") validation cold products ($(elapsed))"

shop_components() {   # prefix, view
    q >/dev/null <<SQL
SET client_min_messages = warning;
SELECT fashionrec.train('$1-ease', 'ease', 'SELECT user_id, item_id, w FROM $2', '{"lambda": 200}');
SELECT fashionrec.train('$1-als', 'als', 'SELECT user_id, item_id, w FROM $2', '{"factors": 32, "iterations": 10}');
SELECT fashionrec.train('$1-als100', 'als', 'SELECT user_id, item_id, w FROM $2',
                        '{"factors": 32, "iterations": 10, "regularization": 100}');
SELECT fashionrec.train('$1-pop', 'popularity', 'SELECT user_id, item_id, w FROM $2');
SELECT fashionrec.train('$1-content', 'embedding', 'attributes',
                        '{"interactions": "SELECT user_id, item_id, w FROM $2"}');
SELECT fashionrec.train('$1-seq', 'sequence', 'SELECT user_id, item_id, 1, t FROM $2');
SQL
}

# 2a. cold customers
shop_components f0 u_fit0
shop_components f1 u_fit1
shop_components full u_train
echo "choosing the hybrid's weights on the validation customers ... ($(elapsed))"
tune_users 'SELECT user_id, item_id, w FROM u_fit0' 'SELECT user_id, item_id, w FROM u_fit1' > "$TMP/best"
read -r cf cw pw sw n0 v < "$TMP/best"
echo "  best: cf $cf, content $cw, popularity $pw, sequence $sw, history_n0 $n0 (validation NDCG@10 $v) ($(elapsed))"
hybrid hybrid full "$cf" "$cw" "$pw" "$sw" "$n0" 'SELECT user_id, item_id, w FROM u_train'
hybrid hybrid-defaults full als 0.3 0.1 0 5 'SELECT user_id, item_id, w FROM u_train'
SHOP_U_TUNED="cf $cf, content $cw, popularity $pw, sequence $sw, history_n0 $n0"
learned_users "$cf" "user_id, item_id, w" u_fit0 u_train
user_table "shop, cold-start customers (test; hybrid tuned: $SHOP_U_TUNED)" yes \
    full-pop full-content full-als full-als100 full-ease full-seq hybrid-defaults hybrid hybrid-learned
echo "($(elapsed))"

# 2b. cold products: the content model sees the whole catalogue, the others
# only the training products
shop_components i0 i_fit0
shop_components i1 i_fit1
shop_components itrain i_train
echo "choosing the hybrid's weights on the validation products ... ($(elapsed))"
best=""; best_v=-1; i=0
for cw in 0 0.03 0.1 0.3; do
  for pw in 0 0.3 1; do
    for rl in 0.1 1 10; do
      i=$((i + 1))
      hybrid "igrid-$i-0" i0 als "$cw" "$pw" 0 5 'SELECT user_id, item_id, w FROM i_fit0' ", \"ridge_lambda\": $rl"
      hybrid "igrid-$i-1" i1 als "$cw" "$pw" 0 5 'SELECT user_id, item_id, w FROM i_fit1' ", \"ridge_lambda\": $rl"
      v=$(q -c "SELECT round(avg(ndcg), 4) FROM (VALUES ('igrid-$i-0', 'val0'), ('igrid-$i-1', 'val1')) f(m, who),
                                               LATERAL cold_item_eval(f.m, f.who, false)")
      [ -z "${FR_VERBOSE:-}" ] || echo "  grid $cw $pw $rl: $v" >&2
      if gt "$v" "$best_v"; then best="$cw $pw $rl"; best_v=$v; fi
    done
  done
done
read -r cw pw rl <<< "$best"
echo "  best: content $cw, popularity $pw, ridge_lambda $rl (validation NDCG@10 $best_v) ($(elapsed))"
hybrid ihybrid itrain als "$cw" "$pw" 0 5 'SELECT user_id, item_id, w FROM i_train' ", \"ridge_lambda\": $rl"
hybrid ihybrid-defaults itrain als 0.3 0.1 0 5 'SELECT user_id, item_id, w FROM i_train'
hybrid ihybrid-nomap itrain als 0.3 0.1 0 5 'SELECT user_id, item_id, w FROM i_train' ", \"cold_start\": false"
SHOP_I_TUNED="content $cw, popularity $pw, ridge_lambda $rl"
printf '\n%s\n' "shop, cold-start products (test; hybrid = als + content + popularity, tuned: $SHOP_I_TUNED)"
printf '%-22s %6s %8s %7s %7s %7s\n' model users "NDCG@10" AUC taste chance
for m in itrain-pop itrain-content ihybrid-nomap ihybrid-defaults ihybrid; do
    # shellcheck disable=SC2046,SC2183  # one word per column
    printf '%-22s %6s %8s %7s %7s %7s\n' "$m" $(q -c "SELECT $COLS FROM cold_item_eval('$m', 'test', true)")
done
echo
echo "total $(elapsed)"
