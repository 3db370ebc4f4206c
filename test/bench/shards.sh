#!/usr/bin/env bash
# Training from two postgres_fdw shards against the same rows held locally, on
# the layout of test/shards.sh (two shard clusters, a coordinator whose
# "events" is hash-partitioned over one foreign table per shard) at a larger
# size: CUSTOMERS customers (default 50,000: about 1M events) over PRODUCTS
# products.  For each source, in alternating rounds:
#   - COPY (the source query train() reads) TO '/dev/null', the yardstick;
#   - train ALS (64 factors, 5 iterations): the source read as train() reports
#     it, and the whole training;
# with the aggregation pushed down to the shards (partitionwise aggregation,
# the default of this layout) and, once, without (raw events over the network,
# aggregated on the coordinator).  The models must have the same data checksum.
#
#   bash test/bench/shards.sh     (CUSTOMERS, PRODUCTS, ROUNDS override the defaults)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
unset PGHOST PGPORT
CUSTOMERS=${CUSTOMERS:-50000}
PRODUCTS=${PRODUCTS:-5000}
ROUNDS=${ROUNDS:-3}
. test/lib.sh
fr_install_deps || exit 1
. test/shards-lib.sh
[ -n "${FR_NO_BUILD:-}" ] || fr_build_install || exit 1

fr_shards_start bench-shards || exit 1
t0=$(date +%s.%N)
fr_shards_load "$CUSTOMERS" "$PRODUCTS" || exit 1
load_s=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.1f", a - b }')
read -r events pairs < <(qc -F ' ' -c "SELECT count(*), count(DISTINCT (customer_id, product_id)) FROM events_local")
echo "# $events events ($pairs distinct pairs), $CUSTOMERS customers, $PRODUCTS products; generated and routed to the shards in $load_s s"

PARAMS='{"factors": 64, "iterations": 5, "seed": 7}'
source_of() { echo "SELECT customer_id, product_id, sum(qty) FROM $1 GROUP BY 1, 2"; }

# seconds SETTING SQL: psql's time of SQL in a fresh session
seconds() {
    qc -c "SET enable_partitionwise_aggregate = $1" -c '\timing on' -c "$2" 2>&1 |
        awk '/^Time:/ { s += $2 } END { printf "%.2f", s / 1000 }'
}
# train_run SETTING NAME TABLE: "read-seconds total-seconds" of one training
train_run() {
    local out
    out=$(qc -c "SET enable_partitionwise_aggregate = $1" -c "SET fashionrec.max_memory = '4GB'" -c '\timing on' \
             -c "SELECT fashionrec.train('$2', 'als', '$(source_of "$3")', '$PARAMS')" 2>&1)
    echo "$(grep -o 'read [0-9]* rows.* in [0-9.]* s' <<< "$out" | awk '{ print $(NF - 1) }')" \
         "$(awk '/^Time:/ { printf "%.2f", $2 / 1000 }' <<< "$out")"
}

printf '%-34s %8s %14s %14s %14s\n' source round "COPY (s)" "train read (s)" "train (s)"
for round in $(seq 1 "$ROUNDS"); do
    for src in events events_local; do
        copy=$(seconds on "COPY ($(qc -c "SELECT fashionrec.source_query('$(source_of $src)', '{}')")) TO '/dev/null'")
        read -r read_s total_s < <(train_run on "m_$src" "$src")
        label=$([ $src = events ] && echo "two fdw shards, pushed down" || echo "local table")
        printf '%-34s %8s %14s %14s %14s\n' "$label" "$round" "$copy" "$read_s" "$total_s"
    done
done
copy=$(seconds off "COPY ($(qc -c "SELECT fashionrec.source_query('$(source_of events)', '{}')")) TO '/dev/null'")
read -r read_s total_s < <(train_run off m_raw events)
printf '%-34s %8s %14s %14s %14s\n' "two fdw shards, not pushed down" 1 "$copy" "$read_s" "$total_s"

same=$(qc -c "SELECT count(DISTINCT data ->> 'checksum') FROM fashionrec.model")
[ "$same" = 1 ] || { echo "the models' data checksums differ"; exit 1; }
echo "# every model has the same data checksum; load: $(uptime | sed 's/.*average: //')"
