#!/usr/bin/env bash
# make demo: a private cluster in .demo/, a synthetic shop, trained models and
# a short report.  make demo-stop stops the cluster.  Running it again reuses
# the cluster and rebuilds the demo database.
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh

# The cluster runs as the postgres OS user when we are root, and that user
# may not be able to reach the checkout (a clone under /root, or in a 0700
# folder from mktemp -d): then the cluster lives in a folder of its own,
# named after the checkout so that demo-stop and re-runs find it.
DEMO_DIR=$PWD/.demo
if [ "$(id -u)" -eq 0 ] && ! su postgres -s /bin/sh -c "test -x '$PWD'" 2>/dev/null; then
    DEMO_DIR=/var/tmp/fashionrec-demo-$(printf '%s' "$PWD" | md5sum | cut -c1-12)
fi

# The HTTP gateway (gateway/, optional): started after the demo database is
# built when Node.js 20+ and npm are here, stopped by demo-stop and before
# the database is rebuilt (its pool holds connections to it).
GW_PIDFILE=$DEMO_DIR/gateway.pid
gateway_stop() {
    if [ -f "$GW_PIDFILE" ]; then
        kill "$(cat "$GW_PIDFILE")" 2>/dev/null && echo "demo gateway stopped"
        rm -f "$GW_PIDFILE"
    fi
}
gateway_start() {
    if ! command -v node >/dev/null || ! command -v npm >/dev/null ||
       [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -lt 20 ]; then
        echo "== Node.js 20+ and npm are not installed: the HTTP gateway and dashboard are skipped (docs/http.md)"
        return 0
    fi
    fr_log "starting the HTTP gateway and dashboard (gateway/, npm ci)"
    (cd gateway && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1) ||
        { echo "== npm ci failed in gateway/: the HTTP gateway is skipped"; return 0; }
    psql -qX -v ON_ERROR_STOP=1 -d fashionrec_demo -f test/demo-gateway.sql >/dev/null || return 1
    local port secret
    port=$(fr_free_port 8480)
    secret=$(node -p 'require("crypto").randomBytes(32).toString("hex")')
    PGDATABASE=fashionrec_demo PGUSER=fashionrec_gateway FR_JWT_SECRET=$secret FR_GATEWAY_PORT=$port \
    FR_GATEWAY_CONFIG=$PWD/test/demo-gateway.json \
        nohup node gateway/bin/gateway.js >"$DEMO_DIR/gateway.log" 2>&1 </dev/null &
    echo $! > "$GW_PIDFILE"
    for _ in $(seq 100); do
        node -e "fetch('http://127.0.0.1:$port/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" && break
        sleep 0.2
    done
    GW_URL=http://127.0.0.1:$port
    GW_TOKEN=$(FR_JWT_SECRET=$secret node gateway/bin/mint-token.js fashionrec_trainer demo 604800)
}

if [ "${1:-}" = stop ]; then
    fr_setup_paths
    gateway_stop
    if [ -f "$DEMO_DIR/data/postmaster.pid" ]; then
        fr_stop_cluster "$DEMO_DIR" && echo "demo cluster stopped"
    else
        echo "demo cluster is not running"
    fi
    exit 0
fi

fr_install_deps
fr_setup_paths
fr_build_install

if [ "$(id -u)" -eq 0 ]; then
    mkdir -p "$DEMO_DIR" && chown postgres: "$DEMO_DIR"
fi
if [ -f "$DEMO_DIR/port" ]; then PORT=$(cat "$DEMO_DIR/port"); else PORT=$(fr_free_port 54990); fi
if [ -f "$DEMO_DIR/data/postmaster.pid" ] && fr_as_owner pg_ctl -D "$DEMO_DIR/data" status >/dev/null 2>&1; then
    fr_log "reusing the demo cluster on port $PORT"
else
    fr_log "starting the demo cluster in $DEMO_DIR on port $PORT"
    fr_start_cluster "$DEMO_DIR" "$PORT"
fi
echo "$PORT" > "$DEMO_DIR/port"

export PGHOST=$DEMO_DIR PGPORT=$PORT PGUSER=postgres
gateway_stop >/dev/null
psql -qX -d postgres -c 'DROP DATABASE IF EXISTS fashionrec_demo' -c 'CREATE DATABASE fashionrec_demo' >/dev/null
fr_log "generating a shop and training models (a minute or two)"
psql -X -q -v ON_ERROR_STOP=1 -d fashionrec_demo -f test/demo.sql
GW_URL=
gateway_start

cat <<MSG

== explore it yourself:
   psql -h $DEMO_DIR -p $PORT -U postgres fashionrec_demo
   e.g.  SELECT * FROM fashionrec.models;
         SELECT * FROM fashionrec.recommend('shop-als', 42, k => 5);
         SELECT * FROM fashionrec.dominant_colors((SELECT image FROM shop.products WHERE product_id = 1));
   every example in docs/ marked "runs on the demo database" runs here
   stop the cluster with: make demo-stop
MSG
if [ -n "$GW_URL" ]; then
    cat <<MSG
== the HTTP gateway (log: $DEMO_DIR/gateway.log), stopped by make demo-stop too:
   Swagger UI:  $GW_URL/docs
   dashboard:   $GW_URL/dashboard/#models&token=$GW_TOKEN
   a token (role fashionrec_trainer, valid 7 days):
     export TOKEN=$GW_TOKEN
     curl -H "Authorization: Bearer \$TOKEN" $GW_URL/recommendations/shop-als/42?k=5
MSG
fi
