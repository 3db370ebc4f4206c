#!/usr/bin/env bash
# Source reading benchmark: rows/s of fashionrec's source reader against
# COPY (the same query) TO '/dev/null' — PostgreSQL producing the same rows
# with nothing done to them — at 1M, 3M and 10M rows (best of RUNS each),
# split into the read itself and the mapping of ids plus the CSR build
# (validate() reads a source exactly as train() does).  Then ALS at the
# largest size, FACTORS factors: seconds per iteration and the backend's
# peak memory.  Prints the load average with the figures.
#
#   bash test/bench/source_read.sh     (SIZES="1000000 3000000 10000000" RUNS=3 FACTORS=64)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

SIZES=${SIZES:-"1000000 3000000 10000000"}
RUNS=${RUNS:-3}
FACTORS=${FACTORS:-64}
MAX=$(tr ' ' '\n' <<<"$SIZES" | sort -n | tail -1)

fr_install_deps
fr_setup_paths
fr_build_install
fr_bench_cluster

echo "== $MAX events: 1M users x 100k items, weights 1..5"
psql -qX -v ON_ERROR_STOP=1 -d bench <<SQL
SET client_min_messages = warning;
CREATE EXTENSION fashionrec;
CREATE TABLE events AS
SELECT 1 + (hashint8(g) & 2147483647) % 1000000 AS u, 1 + (hashint8(g * 7) & 2147483647) % 100000 AS i,
       (1 + g % 5)::real AS w
  FROM generate_series(1, $MAX) g;
VACUUM ANALYZE events;
SQL

# best of RUNS: seconds of COPY, of the read, of read + map + matrix
measure() {
    local n=$1 copy="" read="" all="" out c r a
    for _ in $(seq "$RUNS"); do
        out=$(psql -qX -d bench 2>&1 <<SQL
SET fashionrec.max_memory = '8GB';
\timing on
COPY (SELECT u, i, w FROM events LIMIT $n) TO '/dev/null';
SET client_min_messages = debug1;
SELECT count(*) FROM fashionrec.validate('SELECT u, i, w FROM events LIMIT $n');
SQL
)
        c=$(grep -m1 '^Time:' <<<"$out" | awk '{print $2 / 1000}')
        r=$(grep -m1 'rows read in' <<<"$out" | sed -E 's/.* in ([0-9.]+) s.*/\1/')
        a=$(grep -m1 'made a matrix in' <<<"$out" | sed -E 's/.* in ([0-9.]+) s.*/\1/')
        copy=$(python3 -c "print(min($c, ${copy:-$c}))")
        read=$(python3 -c "print(min($r, ${read:-$r}))")
        all=$(python3 -c "print(min($a, ${all:-$a}))")
    done
    echo "$copy $read $all"
}

echo "== load before: $(uptime)"
printf '\n%-10s %12s %12s %14s %12s %16s %10s\n' rows "COPY s" "read s" "read+CSR s" "COPY rows/s" "read rows/s" "% of COPY"
for n in $SIZES; do
    read -r copy rd all < <(measure "$n")
    python3 -c "
n, c, r, a = $n, $copy, $rd, $all
print(f'{n:<10} {c:12.2f} {r:12.2f} {a:14.2f} {n / c:12.0f} {n / r:16.0f} {100 * c / r:9.0f}%')"
done
echo "== load after: $(uptime)"

echo
echo "== ALS, $FACTORS factors, 2 iterations over $MAX events"
out=$(psql -qX -d bench 2>&1 <<SQL
SET fashionrec.max_memory = '8GB';
SET client_min_messages = notice;
SELECT fashionrec.train('als', 'als', 'SELECT u, i, w FROM events', '{"factors": $FACTORS, "iterations": 2}') IS NOT NULL AS trained;
SELECT seconds FROM fashionrec.models WHERE name = 'als';
-- the backend's peak resident memory (superuser: pg_read_file)
SELECT l FROM regexp_split_to_table(pg_read_file('/proc/' || pg_backend_pid() || '/status'), E'\n') l
 WHERE l LIKE 'VmHWM%';
SQL
)
grep -E 'iteration|VmHWM|seconds|^ *[0-9.]+$' <<<"$out" || echo "$out"
echo "== load after: $(uptime)"
