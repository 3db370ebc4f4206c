#!/usr/bin/env bash
# Serving statistics: what counting costs, and whether the counts are right.
#
#   1. Overhead: recommend() under pgbench in three modes of one cluster, in
#      the same run: "none" (fashionrec not preloaded: no counting), "on"
#      (preloaded, counting) and "off" (preloaded, fashionrec.track_serving =
#      off: loaded the same way, not counting).  on vs none is the cost of
#      turning statistics on; on vs off isolates the recording itself.  The
#      server is restarted between preload settings, the order alternates over
#      ROUNDS rounds, and the median TPS of each mode is compared.  Two
#      workloads: the cheapest call there is (popularity over 100 items: the
#      worst case for a fixed cost) and ALS with 64 factors over 20 000 items.
#   2. Counts: after each counted run, serving_stats' calls must equal the
#      transactions pgbench reports.
#   3. Percentiles: serving_stats' p50/p95/p99 (time inside the function)
#      beside pgbench's own from its per-transaction log (time at the client,
#      which adds the round trip and the executor).  The round trip is measured
#      too, with SELECT 1 through the same pgbench.
#
#   bash test/bench/stats_overhead.sh      (ROUNDS=3 SECONDS_PER_RUN=8 CLIENTS=2)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-8}
CLIENTS=${CLIENTS:-2}

fr_install_deps
fr_setup_paths
fr_build_install

TMP=$(mktemp -d /tmp/fashionrec-bench.XXXXXX)
chmod 755 "$TMP"
PORT=$(fr_free_port $((57432 + RANDOM % 3000)))
trap 'fr_stop_cluster "$TMP"; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT
fr_start_cluster "$TMP" "$PORT"
export PGHOST=$TMP PGPORT=$PORT PGUSER=postgres
q() { psql -qXAt -v ON_ERROR_STOP=1 -d bench "$@"; }
psql -qX -d postgres -c 'CREATE DATABASE bench' >/dev/null

echo "== models"
q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION fashionrec;
CREATE TABLE tiny AS SELECT u, 1 + (u * 7 + j) % 100 AS i FROM generate_series(1, 1000) u, generate_series(1, 5) j;
SELECT fashionrec.train('tiny', 'popularity', 'tiny');
CREATE TABLE buys AS
SELECT (random() * 20000)::bigint + 1 AS u, least(20000, 1 + floor(20000 * power(random(), 3)))::bigint AS i
  FROM generate_series(1, 400000)
UNION ALL SELECT g, g FROM generate_series(1, 20000) g;
SELECT fashionrec.train('als', 'als', 'buys', '{"factors": 64, "iterations": 3}');
SQL
q -c "SELECT name || ': ' || algorithm || ', ' || users || ' users, ' || items || ' items' FROM fashionrec.models"

for w in tiny als; do
    printf '\\set u random(1, 20000)\nSELECT * FROM fashionrec.recommend(%s, :u, 10);\n' "'$w'" > "$TMP/$w.sql"
done
printf 'SELECT 1;\n' > "$TMP/select1.sql"

set_preload() {   # a list of libraries, comma separated, no quotes
    psql -qX -d postgres -c "ALTER SYSTEM SET shared_preload_libraries = $1" >/dev/null
    fr_as_owner pg_ctl -D "$TMP/data" -l "$TMP/server.log" -w -m fast restart >/dev/null
}

# bench SCRIPT SECONDS [PGOPTIONS] -> "tps processed", latency log in $TMP/lat.SCRIPT (ms, sorted)
bench() {
    local dir=$TMP/run.$1
    rm -rf "$dir"; mkdir -p "$dir"
    (cd "$dir" && PGOPTIONS="${3:-}" pgbench -n -c "$CLIENTS" -j "$CLIENTS" -T "$2" -M prepared -l \
                      -f "$TMP/$1.sql" bench > out.txt 2>&1)
    cat "$dir"/pgbench_log.* | awk '{ print $3 / 1000.0 }' | sort -g > "$TMP/lat.$1"
    printf '%s %s\n' "$(awk '/^tps/ { print $3; exit }' "$dir/out.txt")" \
        "$(awk -F': ' '/actually processed/ { split($2, a, "/"); print a[1] }' "$dir/out.txt")"
}
pct() { awk -v p="$2" '{ v[NR] = $1 } END { i = int((NR * p + 99) / 100); if (i < 1) i = 1; printf "%.4f", v[i] }' "$1"; }

