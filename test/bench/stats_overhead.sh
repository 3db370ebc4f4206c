#!/usr/bin/env bash
# Serving statistics: what counting costs, and whether the counts are right.
# Modes of one cluster, measured in the same run:
#   none  fashionrec not in shared_preload_libraries: nothing is counted
#   on    preloaded, counting (the default)
#   off   preloaded with fashionrec.track_serving = off: loaded the same way,
#         not counting -- on vs off isolates the recording itself
# Two workloads: the cheapest call there is (popularity over 100 items, the
# worst case for a fixed cost per call) and ALS, 64 factors, 20 000 items.
#
#   A. Cost per call inside one backend, in the backend's CPU time (Linux
#      /proc/<pid>/schedstat), the least of REPEATS runs per mode (the minimum
#      is what is left when nothing else disturbs the run): the fixed cost of
#      counting a call, from a million calls that do nothing else (predict()
#      with a NULL user) with counting on and off, set against the cost of a
#      recommend() call; and N recommend() calls in one statement per mode.
#   B. pgbench, recommend() with a random user per transaction, CLIENTS
#      clients, ROUNDS rounds of SECONDS_PER_RUN s per mode in alternating
#      order, the server restarted between preload settings; best and median
#      TPS per mode.
#   C. Counts and percentiles: one more counted pgbench run with every
#      statement's server-side duration logged (log_min_duration_statement =
#      0).  serving_stats' calls must equal the transactions pgbench reports;
#      its p50/p95/p99 (inside the function) are printed beside the server's
#      statement durations (the function plus the executor) and pgbench's own
#      per-transaction latencies (plus the round trip to the client).
#
#   bash test/bench/stats_overhead.sh   (REPEATS=7 CALLS=100000 ROUNDS=3 SECONDS_PER_RUN=8 CLIENTS=2)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

REPEATS=${REPEATS:-7}
CALLS=${CALLS:-100000}
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-8}
CLIENTS=${CLIENTS:-2}

fr_install_deps
fr_setup_paths
fr_build_install

fr_bench_cluster
q() { psql -qXAt -v ON_ERROR_STOP=1 -d bench "$@"; }

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
-- N calls in one statement: milliseconds of the backend's CPU time (Linux
-- schedstat: waiting for a busy machine's CPU does not count)
CREATE FUNCTION cpu_ns() RETURNS bigint LANGUAGE sql AS $$
    SELECT split_part(pg_read_file('/proc/' || pg_backend_pid() || '/schedstat'), ' ', 1)::bigint $$;
CREATE FUNCTION time_calls(model text, n integer) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 bigint := cpu_ns();
BEGIN
    PERFORM count(*) FROM generate_series(1, n) u, LATERAL fashionrec.recommend(model, u % 20000 + 1, 10) r;
    RETURN (cpu_ns() - t0) / 1e6;
END $$;
-- N calls that do nothing but be counted: predict() with a NULL user
CREATE FUNCTION time_empty(n integer) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 bigint := cpu_ns();
BEGIN
    PERFORM count(fashionrec.predict('tiny', NULL, 1)) FROM generate_series(1, n);
    RETURN (cpu_ns() - t0) / 1e6;
END $$;
SQL
q -c "SELECT name || ': ' || algorithm || ', ' || users || ' users, ' || items || ' items' FROM fashionrec.models"
label() { [ "$1" = tiny ] && echo "popularity, 100 items" || echo "ALS, 64 factors, 20000 items"; }
calls_for() { [ "$1" = tiny ] && echo "$CALLS" || echo $((CALLS / 20)); }

for w in tiny als; do
    printf '\\set u random(1, 20000)\nSELECT * FROM fashionrec.recommend(%s, :u, 10);\n' "'$w'" > "$TMP/$w.sql"
done
printf 'SELECT 1;\n' > "$TMP/select1.sql"

set_preload() {   # a list of libraries, comma separated, no quotes
    psql -qX -d postgres -c "ALTER SYSTEM SET shared_preload_libraries = $1" >/dev/null
    fr_as_owner pg_ctl -D "$TMP/data" -l "$TMP/server.log" -w -m fast restart >/dev/null
}
min() { tr ' ' '\n' | grep -v '^$' | sort -g | head -1; }
max() { tr ' ' '\n' | grep -v '^$' | sort -g | tail -1; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
pct() { awk -v p="$2" '{ v[NR] = $1 } END { i = int((NR * p + 99) / 100); if (i < 1) i = 1; printf "%.4f", v[i] }' "$1"; }
pctg() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / a * 100 }'; }   # b over a, in %

