#!/usr/bin/env bash
# Beyond one server, with PostgreSQL's own engines, on four clusters of its own:
# two shards, a coordinator whose partitioned table "events" has one
# postgres_fdw foreign table per shard as partitions, and a streaming replica
# of the coordinator.
#   - the aggregation of the training source is pushed down to each shard
#     (EXPLAIN VERBOSE shows GROUP BY in both remote queries);
#   - a model trained on the coordinator from the shards equals one trained
#     from the same rows held locally (same data checksum, same lists);
#   - the replica serves the coordinator's lists from its own shared store;
#   - batch scoring split by a user hash: the replica scores each share, the
#     coordinator gathers both shares through postgres_fdw (asynchronously)
#     in one INSERT, equal to recommend_all for everyone on the coordinator;
#   - a trainer reads the shards through its own user mapping only;
#   - a shard stopped while training reads it: a clear error with its
#     SQLSTATE and a hint, and no model row; a shard down: the same.
# Prints the training times from the two shards and from the local copy.
#
#   bash test/shards.sh          (FR_SHARDS_CUSTOMERS=N for another size)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
unset PGHOST PGPORT
. test/shards-lib.sh

CUSTOMERS=${FR_SHARDS_CUSTOMERS:-2000}
fr_log "sharded sources (postgres_fdw), a streaming replica, split batch scoring"
fails=0 passes=0
check() {
    if [ "$1" = 0 ]; then echo "ok - $2"; passes=$((passes + 1)); else echo "not ok - $2"; fails=$((fails + 1)); fi
    return "$1"
}
die() { echo "not ok - $*"; exit 1; }
qr() { psql -qXAt -v ON_ERROR_STOP=1 -h "$R" -p "$PR" -U postgres -d fr_shards "$@"; }
now() { date +%s.%N; }
# wait until the replica has replayed everything the coordinator has written
catch_up() {
    local lsn
    lsn=$(qc -c 'SELECT pg_current_wal_lsn()')
    for _ in $(seq 1 100); do
        [ "$(qr -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'" 2>/dev/null)" = t ] && return 0
        sleep 0.2
    done
    die "the replica did not catch up"
}

fr_shards_start shards || die "the clusters did not start"
# shard 2 also offers a slow view of its rows (1 ms a row), so that a training can be caught reading it
q2 >/dev/null <<'SQL' || die "shard 2 setup"
CREATE FUNCTION slow_qty(integer) RETURNS integer LANGUAGE sql AS 'SELECT $1 FROM pg_catalog.pg_sleep(0.001)';
CREATE VIEW events_p1_slow AS SELECT customer_id, product_id, slow_qty(qty) AS qty FROM events_p1;
SQL
fr_shards_load "$CUSTOMERS" 500 || die "loading the events"

n1=$(q1 -c 'SELECT count(*) FROM events_p0'); n2=$(q2 -c 'SELECT count(*) FROM events_p1')
nl=$(qc -c 'SELECT count(*) FROM events_local')
[ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] && [ $((n1 + n2)) = "$nl" ]
check $? "the partitioned table routed the $nl rows to the shards ($n1 + $n2)"

SRC_FDW='SELECT customer_id, product_id, sum(qty) FROM events GROUP BY 1, 2'
SRC_LOCAL='SELECT customer_id, product_id, sum(qty) FROM events_local GROUP BY 1, 2'
PARAMS='{"factors": 16, "iterations": 5, "seed": 7}'

# train() reads fashionrec.source_query(); its plan must aggregate on the shards
plan=$(qc -c "EXPLAIN (VERBOSE, COSTS OFF) $(qc -c "SELECT fashionrec.source_query('$SRC_FDW', '{}')")")
remote=$(grep -c 'Remote SQL: SELECT customer_id, product_id, sum(qty) FROM public.events_p[01] GROUP BY 1, 2' <<< "$plan")
[ "$remote" = 2 ] && ! grep -q 'Partial\|HashAggregate\|GroupAggregate' <<< "$plan" &&
    [ "$(grep -c 'Async Foreign Scan' <<< "$plan")" = 2 ]
check $? "the source's aggregation runs on both shards at once (2 async remote GROUP BY, no local aggregate)" ||
    echo "$plan"

