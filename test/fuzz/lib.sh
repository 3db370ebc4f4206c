# Shared by the hardening scripts (test/fuzz/*.sh, test/concurrency.sh,
# test/crash.sh, test/timeouts.sh): run against the cluster named by
# PGHOST/PGPORT (make test's or the sanitizer suite's), or start a throwaway
# one when none is given, so each script also runs on its own.
# shellcheck shell=bash

. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
fr_setup_paths

# fr_hardening_cluster NAME: sets PGHOST/PGPORT/PGUSER and FR_SERVER_LOG (empty
# when the cluster is someone else's); registers the cleanup of its own cluster.
fr_hardening_cluster() {
    FR_SERVER_LOG=""
    if [ -n "${PGHOST:-}" ] && [ -n "${PGPORT:-}" ]; then
        export PGUSER=${PGUSER:-postgres}
        return 0
    fi
    FR_OWN_TMP=$(mktemp -d "/tmp/fashionrec-$1.XXXXXX")
    chmod 755 "$FR_OWN_TMP"
    local port
    port=$(fr_free_port $((56000 + RANDOM % 4000))) || return 1
    fr_start_cluster "$FR_OWN_TMP" "$port" || return 1
    export PGHOST=$FR_OWN_TMP PGPORT=$port PGUSER=postgres
    FR_SERVER_LOG=$FR_OWN_TMP/server.log
    trap 'fr_stop_cluster "$FR_OWN_TMP"; rm -rf "$FR_OWN_TMP"' EXIT
}

# fr_fresh_db NAME: drop and create a database with fashionrec installed.
fr_fresh_db() {
    psql -qX -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS \"$1\"" \
        -c "CREATE DATABASE \"$1\"" >/dev/null &&
    psql -qX -d "$1" -c "CREATE EXTENSION fashionrec" >/dev/null
}

# fr_wait_ready: after a crash the postmaster reinitialises; wait until it accepts connections.
fr_wait_ready() {
    local i
    for i in $(seq 1 120); do
        psql -qXAt -d postgres -c 'SELECT 1' >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    echo "server did not come back" >&2
    return 1
}
