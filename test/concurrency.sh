#!/usr/bin/env bash
# Concurrency: pgbench with 8 clients serving recommend() while another
# session trains and activates new versions of the same model in a loop, some
# of them in transactions that roll back.
#
# Every version is trained on item ids shifted by a round number (round r uses
# ids r * 1000 + item), so an answer tells which training it came from.  The
# test passes when
#   - no pgbench transaction fails and no retraining fails (no deadlock),
#   - every answer comes from one training round whose transaction committed
#     (never a rolled-back round, never a mix of two rounds),
#   - two sessions training one name at the same moment get distinct versions.
#
#   bash test/concurrency.sh                 # CI: 20 seconds
#   FR_CONC_SECONDS=300 FR_CONC_CLIENTS=16 bash test/concurrency.sh
set -uo pipefail
cd "$(dirname "$0")/.."
. test/fuzz/lib.sh
fr_hardening_cluster conc || exit 1
fr_log "concurrency: pgbench serving while retraining"

SECONDS_RUN=${FR_CONC_SECONDS:-20}
CLIENTS=${FR_CONC_CLIENTS:-8}
DB=fr_concurrency
WORK=$(mktemp -d /tmp/fashionrec-conc.XXXXXX)
chmod 755 "$WORK"
trap 'rm -rf "$WORK"; [ -n "${FR_OWN_TMP:-}" ] && { fr_stop_cluster "$FR_OWN_TMP"; rm -rf "$FR_OWN_TMP"; }' EXIT
fails=0 passes=0
check() {
    if [ "$1" = ok ]; then echo "ok - $2"; passes=$((passes + 1)); else echo "not ok - $2"; fails=$((fails + 1)); fi
}

fr_fresh_db "$DB" || exit 1
psql -qX -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || { echo "not ok - setup failed"; exit 1; }
SET client_min_messages = warning;
CREATE TABLE buys AS
SELECT (g % 200) + 1 AS customer, ((g * 7919) % 300) + 1 AS product
  FROM generate_series(1, 20000) g;
-- which rounds committed: written in the retraining transaction itself
CREATE TABLE rounds (round integer PRIMARY KEY, version integer NOT NULL);
CREATE UNLOGGED TABLE answers (user_id bigint, items bigint[]);
SELECT fashionrec.train('conc', 'itemknn', 'SELECT customer, product FROM buys');
INSERT INTO rounds VALUES (0, 1);
SQL

cat >"$WORK/serve.sql" <<'SQL'
\set uid random(1, 200)
INSERT INTO answers SELECT :uid, array_agg(item_id ORDER BY rank) FROM fashionrec.recommend('conc', :uid, 5);
SQL

# the retrainer: rounds 1, 2, ...; every third one rolls back; every fifth rolls the activation back
cat >"$WORK/retrain.sh" <<'SH'
deadline=$(( $(date +%s) + $1 ))
round=0 errors=0 committed=0 rolledback=0 rollbacks=0
while [ "$(date +%s)" -lt "$deadline" ]; do
    round=$((round + 1))
    if [ $((round % 3)) -eq 0 ]; then end=ROLLBACK; else end=COMMIT; fi
    out=$(psql -qXAt -v ON_ERROR_STOP=1 -d "$2" 2>&1 <<SQL
SET client_min_messages = warning;
BEGIN;
INSERT INTO rounds SELECT $round, fashionrec.train('conc', 'itemknn',
    'SELECT customer, product + $round * 1000 FROM buys', activate => true);
SELECT pg_sleep(0.05);
$end;
SQL
    ) || { errors=$((errors + 1)); echo "retrain error: $out" >&2; }
    [ "$end" = COMMIT ] && committed=$((committed + 1)) || rolledback=$((rolledback + 1))
    if [ $((round % 5)) -eq 0 ]; then
        if psql -qXAt -v ON_ERROR_STOP=1 -d "$2" -c "SELECT fashionrec.rollback('conc')" >/dev/null 2>&1; then
            rollbacks=$((rollbacks + 1))
        else
            errors=$((errors + 1)); echo "rollback() error" >&2
        fi
    fi
done
echo "$round $committed $rolledback $errors $rollbacks"
SH

