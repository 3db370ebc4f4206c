#!/usr/bin/env bash
# The shared model store against the per-backend cache, on one model and one
# server in the same run (restarted with fashionrec.shared_cache_size = 0 for
# the per-backend figures):
#   - memory: N connections (1, 10, 50, 100) each call recommend() twice at
#     once; the growth of the backends' private memory (Private_Clean +
#     Private_Dirty from /proc/<pid>/smaps, the store's own segments left
#     out: a page of them that one backend alone has touched counts as
#     private there), plus the store's bytes once;
#   - the first call on a new connection (p50/p99 over NEW_CONNECTIONS
#     connections) with the version already loaded, beside the first call of
#     a fashionrec function that opens no model (PostgreSQL's own floor);
#   - loads per version (serving_stats);
#   - pgbench p50/p99 of recommend() at 1 and 2 clients, in ROUNDS rounds
#     alternating the two modes;
#   - the OpenBLAS kernel that ran, from fashionrec.blas_info().
#
#   bash test/bench/shared_store.sh     (ITEMS=100000 USERS=200000 FACTORS=64 ROUNDS=3 SECONDS_PER_RUN=10)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

ITEMS=${ITEMS:-100000}
USERS=${USERS:-200000}
EVENTS=${EVENTS:-2000000}
FACTORS=${FACTORS:-64}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
ROUNDS=${ROUNDS:-3}
NEW_CONNECTIONS=${NEW_CONNECTIONS:-200}
CONNECTIONS=${CONNECTIONS:-1 10 50 100}

fr_install_deps
fr_setup_paths
[ -n "${FR_NO_BUILD:-}" ] || fr_build_install
fr_bench_cluster
# room for 100 sessions beside pg_cron and psql
fr_stop_cluster "$TMP"
echo "max_connections = 130" >> "$TMP/data/postgresql.conf"
fr_start_cluster "$TMP" "$PORT"
q() { psql -qXAt -F ' ' -v ON_ERROR_STOP=1 -d bench "$@"; }

echo "== model: ALS $FACTORS factors over $ITEMS items, $USERS users, $EVENTS events"
q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION fashionrec;
SET fashionrec.max_memory = '8GB';
SET fashionrec.blas_threads = $(nproc);
CREATE TABLE buys AS
SELECT (random() * ($USERS - 1))::bigint + 1 AS u,
       least($ITEMS, 1 + floor($ITEMS * power(random(), 3)))::bigint AS i
  FROM generate_series(1, $EVENTS)
UNION ALL SELECT (g % $USERS) + 1, (g % $ITEMS) + 1 FROM generate_series(1, greatest($ITEMS, $USERS)) g;
SELECT fashionrec.train('bench', 'als', 'buys', '{"factors": $FACTORS, "iterations": 1}');
SQL

# Private_Clean + Private_Dirty in kB of one backend, without the store's segments
private_kb() {
    awk '/^[0-9a-f]+-[0-9a-f]+ / { skip = ($6 ~ /^\/dev\/shm\/PostgreSQL\./) }
         /^Private_(Clean|Dirty):/ && !skip { kb += $2 }
         END { print kb + 0 }' "/proc/$1/smaps"
}

# N sessions held open through fifos; after the baseline each calls recommend() twice, all at once.
# Prints the growth of their private memory in MB.
memory_growth() {
    local n=$1 i fd pids=() base=0 after=0 pid
    local dir=$TMP/sessions
    rm -rf "$dir"; mkdir -p "$dir"
    declare -a fds
    for i in $(seq 1 "$n"); do
        mkfifo "$dir/in$i"
        psql -qXAt -d bench < "$dir/in$i" > "$dir/out$i" 2>&1 &
        exec {fd}>"$dir/in$i"
        fds[i]=$fd
        echo "SELECT 'pid', pg_backend_pid(), fashionrec.version();" >&"$fd"
    done
    for i in $(seq 1 "$n"); do
        until grep -q '^pid' "$dir/out$i" 2>/dev/null; do sleep 0.05; done
        pids[i]=$(awk -F'|' '/^pid/ { print $2 }' "$dir/out$i")
        base=$((base + $(private_kb "${pids[i]}")))
    done
    for i in $(seq 1 "$n"); do
        echo "SELECT count(*) FROM fashionrec.recommend('bench', $((i * 7 + 1)), 10);
              SELECT count(*) FROM fashionrec.recommend('bench', $((i * 7 + 2)), 10);
              SELECT 'done';" >&"${fds[i]}"
    done
    for i in $(seq 1 "$n"); do
        until grep -q '^done' "$dir/out$i" 2>/dev/null; do sleep 0.05; done
        after=$((after + $(private_kb "${pids[i]}")))
    done
    for i in $(seq 1 "$n"); do fd=${fds[i]}; exec {fd}>&-; done
    wait 2>/dev/null || true
    awk -v a="$after" -v b="$base" 'BEGIN { printf "%.1f", (a - b) / 1024 }'
}

# Milliseconds of the first statement on NEW_CONNECTIONS new connections: "p50 p99"
first_calls() {
    local sql=$1 n=$2 i
    for i in $(seq 1 "$n"); do
        psql -qXAt -d bench -c '\timing on' -c "$sql" | awk '/^Time:/ { print $2 }'
    done | sort -n | awk '{ v[NR] = $1 } END { printf "%.2f %.2f", v[int((NR + 1) / 2)], v[int((NR * 99 + 99) / 100)] }'
}