# measure WORKLOAD MODE: one timed run, after a warm-up that loads the model in each backend
measure() {
    local w=$1 mode=$2 opts="" t n calls
    [ "$mode" = off ] && opts="-c fashionrec.track_serving=off"
    bench "$w" 2 "$opts" >/dev/null
    [ "$mode" != none ] && q -c "SELECT fashionrec.reset_serving_stats()" >/dev/null
    read -r t n < <(bench "$w" "$SECONDS_PER_RUN" "$opts")
    tps[$w.$mode]="${tps[$w.$mode]:-} $t"
    if [ "$mode" = on ]; then
        calls=$(q -c "SELECT calls FROM fashionrec.serving_stats WHERE name = '$w' AND function = 'recommend'")
        printf '  round %s %-4s counted: %s calls, pgbench processed %s\n' "$round" "$w" "$calls" "$n"
        [ "$calls" = "$n" ] || counts_ok=0
        stats[$w]=$(q -F ' ' -c "SELECT round(p50_ms::numeric, 4), round(p95_ms::numeric, 4), round(p99_ms::numeric, 4),
                                          round(mean_ms::numeric, 4)
                                     FROM fashionrec.serving_stats WHERE name = '$w' AND function = 'recommend'")
        cp "$TMP/lat.$w" "$TMP/lat.$w.on"
    fi
}

declare -A tps stats
counts_ok=1
for round in $(seq 1 "$ROUNDS"); do
    # alternate the order, so that a slow drift of the machine cancels
    if [ $((round % 2)) -eq 1 ]; then order="none preloaded"; else order="preloaded none"; fi
    for setting in $order; do
        if [ "$setting" = none ]; then
            set_preload 'pg_cron'
            for w in tiny als; do measure "$w" none; done
        else
            set_preload 'pg_cron, fashionrec'
            for w in tiny als; do
                if [ $((round % 2)) -eq 1 ]; then measure "$w" on; measure "$w" off
                else measure "$w" off; measure "$w" on; fi
            done
        fi
    done
done
bench select1 "$SECONDS_PER_RUN" >/dev/null
enabled=$(q -c "SELECT enabled FROM fashionrec.serving_stats_info()")

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
printf '\n== overhead: recommend(), k = 10, %s clients, %s s per run, %s rounds (TPS, median of rounds)\n' \
    "$CLIENTS" "$SECONDS_PER_RUN" "$ROUNDS"
printf '%-30s %11s %11s %11s %12s %12s\n' workload "none" "off" "on" "on vs none" "on vs off"
worst=0
for w in tiny als; do
    none=$(echo "${tps[$w.none]}" | median); off=$(echo "${tps[$w.off]}" | median); on=$(echo "${tps[$w.on]}" | median)
    ov_none=$(awk -v a="$none" -v b="$on" 'BEGIN { printf "%.2f", (a - b) / a * 100 }')
    ov_off=$(awk -v a="$off" -v b="$on" 'BEGIN { printf "%.2f", (a - b) / a * 100 }')
    label=$([ "$w" = tiny ] && echo "popularity, 100 items" || echo "ALS, 64 factors, 20000 items")
    printf '%-30s %11.0f %11.0f %11.0f %11s%% %11s%%\n' "$label" "$none" "$off" "$on" "$ov_none" "$ov_off"
    printf '  TPS per round: none%s; off%s; on%s\n' "${tps[$w.none]}" "${tps[$w.off]}" "${tps[$w.on]}"
    worst=$(awk -v a="$worst" -v b="$ov_none" -v c="$ov_off" 'BEGIN { m = a; if (b > m) m = b; if (c > m) m = c; print m }')
done

printf '\n== percentiles (ms): serving_stats (inside the function) vs pgbench (at the client), last counted run\n'
printf '%-8s %-10s %9s %9s %9s %9s\n' workload source p50 p95 p99 mean
rt50=$(pct "$TMP/lat.select1" 50)
consistent=1
for w in tiny als; do
    read -r s50 s95 s99 smean <<<"${stats[$w]}"
    b50=$(pct "$TMP/lat.$w.on" 50); b95=$(pct "$TMP/lat.$w.on" 95); b99=$(pct "$TMP/lat.$w.on" 99)
    bmean=$(awk '{ s += $1 } END { printf "%.4f", s / NR }' "$TMP/lat.$w.on")
    printf '%-8s %-10s %9s %9s %9s %9s\n' "$w" stats "$s50" "$s95" "$s99" "$smean"
    printf '%-8s %-10s %9s %9s %9s %9s\n' "" pgbench "$b50" "$b95" "$b99" "$bmean"
    printf '%-8s %-10s %9s\n' "" "difference" "$(awk -v a="$b50" -v b="$s50" 'BEGIN { printf "%.4f", a - b }')"
    # inside <= outside (a histogram bucket is 9% wide), and the median gap is
    # about one round trip of SELECT 1
    ok=$(awk -v s50="$s50" -v s95="$s95" -v s99="$s99" -v b50="$b50" -v b95="$b95" -v b99="$b99" -v rt="$rt50" \
         'BEGIN { print (s50 <= b50 * 1.05 && s95 <= b95 * 1.05 && s99 <= b99 * 1.05 &&
                         b50 - s50 <= 3 * rt + 0.05) ? 1 : 0 }')
    [ "$ok" = 1 ] || consistent=0
done
printf 'round trip of SELECT 1 through pgbench: p50 %s ms\n' "$rt50"

printf '\n== verdict\n'
printf 'statistics enabled when preloaded:            %s\n' "$enabled"
printf 'calls counted = transactions pgbench reports: %s\n' "$([ $counts_ok = 1 ] && echo yes || echo NO)"
printf 'percentiles consistent with pgbench:          %s\n' "$([ $consistent = 1 ] && echo yes || echo NO)"
printf 'worst overhead %s%% (target <= 5%%):           %s\n' "$worst" \
    "$(awk -v w="$worst" 'BEGIN { print (w <= 5 ? "yes" : "NO") }')"