bash "$WORK/retrain.sh" "$SECONDS_RUN" "$DB" >"$WORK/retrain.out" 2>"$WORK/retrain.err" &
retrainer=$!
pgbench -n -c "$CLIENTS" -j 2 -T "$SECONDS_RUN" -f "$WORK/serve.sql" -d "$DB" >"$WORK/pgbench.out" 2>&1
bench_rc=$?
wait "$retrainer"
read -r rounds committed rolledback retrain_errors rollbacks <"$WORK/retrain.out"

served=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$WORK/pgbench.out")
failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$WORK/pgbench.out")
tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$WORK/pgbench.out" | tail -n 1)
echo "pgbench: $CLIENTS clients for ${SECONDS_RUN}s: ${served:-0} calls served (${tps:-?} tps), ${failed:-?} failed, exit status $bench_rc"
echo "retrainer: $rounds trainings ($committed committed, $rolledback rolled back), $rollbacks rollback() calls, $retrain_errors errors"
if [ "$bench_rc" -eq 0 ] && [ "${failed:-0}" -eq 0 ] && [ "${served:-0}" -gt 0 ]; then
    check ok "every recommend() call succeeded while versions changed"
else
    check fail "pgbench reported errors"; grep -iE 'error|abort' "$WORK/pgbench.out" | head
fi
if [ "${retrain_errors:-1}" -eq 0 ] && [ "${rounds:-0}" -gt 1 ]; then
    check ok "every retraining and activation succeeded (no deadlock, no lock timeout)"
else
    check fail "retraining errors"; head "$WORK/retrain.err"
fi

# every answer: all items from one round (item div 1000), and that round committed
verdict=$(psql -qXAt -d "$DB" <<'SQL'
WITH a AS (
    SELECT user_id, items,
           (SELECT array_agg(DISTINCT i / 1000) FROM unnest(items) i) AS rounds_seen
      FROM answers)
SELECT count(*) AS answers,
       count(*) FILTER (WHERE cardinality(rounds_seen) > 1) AS mixed,
       count(*) FILTER (WHERE cardinality(rounds_seen) = 1
                          AND NOT EXISTS (SELECT FROM rounds r WHERE r.round = rounds_seen[1])) AS uncommitted,
       count(*) FILTER (WHERE items IS NULL) AS empty,
       count(DISTINCT rounds_seen[1]) AS distinct_rounds
  FROM a;
SQL
)
IFS='|' read -r answers mixed uncommitted empty distinct_rounds <<<"$verdict"
echo "answers: $answers logged, from $distinct_rounds distinct committed rounds; $mixed mixed, $uncommitted from rolled-back rounds, $empty empty"
if [ "${answers:-0}" -gt 0 ] && [ "$mixed" -eq 0 ] && [ "$uncommitted" -eq 0 ] && [ "$empty" -eq 0 ]; then
    check ok "every answer came from exactly one committed version"
else
    check fail "answers from uncommitted or mixed versions"
fi
[ "${distinct_rounds:-0}" -gt 1 ] && check ok "serving followed the activations ($distinct_rounds versions served)" ||
    check fail "serving never saw a new version"

# two sessions train one name at the same moment: the second waits on the
# first's advisory lock and takes the next version
psql -qX -d "$DB" -c "SELECT fashionrec.drop_model('twin')" >/dev/null 2>&1
for s in 1 2; do
    psql -qXAt -d "$DB" -c "BEGIN" -c "SET client_min_messages = warning" \
        -c "SELECT fashionrec.train('twin', 'popularity', 'buys')" -c "SELECT pg_sleep(1)" -c "COMMIT" \
        >"$WORK/twin$s.out" 2>&1 &
done
wait
twins=$(psql -qXAt -d "$DB" -c "SELECT string_agg(version || ':' || status, ' ' ORDER BY version) FROM fashionrec.model WHERE name = 'twin'")
if [ "$twins" = "1:ready 2:ready" ] && ! grep -q ERROR "$WORK"/twin?.out; then
    check ok "two concurrent trainings of one name got versions 1 and 2"
else
    check fail "concurrent trainings of one name: $twins"; cat "$WORK"/twin?.out
fi
if [ -n "$FR_SERVER_LOG" ]; then
    n=$(grep -c 'deadlock detected' "$FR_SERVER_LOG")
    [ "$n" -eq 0 ] && check ok "no deadlock in the server log" || check fail "$n deadlocks in the server log"
fi

psql -qX -d postgres -c "DROP DATABASE $DB" >/dev/null 2>&1
echo "concurrency: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