# ---- A. cost per call in one backend ---------------------------------------------
declare -A ms
# one session per mode setting, so that the model is loaded once and stays cached
time_mode() {   # preload-setting workload -> "ms_on ms_off" or "ms" repeated
    local w=$1 n; n=$(calls_for "$w")
    # the first run of a session grows its memory: a warm-up, not counted
    if [ "$2" = none ]; then
        { echo "SELECT 'warm', time_calls('$w', $n);"
          for _ in $(seq 1 "$REPEATS"); do echo "SELECT 'none', time_calls('$w', $n);"; done
        } | q -F ' ' | grep -E '^none '
    else
        { echo "SELECT 'warm', time_calls('$w', $n);"
          for r in $(seq 1 "$REPEATS"); do
              if [ $((r % 2)) -eq 1 ]; then order="on off"; else order="off on"; fi
              for m in $order; do
                  echo "SET fashionrec.track_serving = $m; SELECT '$m', time_calls('$w', $n);"
              done
          done; } | q -F ' ' | grep -E '^(on|off) '
    fi
}
set_preload 'pg_cron'
for w in tiny als; do
    while read -r mode t; do ms[$w.$mode]="${ms[$w.$mode]:-} $t"; done < <(time_mode "$w" none)
done
set_preload 'pg_cron, fashionrec'
for w in tiny als; do
    while read -r mode t; do ms[$w.$mode]="${ms[$w.$mode]:-} $t"; done < <(time_mode "$w" preloaded)
done
# the fixed cost of counting one call: a million calls that do nothing else
while read -r mode t; do ms[empty.$mode]="${ms[empty.$mode]:-} $t"; done < <(
    { echo "SELECT 'warm', time_empty(1000000);"
      for r in $(seq 1 "$REPEATS"); do
          if [ $((r % 2)) -eq 1 ]; then order="on off"; else order="off on"; fi
          for m in $order; do echo "SET fashionrec.track_serving = $m; SELECT '$m', time_empty(1000000);"; done
      done; } | q -F ' ' | grep -E '^(on|off) ')
record_ns=$(awk -v a="$(echo "${ms[empty.on]}" | min)" -v b="$(echo "${ms[empty.off]}" | min)" 'BEGIN { printf "%.0f", a - b }')   # ms per 10^6 calls = ns per call

printf '\n== A. backend CPU time per call, least of %s runs per mode\n' "$REPEATS"
printf 'counting one call (predict with a NULL user, on - off, 10^6 calls): %s ns (off %s ns, on %s ns per call)\n' \
    "$record_ns" "$(echo "${ms[empty.off]}" | min | awk '{ printf "%.0f", $1 }')" \
    "$(echo "${ms[empty.on]}" | min | awk '{ printf "%.0f", $1 }')"
printf '%-30s %9s %9s %9s %16s\n' "recommend(k = 10), us per call" none off on "counting / off"
worst_a=0
for w in tiny als; do
    n=$(calls_for "$w")
    none=$(echo "${ms[$w.none]}" | min); off=$(echo "${ms[$w.off]}" | min); on=$(echo "${ms[$w.on]}" | min)
    us() { awk -v t="$1" -v n="$n" 'BEGIN { printf "%.2f", t * 1000 / n }'; }
    share=$(awk -v ns="$record_ns" -v t="$off" -v n="$n" 'BEGIN { printf "%.2f", ns / 1000 / (t * 1000 / n) * 100 }')
    printf '%-30s %9s %9s %9s %15s%%\n' "$(label "$w")" "$(us "$none")" "$(us "$off")" "$(us "$on")" "$share"
    worst_a=$(awk -v a="$worst_a" -v b="$share" 'BEGIN { print (b > a ? b : a) }')
done
printf '(none/off/on side by side vary with the machine'"'"'s load; the counting cost is measured apart, above)\n'

# ---- B. pgbench -------------------------------------------------------------------------
declare -A tps
bench() {   # script seconds [pgoptions] -> "tps processed"; latencies (ms, sorted) in $TMP/lat.script
    local dir=$TMP/run.$1
    rm -rf "$dir"; mkdir -p "$dir"
    (cd "$dir" && PGOPTIONS="${3:-}" pgbench -n -c "$CLIENTS" -j "$CLIENTS" -T "$2" -M prepared -l \
                      -f "$TMP/$1.sql" bench > out.txt 2>&1)
    cat "$dir"/pgbench_log.* | awk '{ print $3 / 1000.0 }' | sort -g > "$TMP/lat.$1"
    printf '%s %s\n' "$(awk '/^tps/ { print $3; exit }' "$dir/out.txt")" \
        "$(awk -F': ' '/actually processed/ { split($2, a, "/"); print a[1] }' "$dir/out.txt")"
}
measure() {   # workload mode
    local opts="" t n
    [ "$2" = off ] && opts="-c fashionrec.track_serving=off"
    bench "$1" 1 "$opts" >/dev/null
    read -r t n < <(bench "$1" "$SECONDS_PER_RUN" "$opts")
    tps[$1.$2]="${tps[$1.$2]:-} $t"
}
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
printf '\n== B. pgbench, recommend(k = 10), %s clients, %s rounds of %s s per mode: TPS best (median)\n' \
    "$CLIENTS" "$ROUNDS" "$SECONDS_PER_RUN"
