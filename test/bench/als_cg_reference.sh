#!/usr/bin/env bash
# ALS at scale next to an implicit-style CG reference: the synthetic shop of
# scale.sh at 1M, 3M and 10M events, its (customer, product, count) pairs
# trained by fashionrec's ALS (CG, and the exact Cholesky solver) and, on the
# same pairs exported with \copy, by test/bench/als_cg_reference.py (the
# `implicit` library's least_squares_cg in numpy/scipy, vectorised over all
# rows), all with 64 factors, regularization 0.05, confidence 1 + r, 3 CG
# steps, one BLAS thread.  Per solver, over iterations 2.. (the first also
# makes the random start, or maps the reference's work arrays): wall seconds
# per iteration (from fashionrec's per-iteration NOTICEs / the reference's
# own clock, so reading the data is excluded) and CPU seconds per iteration
# (the shared machine's load stretches wall times, so ref/fr compares the CPU
# times of the two CG runs; fashionrec's is the backend's CPU time of a
# training less that of a one-iteration training); the training loss after
# the last iteration (the same formula in both: implicit's calculate_loss);
# peak memory (the backend's VmHWM for the train() call, which includes
# reading the source; the reference process's ru_maxrss, which includes
# loading the CSV).  Load averages are printed with the figures.
#
#   bash test/bench/als_cg_reference.sh  (SIZES="S M L" ITERATIONS=5 CHOL_ITERATIONS=5 FACTORS=64;
#    FR_NO_BUILD=1 skips the build)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

SIZES=${SIZES:-"S M L"}
ITERATIONS=${ITERATIONS:-5}
CHOL_ITERATIONS=${CHOL_ITERATIONS:-$ITERATIONS}
FACTORS=${FACTORS:-64}
[ "$ITERATIONS" -ge 2 ] && [ "$CHOL_ITERATIONS" -ge 2 ] || { echo "ITERATIONS and CHOL_ITERATIONS: 2 or more" >&2; exit 1; }
FR_EXTRA_PACKAGES="python3-numpy python3-scipy python3-threadpoolctl ${FR_EXTRA_PACKAGES:-}" fr_install_deps
fr_setup_paths
[ -n "${FR_NO_BUILD:-}" ] || fr_build_install
fr_bench_cluster
psql -qX -d bench -c 'CREATE EXTENSION fashionrec' >/dev/null

/usr/bin/python3 test/bench/als_cg_reference.py --check
echo "fashionrec's OpenBLAS kernel: $(psql -qXAt -d bench -c "SELECT core || coalesce(' (' || advice || ')', '') FROM fashionrec.blas_info(0)")"

# the backend's CPU seconds so far (utime + stime, 100 ticks a second)
CPU="SELECT (split_part(pg_read_file('/proc/self/stat'), ' ', 14)::bigint
            + split_part(pg_read_file('/proc/self/stat'), ' ', 15)::bigint) / 100.0"

