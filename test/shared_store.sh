#!/usr/bin/env bash
# The shared model store's limits, on a throwaway cluster of its own (its
# fashionrec.shared_cache_size is set at server start):
#   - under a small store, the least recently used version that no
#     transaction uses is evicted, and served again after one more load;
#   - a version larger than the store is served from the backend's memory
#     with a NOTICE, and remembered as too big;
#   - a load cancelled by statement_timeout leaves no half-built entry, and
#     the next call loads it; sessions that ask for a version at the same
#     moment share one load;
#   - a re-created extension (its model ids start over) is never served the old copies;
#   - a backend killed with -9 restarts the server, and the store starts empty;
#   - the per-call scratch of a large catalog does not stay in idle backends;
#   - a store size of 0, one beyond the machine, and a server that does not
#     preload fashionrec get a clear message and serve privately.
#
#   bash test/shared_store.sh
set -uo pipefail
cd "$(dirname "$0")/.."
unset PGHOST PGPORT
. test/lib.sh
fr_setup_paths

TMP=$(mktemp -d /tmp/fashionrec-store.XXXXXX)
chmod 755 "$TMP"
PORT=$(fr_free_port $((57000 + RANDOM % 4000))) || exit 1
trap 'fr_stop_cluster "$TMP"; rm -rf "$TMP"' EXIT
fr_log "shared model store: eviction, oversize, cancel, crash, settings"
fails=0 passes=0
check() {
    if [ "$1" = ok ]; then echo "ok - $2"; passes=$((passes + 1)); else echo "not ok - $2"; fails=$((fails + 1)); fi
}
q() { psql -qXAt -v ON_ERROR_STOP=1 -d fr_store "$@"; }
restart_with() {   # postgresql.conf lines for this cluster's store
    fr_stop_cluster "$TMP"
    sed -i '/^# store test$/,$d' "$TMP/data/postgresql.conf"
    printf '# store test\n%s\n' "$@" >> "$TMP/data/postgresql.conf"
    fr_start_cluster "$TMP" "$PORT" || exit 1
}

fr_start_cluster "$TMP" "$PORT" || exit 1
export PGHOST=$TMP PGPORT=$PORT PGUSER=postgres
restart_with "fashionrec.shared_cache_size = '8MB'"
psql -qX -d postgres -c "CREATE DATABASE fr_store" >/dev/null
# six small ALS models of about 1.7 MB, and one of about 31 MB
q >/dev/null <<'SQL' || { echo "not ok - setup failed"; exit 1; }
SET client_min_messages = warning;
CREATE EXTENSION fashionrec;
CREATE TABLE small AS SELECT (g % 3000) + 1 AS customer, ((g * 7919) % 3000) + 1 AS product
  FROM generate_series(1, 6000) g;
CREATE TABLE big AS SELECT (g % 60000) + 1 AS customer, ((g * 7919) % 60000) + 1 AS product
  FROM generate_series(1, 120000) g;
SELECT fashionrec.train('m' || i, 'als', 'small', '{"factors": 64, "iterations": 1}') FROM generate_series(1, 6) i;
SELECT fashionrec.train('big', 'als', 'big', '{"factors": 64, "iterations": 1}');
SQL

# ---- eviction: each call its own session, so nothing stays pinned ------------
for i in 1 2 3 4 5 6; do q -c "SELECT count(*) FROM fashionrec.recommend('m$i', 1, 5)" >/dev/null; done
in_store=$(q -c "SELECT string_agg(name, ',' ORDER BY name) FROM fashionrec.model_cache WHERE \"where\" = 'shared'")
total=$(q -c "SELECT sum(bytes) <= 8 * 1024 * 1024 FROM fashionrec.model_cache WHERE \"where\" = 'shared'")
[ "$total" = t ] && [[ "$in_store" != *m1* ]] && [[ "$in_store" == *m6* ]] &&
    check ok "an 8 MB store holds the most recent versions ($in_store), m1 was evicted" ||
    check no "eviction: store holds $in_store (within 8 MB: $total)"
q -c "SELECT count(*) FROM fashionrec.recommend('m1', 1, 5)" >/dev/null
loads=$(q -c "SELECT sum(shared_loads) FROM fashionrec.serving_stats WHERE name = 'm1'")
[ "$loads" = 2 ] && check ok "an evicted version is loaded again on its next call (loads: $loads)" ||
    check no "m1 loads after eviction: $loads"

# a version a transaction uses is never evicted from under it
out=$(q -c "BEGIN" -c "SELECT count(*) FROM fashionrec.recommend('m2', 1, 5)" \
        -c "SELECT count(*) FROM fashionrec.recommend('m3', 1, 5)" -c "SELECT count(*) FROM fashionrec.recommend('m4', 1, 5)" \
        -c "SELECT count(*) FROM fashionrec.recommend('m5', 1, 5)" -c "SELECT count(*) FROM fashionrec.recommend('m6', 1, 5)" \
        -c "SELECT string_agg(name, ',' ORDER BY name) FROM fashionrec.model_cache WHERE \"where\" = 'shared'" -c "COMMIT" 2>&1)
