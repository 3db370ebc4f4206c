#!/usr/bin/env bash
# Approximate top-k benchmark: similar_items() through the IVF index of an
# "embedding" model (clustered synthetic unit vectors, ITEMS x DIM for each
# DIM), against the exact scan (exact => true) and FAISS IndexIVFFlat
# (python3-faiss, inner product, one thread) with the same lists and probes,
# in the same run:
#   - index build time (fashionrec: at training, "ann": {"lists": LISTS}),
#   - recall@10 against each one's own exact search and ms per query over
#     probes (QUERIES items as queries, the item itself left out),
#   - pgbench p50/p99 at one client at the default probes, the exact scan,
#     and the same call on a 10-item model (the SQL call's own overhead).
#
#   bash test/bench/ann.sh       (ITEMS=200000 DIMS="64 256" QUERIES=200 SECONDS_PER_RUN=15)
#
# MODE=als: the same for a trained factor model instead of loaded vectors —
# a synthetic shop of ITEMS products (generate_shop, CUSTOMERS customers,
# EVENTS events), ALS with FACTORS factors whose index is built at training
# (the catalog passes fashionrec.ann_min_items), queried by
# recommend(name, customer, 10) for QUERIES customers, seen items excluded;
# FAISS gets the item factors and user vectors exported with item_embedding()
# and user_embedding(), and leaves each user's seen items out too.
#   MODE=als ITEMS=1000000 bash test/bench/ann.sh   (CUSTOMERS=200000 EVENTS=5000000 FACTORS=64)
#
# FR_KEEP=1 keeps the cluster and writes $TMP/pgbench-again.sh, which starts
# it, runs the pgbench part alone, and stops it.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

MODE=${MODE:-vectors}
ITEMS=${ITEMS:-200000}
CUSTOMERS=${CUSTOMERS:-200000}
EVENTS=${EVENTS:-5000000}
FACTORS=${FACTORS:-64}
DIMS=${DIMS:-64 256}
QUERIES=${QUERIES:-200}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-15}
PROBES_CURVE=${PROBES_CURVE:-1 2 4 8 16 32 64 128}
LISTS=${LISTS:-$(awk -v n="$ITEMS" 'BEGIN { printf "%d", 4 * sqrt(n) + 0.5 }')}
PY=/usr/bin/python3   # Debian's, where python3-faiss is installed

FR_EXTRA_PACKAGES="python3-faiss python3-numpy ${FR_EXTRA_PACKAGES:-}" fr_install_deps
fr_setup_paths
fr_build_install
fr_bench_cluster

q() { psql -qXAt -F $'\t' -v ON_ERROR_STOP=1 -d bench "$@"; }
q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION fashionrec;
-- the exact top 10 of each query item, computed once per model: an exact
-- scan between two timed calls would evict the index from the caches
CREATE TABLE exact_top (model text, qi bigint, want bigint[], PRIMARY KEY (model, qi));
-- recall@10 of one probes setting over the queries (items for
-- similar_items, users for recommend), and ms per call
CREATE FUNCTION top10(model text, fn text, q bigint, probes int, exact boolean)
RETURNS bigint[] LANGUAGE plpgsql AS $$
BEGIN
    IF fn = 'recommend' THEN
        RETURN ARRAY(SELECT item_id FROM fashionrec.recommend(model, q, 10, probes => probes, exact => exact));
    END IF;
    RETURN ARRAY(SELECT item_id FROM fashionrec.similar_items(model, q, 10, probes => probes, exact => exact));
END
$$;
CREATE FUNCTION probe_curve(model text, probes int, queries bigint[], fn text DEFAULT 'similar_items')
RETURNS TABLE (recall float8, ms float8) LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    total interval := '0';
    hits bigint := 0;
    got bigint[];
    q_item bigint;