# run SOLVER ITER: the training's NOTICEs, then "cpu SECONDS" (the backend's
# CPU time of the train() call) and "peak KB" (the backend's VmHWM)
run() {
    psql -qXAt -v ON_ERROR_STOP=1 -d bench 2>&1 <<SQL
SET client_min_messages = notice;
SET fashionrec.max_memory = '16GB';
SET work_mem = '256MB';
SELECT ($CPU) AS cpu0 \gset
SELECT fashionrec.train('ref-$1', 'als', 'shop.pairs',
       '{"factors": $FACTORS, "iterations": $2, "regularization": 0.05, "alpha": 1,
         "solver": "$1", "cg_steps": 3}') IS NOT NULL;
SELECT 'cpu ' || (($CPU) - :cpu0);
SELECT 'peak ' || (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\s+(\d+)'))[1];
SELECT fashionrec.drop_model('ref-$1');
SQL
}

# train SOLVER ITER: "wall-s/iteration CPU-s/iteration final-loss peak-MB" of
# fashionrec's ALS over iterations 2..ITER (the first also makes the random
# start).  CPU: the backend's CPU time of train() with ITER iterations less
# that of train() with one, over ITER - 1.
train() {
    local out one
    out=$(run "$1" "$2")
    one=$(run "$1" 1)
    grep -o "als iteration [0-9]* of [0-9]*: loss [0-9.]*, [0-9.]* s" <<<"$out" | sed 's/^/    fashionrec '"$1"': /' >&2
    grep -o "als iteration [0-9]* of $2: loss [0-9.]*, [0-9.]* s" <<<"$out" |
        awk -v n="$2" -v kb="$(awk '/^peak/ { print $2 }' <<<"$out")" \
            -v cn="$(awk '/^cpu / { print $2 }' <<<"$out")" -v c1="$(awk '/^cpu / { print $2 }' <<<"$one")" \
            '{ t[$3] = $(NF-1); loss = $7 }
             END { printf "%.3f %.3f %s %.0f\n", (t[n] - t[1]) / (n - 1), (cn - c1) / (n - 1),
                   substr(loss, 1, length(loss) - 1), kb / 1024 }'
}

ROWS=()
for SIZE in $SIZES; do
    fr_shop_size "$SIZE"
    echo "== $SIZE: ${C} customers x ${P} products x ${E} events"
    psql -qX -v ON_ERROR_STOP=1 -d bench >/dev/null <<SQL
SET client_min_messages = warning;
DROP VIEW IF EXISTS shop.pairs;
SELECT count(*) FROM fashionrec.generate_shop($C, $P, $E::bigint, 42, 'shop', replace => true);
CREATE VIEW shop.pairs AS SELECT customer_id, product_id, count(*)::real AS n FROM shop.events GROUP BY 1, 2;
\copy (SELECT customer_id, product_id, n FROM shop.pairs) TO '$TMP/pairs.csv' CSV
SQL
    echo "   pairs: $(wc -l < "$TMP/pairs.csv"); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    read -r cg_s cg_c cg_loss cg_mb < <(train cg "$ITERATIONS")
    read -r ch_s ch_c ch_loss ch_mb < <(train cholesky "$CHOL_ITERATIONS")
    ref=$(OPENBLAS_NUM_THREADS=1 /usr/bin/python3 test/bench/als_cg_reference.py "$TMP/pairs.csv" \
          --factors "$FACTORS" --iterations "$ITERATIONS" --regularization 0.05 --alpha 1 --cg-steps 3)
    sed 's/^/    reference: /' <<<"$ref"
    read -r rf_s rf_c rf_loss rf_mb < <(sed -nE 's/^reference: ([0-9.]+) s per iteration \(([0-9.]+) s CPU\), final loss ([0-9.]+), peak memory ([0-9]+) MB/\1 \2 \3 \4/p' <<<"$ref")
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    echo "   load after: $load"
    ROWS+=("$(printf '%-4s %-9s %11s %11s %11s %11s %11s %11s %9s %11s %11s %11s %8s %8s %8s  %s' "$SIZE" "$E" \
        "$cg_s" "$cg_c" "$ch_s" "$ch_c" "$rf_s" "$rf_c" "$(awk -v a="$rf_c" -v b="$cg_c" 'BEGIN { printf "%.1f", a / b }')" \
        "$cg_loss" "$ch_loss" "$rf_loss" "$cg_mb" "$ch_mb" "$rf_mb" "$load")")
    rm -f "$TMP/pairs.csv"
done

echo
echo "ALS, $FACTORS factors, CG $ITERATIONS iterations (Cholesky $CHOL_ITERATIONS), 1 BLAS thread: wall and CPU seconds per iteration, loss after the last iteration, peak MB"
printf '%-4s %-9s %11s %11s %11s %11s %11s %11s %9s %11s %11s %11s %8s %8s %8s  %s\n' size events "fr cg s" "fr cg CPU" "fr chol s" "fr chol CPU" \
    "ref cg s" "ref cg CPU" "ref/fr" "fr cg loss" "fr ch loss" "ref loss" "fr cg MB" "fr ch MB" "ref MB" "load after"
printf '%s\n' "${ROWS[@]}"
