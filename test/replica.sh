#!/usr/bin/env bash
# Serving from a streaming replica: a hot standby made with pg_basebackup from
# the test cluster (PGHOST/PGPORT, set by run-tests.sh) serves the same lists
# as the primary, serves a newly activated version once it has replayed the
# commit from its own shared model store (loaded once there), and refuses the
# functions that write, with 25006 and a hint.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
fr_setup_paths

db=fr_replica
STANDBY=$(mktemp -d /tmp/fashionrec-standby.XXXXXX)
[ "$(id -u)" -eq 0 ] && chown postgres: "$STANDBY"
SPORT=$(fr_free_port $((PGPORT + 1)))
cleanup() {
    fr_stop_cluster "$STANDBY"
    rm -rf "$STANDBY"
    psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
}
trap cleanup EXIT
fail() { echo "not ok - $*"; exit 1; }

psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
psql -qX -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION fashionrec;
CREATE TABLE buys AS SELECT (g % 97) AS customer, ((g * 7919) % 211) AS product FROM generate_series(1, 5000) g;
SELECT fashionrec.train('shop', 'itemknn', 'buys');
SQL

fr_as_owner pg_basebackup -h "$PGHOST" -p "$PGPORT" -U postgres -D "$STANDBY/data" -R -X stream --checkpoint=fast >/dev/null
fr_as_owner pg_ctl -D "$STANDBY/data" -l "$STANDBY/server.log" -w -t 60 \
    -o "-p $SPORT -k $STANDBY" start >/dev/null || { cat "$STANDBY/server.log"; fail "standby did not start"; }

# wait until the standby has replayed everything the primary has written
catch_up() {
    local lsn
    lsn=$(psql -qXAt -d "$db" -c "SELECT pg_current_wal_lsn()")
    for _ in $(seq 1 100); do
        [ "$(psql -qXAt -h "$STANDBY" -p "$SPORT" -d "$db" -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'" 2>/dev/null)" = t ] && return 0
        sleep 0.2
    done
    fail "standby did not catch up"
}
lists() {
    psql -qXAt "$@" -d "$db" -c "SELECT string_agg(r.item_id::text, ',' ORDER BY u, r.rank)
        FROM generate_series(1, 40) u, LATERAL fashionrec.recommend('shop', u, 5) r"
}
active() { psql -qXAt "$@" -d "$db" -c "SELECT version FROM fashionrec.models WHERE name = 'shop' AND active"; }

catch_up
[ "$(psql -qXAt -h "$STANDBY" -p "$SPORT" -d "$db" -c 'SELECT pg_is_in_recovery()')" = t ] || fail "not a standby"
p1=$(lists); s1=$(lists -h "$STANDBY" -p "$SPORT")
[ -n "$p1" ] && [ "$p1" = "$s1" ] || fail "standby lists differ from the primary's"
echo "ok - the standby serves the primary's lists (version $(active -h "$STANDBY" -p "$SPORT"))"

# a new version activated on the primary is served by the standby after replay
psql -qX -v ON_ERROR_STOP=1 -d "$db" -c "SET client_min_messages = warning" \
     -c "SELECT fashionrec.train('shop', 'ease', 'buys', activate => true)" >/dev/null
catch_up
p2=$(lists); s2=$(lists -h "$STANDBY" -p "$SPORT")
[ "$(active -h "$STANDBY" -p "$SPORT")" = 2 ] || fail "standby does not serve version 2"
[ "$p2" = "$s2" ] && [ "$p2" != "$p1" ] || fail "standby lists after activation differ from the primary's"
echo "ok - after replay the standby serves the newly activated version 2, the same lists as the primary"

# read-only helpers work there too
psql -qXAt -h "$STANDBY" -p "$SPORT" -d "$db" -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || fail "read-only functions failed on the standby"
SELECT count(*) FROM fashionrec.similar_items('shop', 1, 3);
SELECT count(*) FROM fashionrec.recommend_for_items('shop', ARRAY[1, 2]::bigint[], 3);
SELECT count(*) FROM fashionrec.recommend_all('shop', ARRAY[1, 2]::bigint[], 2);
SELECT fashionrec.predict('shop', 1, 1);
SQL
echo "ok - similar_items, recommend_for_items, recommend_all and predict work on the standby"

# the standby keeps its own model store: version 2 loaded once there, its other sessions attach
read -r where loads attaches < <(psql -qXAt -F ' ' -h "$STANDBY" -p "$SPORT" -d "$db" -c "
    SELECT (SELECT c.\"where\" FROM fashionrec.model_cache c WHERE c.name = 'shop' AND c.version = 2),
           sum(s.shared_loads), sum(s.attaches)
      FROM fashionrec.serving_stats s WHERE s.name = 'shop' AND s.version = 2")
[ "$where" = shared ] && [ "$loads" = 1 ] && [ "${attaches:-0}" -ge 1 ] ||
    fail "standby store: where '$where', loads '$loads', attaches '$attaches'"
echo "ok - the standby serves from its own shared model store: one load of version 2, $attaches attach(es)"

# writers refuse with 25006 and a hint
for call in "fashionrec.train('shop', 'popularity', 'buys')" "fashionrec.activate('shop', 1)" \
            "fashionrec.refresh_user('shop', 1)" "fashionrec.drop_model('shop')"; do
    out=$(psql -qXAt -h "$STANDBY" -p "$SPORT" -d "$db" -v VERBOSITY=verbose -c "SELECT $call" 2>&1 || true)
    grep -q "25006" <<< "$out" && grep -q "cannot run on a standby" <<< "$out" && grep -q "HINT" <<< "$out" \
        || fail "$call on the standby: $out"
done
echo "ok - train, activate, refresh_user and drop_model refuse on the standby with 25006 and a hint"
