#!/usr/bin/env bash
# The shared model store against the per-backend cache, on one model and one
# server in the same run (restarted with fashionrec.shared_cache_size = 0 for
# the per-backend figures):
#   - memory: N connections (CONNECTIONS; the per-backend cache at
#     PRIVATE_CONNECTIONS) each call recommend() twice at once; the growth of
#     the backends' private memory (Private_Clean + Private_Dirty from
#     /proc/<pid>/smaps, the store's own segments left out: a page of them
#     that one backend alone has touched counts as private there), plus the
#     store's bytes once; the page tables the backends grew (VmPTE) beside;
#   - the first and second call on a new connection (p50/p99 over
#     NEW_CONNECTIONS connections) with the version already loaded, beside
#     the first call of a fashionrec function that opens no model
#     (PostgreSQL's own floor);
#   - loads per version (serving_stats);
#   - the first calls again through an IVF index of the version (ANN=0 skips
#     them), with its recall@10 against the exact scan;
#   - pgbench p50/p99 of recommend() at 1 and 2 clients, in ROUNDS rounds
#     alternating the two modes (ROUNDS=0 skips them);
#   - the OpenBLAS kernel that ran, from fashionrec.blas_info().
#
#   bash test/bench/shared_store.sh     (ITEMS=100000 USERS=200000 FACTORS=64 ROUNDS=3 SECONDS_PER_RUN=10)
#   ITEMS=1000000 PRIVATE_CONNECTIONS="1 10" ROUNDS=0 bash test/bench/shared_store.sh
#                                       (1M items: 100 private copies would not fit in memory)
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
PRIVATE_CONNECTIONS=${PRIVATE_CONNECTIONS:-$CONNECTIONS}

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
-- the same algorithm over 500 items: its first call is the serving path's fixed cost, without the catalog's size
CREATE TABLE tiny_buys AS SELECT (g % 1000) + 1 AS u, ((g * 7919) % 500) + 1 AS i FROM generate_series(1, 5000) g;
SELECT fashionrec.train('tiny', 'als', 'tiny_buys', '{"factors": $FACTORS, "iterations": 1}');
SQL

# Private_Clean + Private_Dirty in kB of one backend, without the store's segments
private_kb() {
    awk '/^[0-9a-f]+-[0-9a-f]+ / { skip = ($6 ~ /^\/dev\/shm\/PostgreSQL\./) }
         /^Private_(Clean|Dirty):/ && !skip { kb += $2 }
         END { print kb + 0 }' "/proc/$1/smaps"
}

# kB of page tables of one backend: each maps the version it serves, 8 bytes per 4 kB page
pte_kb() { awk '/^VmPTE:/ { print $2 }' "/proc/$1/status"; }

# N sessions held open through fifos; after the baseline each calls recommend() twice, all at once.
# Prints the growth of their private memory and of their page tables, in MB.
memory_growth() {
    local n=$1 i fd pids=() base=0 after=0 pte_base=0 pte_after=0 pid
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
        pte_base=$((pte_base + $(pte_kb "${pids[i]}")))
    done
    for i in $(seq 1 "$n"); do
        echo "SELECT count(*) FROM fashionrec.recommend('bench', $((i * 7 + 1)), 10);
              SELECT count(*) FROM fashionrec.recommend('bench', $((i * 7 + 2)), 10);
              SELECT 'done';" >&"${fds[i]}"
    done
    for i in $(seq 1 "$n"); do
        until grep -q '^done' "$dir/out$i" 2>/dev/null; do sleep 0.05; done
        after=$((after + $(private_kb "${pids[i]}")))
        pte_after=$((pte_after + $(pte_kb "${pids[i]}")))
    done
    for i in $(seq 1 "$n"); do fd=${fds[i]}; exec {fd}>&-; done
    wait 2>/dev/null || true
    awk -v a="$after" -v b="$base" -v pa="$pte_after" -v pb="$pte_base" \
        'BEGIN { printf "%.1f %.1f\n", (a - b) / 1024, (pa - pb) / 1024 }'
}

