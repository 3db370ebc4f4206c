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
-- the feature store (85_features.sql): its tables, and a realtime trigger on a user table
CREATE TABLE products (id bigint PRIMARY KEY, title text);
INSERT INTO products SELECT g, 'product ' || (ARRAY['red', 'blue', 'green'])[g % 3 + 1] || ' dress' FROM generate_series(1, 30) g;
SELECT count(*) FROM fashionrec.create_feature_set('titles', 'tfidf', 'products', '{"text_columns": "title"}');
SELECT fashionrec.enable_realtime('titles');
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
feats() {
    psql -qXAt -v ON_ERROR_STOP=1 -d "$1" -c "INSERT INTO products VALUES (31, 'red dress')" \
         -c "SELECT string_agg(item_id || '=' || features::text, ' ' ORDER BY item_id) || ' gen ' || max(s.generation)
               FROM fashionrec.features('titles'), fashionrec.feature_set s"
}
feats_before=$(feats "$src")
feats_after=$(feats "$dst")
versions=$(psql -qXAt -d "$dst" -c "SELECT string_agg(name || ':' || version || ':' || active, ' ' ORDER BY name, version) FROM fashionrec.models")
psql -qX -d postgres -c "DROP DATABASE $src" -c "DROP DATABASE $dst" >/dev/null

echo "restored versions: $versions"
if [ -n "$feats_before" ] && [ "$feats_before" = "$feats_after" ]; then
    echo "ok - restored feature set and realtime trigger give the same features"
else
    echo "not ok - feature sets differ after restore"; echo "before: $feats_before"; echo "after:  $feats_after"; exit 1
fi
if [ -n "$before" ] && [ "$before" = "$after" ] && [ "$versions" = "knn:1:true pop:1:false pop:2:true" ]; then
    echo "ok - restored database serves the same lists (${#before} characters of item ids)"
else
    echo "not ok - lists differ after restore"; echo "before: $before"; echo "after:  $after"; exit 1
fi
