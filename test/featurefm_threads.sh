#!/usr/bin/env bash
# featurefm on several threads when the system refuses a thread: train()
# fails with 53000 and a hint, leaves no model, and the backend lives on
# (a thread that failed to start must not leave the others waiting, nor an
# ERROR unwind past running threads).  The server runs with a preloaded
# shim whose pthread_create refuses every thread fashionrec.so asks for.
#
#   bash test/featurefm_threads.sh
set -uo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh

fr_setup_paths
TMP=$(mktemp -d /tmp/fashionrec-threads.XXXXXX)
chmod 755 "$TMP"
cleanup() { fr_stop_cluster "$TMP"; rm -rf "$TMP"; }
trap cleanup EXIT

cat > "$TMP/refuse.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

int
pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn) (void *), void *arg)
{
	static int	(*real) (pthread_t *, const pthread_attr_t *, void *(*) (void *), void *);
	Dl_info		info;

	if (!real)
		real = dlsym(RTLD_NEXT, "pthread_create");
	if (dladdr((void *) fn, &info) && info.dli_fname && strstr(info.dli_fname, "fashionrec"))
		return EAGAIN;
	return real(t, a, fn, arg);
}
C
cc -shared -fPIC -o "$TMP/refuse.so" "$TMP/refuse.c" -ldl || exit 1
chmod 755 "$TMP/refuse.so"
PORT=$(fr_free_port $((56432 + RANDOM % 5000)))
FR_SERVER_ENV="LD_PRELOAD=$TMP/refuse.so" fr_start_cluster "$TMP" "$PORT" || exit 1
export PGHOST=$TMP PGPORT=$PORT PGUSER=postgres

out=$(psql -qXAt -d postgres 2>&1 <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION fashionrec;
CREATE TABLE b AS SELECT (i % 50)::bigint AS u, (i % 37)::bigint AS it FROM generate_series(1, 2000) i;
\set VERBOSITY verbose
SELECT fashionrec.train('two', 'featurefm', 'b', '{"threads": 2, "epochs": 2}');
\set VERBOSITY terse
SELECT 'models left: ' || count(*) FROM fashionrec.model WHERE name = 'two';
SELECT 'one thread trains: ' || fashionrec.train('one', 'featurefm', 'b', '{"epochs": 2}');
SQL
)
echo "$out"
fails=0
check() { if echo "$out" | grep -q "$1"; then echo "ok - $2"; else echo "not ok - $2"; fails=$((fails + 1)); fi; }
check "ERROR:  53000: featurefm could not start training thread 2 of 2" "a refused thread: 53000"
check "HINT:  Train with fewer threads" "with a hint"
check "models left: 0" "no model left behind"
check "one thread trains: 1" "the backend lives on and trains on one thread"
if grep -q "terminated by signal" "$TMP/server.log"; then echo "not ok - no backend crashed"; fails=$((fails + 1)); else echo "ok - no backend crashed"; fi
exit $((fails > 0))
