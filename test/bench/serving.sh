#!/usr/bin/env bash
# Serving benchmark: recommend() under pgbench at 1 and 2 clients on an ALS
# model with ITEMS items x 64 factors, full catalog and 500 candidates, and
# hybrids of it with popularity (weighted, logistic and MLP fusion);
# recommend_all throughput; the model's load in a new backend.  Printed
# beside the machine's own yardsticks measured in the same run (blas_peak.c):
# memory copy bandwidth (the bound for scanning the item factors) and OpenBLAS
# sgemm GFLOP/s.
#
#   bash test/bench/serving.sh            (ITEMS=100000 USERS=50000 SECONDS_PER_RUN=20)
#
# BEFORE_LIB=path/to/fashionrec.so (another build of the library) adds the
# hybrid's and ALS's recommend() at one client with that library and with
# this one, alternating in two rounds on the same cluster and models.
# MLP_ONE_BAG=1 adds the MLP fusion with "mlp_bags": 1 (the single MLP of
# before 0.3's bags) beside the default bag of 3, fitted on the same data.
# FR_NO_BUILD=1 skips the build (after make install).
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

ITEMS=${ITEMS:-100000}
USERS=${USERS:-50000}
EVENTS=${EVENTS:-2000000}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-20}
FACTORS=${FACTORS:-64}

fr_install_deps
fr_setup_paths
[ -n "${FR_NO_BUILD:-}" ] || fr_build_install

fr_bench_cluster

cc -O2 $(pkg-config --cflags openblas) -o "$TMP/blas_peak" test/bench/blas_peak.c $(pkg-config --libs openblas)
read -r _ SGEMM < <("$TMP/blas_peak" 1 | grep sgemm)
read -r _ COPY < <("$TMP/blas_peak" 1 | grep copy)

echo "== model: ALS $FACTORS factors over $ITEMS items, $USERS users, $EVENTS events"
psql -qX -v ON_ERROR_STOP=1 -d bench <<SQL
SET client_min_messages = warning;
CREATE EXTENSION fashionrec;
SET fashionrec.max_memory = '4GB';
-- power-law popularity over the catalog, every item seen at least once
CREATE TABLE buys AS
SELECT (random() * $USERS)::bigint + 1 AS u,
       least($ITEMS, 1 + floor($ITEMS * power(random(), 3)))::bigint AS i
  FROM generate_series(1, $EVENTS)
UNION ALL SELECT (g % $USERS) + 1, g FROM generate_series(1, $ITEMS) g;
SELECT fashionrec.train('bench', 'als', 'buys', '{"factors": $FACTORS, "iterations": 3}') IS NOT NULL;
SELECT items, interactions, seconds FROM fashionrec.models WHERE name = 'bench';
-- the hybrid of the same ALS model and popularity, for its serving cost
SELECT fashionrec.train('bench-pop', 'popularity', 'buys') IS NOT NULL;
SELECT fashionrec.train('bench-hybrid', 'hybrid', NULL,
       '{"cf": "bench", "popularity": "bench-pop", "interactions": "buys"}') IS NOT NULL;
-- learned fusions, fitted on later purchases of the same kind (their cost, not their quality)
CREATE TABLE later AS
SELECT (random() * $USERS)::bigint + 1 AS u,
       least($ITEMS, 1 + floor($ITEMS * power(random(), 3)))::bigint AS i
  FROM generate_series(1, $EVENTS / 20);
SELECT fashionrec.train('bench-hybrid-' || f, 'hybrid', NULL,
       pg_catalog.jsonb_build_object('cf', 'bench', 'popularity', 'bench-pop', 'interactions', 'buys',
                                     'fusion', f, 'validation', 'later', 'fusion_users', 500)) IS NOT NULL
  FROM unnest(ARRAY['logistic', 'mlp']) f;
SQL
HYBRIDS="hybrid hybrid-logistic hybrid-mlp"
if [ -n "${MLP_ONE_BAG:-}" ]; then
    psql -qXAt -v ON_ERROR_STOP=1 -d bench -c "SET client_min_messages = warning" -c "SELECT fashionrec.train('bench-hybrid-mlp1', 'hybrid', NULL,
       '{\"cf\": \"bench\", \"popularity\": \"bench-pop\", \"interactions\": \"buys\", \"fusion\": \"mlp\",
         \"validation\": \"later\", \"fusion_users\": 500, \"mlp_bags\": 1}') IS NOT NULL"
    HYBRIDS="$HYBRIDS hybrid-mlp1"
fi
echo "MLP fusions: $(psql -qXAt -d bench -c "SELECT string_agg(name || ', mlp_bags ' || coalesce(info ->> 'mlp_bags', '1')
                                                          || ', fitted in ' || round(seconds::numeric, 1) || ' s', '; ' ORDER BY name)
                                               FROM fashionrec.models WHERE name LIKE 'bench-hybrid-mlp%'")"

echo "OpenBLAS kernel in the server: $(psql -qXAt -d bench -c "SELECT core || coalesce(' (' || advice || ')', '') FROM fashionrec.blas_info(0)")"
FACTOR_BYTES=$((ITEMS * FACTORS * 4))
BOUND_MS=$(awk -v b="$FACTOR_BYTES" -v c="$COPY" 'BEGIN { printf "%.2f", b / (c / 2 * 1e9) * 1000 }')

