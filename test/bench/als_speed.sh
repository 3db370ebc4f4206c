#!/usr/bin/env bash
# ALS training speed on MovieLens 100K: seconds per iteration at 32/64/128
# factors with 1 and 2 threads (fashionrec.blas_threads), the useful
# GFLOP/s this implies, the backend's peak memory, and OpenBLAS sgemm GFLOP/s
# measured in the same run as the yardstick.  Data loading is excluded from the
# per-iteration figure (it comes from the per-iteration NOTICEs).
#
# Flop count per iteration (CG with s steps; U users, I items, N interactions,
# k factors): both half-sweeps do (s + 1) Gram products of 2k^2 per row and
# (s + 1) passes over the row's interactions at 4k each, plus one k x k Gram
# (syrk, n k^2) per side:  (s+1) * (2k^2 (U + I) + 8 k N) + 2 k^2 (U + I).
#
#   bash test/bench/als_speed.sh            (FR_DATA=/path/to/data)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

DATA=${FR_DATA:-$PWD/../shared/data}
UDATA=$DATA/movielens-100k/u.data
[ -r "$UDATA" ] || { echo "skipped: $UDATA not found (set FR_DATA)"; exit 0; }

fr_install_deps
fr_setup_paths
fr_build_install

fr_bench_cluster
psql -qX -v ON_ERROR_STOP=1 -d bench >/dev/null <<SQL
CREATE EXTENSION fashionrec;
CREATE TABLE ratings (user_id int, item_id int, rating int, ts bigint);
\copy ratings FROM '$UDATA'
SQL
cc -O2 $(pkg-config --cflags openblas) -o "$TMP/blas_peak" test/bench/blas_peak.c $(pkg-config --libs openblas)

echo "OpenBLAS kernel in the server: $(psql -qXAt -d bench -c "SELECT core || coalesce(' (' || advice || ')', '') FROM fashionrec.blas_info(0)")"
read -r U I N < <(psql -qXAt -F ' ' -d bench -c "SELECT count(DISTINCT user_id), count(DISTINCT item_id), count(*) FROM ratings")
S=3
ITER=15
printf '%-8s %-8s %12s %12s %10s %12s\n' factors threads "s/iteration" "15 it (s)" GFLOP/s "peak MB"
for threads in 1 2; do
    for k in 32 64 128; do
        out=$(psql -qXAt -d bench 2>&1 <<SQL
SET fashionrec.blas_threads = $threads;
SET client_min_messages = notice;
SELECT fashionrec.train('als-$k-$threads', 'als', 'SELECT user_id, item_id FROM ratings',
       '{"factors": $k, "iterations": $ITER, "regularization": 0.05, "cg_steps": $S}');
SELECT 'peak ' || (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\s+(\d+)'))[1];
SQL
)
        secs=$(grep -o "iteration $ITER of $ITER: loss [0-9.]*, [0-9.]* s" <<< "$out" | awk '{ print $(NF-1) }')
        kb=$(awk '/^peak/ { print $2 }' <<< "$out")
        awk -v k="$k" -v t="$threads" -v s="$secs" -v it="$ITER" -v U="$U" -v I="$I" -v N="$N" -v S="$S" -v kb="$kb" 'BEGIN {
            flops = (S + 1) * (2 * k * k * (U + I) + 8 * k * N) + 2 * k * k * (U + I);
            printf "%-8d %-8d %12.4f %12.3f %10.2f %12.0f\n", k, t, s / it, s, flops * it / s / 1e9, kb / 1024 }'
    done
    echo "OpenBLAS sgemm, $threads thread(s), this run: $("$TMP/blas_peak" "$threads" | awk '/sgemm/ { print $2 }') GFLOP/s"
done
