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

if [ "${1:-}" = stop ]; then
    fr_setup_paths
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
psql -qX -d postgres -c 'DROP DATABASE IF EXISTS fashionrec_demo' -c 'CREATE DATABASE fashionrec_demo' >/dev/null
fr_log "generating a shop and training models (a minute or two)"
psql -X -q -v ON_ERROR_STOP=1 -d fashionrec_demo -f test/demo.sql

cat <<MSG

== explore it yourself:
   psql -h $DEMO_DIR -p $PORT -U postgres fashionrec_demo
   e.g.  SELECT * FROM fashionrec.models;
         SELECT * FROM fashionrec.recommend('shop-als', 42, k => 5);
   stop the cluster with: make demo-stop
MSG