cold=$(psql -qXAt -d bench -c "SELECT count(*) FROM fashionrec.recommend('bench', 1, 10)" \
             -c "SELECT round(load_ms::numeric, 1) FROM fashionrec.cache_info() WHERE name = 'bench'" | tail -1)

cat > "$TMP/full.sql" <<SQL
\set u random(1, $USERS)
SELECT * FROM fashionrec.recommend('bench', :u, 10);
SQL
for f in $HYBRIDS; do
    cat > "$TMP/$f.sql" <<SQL
\set u random(1, $USERS)
SELECT * FROM fashionrec.recommend('bench-$f', :u, 10);
SQL
done
psql -qXAt -d bench -c "CREATE TABLE cand AS SELECT array_agg(g::bigint) AS ids FROM generate_series(1, $ITEMS, $((ITEMS / 500))) g" >/dev/null
cat > "$TMP/cand.sql" <<SQL
\set u random(1, $USERS)
SELECT r.* FROM cand, fashionrec.recommend('bench', :u, 10, candidates => cand.ids) r;
SQL

run() {   # script clients -> "tps p50 p99"
    local log=$TMP/log.$1.$2
    rm -rf "$log"; mkdir -p "$log"
    (cd "$log" && pgbench -n -c "$2" -j "$2" -T "$SECONDS_PER_RUN" -M prepared -l -f "$TMP/$1.sql" bench > out.txt 2>&1)
    local tps
    tps=$(awk '/^tps/ { print $3; exit }' "$log/out.txt")
    cat "$log"/pgbench_log.* | awk '{ print $3 / 1000.0 }' | sort -n > "$log/lat"
    local n
    n=$(wc -l < "$log/lat")
    printf '%s %s %s\n' "$tps" "$(sed -n "$(( (n + 1) / 2 ))p" "$log/lat")" "$(sed -n "$(( (n * 99 + 99) / 100 ))p" "$log/lat")"
}

printf '\n%-34s %8s %10s %10s  %s\n' "recommend(), k = 10" TPS "p50 ms" "p99 ms" "load (1, 5, 15 min)"
for script in full cand $HYBRIDS; do
    for c in 1 2; do
        read -r tps p50 p99 < <(run "$script" "$c")
        case $script in
            full) label="full catalog" ;;
            cand) label="500 candidates" ;;
            hybrid) label="hybrid (ALS + popularity)" ;;
            hybrid-logistic) label="  logistic fusion" ;;
            hybrid-mlp) label="  MLP fusion (default bags)" ;;
            hybrid-mlp1) label="  MLP fusion (1 bag)" ;;
        esac
        printf '%-34s %8.0f %10.2f %10.2f  %s\n' "$label, $c client(s)" "$tps" "$p50" "$p99" \
            "$(uptime | sed 's/.*load average: //')"
    done
done

if [ -n "${BEFORE_LIB:-}" ]; then
    pkglib=$("$PG_CONFIG" --pkglibdir)
    cp "$pkglib/fashionrec.so" "$TMP/after.so"
    swap() {   # library: the server restarted on it, the models loaded
        fr_stop_cluster "$TMP"
        cp "$1" "$pkglib/fashionrec.so"
        fr_start_cluster "$TMP" "$PORT"
        psql -qXAt -d bench -c "SELECT count(*) FROM fashionrec.recommend('bench-hybrid', 1, 10)" >/dev/null
    }
    printf '\nbefore: %s; after: this build (1 client, server restarted for each)\n' "$BEFORE_LIB"
    printf '%-34s %8s %10s %10s  %s\n' "recommend(), k = 10" TPS "p50 ms" "p99 ms" "load (1, 5, 15 min)"
    for round in 1 2; do
        for lib in before after; do
            if [ "$lib" = before ]; then swap "$BEFORE_LIB"; else swap "$TMP/after.so"; fi
            for script in hybrid full; do
                read -r tps p50 p99 < <(run "$script" 1)
                printf '%-34s %8.0f %10.2f %10.2f  %s\n' "$script, $lib, round $round" "$tps" "$p50" "$p99" \
                    "$(uptime | sed 's/.*load average: //')"
            done
        done
    done
fi

printf '\nbound: %s MB of item factors / %s GB/s read bandwidth (half the copy figure) = %s ms per full scoring\n' \
    "$(awk -v b="$FACTOR_BYTES" 'BEGIN { printf "%.1f", b / 1e6 }')" "$(awk -v c="$COPY" 'BEGIN { printf "%.1f", c / 2 }')" "$BOUND_MS"
# the hybrids' training loaded 'bench' before: with the shared store a new
# backend maps that copy, so this is an attach, not a read of the artifacts
# (test/bench/shared_store.sh measures both)
echo "load of the model in a new backend (from the shared store when loaded before): $cold ms"

batch_users=$(( USERS < 100000 ? USERS : 100000 ))
secs=$(psql -qXAt -d bench -c '\timing on' -c "SELECT count(*) FROM fashionrec.recommend_all('bench', ARRAY(SELECT g::bigint FROM generate_series(1, $batch_users) g), 10)" \
        | awk '/^Time/ { print $2 / 1000 }')
gflops=$(awk -v u="$batch_users" -v i="$ITEMS" -v f="$FACTORS" -v s="$secs" 'BEGIN { printf "%.1f", 2 * u * i * f / s / 1e9 }')
echo "load: $(uptime | sed 's/.*load average: //')"
echo "recommend_all for $batch_users users: $secs s, $gflops GFLOP/s of scoring (OpenBLAS sgemm peak here: $SGEMM GFLOP/s, 1 thread)"
