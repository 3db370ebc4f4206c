#!/usr/bin/env bash
# ALS at scale next to an implicit-style CG reference: the synthetic shop of
# scale.sh at 1M, 3M and 10M events, its (customer, product, count) pairs
# trained by fashionrec's ALS (CG, and the exact Cholesky solver) and, on the
# same pairs exported with \copy, by test/bench/als_cg_reference.py (the
# `implicit` library's least_squares_cg in numpy/scipy, vectorised over all
# rows), all with 64 factors, regularization 0.05, confidence 1 + r, 3 CG
# steps, one BLAS thread.  Per solver: seconds per iteration (mean over the
# iterations, from fashionrec's per-iteration NOTICEs / the reference's own
# clock, so reading the data is excluded), the training loss after the last
# iteration (the same formula in both: implicit's calculate_loss) and peak
# memory (the backend's VmHWM for the train() call, which includes reading
# the source; the reference process's ru_maxrss, which includes loading the
# CSV).  Load averages are printed with the figures.
#
#   bash test/bench/als_cg_reference.sh  (SIZES="S M L" ITERATIONS=5 CHOL_ITERATIONS=5 FACTORS=64)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

SIZES=${SIZES:-"S M L"}
ITERATIONS=${ITERATIONS:-5}
CHOL_ITERATIONS=${CHOL_ITERATIONS:-$ITERATIONS}
FACTORS=${FACTORS:-64}
FR_EXTRA_PACKAGES="python3-numpy python3-scipy python3-threadpoolctl ${FR_EXTRA_PACKAGES:-}" fr_install_deps
fr_setup_paths
[ -n "${FR_NO_BUILD:-}" ] || fr_build_install
fr_bench_cluster
psql -qX -d bench -c 'CREATE EXTENSION fashionrec' >/dev/null

/usr/bin/python3 test/bench/als_cg_reference.py --check
echo "fashionrec's OpenBLAS kernel: $(psql -qXAt -d bench -c "SELECT core || coalesce(' (' || advice || ')', '') FROM fashionrec.blas_info(0)")"

# train SOLVER ITER: "seconds-per-iteration final-loss peak-MB" of fashionrec's ALS
train() {
    local out
    out=$(psql -qXAt -v ON_ERROR_STOP=1 -d bench 2>&1 <<SQL
SET client_min_messages = notice;
SET fashionrec.max_memory = '16GB';
SET work_mem = '256MB';
SELECT fashionrec.train('ref-$1', 'als', 'shop.pairs',
       '{"factors": $FACTORS, "iterations": $2, "regularization": 0.05, "alpha": 1,
         "solver": "$1", "cg_steps": 3}') IS NOT NULL;
SELECT 'peak ' || (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\s+(\d+)'))[1];
SELECT fashionrec.drop_model('ref-$1');
SQL
)
    grep -o "als iteration [0-9]* of [0-9]*: loss [0-9.]*, [0-9.]* s" <<<"$out" | sed 's/^/    fashionrec '"$1"': /' >&2
    grep -o "als iteration $2 of $2: loss [0-9.]*, [0-9.]* s" <<<"$out" |
        awk -v n="$2" -v kb="$(awk '/^peak/ { print $2 }' <<<"$out")" \
            '{ printf "%.3f %s %.0f\n", $(NF-1) / n, substr($7, 1, length($7) - 1), kb / 1024 }'
}

ROWS=()
for SIZE in $SIZES; do
    case $SIZE in
        S) C=100000; P=10000; E=1000000 ;;
        M) C=300000; P=30000; E=3000000 ;;
        L) C=1000000; P=100000; E=10000000 ;;
        *) echo "unknown size $SIZE (S, M or L)" >&2; exit 1 ;;
    esac
    echo "== $SIZE: ${C} customers x ${P} products x ${E} events"
    psql -qX -v ON_ERROR_STOP=1 -d bench >/dev/null <<SQL
SET client_min_messages = warning;
DROP VIEW IF EXISTS shop.pairs;
SELECT count(*) FROM fashionrec.generate_shop($C, $P, $E::bigint, 42, 'shop', replace => true);
CREATE VIEW shop.pairs AS SELECT customer_id, product_id, count(*)::real AS n FROM shop.events GROUP BY 1, 2;
\copy (SELECT customer_id, product_id, n FROM shop.pairs) TO '$TMP/pairs.csv' CSV
SQL
    echo "   pairs: $(wc -l < "$TMP/pairs.csv"); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    read -r cg_s cg_loss cg_mb < <(train cg "$ITERATIONS")
    read -r ch_s ch_loss ch_mb < <(train cholesky "$CHOL_ITERATIONS")
    ref=$(OPENBLAS_NUM_THREADS=1 /usr/bin/python3 test/bench/als_cg_reference.py "$TMP/pairs.csv" \
          --factors "$FACTORS" --iterations "$ITERATIONS" --regularization 0.05 --alpha 1 --cg-steps 3)
    sed 's/^/    reference: /' <<<"$ref"
    read -r rf_s rf_loss rf_mb < <(sed -nE 's/^reference: ([0-9.]+) s per iteration, final loss ([0-9.]+), peak memory ([0-9]+) MB/\1 \2 \3/p' <<<"$ref")
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    echo "   load after: $load"
    ROWS+=("$(printf '%-4s %-11s %12s %12s %12s %12s %12s %12s %12s %10s %10s %10s  %s' "$SIZE" "$E" \
        "$cg_s" "$ch_s" "$rf_s" "$(awk -v a="$rf_s" -v b="$cg_s" 'BEGIN { printf "%.2f", a / b }')" \
        "$cg_loss" "$ch_loss" "$rf_loss" "$cg_mb" "$ch_mb" "$rf_mb" "$load")")
    rm -f "$TMP/pairs.csv"
done

echo
echo "ALS, $FACTORS factors, CG $ITERATIONS iterations (Cholesky $CHOL_ITERATIONS), 1 BLAS thread: seconds per iteration, loss after the last iteration, peak MB"
printf '%-4s %-11s %12s %12s %12s %12s %12s %12s %12s %10s %10s %10s  %s\n' size events "fr cg s/it" "fr chol s/it" "ref cg s/it" "ref/fr cg" \
    "fr cg loss" "fr chol loss" "ref cg loss" "fr cg MB" "fr ch MB" "ref MB" "load after"
printf '%s\n' "${ROWS[@]}"