printf '%-30s %16s %16s %16s %11s\n' workload none off on "on vs none"
worst_b=0
for w in tiny als; do
    cell() { printf '%.0f (%.0f)' "$(echo "${tps[$w.$1]}" | max)" "$(echo "${tps[$w.$1]}" | median)"; }
    ov=$(awk -v a="$(echo "${tps[$w.none]}" | max)" -v b="$(echo "${tps[$w.on]}" | max)" 'BEGIN { printf "%.2f", (a - b) / a * 100 }')
    printf '%-30s %16s %16s %16s %10s%%\n' "$(label "$w")" "$(cell none)" "$(cell off)" "$(cell on)" "$ov"
    worst_b=$(awk -v a="$worst_b" -v b="$ov" 'BEGIN { print (b > a ? b : a) }')
done

# ---- C. counts and percentiles --------------------------------------------------------
printf '\n== C. counted runs: calls against pgbench, percentiles (ms) inside the function, at the server, at the client\n'
q -c "ALTER DATABASE bench SET log_min_duration_statement = 0" >/dev/null
bench select1 "$SECONDS_PER_RUN" >/dev/null
rt50=$(pct "$TMP/lat.select1" 50)
counts_ok=1 consistent=1
printf '%-6s %-32s %9s %9s %9s %9s\n' "" source p50 p95 p99 mean
for w in tiny als; do
    q -c "SELECT fashionrec.reset_serving_stats()" >/dev/null
    : > "$TMP/server.log.mark"; start_line=$(wc -l < "$TMP/server.log")
    read -r _ n < <(bench "$w" "$SECONDS_PER_RUN")
    tail -n +"$((start_line + 1))" "$TMP/server.log" | grep "execute P_0: SELECT \* FROM fashionrec.recommend('$w'" \
        | sed -n 's/.*duration: \([0-9.]*\) ms.*/\1/p' | sort -g > "$TMP/server.$w"
    read -r calls s50 s95 s99 smean < <(q -F ' ' -c "SELECT calls, round(p50_ms::numeric, 4), round(p95_ms::numeric, 4),
                                                     round(p99_ms::numeric, 4), round(mean_ms::numeric, 4)
                                                FROM fashionrec.serving_stats WHERE name = '$w' AND function = 'recommend'")
    [ "$calls" = "$n" ] || counts_ok=0
    v50=$(pct "$TMP/server.$w" 50); v95=$(pct "$TMP/server.$w" 95); v99=$(pct "$TMP/server.$w" 99)
    vmean=$(awk '{ s += $1 } END { printf "%.4f", s / NR }' "$TMP/server.$w")
    b50=$(pct "$TMP/lat.$w" 50); b95=$(pct "$TMP/lat.$w" 95); b99=$(pct "$TMP/lat.$w" 99)
    bmean=$(awk '{ s += $1 } END { printf "%.4f", s / NR }' "$TMP/lat.$w")
    printf '%-6s calls counted %s, pgbench processed %s, server logged %s\n' "$w" "$calls" "$n" "$(wc -l < "$TMP/server.$w")"
    printf '%-6s %-32s %9s %9s %9s %9s\n' "" "serving_stats (function)" "$s50" "$s95" "$s99" "$smean"
    printf '%-6s %-32s %9s %9s %9s %9s\n' "" "server log (statement)" "$v50" "$v95" "$v99" "$vmean"
    printf '%-6s %-32s %9s %9s %9s %9s\n' "" "pgbench log (client)" "$b50" "$b95" "$b99" "$bmean"
    # inside <= statement <= client, each percentile (a bucket is 9% wide:
    # allow half of it), and the function is most of the statement's median
    ok=$(awk -v s50="$s50" -v s95="$s95" -v s99="$s99" -v v50="$v50" -v v95="$v95" -v v99="$v99" \
             -v b50="$b50" -v b95="$b95" -v b99="$b99" \
         'BEGIN { print (s50 <= v50 * 1.05 && s95 <= v95 * 1.05 && s99 <= v99 * 1.05 &&
                         v50 <= b50 && v95 <= b95 && v99 <= b99 && v50 - s50 <= 0.05 + 0.1 * v50) ? 1 : 0 }')
    [ "$ok" = 1 ] || consistent=0
done
printf 'round trip of SELECT 1 through pgbench: p50 %s ms\n' "$rt50"
enabled=$(q -c "SELECT enabled FROM fashionrec.serving_stats_info()")

printf '\n== verdict\n'
printf 'statistics enabled when preloaded:              %s\n' "$enabled"
printf 'calls counted = transactions pgbench reports:   %s\n' "$([ $counts_ok = 1 ] && echo yes || echo NO)"
printf 'percentiles consistent with the server and pgbench: %s\n' "$([ $consistent = 1 ] && echo yes || echo NO)"
printf 'counting cost per call (A), worst %6s%% of a recommend() call, <= 5%%: %s\n' "$worst_a" \
    "$(awk -v w="$worst_a" 'BEGIN { print (w <= 5 ? "yes" : "NO") }')"
printf 'overhead in pgbench TPS (B), worst %6s%%, <= 5%%: %s\n' "$worst_b" \
    "$(awk -v w="$worst_b" 'BEGIN { print (w <= 5 ? "yes" : "NO (a busy machine: see the rounds)") }')"
