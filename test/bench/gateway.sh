#!/usr/bin/env bash
# The HTTP gateway's cost: GET /recommendations/{model}/{user}?k=10 through
# the gateway (autocannon) against the same call through pgbench (prepared
# statements, Unix socket), at the same concurrency, on an ALS model over
# ITEMS items.  Both ask for a random user per request.  Reported: each
# side's throughput and p50/p99, the gateway's added p50 latency and its
# throughput as a share of pgbench's -- for both role modes of the gateway
# (FR_GATEWAY_ROLE_MODE transaction, the default, and session).  Everything (server, gateway, load
# generators) shares the machine, as it would on a 2-core host.  The two
# sides alternate for ROUNDS rounds and each side's best round (highest
# throughput) is reported, so that other work on a shared machine hurts both
# alike rather than whichever side it happened to meet.
#
#   bash test/bench/gateway.sh       (ITEMS=100000 USERS=50000 SECONDS_PER_RUN=10 ROUNDS=3 CLIENTS="1 2 4")
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

ITEMS=${ITEMS:-100000}
USERS=${USERS:-50000}
EVENTS=${EVENTS:-2000000}
FACTORS=${FACTORS:-64}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
ROUNDS=${ROUNDS:-3}
CLIENTS=${CLIENTS:-1 2 4}

command -v node >/dev/null || { echo "node is not installed: the gateway benchmark needs Node.js 20"; exit 1; }
fr_install_deps
fr_setup_paths
fr_build_install
(cd gateway && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

fr_bench_cluster

echo "== model: ALS $FACTORS factors over $ITEMS items, $USERS users, $EVENTS events"
psql -qX -v ON_ERROR_STOP=1 -d bench <<SQL
SET client_min_messages = warning;
CREATE EXTENSION fashionrec;
SET fashionrec.max_memory = '4GB';
CREATE TABLE buys AS
SELECT (random() * $USERS)::bigint + 1 AS u,
       least($ITEMS, 1 + floor($ITEMS * power(random(), 3)))::bigint AS i
  FROM generate_series(1, $EVENTS)
UNION ALL SELECT (g % $USERS) + 1, g FROM generate_series(1, $ITEMS) g;
SELECT fashionrec.train('bench', 'als', 'buys', '{"factors": $FACTORS, "iterations": 3}') IS NOT NULL;
SELECT items, interactions, seconds FROM fashionrec.models WHERE name = 'bench';
CREATE ROLE fashionrec_gateway LOGIN NOINHERIT;
GRANT fashionrec_app, fashionrec_reader, fashionrec_trainer TO fashionrec_gateway;
SQL

cat > "$TMP/rec.sql" <<SQL
\set u random(1, $USERS)
SELECT * FROM fashionrec.recommend('bench', :u, 10);
SQL

pgbench_run() {   # clients -> "tps p50 p99"
    local log=$TMP/pgb.$1
    rm -rf "$log"; mkdir -p "$log"
    (cd "$log" && pgbench -n -c "$1" -j "$1" -T "$SECONDS_PER_RUN" -M prepared -l -f "$TMP/rec.sql" bench > out.txt 2>&1)
    local tps n
    tps=$(awk '/^tps/ { print $3; exit }' "$log/out.txt")
    cat "$log"/pgbench_log.* | awk '{ print $3 / 1000.0 }' | sort -n > "$log/lat"
    n=$(wc -l < "$log/lat")
    printf '%s %s %s\n' "$tps" "$(sed -n "$(( (n + 1) / 2 ))p" "$log/lat")" "$(sed -n "$(( (n * 99 + 99) / 100 ))p" "$log/lat")"
}

SECRET=$(node -p 'require("crypto").randomBytes(32).toString("hex")')
TOKEN=$(FR_JWT_SECRET=$SECRET node gateway/bin/mint-token.js fashionrec_app bench 86400)
gateway_start() {   # clients mode: a gateway with a pool of that many connections, warmed; sets GW_PORT, GW_PID
    GW_PORT=$(fr_free_port $((18600 + RANDOM % 1000)))
    PGDATABASE=bench PGUSER=fashionrec_gateway FR_JWT_SECRET=$SECRET FR_GATEWAY_PORT=$GW_PORT FR_GATEWAY_POOL=$1 \
    FR_GATEWAY_RATE_MAX=0 FR_GATEWAY_ROLE_MODE=$2 node gateway/bin/gateway.js > "$TMP/gateway.$1.$2.log" 2>&1 &
    GW_PID=$!
    for _ in $(seq 100); do
        node -e "fetch('http://127.0.0.1:$GW_PORT/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" && break
        sleep 0.2
    done
    # every pooled connection loads the model once before measuring
    node gateway/test/bench-http.js "http://127.0.0.1:$GW_PORT" "$TOKEN" bench "$USERS" "$1" 2 >/dev/null
}
gateway_run() {   # port clients -> "rps p50 p99 errors"
    node gateway/test/bench-http.js "http://127.0.0.1:$1" "$TOKEN" bench "$USERS" "$2" "$SECONDS_PER_RUN"
}
best() { sort -k1,1 -g -r | head -1; }   # the round with the highest throughput

# warm pgbench's backends' caches the same way
pgbench -n -c 4 -j 4 -T 2 -M prepared -f "$TMP/rec.sql" bench >/dev/null 2>&1

row() {   # label clients pgbench-rounds gateway-rounds
    read -r tps pp50 pp99 < <(best < "$3")
    read -r rps gp50 gp99 errs < <(best < "$4")
    awk -v l="$1" -v c="$2" -v tps="$tps" -v pp50="$pp50" -v pp99="$pp99" -v rps="$rps" -v gp50="$gp50" -v gp99="$gp99" -v e="$errs" 'BEGIN {
        printf "%-7s %-11s | %9.0f %8.3f %8.3f | %9.0f %8.3f %8.3f %6d | %12.3f %9.0f%%\n", c, l, tps, pp50, pp99, rps, gp50, gp99, e, gp50 - pp50, 100 * rps / tps }'
}
printf '\n%-7s %-11s | %9s %8s %8s | %9s %8s %8s %6s | %12s %10s\n' clients "role mode" "pgbench/s" "p50 ms" "p99 ms" "gateway/s" "p50 ms" "p99 ms" errors "added p50 ms" "share"
for c in $CLIENTS; do
    gateway_start "$c" transaction; TX_PORT=$GW_PORT; TX_PID=$GW_PID
    gateway_start "$c" session; SE_PORT=$GW_PORT; SE_PID=$GW_PID
    : > "$TMP/pgb.rounds"; : > "$TMP/tx.rounds"; : > "$TMP/se.rounds"
    for _ in $(seq "$ROUNDS"); do
        pgbench_run "$c" >> "$TMP/pgb.rounds"
        gateway_run "$TX_PORT" "$c" >> "$TMP/tx.rounds"
        gateway_run "$SE_PORT" "$c" >> "$TMP/se.rounds"
    done
    kill "$TX_PID" "$SE_PID"; wait "$TX_PID" "$SE_PID" 2>/dev/null || true
    row transaction "$c" "$TMP/pgb.rounds" "$TMP/tx.rounds"
    row session "$c" "$TMP/pgb.rounds" "$TMP/se.rounds"
done
echo
echo "(best of $ROUNDS alternating rounds of $SECONDS_PER_RUN s per side; gateway: node $(node --version), pool = clients,"
echo " rate limits off, JSON request log at info level to a file;"
echo " role mode transaction: BEGIN + SET LOCAL ROLE, the prepared recommend() call, COMMIT -- three round trips;"
echo " session: SET ROLE kept per connection, the call alone -- one round trip)"