pgbench_run() {   # mode clients: appends latencies in ms to $TMP/lat.mode.clients
    local log=$TMP/pgb.$1.$2
    rm -rf "$log"; mkdir -p "$log"
    (cd "$log" && pgbench -n -c "$2" -j "$2" -T "$SECONDS_PER_RUN" -M prepared -l -f "$TMP/full.sql" bench > out.txt 2>&1)
    cat "$log"/pgbench_log.* | awk '{ print $3 / 1000.0 }' >> "$TMP/lat.$1.$2"
}
percentiles() {   # file -> "p50 p99"
    sort -n "$1" | awk '{ v[NR] = $1 } END { printf "%.2f %.2f", v[int((NR + 1) / 2)], v[int((NR * 99 + 99) / 100)] }'
}
restart_mode() {   # the same server with the store (shared) or without it (private)
    fr_stop_cluster "$TMP"
    sed -i '/^fashionrec.shared_cache_size/d' "$TMP/data/postgresql.conf"
    [ "$1" = private ] && echo "fashionrec.shared_cache_size = 0" >> "$TMP/data/postgresql.conf"
    fr_start_cluster "$TMP" "$PORT"
}
cat > "$TMP/full.sql" <<SQL
\set u random(1, $USERS)
SELECT * FROM fashionrec.recommend('bench', :u, 10);
SQL

declare -A MEM FIRST PGB
for mode in private shared; do
    restart_mode "$mode"
    read -r core gflops < <(q -c "SELECT core, round(sgemm_gflops::numeric, 1) FROM fashionrec.blas_info(1)")
    echo "== $mode: OpenBLAS kernel $core, sgemm $gflops GFLOP/s (1 thread, 1 s probe)"
    q -c "SELECT count(*) FROM fashionrec.recommend('bench', 1, 10)" >/dev/null   # loaded once before the first calls
    for n in $CONNECTIONS; do
        MEM[$mode,$n]=$(memory_growth "$n")
        echo "   $n connections: private memory +${MEM[$mode,$n]} MB"
    done
    n_first=$NEW_CONNECTIONS
    [ "$mode" = private ] && n_first=$(( NEW_CONNECTIONS < 40 ? NEW_CONNECTIONS : 40 ))   # each one loads the model
    FIRST[$mode]=$(first_calls "SELECT count(*) FROM fashionrec.recommend('bench', 3, 10)" "$n_first")
    FIRST[$mode,floor]=$(first_calls "SELECT fashionrec.version()" "$n_first")
    FIRST[$mode,n]=$n_first
    if [ "$mode" = shared ]; then
        STORE_MB=$(q -c "SELECT round(sum(bytes) / 1048576.0, 1) FROM fashionrec.model_cache WHERE \"where\" = 'shared'")
        LOADS=$(q -c "SELECT sum(shared_loads) FROM fashionrec.serving_stats WHERE name = 'bench'")
        ATTACHES=$(q -c "SELECT sum(attaches) FROM fashionrec.serving_stats WHERE name = 'bench'")
        LOAD_MS=$(q -c "SELECT round(load_ms::numeric, 0) FROM fashionrec.model_cache WHERE name = 'bench'")
    else
        PRIVATE_LOADS=$(q -c "SELECT sum(cache_loads) FROM fashionrec.serving_stats WHERE name = 'bench'")
    fi
done

# latency in alternating rounds, so that other work on the machine weighs on both alike
for round in $(seq 1 "$ROUNDS"); do
    for mode in private shared; do
        restart_mode "$mode"
        q -c "SELECT count(*) FROM fashionrec.recommend('bench', 1, 10)" >/dev/null
        for c in 1 2; do pgbench_run "$mode" "$c"; done
    done
done
for mode in private shared; do for c in 1 2; do PGB[$mode,$c]=$(percentiles "$TMP/lat.$mode.$c"); done; done

printf '\nmodel in the store: %s MB (loaded in %s ms)\n' "$STORE_MB" "$LOAD_MS"
printf '\n%-14s %22s %30s %16s\n' connections "per-backend cache, MB" "shared store: private + store" "per connection"
for n in $CONNECTIONS; do
    total=$(awk -v p="${MEM[shared,$n]}" -v s="$STORE_MB" 'BEGIN { printf "%.1f", p + s }')
    per=$(awk -v p="${MEM[shared,$n]}" -v n="$n" 'BEGIN { printf "%.2f", p / n }')
    printf '%-14s %22s %30s %16s\n' "$n" "${MEM[private,$n]}" "${MEM[shared,$n]} + $STORE_MB = $total" "$per MB"
done
read -r sp50 sp99 <<< "${FIRST[shared]}"; read -r fp50 fp99 <<< "${FIRST[shared,floor]}"
read -r pp50 pp99 <<< "${FIRST[private]}"
printf '\nfirst call on a new connection, ms        p50      p99\n'
printf '  recommend(), shared store (%3d conns) %8s %8s\n' "${FIRST[shared,n]}" "$sp50" "$sp99"
printf '  fashionrec.version() (no model)       %8s %8s\n' "$fp50" "$fp99"
printf '  recommend(), per-backend cache (%2d)    %8s %8s\n' "${FIRST[private,n]}" "$pp50" "$pp99"
printf '\nloads of the version: shared store %s (and %s attaches); per-backend cache %s\n' "$LOADS" "$ATTACHES" "$PRIVATE_LOADS"
printf '\npgbench recommend(), k = 10, %s x %s s  p50 ms   p99 ms\n' "$ROUNDS" "$SECONDS_PER_RUN"
for c in 1 2; do
    read -r a b <<< "${PGB[private,$c]}"; read -r x y <<< "${PGB[shared,$c]}"
    printf '  %d client(s): per-backend cache    %8s %8s\n' "$c" "$a" "$b"
    printf '  %d client(s): shared store         %8s %8s\n' "$c" "$x" "$y"
done
