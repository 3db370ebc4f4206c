#!/usr/bin/env bash
# Crash safety: kill -9 of the backend while it trains (at several moments, so
# the kill lands while reading the source, iterating and storing artifacts) and
# while it activates a version; after the postmaster's crash recovery the
# registry must be consistent — no row left 'training', no artifact without
# its model, at most one active version, every ready version servable, the
# active version the one last committed — and training again must work.
#
# Always on a throwaway cluster of its own: a killed backend makes the
# postmaster restart every connection.
#
#   bash test/crash.sh
set -uo pipefail
cd "$(dirname "$0")/.."
unset PGHOST PGPORT
. test/fuzz/lib.sh
fr_hardening_cluster crash || exit 1
fr_log "crash safety: kill -9 during training and activation"

DB=fr_crash
fails=0 passes=0 kills=0
check() {
    if [ "$1" = ok ]; then echo "ok - $2"; passes=$((passes + 1)); else echo "not ok - $2"; fails=$((fails + 1)); fi
}

fr_fresh_db "$DB" || exit 1
psql -qX -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || { echo "not ok - setup failed"; exit 1; }
SET client_min_messages = warning;
CREATE TABLE buys AS
SELECT (g % 2000) + 1 AS customer, ((g * 7919) % 3000) + 1 AS product
  FROM generate_series(1, 200000) g;
SELECT fashionrec.train('crash', 'popularity', 'buys');
SQL

