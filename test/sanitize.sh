#!/usr/bin/env bash
# The sanitizer suite: every pg_regress and pgTAP test, the dump/restore test,
# the type-input fuzzers and a sqlsmith run, against a build of fashionrec.so instrumented
# with AddressSanitizer + UndefinedBehaviorSanitizer.  Fails on any sanitizer
# report or backend crash in the server log.
#
# The installed fashionrec.so is not touched (other test runs may be using it):
# the instrumented library is built in a copy of the tree under /tmp, and a
# throwaway cluster finds it first through dynamic_library_path (the control
# file's module_pathname is the bare name 'fashionrec' for that reason).  The
# server itself is not instrumented; the ASan runtime is LD_PRELOADed into the
# postmaster, and every backend inherits it.  The extension's SQL script is
# the installed one, so run this after `make install` (make test does).
#
#   bash test/sanitize.sh              # what make test runs
#   FR_SANITIZE_SUITES="regress" bash test/sanitize.sh
#   FR_SANITIZE_KEEP=1 bash test/sanitize.sh   # keep the build and the log
set -uo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh
fr_setup_paths

SUITES=${FR_SANITIZE_SUITES:-regress pgtap dump-restore fuzz sqlsmith}
CLANG=${FR_CLANG:-clang-14}
ASAN_RT=$($CLANG -print-file-name=libclang_rt.asan-x86_64.so 2>/dev/null)
if [ ! -f "$ASAN_RT" ]; then
    echo "not ok - the ASan runtime of $CLANG is missing (install clang-14 libclang-rt-14-dev)" >&2
    exit 1
fi

