#!/usr/bin/env bash
# Context that personalises (issue 21, item 3): the planted test on the
# synthetic shop, and the latency cost of a context at 100k items.
#
# 1. Quality.  fashionrec.generate_shop plants seasonality: an off-season
#    product is accepted less often (src/shopgen.c, season_acceptance).  An
#    event's season comes from its date (meteorological: Dec-Feb Winter,
#    Mar-May Spring, Jun-Aug Summer, Sep-Nov Fall), derived in the source
#    query.  Interactions are events weighted purchase 5, cart 2, view 1.
#    Temporal split: everything before TEST_FROM trains, the events from
#    TEST_FROM on are the test.  A test case is a (customer, season) pair of
#    the test part, for a customer known to the training part; the truth is
#    the products they touched in that season that they had not touched in
#    training; NDCG@10 per case, averaged.  The case's season is given as
#    the context.
#      (a) the plain hybrid (ALS + popularity, weighted; and learned), no context;
#      (b) context popularity: the popularity model's list for the season;
#      (c) the hybrid with the season as context: weighted (default context
#          weights), and learned (logistic, the context signals as features),
#          with the hybrid's context_column.
#    The learned fusions are fitted as docs/hybrid.md recommends: components
#    trained before VAL_FROM, the fusion fitted on VAL_FROM .. TEST_FROM
#    (each validation customer in their most frequent season there), then
#    reused (fusion_from) over components trained on the whole training part.
#    Reference in the same run: the in-season share of each list (chance is
#    the share of in-season products in the catalogue).
#    The quality part runs on two shops of the same size and seed: the
#    default one, whose seasonality every customer shares, and one generated
#    with seasonal_tastes (each customer shops three times as often in a
#    favourite season, and for it: src/shopgen.c), where a customer's
#    propensity for the season (the hybrid's context_column) has something to
#    find.  On that shop the cases are also split by whether the case's
#    season is the customer's planted favourite (shop.customer_seasons), and
#    hybrids without context_column at several affinity weights bound what a
#    per-customer weight could gain on each group.
# 2. Latency.  recommend() of a hybrid (ALS 64 factors + popularity with a
#    context column) over ITEMS items, under pgbench at one client: one
#    script calls it without and with a context for the same customer, so
#    both share the machine's load; pgbench -r's mean latency per statement,
#    three rounds.
#
#   bash test/bench/hybrid_context.sh   (SHOP="customers products events",
#                                        ITEMS=100000 USERS=20000 EVENTS=1000000
#                                        SECONDS_PER_RUN=15; QUALITY=0 or LATENCY=0 skips a part,
#                                        SHOPS="default seasonal" the shops of the quality part)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

read -r SHOP_C SHOP_P SHOP_E <<< "${SHOP:-3000 600 150000}"
VAL_FROM=${VAL_FROM:-2025-08-01}
TEST_FROM=${TEST_FROM:-2025-10-01}
ITEMS=${ITEMS:-100000}
USERS=${USERS:-20000}
EVENTS=${EVENTS:-1000000}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-15}

