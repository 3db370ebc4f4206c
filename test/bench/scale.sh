#!/usr/bin/env bash
# Scale benchmark: the synthetic shop at three sizes, up to 1M customers x
# 100k products x 10M events — generate, validate, train ALS (64 factors) and
# item-KNN, batch-recommend, serve — with the time and the backend's peak
# memory (VmHWM of the backend that did the step) for each step, so the
# growth with size can be read off.  OpenBLAS sgemm GFLOP/s measured in the
# same run is printed for comparison with ALS's achieved rate.
#
#   bash test/bench/scale.sh                 (SIZES="S M L", default all three)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

SIZES=${SIZES:-"S M L"}
ITERATIONS=${ITERATIONS:-5}
fr_install_deps
fr_setup_paths
fr_build_install

TMP=$(mktemp -d /tmp/fashionrec-scale.XXXXXX)
chmod 755 "$TMP"
PORT=$(fr_free_port $((58432 + RANDOM % 3000)))
trap 'fr_stop_cluster "$TMP"; rm -rf "$TMP"' EXIT
fr_start_cluster "$TMP" "$PORT"
export PGHOST=$TMP PGPORT=$PORT PGUSER=postgres
psql -qX -d postgres -c 'CREATE DATABASE scale' >/dev/null
psql -qX -d scale -c 'CREATE EXTENSION fashionrec' >/dev/null
cc -O2 $(pkg-config --cflags openblas) -o "$TMP/blas_peak" test/bench/blas_peak.c $(pkg-config --libs openblas)
SGEMM=$("$TMP/blas_peak" 1 | awk '/sgemm/ { print $2 }')

# step NAME SQL: runs SQL in a fresh backend, prints seconds and the backend's peak RSS
step() {
    local name=$1 sql=$2 out
    out=$(psql -qXAt -v ON_ERROR_STOP=1 -d scale 2>"$TMP/notices" <<SQL
SET client_min_messages = notice;
SET fashionrec.max_memory = '16GB';
SET work_mem = '256MB';
\timing on
$sql
\timing off
SELECT (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\s+(\d+)'))[1];
SQL
)
    local ms kb
    ms=$(grep -o 'Time: [0-9.]*' <<< "$out" | awk '{ s += $2 } END { print s }')
    kb=$(tail -1 <<< "$out")
    printf '%-6s %-28s %10.1f s %10.0f MB\n' "$SIZE" "$name" "$(awk -v m="$ms" 'BEGIN { print m / 1000 }')" "$(awk -v k="$kb" 'BEGIN { print k / 1024 }')"
    grep -E 'iteration|sweep' "$TMP/notices" | tail -2 | sed 's/^/         /' || true
}

printf '%-6s %-28s %12s %13s\n' size step time "peak memory"
for SIZE in $SIZES; do
    fr_shop_size "$SIZE"
    psql -qX -d scale -c "DROP VIEW IF EXISTS shop.pairs" >/dev/null
    step "generate ${C}x${P}x${E}" "SELECT count(*) FROM fashionrec.generate_shop($C, $P, $E::bigint, 42, 'shop', replace => true);"
    psql -qX -d scale -c "CREATE OR REPLACE VIEW shop.pairs AS SELECT customer_id, product_id, count(*)::real AS n FROM shop.events GROUP BY 1, 2" >/dev/null
    step "validate" "SELECT count(*) FROM fashionrec.validate('shop.pairs');"
    step "train als (64 f, $ITERATIONS it)" "SELECT fashionrec.train('scale-als', 'als', 'shop.pairs', '{\"factors\": 64, \"iterations\": $ITERATIONS}');"
    step "train itemknn (100 nb)" "SELECT fashionrec.train('scale-knn', 'itemknn', 'shop.pairs', '{\"neighbors\": 100}');"
    step "recommend_all 100k users" "SELECT count(*) FROM fashionrec.recommend_all('scale-als', ARRAY(SELECT g::bigint FROM generate_series(1, 100000) g), 10);"
    step "recommend x1000 (warm)" "SELECT count(*) FROM fashionrec.recommend('scale-als', 1, 10); SELECT count(*) FROM generate_series(1, 1000) u, LATERAL fashionrec.recommend('scale-als', u, 10) r;"
    psql -qX -d scale -c "SELECT fashionrec.drop_model('scale-als'), fashionrec.drop_model('scale-knn')" >/dev/null
done
echo "OpenBLAS sgemm, 1 thread, measured in this run: $SGEMM GFLOP/s"