# run SQL in the background under an application name; kill -9 its backend
# after DELAY seconds.  Sets LANDED=1 when the kill hit a running statement.
kill_backend_after() {
    local app=$1 delay=$2 sql=$3 pid="" rc
    PGAPPNAME=$app psql -qX -v ON_ERROR_STOP=1 -d "$DB" -c "SET client_min_messages = warning" -c "$sql" >/dev/null 2>&1 &
    local client=$!
    sleep "$delay"
    pid=$(psql -qXAt -d postgres -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$app'")
    [ -n "$pid" ] && kill -9 "$pid"
    wait "$client"; rc=$?
    LANDED=0
    if [ -n "$pid" ] && [ "$rc" -ne 0 ]; then LANDED=1; kills=$((kills + 1)); fi
    [ -n "$pid" ] && [ "$rc" -eq 0 ] && kills=$((kills + 1))    # killed between statement end and exit
    fr_wait_ready || exit 1
}

# the registry after recovery; "$1" is the version expected to be active
registry_consistent() {
    local expect=$1 got
    got=$(psql -qXAt -F ' ' -d "$DB" <<'SQL'
SELECT (SELECT count(*) FROM fashionrec.model WHERE status = 'training'),
       (SELECT count(*) FROM fashionrec.artifact a WHERE NOT EXISTS (SELECT FROM fashionrec.model m WHERE m.id = a.model_id)),
       (SELECT count(*) FROM fashionrec.model m WHERE m.status = 'ready'
           AND NOT EXISTS (SELECT FROM fashionrec.artifact a WHERE a.model_id = m.id)),
       (SELECT count(*) FROM fashionrec.model WHERE name = 'crash' AND active),
       (SELECT version FROM fashionrec.model WHERE name = 'crash' AND active),
       (SELECT count(*) FROM fashionrec.recommend('crash', 7, 5));
SQL
    )
    read -r training orphans empty actives active served <<<"$got"
    if [ "$training" = 0 ] && [ "$orphans" = 0 ] && [ "$empty" = 0 ] && [ "$actives" = 1 ] &&
       [ "$active" = "$expect" ] && [ "$served" = 5 ]; then
        return 0
    fi
    echo "# registry: training=$training orphan_artifacts=$orphans ready_without_artifacts=$empty actives=$actives active=$active served=$served (expected active $expect)"
    return 1
}

# every version that is ready must load and serve
all_versions_serve() {
    psql -qXAt -d "$DB" -c "SELECT bool_and(n = 5) FROM fashionrec.model m,
        LATERAL (SELECT count(*) AS n FROM fashionrec.recommend(m.name, 7, 5, version => m.version)) r
        WHERE m.status = 'ready'"
}
nversions() { psql -qXAt -d "$DB" -c "SELECT count(*) FROM fashionrec.model WHERE name = 'crash'"; }

fr_log "kill -9 during training"
# Each training is timed once, then killed at 15%, 50% and 85% of that time,
# so the kills land while reading, iterating and storing on any machine.
# EASE spends its last part writing a dense items x items matrix (36 MB).
landed=0
for spec in "als|{\"factors\": 64, \"iterations\": 60}" "ease|{}"; do
    algo=${spec%%|*} params=${spec#*|}
    sql="SELECT fashionrec.train('crash', '$algo', 'buys', '$params')"
    t0=$(date +%s.%N)
    psql -qX -d "$DB" -c "SET client_min_messages = warning" -c "$sql" >/dev/null || { check fail "$algo training"; continue; }
    took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
    echo "# $algo trains in ${took}s"
    for frac in 0.15 0.5 0.85; do
        delay=$(awk -v t="$took" -v f="$frac" 'BEGIN {printf "%.2f", t * f}')
        before=$(nversions)
        kill_backend_after fr_crash_train "$delay" "$sql"
        after=$(nversions)
        landed=$((landed + LANDED))
        if registry_consistent 1 && [ "$after" -eq $((before + 1 - LANDED)) ]; then
            check ok "$algo killed at ${frac} of its time ($([ $LANDED = 1 ] && echo 'while running' || echo 'it had finished')): no half model, version 1 still serves"
        else
            check fail "$algo killed at ${frac}: registry inconsistent (versions $before -> $after)"
        fi
    done
done
[ "$landed" -ge 4 ] && check ok "$landed of 6 kills landed during a training" ||
    check fail "only $landed of 6 kills landed during a training"

fr_log "kill -9 during activation"
v2=$(psql -qXAt -d "$DB" -c "SET client_min_messages = warning" -c "SELECT fashionrec.train('crash', 'popularity', 'SELECT customer, product FROM buys WHERE product % 2 = 0')")
kill_backend_after fr_crash_activate 1 \
    "BEGIN; SELECT fashionrec.activate('crash', $v2); SELECT pg_sleep(30); COMMIT;"
registry_consistent 1 && check ok "killed inside the activating transaction: version 1 stays active" ||
    check fail "registry inconsistent after a kill during activation"
kill_backend_after fr_crash_train_activate 1 \
    "BEGIN; SELECT fashionrec.train('crash', 'popularity', 'buys', activate => true); SELECT pg_sleep(30); COMMIT;"
registry_consistent 1 && check ok "killed after train(activate => true) but before commit: nothing of it visible" ||
    check fail "registry inconsistent after a kill before the commit of train(activate => true)"
kill_backend_after fr_crash_rollback 1 \
    "BEGIN; SELECT fashionrec.activate('crash', $v2); SELECT fashionrec.rollback('crash'); SELECT pg_sleep(30); COMMIT;"
registry_consistent 1 && check ok "killed inside activate + rollback(): history unchanged" ||
    check fail "registry inconsistent after a kill during rollback()"
hist=$(psql -qXAt -d "$DB" -c "SELECT count(*) FROM fashionrec.activation WHERE name = 'crash'")
[ "$hist" = 1 ] && check ok "activation history holds only the committed activation" ||
    check fail "activation history has $hist rows, expected 1"

fr_log "after $kills kills: training and activation work again"
max=$(psql -qXAt -d "$DB" -c "SELECT max(version) FROM fashionrec.model WHERE name = 'crash'")
v=$(psql -qXAt -d "$DB" -c "SET client_min_messages = warning" -c "SELECT fashionrec.train('crash', 'als', 'buys', '{\"factors\": 8, \"iterations\": 2}', activate => true)")
[ "$v" = $((max + 1)) ] && registry_consistent "$v" &&
    check ok "a new training after the crashes gets the next version ($v) and serves" ||
    check fail "training after the crashes: got version '$v' after $max"
[ "$(all_versions_serve)" = t ] && check ok "every ready version loads and serves" || check fail "a ready version does not serve"
psql -qX -d "$DB" -c "SELECT fashionrec.activate('crash', $v2)" >/dev/null &&
    registry_consistent "$v2" && check ok "activating version $v2 after the crashes works" ||
    check fail "activation after the crashes"

crashes=$(grep -c 'was terminated by signal 9' "$FR_SERVER_LOG")
others=$(grep -cE 'terminated by signal [^9]|exited with exit code [^01]|PANIC' "$FR_SERVER_LOG")
[ "$crashes" -eq "$kills" ] && [ "$others" -eq 0 ] &&
    check ok "the server log shows the $kills kills and no other crash" ||
    check fail "server log: $crashes kills seen of $kills, $others other crashes"

echo "crash: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