fr_install_deps
fr_setup_paths
[ -n "${FR_NO_BUILD:-}" ] || fr_build_install
fr_bench_cluster
DB=bench
q() { psql -qXAt -F $'\t' -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
START=$(date +%s)
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
q -c "CREATE EXTENSION fashionrec"
echo "OpenBLAS kernel in the server: $(q -c "SELECT core || coalesce(' (' || advice || ')', '') FROM fashionrec.blas_info(0)")"

# quality SHOP: part 1 on the named shop (default or seasonal), in its own database
quality() {
SEASONAL=$([ "$1" = seasonal ] && echo true || echo false)
DB=bench_$1
psql -qX -d postgres -c "CREATE DATABASE $DB" >/dev/null
q -c "CREATE EXTENSION fashionrec"
echo "== 1. $1 shop: $SHOP_C customers, $SHOP_P products, $SHOP_E events; validation from $VAL_FROM, test from $TEST_FROM"
q <<SQL
SET client_min_messages = warning;
SELECT count(*) FROM fashionrec.generate_shop(customers => $SHOP_C, products => $SHOP_P, events => $SHOP_E,
                                              seasonal_tastes => $SEASONAL);
CREATE TABLE ev AS
SELECT customer_id AS user_id, product_id AS item_id,
       CASE event_type WHEN 'purchase' THEN 5 WHEN 'cart' THEN 2 ELSE 1 END::float8 AS weight,
       occurred_at AS event_time,
       CASE WHEN extract(month FROM occurred_at AT TIME ZONE 'UTC') IN (12, 1, 2) THEN 'Winter'
            WHEN extract(month FROM occurred_at AT TIME ZONE 'UTC') IN (3, 4, 5) THEN 'Spring'
            WHEN extract(month FROM occurred_at AT TIME ZONE 'UTC') IN (6, 7, 8) THEN 'Summer'
            ELSE 'Fall' END AS season
  FROM shop.events;
CREATE VIEW tr AS SELECT * FROM ev WHERE event_time < '$TEST_FROM';
CREATE VIEW fit AS SELECT * FROM ev WHERE event_time < '$VAL_FROM';
CREATE VIEW val AS SELECT * FROM ev WHERE event_time >= '$VAL_FROM' AND event_time < '$TEST_FROM';
-- test cases: (customer, season) with the products new to the customer
CREATE TABLE cases AS
SELECT t.user_id, t.season, array_agg(DISTINCT t.item_id) AS rel
  FROM ev t
 WHERE t.event_time >= '$TEST_FROM'
   AND EXISTS (SELECT FROM tr WHERE tr.user_id = t.user_id)
   AND NOT EXISTS (SELECT FROM tr WHERE tr.user_id = t.user_id AND tr.item_id = t.item_id)
 GROUP BY 1, 2;

-- components on the training part, and on the part before validation (fusion fitting)
SELECT fashionrec.train('als', 'als', 'SELECT user_id, item_id, weight FROM tr',
                        '{"factors": 32, "iterations": 10, "regularization": 0.05, "solver": "cholesky"}');
SELECT fashionrec.train('pop', 'popularity', 'tr', '{"context_column": "season"}');
SELECT fashionrec.train('als-fit', 'als', 'SELECT user_id, item_id, weight FROM fit',
                        '{"factors": 32, "iterations": 10, "regularization": 0.05, "solver": "cholesky"}');
SELECT fashionrec.train('pop-fit', 'popularity', 'fit', '{"context_column": "season"}');

SELECT fashionrec.train('plain', 'hybrid', NULL, '{"cf": "als", "popularity": "pop", "interactions": "tr"}');
SELECT fashionrec.train('ctx', 'hybrid', NULL,
                        '{"cf": "als", "popularity": "pop", "interactions": "tr", "context_column": "season"}');
SELECT fashionrec.train('plain-lr-fit', 'hybrid', NULL,
       '{"cf": "als-fit", "popularity": "pop-fit", "interactions": "fit", "fusion": "logistic",
         "validation": "SELECT user_id, item_id FROM val"}');
SELECT fashionrec.train('plain-lr', 'hybrid', NULL,
       '{"cf": "als", "popularity": "pop", "interactions": "tr", "fusion_from": "plain-lr-fit"}');
SELECT fashionrec.train('ctx-lr-fit', 'hybrid', NULL,
       '{"cf": "als-fit", "popularity": "pop-fit", "interactions": "fit", "fusion": "logistic",
         "validation": "SELECT user_id, item_id, season FROM val", "context_column": "season"}');
SELECT fashionrec.train('ctx-lr', 'hybrid', NULL,
       '{"cf": "als", "popularity": "pop", "interactions": "tr", "fusion_from": "ctx-lr-fit",
         "context_column": "season"}');

CREATE FUNCTION evaluate_ctx(model text, with_context boolean, OUT cases bigint, OUT ndcg numeric,
                             OUT in_season numeric)
LANGUAGE sql AS \$\$
    SELECT count(*), round(avg(fashionrec.ndcg_at_k(l.ranked, c.rel, 10))::numeric, 4),
           round(avg(l.share)::numeric, 3)
      FROM cases c,
           LATERAL (SELECT array_agg(r.item_id ORDER BY r.rank) AS ranked,
                           avg((p.season = c.season)::int) AS share
                      FROM fashionrec.recommend(model, c.user_id, 10,
                                                context => CASE WHEN with_context THEN c.season END) r
                      JOIN shop.products p ON p.product_id = r.item_id) l
\$\$;
SQL
echo "test cases (customer, season): $(q -c "SELECT count(*) || ', seasons ' || string_agg(DISTINCT season, ', ') FROM cases")"
echo "chance: in-season share of the catalogue $(q -c "SELECT round(avg((p.season = c.season)::int)::numeric, 3) FROM cases c, shop.products p")"
echo "learned fusions: $(q -c "SELECT string_agg(name || ' ' || (info ->> 'fusion') || ' val ndcg weighted ' || round((info ->> 'validation_ndcg_weighted')::numeric, 4) || ' logistic ' || round((info ->> 'validation_ndcg_logistic')::numeric, 4), '; ') FROM fashionrec.models WHERE name LIKE '%-fit' AND algorithm = 'hybrid'")"
printf '\n%-52s %6s %8s %10s\n' "temporal split, season as context" cases "NDCG@10" "in-season"
while IFS='|' read -r label model ctx; do
    read -r n ndcg share < <(q -c "SELECT * FROM evaluate_ctx('$model', $ctx)")
    printf '%-52s %6s %8s %10s\n' "$label" "$n" "$ndcg" "$share"
done <<'CASES'
(a) plain hybrid, weighted (als + popularity)|plain|false
(a) plain hybrid, learned logistic|plain-lr|false
(b) context popularity|pop|true
(c) hybrid + context, weighted (context_column)|ctx|true
(c) hybrid + context, weighted, no context_column|plain|true
(c) hybrid + context, learned logistic|ctx-lr|true
    same model, no context|ctx-lr|false
CASES
if [ "$SEASONAL" = true ]; then
    # where the per-customer part should show: the case's season is or is not
    # the customer's planted favourite
    printf '\n%-52s %6s %8s %8s\n' "by planted favourite season (NDCG@10)" cases favourite other
    while IFS='|' read -r label model ctx; do
        read -r nf fav oth < <(q -c "
            SELECT count(*) FILTER (WHERE s.favourite_season = c.season),
                   round(avg(n.v) FILTER (WHERE s.favourite_season = c.season)::numeric, 4),
                   round(avg(n.v) FILTER (WHERE s.favourite_season <> c.season)::numeric, 4)
              FROM cases c JOIN shop.customer_seasons s ON s.customer_id = c.user_id,
                   LATERAL (SELECT fashionrec.ndcg_at_k(ARRAY(SELECT r.item_id FROM fashionrec.recommend('$model', c.user_id, 10,
                                   context => CASE WHEN $ctx THEN c.season END) r ORDER BY r.rank), c.rel, 10) AS v) n")
        printf '%-52s %6s %8s %8s\n' "$label" "$nf" "$fav" "$oth"
    done <<'CASES'
(a) plain hybrid, weighted|plain|false
(c) hybrid + context, weighted (context_column)|ctx|true
(c) hybrid + context, weighted, no context_column|plain|true
(c) hybrid + context, learned logistic|ctx-lr|true
CASES
    # Reference, same run: how much a per-customer weight could gain at all.
    # Hybrids without context_column (propensity 1) at affinity weights
    # around the default 0.3, scored on each group of cases: the best weight
    # per group is what a perfect propensity could pick.  Measured on the
    # test cases, so it chooses nothing; it bounds what the propensity can do.
    printf '\n%-52s %8s %8s\n' "ceiling: affinity weight, propensity 1" favourite other
    for aw in 0 0.15 0.3 0.6 1; do
        q -c "SET client_min_messages = warning" -c "SELECT fashionrec.train('aw-$aw', 'hybrid', NULL,
                '{\"cf\": \"als\", \"popularity\": \"pop\", \"interactions\": \"tr\",
                  \"context_affinity_weight\": $aw}') IS NOT NULL" >/dev/null
        read -r fav oth < <(q -c "
            SELECT round(avg(n.v) FILTER (WHERE s.favourite_season = c.season)::numeric, 4),
                   round(avg(n.v) FILTER (WHERE s.favourite_season <> c.season)::numeric, 4)
              FROM cases c JOIN shop.customer_seasons s ON s.customer_id = c.user_id,
                   LATERAL (SELECT fashionrec.ndcg_at_k(ARRAY(SELECT r.item_id FROM fashionrec.recommend('aw-$aw', c.user_id, 10,
                                   context => c.season) r ORDER BY r.rank), c.rel, 10) AS v) n")
        printf '%-52s %8s %8s\n' "context_affinity_weight $aw" "$fav" "$oth"
    done
fi
echo "elapsed: $(( $(date +%s) - START )) s, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
}

if [ "${QUALITY:-1}" != 0 ]; then
    for shop in ${SHOPS:-default seasonal}; do
        quality "$shop"
    done
    DB=bench
fi

if [ "${LATENCY:-1}" != 0 ]; then
echo
echo "== 2. latency: hybrid of ALS 64 factors + popularity over $ITEMS items, $USERS users, $EVENTS events"
q <<SQL
SET client_min_messages = warning;
SET fashionrec.max_memory = '4GB';
CREATE TABLE buys AS
SELECT u, i, (ARRAY['Winter', 'Spring', 'Summer', 'Fall'])[1 + (hashint8(u * 7 + i) & 3)] AS season
  FROM (SELECT (random() * $USERS)::bigint + 1 AS u,
               least($ITEMS, 1 + floor($ITEMS * power(random(), 3)))::bigint AS i
          FROM generate_series(1, $EVENTS)
        UNION ALL SELECT (g % $USERS) + 1, g FROM generate_series(1, $ITEMS) g) s;
SELECT fashionrec.train('lat-als', 'als', 'SELECT u, i FROM buys', '{"factors": 64, "iterations": 3}') IS NOT NULL;
SELECT fashionrec.train('lat-pop', 'popularity', 'buys', '{"context_column": "season"}') IS NOT NULL;
SELECT fashionrec.train('lat', 'hybrid', NULL,
       '{"cf": "lat-als", "popularity": "lat-pop", "interactions": "buys", "context_column": "season"}') IS NOT NULL;
SQL
# both calls in one script, so that they share whatever else loads the machine
cat > "$TMP/pair.sql" <<SQL
\set u random(1, $USERS)
\set s random(1, 4)
SELECT * FROM fashionrec.recommend('lat', :u, 10);
SELECT * FROM fashionrec.recommend('lat', :u, 10, context => (ARRAY['Winter', 'Spring', 'Summer', 'Fall'])[:s]);
SQL
printf '\n%-34s %14s %14s %8s\n' "recommend(), k = 10, 1 client" "no context ms" "context ms" ratio
for round in 1 2 3; do
    pgbench -n -c 1 -j 1 -T "$SECONDS_PER_RUN" -M prepared -r -f "$TMP/pair.sql" bench > "$TMP/pair.$round" 2>&1
    read -r none ctx < <(awk '/fashionrec.recommend/ { v[++n] = $1 } END { print v[1], v[2] }' "$TMP/pair.$round")
    printf '%-34s %14s %14s %8s\n' "round $round (mean per statement)" "$none" "$ctx" \
        "$(awk -v a="$none" -v b="$ctx" 'BEGIN { printf "%.2f", b / a }')"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
fi