[[ "$(tail -1 <<< "$out")" == *m2* ]] && check ok "versions pinned by the open transaction stay: $(tail -1 <<< "$out")" ||
    check no "pinned versions: $out"

# ---- a version larger than the store --------------------------------------------
out=$(q -c "SELECT count(*) FROM fashionrec.recommend('big', 1, 5)" -c "SELECT \"where\" FROM fashionrec.model_cache WHERE name = 'big' ORDER BY 1" 2>&1)
grep -q 'NOTICE:  model "big" version 1 is served from this backend.s memory: its [0-9]* MB are more than fashionrec.shared_cache_size (8 MB)' <<< "$out" &&
    grep -q '^private$' <<< "$out" && grep -q '^too big$' <<< "$out" &&
    check ok "an oversize version is served privately with a NOTICE, and the store remembers it is too big" ||
    check no "oversize: $out"
out=$(q -c "SELECT count(*) FROM fashionrec.recommend('big', 1, 5)" 2>&1)
grep -q 'NOTICE:.*more than fashionrec.shared_cache_size' <<< "$out" && grep -q '^5$' <<< "$out" &&
    check ok "the next session loads it privately at once, with the NOTICE" || check no "oversize again: $out"

# ---- cancel during a load -----------------------------------------------------------
q -c "SELECT fashionrec.model_cache_drop('big')" >/dev/null
out=$(q -c "SET statement_timeout = '15ms'" -c "SELECT count(*) FROM fashionrec.recommend('big', 1, 5)" 2>&1)
left=$(q -c "SELECT count(*) FROM fashionrec.model_cache WHERE \"where\" = 'loading'")
after=$(q -c "SELECT count(*) FROM fashionrec.recommend('big', 1, 5)" 2>/dev/null)
grep -q "canceling statement due to statement timeout" <<< "$out" && [ "$left" = 0 ] && [ "$after" = 5 ] &&
    check ok "a load cancelled by statement_timeout leaves nothing loading; the next call loads and serves" ||
    check no "cancel: '$out', loading entries $left, next call $after"

# ---- sessions asking at once share one load --------------------------------------------
q -c "SELECT fashionrec.reset_serving_stats()" -c "SELECT fashionrec.model_cache_drop('m' || i) FROM generate_series(1, 6) i" >/dev/null
pids=()
for s in 1 2 3 4; do q -c "SELECT count(*) FROM fashionrec.recommend('m3', $s, 5)" >/dev/null & pids+=($!); done
wait "${pids[@]}"
read -r loads attaches < <(q -F ' ' -c "SELECT sum(shared_loads), sum(attaches) FROM fashionrec.serving_stats WHERE name = 'm3'")
[ "$loads" = 1 ] && [ "$attaches" = 3 ] && check ok "four sessions at once: one load, three attaches" ||
    check no "concurrent first calls: loads $loads, attaches $attaches"

# ---- DROP EXTENSION and CREATE again: the model ids start over ----------------------
# The store and each backend's cache name a version by fashionrec.model's oid with the
# row's id: the new m1..m6 (ids 1..6 again, over other items) must not be served the
# copies the old ones left, in this session nor in the next.
out=$(q 2>&1 <<'SQL'
SET client_min_messages = warning;
SELECT count(*) FROM fashionrec.recommend('m6', 1, 5);
DROP EXTENSION fashionrec;
CREATE EXTENSION fashionrec;
CREATE TABLE other AS SELECT (g % 50) + 1 AS customer, 5000 + (g * 7) % 20 AS product
  FROM generate_series(1, 1000) g;
SELECT count(fashionrec.train('m' || i, 'als', 'other', '{"factors": 8, "iterations": 1}'))
  FROM generate_series(1, 6) i;
SELECT 'same session', bool_and(item_id >= 5000), count(*) FROM fashionrec.recommend('m6', 1, 5);
SQL
)
next=$(q -F ' ' -c "SELECT bool_and(item_id >= 5000), count(*) FROM fashionrec.recommend('m6', 1, 5)" 2>&1)
ids=$(q -c "SELECT string_agg(id::text, ',' ORDER BY id) FROM fashionrec.model")
grep -q '^same session|t|5$' <<< "$out" && [ "$next" = "t 5" ] && [ "$ids" = "1,2,3,4,5,6" ] &&
    check ok "after DROP EXTENSION and CREATE EXTENSION, models that reuse ids 1-6 serve their own lists (same and next session)" ||
    check no "re-created extension: '$out', next session '$next', ids $ids"