train() {  # train NAME SOURCE: seconds
    local t0
    t0=$(now)
    qc -c "SET client_min_messages = warning" \
       -c "SELECT fashionrec.train('$1', 'als', '$2', '$PARAMS')" >/dev/null || return 1
    awk -v a="$(now)" -v b="$t0" 'BEGIN { printf "%.2f", a - b }'
}
t_fdw=$(train shop "$SRC_FDW") && t_local=$(train shop_local "$SRC_LOCAL")
check $? "trained from the two shards and from the local copy"
read -r same_data same_counts < <(qc -F ' ' -c "SELECT a.data ->> 'checksum' = b.data ->> 'checksum',
        (a.data ->> 'rows', a.data ->> 'users', a.data ->> 'items') = (b.data ->> 'rows', b.data ->> 'users', b.data ->> 'items')
   FROM fashionrec.model a, fashionrec.model b WHERE a.name = 'shop' AND b.name = 'shop_local'")
[ "$same_data" = t ] && [ "$same_counts" = t ]
check $? "the model from the shards has the local model's data checksum and counts"

lists() {  # lists MODEL [psql for another server]: every customer's top 5
    local model=$1; shift
    "${@:-qc}" -c "SELECT md5(string_agg(r.item_id::text, ',' ORDER BY c.id, r.rank))
        FROM customers c, LATERAL fashionrec.recommend('$model', c.id, 5) r"
}
l_fdw=$(lists shop); l_local=$(lists shop_local)
[ -n "$l_fdw" ] && [ "$l_fdw" = "$l_local" ]
check $? "the model from the shards recommends the same lists as the local one ($CUSTOMERS customers)"
echo "# training ALS (16 factors, 5 iterations) from $nl rows: two fdw shards ${t_fdw} s, the same rows local ${t_local} s; load: $(uptime | sed 's/.*average: //')"

# The source is read with the caller's rights: a trainer uses its own user
# mapping, never the extension owner's.
qt() { psql -qXAt -v ON_ERROR_STOP=1 -h "$C" -p "$PC" -U fr_shard_trainer -d fr_shards "$@"; }
qc -c "CREATE ROLE fr_shard_trainer LOGIN IN ROLE fashionrec_trainer" -c "GRANT SELECT ON events TO fr_shard_trainer" ||
    die "trainer role"
out=$(qt -v VERBOSITY=verbose -c "SELECT fashionrec.train('shop_trainer', 'als', '$SRC_FDW', '$PARAMS')" 2>&1)
grep -q 'ERROR:  42704: user mapping not found for "fr_shard_trainer"' <<< "$out" &&
    [ "$(qc -c "SELECT count(*) FROM fashionrec.model WHERE name = 'shop_trainer'")" = 0 ]
check $? "a trainer without a user mapping of its own cannot read the shards (42704), no model row" || echo "$out"
# the shards trust local connections, so the mapping waives the password postgres_fdw wants of non-superusers
qc >/dev/null <<'SQL' || die "trainer mappings"
CREATE USER MAPPING FOR fr_shard_trainer SERVER shard1 OPTIONS (user 'postgres', password_required 'false');
CREATE USER MAPPING FOR fr_shard_trainer SERVER shard2 OPTIONS (user 'postgres', password_required 'false');
SQL
qt -c "SET client_min_messages = warning" -c "SELECT fashionrec.train('shop_trainer', 'als', '$SRC_FDW', '$PARAMS')" >/dev/null &&
    [ "$(lists shop_trainer)" = "$l_fdw" ]
check $? "with its user mappings, a trainer trains from the shards (the same lists)"

# a streaming replica of the coordinator
qc >/dev/null <<'SQL' || die "share views"
CREATE VIEW recs_share_0 AS SELECT r.* FROM fashionrec.recommend_all('shop',
    ARRAY(SELECT c.id FROM public.customers c WHERE pg_catalog.abs(pg_catalog.hashint8(c.id) % 2) = 0), 5) r;
CREATE VIEW recs_share_1 AS SELECT r.* FROM fashionrec.recommend_all('shop',
    ARRAY(SELECT c.id FROM public.customers c WHERE pg_catalog.abs(pg_catalog.hashint8(c.id) % 2) = 1), 5) r;
SQL
mkdir -p "$R"
[ "$(id -u)" -eq 0 ] && chown postgres: "$R"
fr_as_owner pg_basebackup -h "$C" -p "$PC" -U postgres -D "$R/data" -R -X stream --checkpoint=fast >/dev/null ||
    die "pg_basebackup"
fr_as_owner pg_ctl -D "$R/data" -l "$R/server.log" -w -t 60 -o "-p $PR -k $R" start >/dev/null ||
    { cat "$R/server.log"; die "the replica did not start"; }
catch_up
[ "$(qr -c 'SELECT pg_is_in_recovery()')" = t ] || die "the replica is not a standby"

l_rep=$(lists shop qr)
where=$(qr -c "SELECT c.\"where\" FROM fashionrec.model_cache c WHERE c.name = 'shop'")
[ "$l_rep" = "$l_fdw" ] && [ "$where" = shared ]
check $? "the replica serves the coordinator's lists from its own shared store (where: '$where')"

# Split batch scoring: the replica scores each share (two connections, so
# both at once); the coordinator gathers them in one INSERT.
qc >/dev/null <<SQL || die "gathering setup"
$(fr_fdw_server replica_a "$R" "$PR" fr_shards ", async_capable 'true'")
$(fr_fdw_server replica_b "$R" "$PR" fr_shards ", async_capable 'true'")
CREATE FOREIGN TABLE share_0 (user_id bigint, item_id bigint, score real, rank integer)
    SERVER replica_a OPTIONS (table_name 'recs_share_0');
CREATE FOREIGN TABLE share_1 (user_id bigint, item_id bigint, score real, rank integer)
    SERVER replica_b OPTIONS (table_name 'recs_share_1');
CREATE TABLE recs (user_id bigint, item_id bigint, score real, rank integer);
SQL
gather='INSERT INTO recs SELECT * FROM share_0 UNION ALL SELECT * FROM share_1'
async=$(qc -c "EXPLAIN (COSTS OFF) $gather" | grep -c 'Async Foreign Scan')
qc -c "$gather" && read -r total missing extra < <(qc -F ' ' -c "
    WITH everyone AS (SELECT * FROM fashionrec.recommend_all('shop', ARRAY(SELECT id FROM customers), 5))
    SELECT (SELECT count(*) FROM recs),
           (SELECT count(*) FROM (SELECT user_id, item_id, rank FROM everyone EXCEPT SELECT user_id, item_id, rank FROM recs) x),
           (SELECT count(*) FROM (SELECT user_id, item_id, rank FROM recs EXCEPT SELECT user_id, item_id, rank FROM everyone) y)")
[ "$async" = 2 ] && [ "${total:-0}" -eq $((CUSTOMERS * 5)) ] && [ "$missing" = 0 ] && [ "$extra" = 0 ]
check $? "two shares scored on the replica, gathered asynchronously: $total rows, recommend_all's for everyone"
catch_up
out=$(qr -c "INSERT INTO share_0 VALUES (1, 1, 1, 1)" 2>&1)
grep -q 'read-only transaction' <<< "$out"
check $? "a replica cannot write its share through postgres_fdw (the coordinator pulls instead)"

# a shard that stops while training reads it, then a shard that is down
qc >/dev/null <<SQL || die "slow source setup"
$(fr_sharded_table events_slow events_p0 events_p1_slow ", fetch_size '100'")
SQL
out=$TMP/broken.out
qc -v VERBOSITY=verbose -c "SELECT fashionrec.train('shop_broken', 'als', 'events_slow', '$PARAMS')" >"$out" 2>&1 &
trainer=$!
reading=
for _ in $(seq 1 150); do
    reading=$(q2 -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'FETCH%'" 2>/dev/null)
    [ "${reading:-0}" -gt 0 ] && break
    sleep 0.1
done
progress=$(qc -c "SELECT phase FROM fashionrec.training_progress WHERE model = 'shop_broken'")
fr_stop_cluster "$S2"
wait "$trainer"
rc=$?
left=$(qc -c "SELECT count(*) FROM fashionrec.model WHERE name = 'shop_broken'")
running=$(qc -c "SELECT count(*) FROM fashionrec.training_progress")
[ "${reading:-0}" -gt 0 ] && [ -n "$progress" ] && [ $rc -ne 0 ] && grep -q 'ERROR:  08006' "$out" &&
    grep -q 'HINT:' "$out" && grep -q 'reading the training source' "$out" && [ "$left" = 0 ] && [ "$running" = 0 ] &&
    [ "$(lists shop)" = "$l_fdw" ]
check $? "a shard stopped while training read it (phase '$progress'): an error of class 08, no model row, the active model serves on" ||
    cat "$out"
grep -E '^(ERROR|HINT)|reading the training source' "$out" | sed 's/^/#   /'
out=$(qc -v VERBOSITY=verbose -c "SELECT fashionrec.train('shop_broken', 'als', '$SRC_FDW', '$PARAMS')" 2>&1)
left=$(qc -c "SELECT count(*) FROM fashionrec.model WHERE name = 'shop_broken'")
grep -q 'ERROR:  08001' <<< "$out" && grep -q 'HINT:' <<< "$out" && grep -q 'reading the training source' <<< "$out" && [ "$left" = 0 ]
check $? "a shard down: $(grep -m1 ERROR <<< "$out"), no model row" || echo "$out"
fr_start_cluster "$S2" "$P2" || die "shard 2 did not restart"
qc -c "SET client_min_messages = warning" -c "SELECT fashionrec.train('shop_broken', 'als', '$SRC_FDW', '$PARAMS')" >/dev/null &&
    [ "$(lists shop_broken)" = "$l_fdw" ]
check $? "with the shard back, training from the shards works again (the same lists)"

echo "shards: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
