#!/usr/bin/env bash
# recommend_all_into() with parallel workers, stopped mid-batch: by
# statement_timeout, by a cancel of the caller, and by a terminated parallel
# worker.  Each must fail with a clear error, leave the target table as it
# was, leave no worker behind and no crash; while it runs, the
# fashionrec.training_progress view shows it scoring users.  Then a full run
# fills the target.
#
#   bash test/batch.sh
# Runs against PGHOST/PGPORT when set, else on its own throwaway cluster.
set -uo pipefail
cd "$(dirname "$0")/.."
. test/fuzz/lib.sh
fr_hardening_cluster batch || exit 1
fr_log "recommend_all_into stopped mid-batch"

DB=fr_batch
FR_TMP_OUT=$(mktemp /tmp/fashionrec-batch-out.XXXXXX)
trap 'rm -f "$FR_TMP_OUT"' EXIT
fails=0 passes=0
check() {
    if [ "$1" = ok ]; then echo "ok - $2"; passes=$((passes + 1)); else echo "not ok - $2"; fails=$((fails + 1)); fi
}

fr_fresh_db "$DB" || exit 1
# a model whose batch takes many seconds: 40k users x 20k items x 128 factors
psql -qX -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || { echo "not ok - setup failed"; exit 1; }
SET client_min_messages = warning;
CREATE TABLE buys AS
SELECT u, 1 + (hashint8(u * 3 + j) & 2147483647) % 20000 AS i
  FROM generate_series(1, 40000) u, generate_series(1, 3) j
UNION ALL SELECT 1 + g % 40000, g FROM generate_series(1, 20000) g;
SELECT fashionrec.train('big', 'als', 'buys', '{"factors": 128, "iterations": 1}');
CREATE TABLE recs (user_id bigint, item_id bigint, score real, rank integer);
INSERT INTO recs VALUES (-1, -1, 0, 1);
SQL

BATCH="SELECT fashionrec.recommend_all_into('big', 'recs', 100, workers => 2)"
recs_as_before() {
    local n
    n=$(psql -qXAt -d "$DB" -c "SELECT count(*) FROM recs WHERE user_id = -1")/$(psql -qXAt -d "$DB" -c "SELECT count(*) FROM recs")
    [ "$n" = "1/1" ] && check ok "$1: the target holds its one row as before" ||
        check fail "$1: the target changed (rows with user -1 / all: $n)"
}
no_workers_left() {
    local n=0
    for _ in $(seq 50); do
        n=$(psql -qXAt -d "$DB" -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'parallel worker' AND datname = '$DB'")
        [ "$n" = 0 ] && break
        sleep 0.1
    done
    [ "$n" = 0 ] && check ok "$1: no parallel worker left" || check fail "$1: $n parallel workers left"
}
# wait until the batch's parallel workers run; echo the leader's pid
leader_pid() {
    local pid=""
    for _ in $(seq 200); do
        pid=$(psql -qXAt -d "$DB" -c "SELECT leader_pid FROM pg_stat_activity WHERE backend_type = 'parallel worker' AND datname = '$DB' LIMIT 1")
        [ -n "$pid" ] && break
        sleep 0.1
    done
    echo "$pid"
}

# 1. statement_timeout
out=$(psql -qX -d "$DB" -v VERBOSITY=sqlstate -c "SET client_min_messages = warning" \
           -c "SET statement_timeout = 2000" -c "$BATCH" 2>&1)
grep -q 'ERROR:  57014' <<<"$out" && check ok "statement_timeout cancels the batch (57014)" ||
    check fail "statement_timeout: $(head -c 300 <<<"$out")"
recs_as_before "statement_timeout"
no_workers_left "statement_timeout"

# 2. a cancel of the caller, after the view showed it scoring
psql -qX -d "$DB" -v VERBOSITY=sqlstate -c "SET client_min_messages = warning" -c "$BATCH" > "$FR_TMP_OUT" 2>&1 &
client=$!
pid=$(leader_pid)
progress=""
for _ in $(seq 50); do
    progress=$(psql -qXAt -d "$DB" -c "SELECT phase || ' ' || steps FROM fashionrec.training_progress WHERE pid = ${pid:-0} AND model = 'big'")
    [ -n "$progress" ] && break
    sleep 0.1
done
[ "$progress" = "scoring users 40000" ] && check ok "training_progress shows the batch: $progress" ||
    check fail "training_progress of the leader ${pid:-?}: '${progress}'"
psql -qXAt -d "$DB" -c "SELECT pg_cancel_backend(${pid:-0})" >/dev/null
wait "$client"
grep -q 'ERROR:  57014' "$FR_TMP_OUT" && check ok "a cancel stops the batch (57014)" ||
    check fail "cancel: $(head -c 300 "$FR_TMP_OUT")"
recs_as_before "cancel"
no_workers_left "cancel"

# 3. a parallel worker terminated mid-batch: the caller's statement fails
psql -qX -d "$DB" -c "SET client_min_messages = warning" -c "$BATCH" > "$FR_TMP_OUT" 2>&1 &
client=$!
pid=$(leader_pid)
psql -qXAt -d "$DB" -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'parallel worker' AND leader_pid = ${pid:-0} LIMIT 1" >/dev/null
wait "$client"
grep -q 'ERROR:  terminating background worker "parallel worker" due to administrator command' "$FR_TMP_OUT" &&
    check ok "a terminated worker fails the batch: $(grep -m1 ERROR "$FR_TMP_OUT")" ||
    check fail "terminated worker: $(head -c 300 "$FR_TMP_OUT")"
recs_as_before "terminated worker"
no_workers_left "terminated worker"

# 4. the server is up, and an uninterrupted batch fills the target
out=$(psql -qXAt -d "$DB" -c "SET client_min_messages = warning" -c "$BATCH" 2>&1)
n=$(psql -qXAt -d "$DB" -c "SELECT count(*) FROM recs WHERE user_id > 0")
[ "$out" = 4000000 ] && [ "$n" = 4000000 ] && check ok "an uninterrupted batch inserts 40000 x 100 rows" ||
    check fail "uninterrupted batch: returned '$out', $n rows"

psql -qX -d postgres -c "DROP DATABASE $DB" >/dev/null 2>&1
echo "batch: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