BEGIN
    IF NOT EXISTS (SELECT FROM exact_top e WHERE e.model = probe_curve.model) THEN
        INSERT INTO exact_top
        SELECT probe_curve.model, q, top10(probe_curve.model, fn, q, NULL, true)
          FROM unnest(queries) q;
    END IF;
    -- untimed: a model above fashionrec.shared_cache_size is loaded by each
    -- backend's first call, which is not a search
    PERFORM top10(model, fn, queries[1], probes, false);
    FOREACH q_item IN ARRAY queries LOOP
        t0 := clock_timestamp();
        got := top10(model, fn, q_item, probes, false);
        total := total + (clock_timestamp() - t0);
        hits := hits + (SELECT count(*) FROM exact_top e, unnest(got) g
                         WHERE e.model = probe_curve.model AND e.qi = q_item AND g = ANY (e.want));
    END LOOP;
    recall := hits / (10.0 * cardinality(queries));
    ms := extract(epoch FROM total) * 1000 / cardinality(queries);
    RETURN NEXT;
END
$$;
SQL

latency() {   # script -> "p50 p99" over SECONDS_PER_RUN at one client
    local log=$TMP/log.$1
    rm -rf "$log"; mkdir -p "$log"
    (cd "$log" && pgbench -n -c 1 -j 1 -T "$SECONDS_PER_RUN" -M prepared -l -f "$TMP/$1.sql" bench > out.txt 2>&1)
    cat "$log"/pgbench_log.* | awk '{ print $3 / 1000.0 }' | sort -n > "$log/lat"
    local n
    n=$(wc -l < "$log/lat")
    printf '%s %s\n' "$(sed -n "$(( (n + 1) / 2 ))p" "$log/lat")" "$(sed -n "$(( (n * 99 + 99) / 100 ))p" "$log/lat")"
}

# pgbench scripts $TMP/<prefix>{ann,exact,tiny}.sql: function(model, a random
# id, 10) through the index, the same exactly, and on the 10-item model
bench_scripts() {   # prefix, function, model, ids 1..n, 10-item model, its ids 1..m
    local call="SELECT * FROM fashionrec.$2('$3', :q, 10"
    printf '\\set q random(1, %s)\n%s);\n' "$4" "$call" > "$TMP/${1}ann.sql"
    printf '\\set q random(1, %s)\n%s, exact => true);\n' "$4" "$call" > "$TMP/${1}exact.sql"
    printf '\\set q random(1, %s)\n%s);\n' "$6" "SELECT * FROM fashionrec.$2('$5', :q, 10" > "$TMP/${1}tiny.sql"
}

# the three pgbench runs of one model (scripts $TMP/<prefix>ann.sql, ...)
pgbench_part() {
    local prefix=$1 s p50 p99 label
    printf '%-40s %10s %10s\n' "pgbench, 1 client, load $(uptime | sed 's/.*load average: //')" "p50 ms" "p99 ms"
    for s in ann exact tiny; do
        read -r p50 p99 < <(latency "$prefix$s")
        case $s in
            ann) label="index, probes = $DEFAULT_PROBES (default)" ;;
            exact) label="exact scan (exact => true)" ;;
            tiny) label="a 10-item model (call overhead)" ;;
        esac
        printf '%-40s %10.2f %10.2f\n' "$label" "$p50" "$p99"
    done
    echo "load after: $(uptime | sed 's/.*load average: //')"
}

# FR_KEEP: a script that runs only the pgbench part again on this cluster
keep_pgbench() {
    [ -n "${FR_KEEP:-}" ] || return 0
    declare -f fr_as_owner latency pgbench_part > "$TMP/pgbench-lib.sh"
    cat >> "$TMP/pgbench-again.sh" <<SH
# $1
set -eu
export PATH="$PG_BINDIR:\$PATH" PGHOST=$TMP PGPORT=$PORT PGUSER=postgres TMP=$TMP SECONDS_PER_RUN=\${SECONDS_PER_RUN:-$SECONDS_PER_RUN} DEFAULT_PROBES=$DEFAULT_PROBES
. $TMP/pgbench-lib.sh
[ -f $TMP/data/postmaster.pid ] || fr_as_owner env ${OPENBLAS_CORETYPE:+OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE} pg_ctl -D $TMP/data -l $TMP/server.log -w start >/dev/null
echo "== $1"
psql -qXAt -d bench -c "SELECT count(*) FROM fashionrec.$2" >/dev/null
pgbench_part $3
fr_as_owner pg_ctl -D $TMP/data -m fast -w stop >/dev/null
SH
    echo "pgbench part alone, later: bash $TMP/pgbench-again.sh"
}