WORK=$(mktemp -d /tmp/fashionrec-asan.XXXXXX)
chmod 755 "$WORK"
TREE=$WORK/tree
PORT=$(fr_free_port $((60500 + RANDOM % 4000)))
cleanup() {
    fr_stop_cluster "$WORK"
    if [ -n "${FR_SANITIZE_KEEP:-}" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

fr_log "sanitizer build (ASan + UBSan, $CLANG) in $TREE"
mkdir -p "$TREE"
tar --exclude=./.git --exclude=./results --exclude='./.demo' --exclude='*.o' --exclude='*.so' \
    --exclude='*.t' --exclude='*.bc' -cf - . 2>/dev/null | tar -C "$TREE" -xf - || exit 1
# -fno-sanitize-recover: a UBSan finding aborts the backend, so it cannot go unnoticed;
# pg_config's CFLAGS are gcc's, so the flags are set here in full.
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
if ! make -C "$TREE" -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG" CC="$CLANG" \
        CFLAGS="-O1 -g -fno-strict-aliasing -fwrapv -Wno-ignored-attributes" COPT="$san" \
        fashionrec.so >"$WORK/build.log" 2>&1; then
    cat "$WORK/build.log" >&2; echo "not ok - sanitizer build failed" >&2; exit 1
fi
# The ASan runtime initialises on the first malloc, which in a PostgreSQL
# binary happens inside newlocale() (p11-kit's constructor) with glibc's locale
# lock held; its init then looks up swift_demangle, and the dlerror() after a
# failed lookup translates the message, takes that lock again and hangs the
# process (LLVM 14, glibc 2.36).  A preloaded swift_demangle makes the lookup
# succeed.  It returns NULL (nothing demangled), as a missing one would.
printf '%s\n' 'char *swift_demangle(const char *, unsigned long, char *, unsigned long *, unsigned);' \
    'char *swift_demangle(const char *m, unsigned long n, char *o, unsigned long *on, unsigned f) { return 0; }' \
    >"$WORK/asan_shim.c"
$CLANG -shared -fPIC -O1 -o "$WORK/asan_shim.so" "$WORK/asan_shim.c" || exit 1
chmod -R a+rX "$WORK"

fr_log "starting an ASan cluster in $WORK on port $PORT"
# fr_start_cluster writes the common configuration; restart with the runtime preloaded
fr_start_cluster "$WORK" "$PORT" || exit 1
fr_stop_cluster "$WORK"
cat >> "$WORK/data/postgresql.conf" <<CONF
dynamic_library_path = '$TREE:\$libdir'
CONF
# detect_leaks=0: PostgreSQL frees by memory context, not by free(), so leak reports are noise
asan_options="detect_leaks=0:abort_on_error=1:print_stacktrace=1:disable_coredump=1"
fr_as_owner env LD_PRELOAD="$ASAN_RT $WORK/asan_shim.so" ASAN_OPTIONS="$asan_options" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    pg_ctl -D "$WORK/data" -l "$WORK/server.log" -w -t 120 start >/dev/null || {
    cat "$WORK/server.log" >&2; exit 1; }
export PGHOST=$WORK PGPORT=$PORT PGUSER=postgres

# Prove the backend runs the instrumented copy, not the installed library.
loaded=$(psql -qXAt -d postgres -c "LOAD 'fashionrec'" \
    -c "SELECT pg_catalog.strpos(m, '$TREE/fashionrec.so') > 0 AND pg_catalog.strpos(m, 'libclang_rt.asan') > 0
          FROM pg_catalog.pg_read_file('/proc/self/maps') m" 2>&1)
if [ "$loaded" != t ]; then
    echo "not ok - the backend did not load $TREE/fashionrec.so with the ASan runtime: $loaded" >&2; exit 1
fi
echo "ok - backends load $TREE/fashionrec.so with $(basename "$ASAN_RT") preloaded"

passed=0 failed=0
suite() { if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi; }

san_regress() {
    fr_log "pg_regress under ASan + UBSan"
    local out=$WORK/regress
    mkdir -p "$out" && chmod 777 "$out"
    make -s installcheck PG_CONFIG="$PG_CONFIG" ${FR_REGRESS:+REGRESS="$FR_REGRESS"} \
        REGRESS_OPTS="--inputdir=. --load-extension=fashionrec --outputdir=$out"
    local rc=$?
    [ $rc -ne 0 ] && [ -f "$out/regression.diffs" ] && { echo "---- regression.diffs"; cat "$out/regression.diffs"; }
    return $rc
}

san_pgtap() {
    local files=(test/pgtap/*.sql)
    [ -e "${files[0]}" ] || return 0
    fr_log "pg_prove under ASan + UBSan"
    psql -qX -d postgres -c 'DROP DATABASE IF EXISTS fashionrec_tap' -c 'CREATE DATABASE fashionrec_tap' >/dev/null &&
    psql -qX -d fashionrec_tap -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION fashionrec' >/dev/null &&
    pg_prove -d fashionrec_tap "${files[@]}"
}

for s in $SUITES; do
    case $s in
        regress)      suite san_regress ;;
        pgtap)        suite san_pgtap ;;
        dump-restore) fr_log "pg_dump / pg_restore under ASan + UBSan"; suite bash test/dump-restore.sh ;;
        fuzz)         suite bash test/fuzz/types.sh ;;
        sqlsmith)     suite bash test/fuzz/sqlsmith.sh ;;
        concurrency)  suite bash test/concurrency.sh ;;
        *) echo "unknown sanitizer suite $s" >&2; failed=$((failed + 1)) ;;
    esac
done

fr_stop_cluster "$WORK"
fr_log "server log: sanitizer reports and crashes"
# a backend that died by a signal or an abnormal exit code is a crash; the
# sanitizers print their own reports to the backend's stderr, i.e. this log
pattern='AddressSanitizer|UndefinedBehaviorSanitizer|runtime error:|LeakSanitizer|terminated by signal|exited with exit code [^01]|server process .* was terminated'
reports=$(grep -Ec "$pattern" "$WORK/server.log")
if [ "$reports" -ne 0 ]; then
    echo "not ok - $reports sanitizer report or crash lines in the server log:"
    grep -En -B2 -A40 "$pattern" "$WORK/server.log" | head -n 200
    failed=$((failed + 1))
else
    echo "ok - no sanitizer report and no backend crash in $(wc -l <"$WORK/server.log") log lines"
    passed=$((passed + 1))
fi

echo
echo "sanitizer: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
