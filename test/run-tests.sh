#!/usr/bin/env bash
# make test: build, install, and run every suite on a throwaway cluster.
#   pg_regress  sql/*.sql against expected/*.out
#   pg_prove    test/pgtap/*.sql (pgTAP)
#   prove       test/unit/*.t (kernels without a server)
# FR_REGRESS="als ease" runs only those regression files (and skips the rest).
set -uo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh

FR_EXTRA_PACKAGES="$FR_TEST_PACKAGES ${FR_EXTRA_PACKAGES:-}" fr_install_deps || exit 1
fr_setup_paths
fr_build_install || { echo "build failed" >&2; exit 1; }

TMP=$(mktemp -d /tmp/fashionrec-test.XXXXXX)
[ "$(id -u)" -eq 0 ] && chmod 755 "$TMP"
PORT=$(fr_free_port $((55432 + RANDOM % 5000)))
cleanup() { fr_stop_cluster "$TMP"; rm -rf "$TMP"; }
trap cleanup EXIT

fr_log "starting a throwaway cluster in $TMP on port $PORT"
fr_start_cluster "$TMP" "$PORT" || exit 1
export PGHOST=$TMP PGPORT=$PORT PGUSER=postgres

passed=0 failed=0
suite() { if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi; }

run_regress() {
    local tests=${FR_REGRESS:-}
    fr_log "pg_regress"
    # each run writes its own output directory, so runs may overlap;
    # the results are copied to ./results afterwards for reading
    local out=$TMP/regress opts="--inputdir=. --load-extension=fashionrec --outputdir=$TMP/regress"
    mkdir -p "$out"
    [ "$(id -u)" -eq 0 ] && chmod 777 "$TMP" "$out"
    if [ -n "$tests" ]; then
        make -s installcheck PG_CONFIG="$PG_CONFIG" REGRESS="$tests" REGRESS_OPTS="$opts"
    else
        make -s installcheck PG_CONFIG="$PG_CONFIG" REGRESS_OPTS="$opts"
    fi
    local rc=$?
    mkdir -p results && cp -f "$out"/results/*.out results/ 2>/dev/null
    if [ $rc -ne 0 ] && [ -f "$out/regression.diffs" ]; then
        echo "---- regression.diffs"; cat "$out/regression.diffs"
        cp -f "$out/regression.diffs" regression.diffs
    fi
    return $rc
}

run_pgtap() {
    local files=(test/pgtap/*.sql)
    [ -e "${files[0]}" ] || return 0
    fr_log "pg_prove"
    psql -qX -d postgres -c 'DROP DATABASE IF EXISTS fashionrec_tap' -c 'CREATE DATABASE fashionrec_tap' >/dev/null &&
    psql -qX -d fashionrec_tap -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION fashionrec' >/dev/null &&
    pg_prove -d fashionrec_tap "${files[@]}"
}

run_unit() {
    local srcs=(test/unit/test_*.c)
    [ -e "${srcs[0]}" ] || return 0
    fr_log "kernel unit tests"
    make -s PG_CONFIG="$PG_CONFIG" $(printf '%s\n' "${srcs[@]}" | sed 's/\.c$/.t/') >/dev/null &&
    prove test/unit/*.t
}

run_dump_restore() {
    fr_log "pg_dump / pg_restore"
    bash test/dump-restore.sh
}

run_upgrade() {
    fr_log "ALTER EXTENSION UPDATE from the previous release"
    bash test/upgrade.sh
}

run_replica() {
    fr_log "streaming replica"
    bash test/replica.sh
}

run_cron() {
    fr_log "pg_cron retraining (waits for pg_cron's next minute)"
    bash test/cron-retrain.sh
}

run_cron_hybrid() {
    fr_log "pg_cron retraining a hybrid (waits for pg_cron's next minute)"
    bash test/hybridops.sh
}

run_gateway() {
    fr_log "HTTP gateway and dashboard (node --test, headless Chromium)"
    bash gateway/test/run.sh
}

suite run_regress
if [ -z "${FR_REGRESS:-}" ]; then
    suite run_pgtap
    suite run_dump_restore
    suite run_upgrade
    suite run_replica
    suite run_cron
    suite run_cron_hybrid
    suite run_unit
    suite bash test/fuzz/types.sh
    suite bash test/fuzz/sqlsmith.sh
    suite bash test/concurrency.sh
    suite bash test/timeouts.sh
    suite bash test/featurefm_threads.sh
    suite bash test/batch.sh
    suite bash test/crash.sh
    suite bash test/shared_store.sh
    suite bash test/shards.sh
    suite bash test/sanitize.sh
    suite bash test/demo-anywhere.sh
    suite bash test/docs-examples.sh
    suite run_gateway
fi

echo
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