# the probes a call without probes uses: the GUC if set, else the index's calibrated default
default_probes() {   # model
    local guc
    guc=$(q -c 'SHOW fashionrec.ann_probes')
    DEFAULT_PROBES=$(q -c "SELECT CASE WHEN $guc > 0 THEN $guc ELSE coalesce((info -> 'ann' ->> 'probes')::int, 64) END
                             FROM fashionrec.models WHERE name = '$1'")
    echo "default probes: $DEFAULT_PROBES; calibration at build: $(q -c "SELECT format('probes %s, sample recall@10 %s (target %s), %s s',
        info -> 'ann' ->> 'probes', info -> 'ann' ->> 'recall', info -> 'ann' ->> 'recall_target',
        info -> 'ann' ->> 'calibration_seconds')
        FROM fashionrec.models WHERE name = '$1'")"
}
echo "OpenBLAS kernel in the server: $(q -c "SELECT core || coalesce(' (' || advice || ')', '') FROM fashionrec.blas_info(0)"); FAISS: the same library, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"

# recall@10 and ms/call over PROBES_CURVE, next to FAISS's figures in $TMP/faiss.out
curve() {   # model, query ids (SQL array), serving function
    local p recall ms frecall fms
    printf '%-8s %14s %12s %14s %12s\n' probes "fr recall@10" "fr ms/call" "faiss recall" "faiss ms"
    for p in $PROBES_CURVE; do
        read -r recall ms < <(q -c "SELECT round(recall::numeric, 4), round(ms::numeric, 3)
                                     FROM probe_curve('$1', $p, $2, '$3')")
        read -r _ frecall fms < <(grep -P "^$p\t" "$TMP/faiss.out")
        printf '%-8s %14s %12s %14s %12s\n' "$p" "$recall" "$ms" "$frecall" "$fms"
    done
    echo "faiss index build (train + add, 1 thread): $(awk -F'\t' '/^build/ { print $2 }' "$TMP/faiss.out") s"
}

vectors_bench() {
    local DIM=$1 build
    local STEP=$((ITEMS / QUERIES))
    echo "== $ITEMS items x $DIM dims, $LISTS lists; load: $(uptime | sed 's/.*load average: //')"
    "$PY" test/bench/ann.py vectors "$ITEMS" "$DIM" "$DIM" "$TMP/vec.tsv"
    build=$(q <<SQL | tail -1
SET client_min_messages = warning;
SET fashionrec.max_memory = '6GB';
DROP TABLE IF EXISTS vec;
CREATE TABLE vec (item bigint, v real[]);
\copy vec FROM '$TMP/vec.tsv'
SELECT fashionrec.train('ann$DIM', 'embedding', 'vec', '{"ann": {"lists": $LISTS}}') IS NOT NULL;
SELECT fashionrec.train('tiny$DIM', 'embedding', 'SELECT * FROM vec WHERE item <= 10') IS NOT NULL;
SELECT info -> 'ann' ->> 'seconds' FROM fashionrec.models WHERE name = 'ann$DIM';
SQL
)
    echo "index build in fashionrec (calibration included): $build s"
    default_probes "ann$DIM"
    q -c "SELECT count(*) FROM fashionrec.similar_items('ann$DIM', 1, 10)" >/dev/null

    "$PY" test/bench/ann.py faiss "$TMP/vec.tsv" "$LISTS" "$QUERIES" $PROBES_CURVE > "$TMP/faiss.out"
    curve "ann$DIM" "ARRAY(SELECT g::bigint FROM generate_series(1, $ITEMS, $STEP) g LIMIT $QUERIES)" similar_items

    bench_scripts "$DIM" similar_items "ann$DIM" "$ITEMS" "tiny$DIM" 10
    pgbench_part "$DIM"
    keep_pgbench "$ITEMS items x $DIM dims (similar_items)" "similar_items('ann$DIM', 1, 10)" "$DIM"
}

# ALS on a synthetic shop: the model's catalog is every product, so products
# without an event (about 38% at 1M products and 5M events: popularity is
# Zipf) get one view, from a customer with a planted taste for the product's
# article type (pref_n), or any customer when no one has one
als_bench() {
    local step=$((CUSTOMERS / QUERIES)) users lists started
    echo "== ALS: $ITEMS products, $CUSTOMERS customers, $EVENTS events, $FACTORS factors; load: $(uptime | sed 's/.*load average: //')"
    started=$(date +%s.%N)
    q -c "SELECT * FROM fashionrec.generate_shop($CUSTOMERS, $ITEMS, $EVENTS)" > /dev/null
    echo "generate_shop: $(echo "$(date +%s.%N) - $started" | bc | xargs printf '%.1f') s"
    q <<'SQL'
SET client_min_messages = warning;
CREATE TABLE inter AS
SELECT customer_id, product_id,
       sum(CASE event_type WHEN 'purchase' THEN 5 WHEN 'cart' THEN 2 ELSE 1 END)::real AS weight
  FROM shop.events GROUP BY 1, 2;
CREATE TABLE pref_n AS
SELECT customer_id, article_type,
       row_number() OVER (PARTITION BY article_type ORDER BY customer_id) - 1 AS rn
  FROM shop.customer_preferences;
CREATE TABLE type_n AS SELECT article_type, count(*) AS n FROM pref_n GROUP BY 1;
CREATE TABLE unseen AS
SELECT p.product_id, p.article_type FROM shop.products p
 WHERE NOT EXISTS (SELECT FROM shop.events e WHERE e.product_id = p.product_id);
INSERT INTO inter
SELECT pn.customer_id, u.product_id, 1
  FROM unseen u JOIN type_n t USING (article_type)
  JOIN pref_n pn ON pn.article_type = u.article_type AND pn.rn = u.product_id % t.n;
INSERT INTO inter
SELECT (SELECT min(customer_id) FROM shop.customers) + u.product_id % (SELECT count(*) FROM shop.customers), u.product_id, 1
  FROM unseen u WHERE u.article_type NOT IN (SELECT article_type FROM type_n);
ANALYZE inter;
SQL
    q -c "SELECT format('interactions: %s pairs, %s customers, %s products (%s without an event, given one view)',
                        count(*), count(DISTINCT customer_id), count(DISTINCT product_id), (SELECT count(*) FROM unseen))
            FROM inter"
    started=$(date +%s.%N)
    q >/dev/null <<SQL
SET client_min_messages = warning;
SET fashionrec.max_memory = '6GB';
SELECT fashionrec.train('als', 'als', 'inter', '{"factors": $FACTORS, "iterations": 5}') IS NOT NULL;
-- every customer known, 10 items: the call without the catalog
SELECT fashionrec.train('tinyals', 'als', 'SELECT customer_id, customer_id % 10 + 1 FROM shop.customers',
                        '{"factors": $FACTORS}') IS NOT NULL;
SQL
    echo "training with the index: $(echo "$(date +%s.%N) - $started" | bc | xargs printf '%.1f') s;" \
         "index: $(q -c "SELECT info -> 'ann' FROM fashionrec.models WHERE name = 'als'")"
    lists=$(q -c "SELECT info -> 'ann' ->> 'lists' FROM fashionrec.models WHERE name = 'als'")
    default_probes als
    users="ARRAY(SELECT g::bigint FROM generate_series(1, $CUSTOMERS, $step) g LIMIT $QUERIES)"
    # FAISS gets what the model serves: its factors and its seen items
    q <<SQL
\copy (SELECT product_id, fashionrec.item_embedding('als', product_id) FROM shop.products ORDER BY 1) TO '$TMP/items.tsv'
\copy (SELECT u, fashionrec.user_embedding('als', u), ARRAY(SELECT product_id FROM inter WHERE customer_id = u) FROM unnest($users) u) TO '$TMP/users.tsv'
SQL
    q -c "SELECT count(*) FROM fashionrec.recommend('als', 1, 10)" >/dev/null
    "$PY" test/bench/ann.py faiss-users "$TMP/items.tsv" "$TMP/users.tsv" "$lists" $PROBES_CURVE > "$TMP/faiss.out"
    curve als "$users" recommend

    bench_scripts als recommend als "$CUSTOMERS" tinyals "$CUSTOMERS"
    pgbench_part als
    keep_pgbench "ALS over $ITEMS products (recommend)" "recommend('als', 1, 10)" als
}

if [ "$MODE" = als ]; then
    als_bench
else
    for DIM in $DIMS; do
        vectors_bench "$DIM"
    done
fi