# The first two calls of sql on NEW_CONNECTIONS new connections, each after the
# connection's own first statement (pg_backend_pid()): "p50 p99" of the first
# and of the second call in wall-clock ms (psql's \timing), then the same in
# the backend's CPU ms (/proc/<pid>/schedstat), which other work on a busy
# machine inflates far less.
first_calls() {
    local sql=$1 n=$2 i col
    cat > "$TMP/first.sql" <<SQL
SELECT pg_backend_pid() AS pid \\gset
\\setenv FR_PID :pid
\\timing on
\\! awk '{ print "cpu", \$1 }' /proc/\$FR_PID/schedstat
$sql;
\\! awk '{ print "cpu", \$1 }' /proc/\$FR_PID/schedstat
$sql;
\\! awk '{ print "cpu", \$1 }' /proc/\$FR_PID/schedstat
SQL
    for i in $(seq 1 "$n"); do
        psql -qXAt -d bench -f "$TMP/first.sql" |
            awk '/^Time:/ { t[++n] = $2 } /^cpu/ { c[++m] = $2 }
                 END { printf "%s %s %.3f %.3f\n", t[1], t[2], (c[2] - c[1]) / 1e6, (c[3] - c[2]) / 1e6 }'
    done > "$TMP/first"
    for col in 1 2 3 4; do
        awk -v c="$col" '{ print $c }' "$TMP/first" | sort -n |
            awk '{ v[NR] = $1 } END { printf "%.2f %.2f ", v[int((NR + 1) / 2)], v[int((NR * 99 + 99) / 100)] }'
    done
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

declare -A MEM PTE FIRST PGB
for mode in private shared; do
    restart_mode "$mode"
    read -r core gflops < <(q -c "SELECT core, round(sgemm_gflops::numeric, 1) FROM fashionrec.blas_info(1)")
    echo "== $mode: OpenBLAS kernel $core, sgemm $gflops GFLOP/s (1 thread, 1 s probe)"
    q -c "SELECT count(*) FROM fashionrec.recommend('bench', 1, 10)" -c "SELECT count(*) FROM fashionrec.recommend('tiny', 1, 10)" >/dev/null   # loaded once before the first calls
    counts=$CONNECTIONS
    [ "$mode" = private ] && counts=$PRIVATE_CONNECTIONS
    for n in $counts; do
        read -r "MEM[$mode,$n]" "PTE[$mode,$n]" < <(memory_growth "$n")
        echo "   $n connections: private memory +${MEM[$mode,$n]} MB, page tables +${PTE[$mode,$n]} MB ($(uptime | sed 's/.*load/load/'))"
    done
    n_first=$NEW_CONNECTIONS
    [ "$mode" = private ] && n_first=$(( NEW_CONNECTIONS < 40 ? NEW_CONNECTIONS : 40 ))   # each one loads the model
    FIRST[$mode]=$(first_calls "SELECT count(*) FROM fashionrec.recommend('bench', 3, 10)" "$n_first")
    FIRST[$mode,floor]=$(first_calls "SELECT fashionrec.version()" "$n_first")
    FIRST[$mode,tiny]=$(first_calls "SELECT count(*) FROM fashionrec.recommend('tiny', 3, 10)" "$n_first")
    FIRST[$mode,n]=$n_first
    FIRST[$mode,load]=$(uptime | sed 's/.*load average: //')
    if [ "$mode" = shared ]; then
        STORE_MB=$(q -c "SELECT round(sum(bytes) / 1048576.0, 1) FROM fashionrec.model_cache WHERE \"where\" = 'shared' AND name = 'bench'")
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
# The same first calls through an IVF index of the version (ANN=0 skips it):
# an exact scan reads, and a new backend maps, all of the item factors; the
# index reads the centroids and the probed lists only.  Last, so that the
# figures above are the exact scan's.
if [ "${ANN:-1}" = 1 ]; then
    q -c "SELECT fashionrec.build_ann('bench')" >/dev/null
    q -c "SELECT count(*) FROM fashionrec.recommend('bench', 1, 10)" >/dev/null
    FIRST[ann]=$(first_calls "SELECT count(*) FROM fashionrec.recommend('bench', 3, 10)" "$NEW_CONNECTIONS")
    # the GUC if set, else the index's calibrated default (src/ann.c)
    ANN_DESC=$(q -c "SELECT format('%s lists, %s probes', info -> 'ann' ->> 'lists',
                                   CASE WHEN current_setting('fashionrec.ann_probes')::int > 0
                                        THEN current_setting('fashionrec.ann_probes') ELSE info -> 'ann' ->> 'probes' END)
                       FROM fashionrec.model WHERE name = 'bench' AND active")
    ANN_RECALL=$(q -c "SELECT round(avg(hits) / 10, 3) FROM (
                         SELECT (SELECT count(*) FROM fashionrec.recommend('bench', u, 10) a
                                   JOIN fashionrec.recommend('bench', u, 10, exact => true) b USING (item_id)) AS hits
                           FROM generate_series(1, 500) u) s")
fi
if [ "$ROUNDS" -gt 0 ]; then
    for mode in private shared; do for c in 1 2; do PGB[$mode,$c]=$(percentiles "$TMP/lat.$mode.$c"); done; done
fi

printf '\nmodel in the store: %s MB (loaded in %s ms)\n' "$STORE_MB" "$LOAD_MS"
printf '\n%-12s %24s %34s %16s %18s\n' connections "per-backend cache, MB" "shared store: private + store, MB" "per connection" "page tables, MB"
for n in $CONNECTIONS; do
    total=$(awk -v p="${MEM[shared,$n]}" -v s="$STORE_MB" 'BEGIN { printf "%.1f", p + s }')
    per=$(awk -v p="${MEM[shared,$n]}" -v n="$n" 'BEGIN { printf "%.2f", p / n }')
    goal=$(awk -v s="$STORE_MB" -v n="$n" 'BEGIN { printf "%.1f", 1.1 * s + 3 * n }')
    printf '%-12s %24s %34s %16s %18s\n' "$n" "${MEM[private,$n]:-not run}" "${MEM[shared,$n]} + $STORE_MB = $total (goal <= $goal)" \
        "$per MB" "${PTE[shared,$n]} (${PTE[private,$n]:--})"
done
printf '\nnew connection, ms: wall clock (backend CPU)   first p50      first p99      second p50     second p99\n'
row() {   # label, first_calls output
    local a b c d e f g h
    read -r a b c d e f g h <<< "$2"
    printf '  %-42s %-14s %-14s %-14s %-14s\n' "$1" "$a ($e)" "$b ($f)" "$c ($g)" "$d ($h)"
}
row "recommend(), shared store (${FIRST[shared,n]} conns)" "${FIRST[shared]}"
row "recommend(), 500-item model, shared store" "${FIRST[shared,tiny]}"
row "fashionrec.version(), no model (the floor)" "${FIRST[shared,floor]}"
row "recommend(), per-backend cache (${FIRST[private,n]} conns)" "${FIRST[private]}"
[ -z "${FIRST[ann]:-}" ] || row "recommend(), shared store, IVF index" "${FIRST[ann]}"
printf '  load average: shared %s; per-backend %s\n' "${FIRST[shared,load]}" "${FIRST[private,load]}"
printf '\nloads of the version: shared store %s (and %s attaches); per-backend cache %s\n' "$LOADS" "$ATTACHES" "$PRIVATE_LOADS"
[ -z "${FIRST[ann]:-}" ] || printf 'IVF index: %s; recall@10 against the exact scan over 500 users: %s\n' "$ANN_DESC" "$ANN_RECALL"
[ "$ROUNDS" -gt 0 ] || exit 0
printf '\npgbench recommend(), k = 10, %s x %s s  p50 ms   p99 ms\n' "$ROUNDS" "$SECONDS_PER_RUN"
for c in 1 2; do
    read -r a b <<< "${PGB[private,$c]}"; read -r x y <<< "${PGB[shared,$c]}"
    printf '  %d client(s): per-backend cache    %8s %8s\n' "$c" "$a" "$b"
    printf '  %d client(s): shared store         %8s %8s\n' "$c" "$x" "$y"
done
