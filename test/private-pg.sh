#!/usr/bin/env bash
# test/private-pg.sh DIR: copy the installed PostgreSQL (binaries, share,
# headers, PGXS, and the extensions installed beside it such as pgTAP and
# pg_cron) into DIR and print its pg_config.  PostgreSQL's binaries find their
# files relative to their own location, so
#     FR_PG_CONFIG=$(bash test/private-pg.sh /opt/pg-mine) make test
# builds, installs and tests this checkout without touching the system's
# copy: two checkouts can then run their suites at the same time.
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh
dir=${1:?usage: test/private-pg.sh DIR}
fr_install_deps >&2
mkdir -p "$dir/usr/lib/postgresql" "$dir/usr/share/postgresql" "$dir/usr/include"
cp -a "/usr/lib/postgresql/$PG_MAJOR" "$dir/usr/lib/postgresql/"
cp -a "/usr/share/postgresql/$PG_MAJOR" "$dir/usr/share/postgresql/"
cp -a /usr/include/postgresql "$dir/usr/include/"
# the server's OS user must reach the binaries and libraries
chmod 755 "$dir"
echo "$dir/usr/lib/postgresql/$PG_MAJOR/bin/pg_config"
