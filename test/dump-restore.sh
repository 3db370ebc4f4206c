#!/usr/bin/env bash
# pg_dump / pg_restore of a database with models: the restored database must
# serve the same lists.  Run by run-tests.sh against its throwaway cluster
# (PGHOST/PGPORT/PGUSER set).
set -euo pipefail
src=fr_dump_src dst=fr_dump_dst
dump=$(mktemp /tmp/fashionrec-dump.XXXXXX)
trap 'rm -f "$dump"' EXIT

psql -qX -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $src" -c "DROP DATABASE IF EXISTS $dst" -c "CREATE DATABASE $src" >/dev/null
psql -qX -v ON_ERROR_STOP=1 -d "$src" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION fashionrec;
CREATE TABLE buys AS
SELECT (g % 97) AS customer, ((g * 7919) % 211) AS product FROM generate_series(1, 5000) g;
SELECT fashionrec.train('pop', 'popularity', 'buys');
SELECT fashionrec.train('pop', 'popularity', 'SELECT customer, product FROM buys WHERE product % 2 = 0', activate => true);
SELECT fashionrec.train('knn', 'itemknn', 'buys');
SQL

lists() {
    psql -qXAt -d "$1" -c "SELECT string_agg(r.item_id::text, ',' ORDER BY m.name, u, r.rank)
        FROM (VALUES ('pop'), ('knn')) m(name), generate_series(1, 30) u,
             LATERAL fashionrec.recommend(m.name, u, 5) r"
}
before=$(lists "$src")
pg_dump -Fc -d "$src" -f "$dump"
psql -qX -d postgres -c "CREATE DATABASE $dst" >/dev/null
pg_restore -d "$dst" "$dump"
after=$(lists "$dst")
versions=$(psql -qXAt -d "$dst" -c "SELECT string_agg(name || ':' || version || ':' || active, ' ' ORDER BY name, version) FROM fashionrec.models")
psql -qX -d postgres -c "DROP DATABASE $src" -c "DROP DATABASE $dst" >/dev/null

echo "restored versions: $versions"
if [ -n "$before" ] && [ "$before" = "$after" ] && [ "$versions" = "knn:1:true pop:1:false pop:2:true" ]; then
    echo "ok - restored database serves the same lists (${#before} characters of item ids)"
else
    echo "not ok - lists differ after restore"; echo "before: $before"; echo "after:  $after"; exit 1
fi