# ---- a crash empties the store -------------------------------------------------------
PGAPPNAME=victim q -c "SELECT count(*) FROM fashionrec.recommend('m2', 1, 5)" -c "SELECT pg_sleep(30)" >/dev/null 2>&1 &
victim=$!
for _ in $(seq 1 50); do
    pid=$(q -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'victim' AND query LIKE '%pg_sleep%'")
    [ -n "$pid" ] && break
    sleep 0.1
done
kill -9 "$pid"
wait "$victim" 2>/dev/null
for _ in $(seq 1 120); do q -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.5; done
empty=$(q -c "SELECT count(*) FROM fashionrec.model_cache")
served=$(q -c "SELECT count(*) FROM fashionrec.recommend('m2', 1, 5)" -c "SELECT \"where\" FROM fashionrec.model_cache WHERE name = 'm2'" | tr '\n' ' ')
[ "$empty" = 0 ] && [ "$served" = "5 shared " ] &&
    check ok "after kill -9 of a backend the server restarts with an empty store, and serves again" ||
    check no "after the crash: $empty entries, then '$served'"

# ---- a large catalog's per-call scratch goes back when the transaction ends ------------
# 250,000 items: recommend() allocates 1.25 MB of scores and flags per call, which glibc
# would keep in the heap of every idle connection (model.c, trim_after_serving)
q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE TABLE wide AS SELECT (g % 5000) + 1 AS customer, g AS product FROM generate_series(1, 250000) g;
SELECT fashionrec.train('wide', 'popularity', 'wide');
SQL
cat > "$TMP/heap.sql" <<'SQL'
SELECT pg_backend_pid() AS pid \gset
\setenv FR_PID :pid
SELECT count(*) FROM fashionrec.recommend('wide', 1, 5);
\! awk '/^[0-9a-f]+-/ { h = ($6 == "[heap]") } /^Private_Dirty:/ && h { kb += $2 } END { print "heap", kb }' /proc/$FR_PID/smaps
SELECT count(*) FROM fashionrec.recommend('wide', 2, 5);
SELECT count(*) FROM fashionrec.recommend('wide', 3, 5);
\! awk '/^[0-9a-f]+-/ { h = ($6 == "[heap]") } /^Private_Dirty:/ && h { kb += $2 } END { print "heap", kb }' /proc/$FR_PID/smaps
SQL
grown=$(q -f "$TMP/heap.sql" | awk '/^heap/ { v[++n] = $2 } END { print v[2] - v[1] }')
[ -n "$grown" ] && [ "$grown" -lt 1024 ] &&
    check ok "two more calls over 250,000 items leave the backend's heap within 1 MB (+$grown kB; the scratch is 1.25 MB)" ||
    check no "the heap kept the scratch of 250,000 items: +$grown kB"

# ---- settings ------------------------------------------------------------------------------
restart_with "fashionrec.shared_cache_size = 0"
out=$(q -c "SELECT count(*) FROM fashionrec.recommend('m1', 1, 5)" -c "SELECT \"where\" FROM fashionrec.model_cache" 2>&1)
grep -q "fashionrec.shared_cache_size is 0: the shared model store is off" "$TMP/server.log" && [ "$(tail -1 <<< "$out")" = private ] &&
    check ok "shared_cache_size = 0 says the store is off in the log, and every backend loads privately" ||
    check no "size 0: $out"
out=$(q -c "SELECT fashionrec.model_cache_drop('m1')" 2>&1)
grep -q "ERROR:  the shared model store is off" <<< "$out" && check ok "model_cache_drop says the store is off" ||
    check no "drop with the store off: $out"

restart_with "fashionrec.shared_cache_size = '100TB'"
out=$(q -c "SELECT count(*) FROM fashionrec.recommend('m1', 1, 5)" -c "SELECT \"where\" FROM fashionrec.model_cache" 2>&1)
grep -q "WARNING:  fashionrec.shared_cache_size (104857600 MB) is more than" "$TMP/server.log" && [ "$(tail -1 <<< "$out")" = shared ] &&
    check ok "a store larger than the machine is limited with a WARNING in the log, and serves" ||
    check no "size beyond the machine: $out"

restart_with "shared_preload_libraries = 'pg_cron'"
out=$(q -c "SELECT count(*) FROM fashionrec.recommend('m1', 1, 5)" -c "SELECT \"where\" FROM fashionrec.model_cache" -c "SELECT fashionrec.model_cache_drop('m1')" 2>&1)
grep -q '^private$' <<< "$out" && grep -q "ERROR:  the shared model store is off" <<< "$out" &&
    grep -q "HINT:  Add fashionrec to shared_preload_libraries" <<< "$out" &&
    check ok "not preloaded: private copies, and the drop function says how to turn the store on" ||
    check no "not preloaded: $out"

echo "shared store: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
