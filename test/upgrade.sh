#!/usr/bin/env bash
# ALTER EXTENSION fashionrec UPDATE from the first release (0.1, commit
# cdfb027) to this tree's version must keep every model serving what it
# served, keep every catalog row, and leave exactly the schema that
# CREATE EXTENSION of this version makes.
#
#   1. 0.1 is built from `git archive` of its commit and installed, with this
#      tree, into a private copy of the server (so the installation the other
#      suites use is never touched), and a throwaway cluster is started;
#   2. a database gets CREATE EXTENSION fashionrec VERSION '0.1', models of
#      most algorithms (two versions of one, one trained by a trainer role), a
#      feature set with its realtime trigger and a live model, an evaluation,
#      a stored user history, a running A/B test with traffic, a statistics
#      snapshot and a retraining; what each version serves is recorded.  A
#      second database gets a realtime feature set 0.2 cannot read;
#   3. this tree is installed over it and the server restarted (the library
#      is replaced): 0.1's functions must serve the same lists on it; then
#      the catalog tables are checksummed and ALTER EXTENSION fashionrec
#      UPDATE run;
#   4. the lists and the catalog tables are compared with those before; the
#      trigger made under 0.1 keeps its set and live model current; the
#      second database is refused the update (55000) until its trigger is
#      disabled; a role that is only a member of fashionrec_trainer trains,
#      activates and serves a new version, is refused writing the catalog
#      directly, and its 0.1 source is not run as a superuser;
#   5. the upgraded database's extension is compared with a fresh
#      CREATE EXTENSION in another database: pg_dump -s, pg_dump
#      --binary-upgrade -s (which writes out every member of the extension),
#      and a catalog listing (every routine's signature, security, settings,
#      volatility, cost, body, ACL and comment; every relation's columns, ACL,
#      initial privileges and config-dump status; indexes, constraints,
#      triggers, types, operators, casts, members).  Only OIDs, transaction
#      ids, sequence positions and the order of entries are normalised.
#
# Run by run-tests.sh; alone: bash test/upgrade.sh (honours FR_PG_CONFIG;
# FR_KEEP=1 keeps the cluster).
# Skips (exit 0) only when the 0.1 commit is not in this clone.
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh

OLD_COMMIT=cdfb027
OLD_VERSION=0.1
started=$(date +%s)

if ! git rev-parse --git-dir >/dev/null 2>&1 || ! git cat-file -e "$OLD_COMMIT^{commit}" 2>/dev/null; then
    echo "ok - skipped: commit $OLD_COMMIT (fashionrec $OLD_VERSION) is not in this clone" \
         "(a shallow clone or an exported tree); fetch it with" \
         "'git fetch --unshallow' or 'git fetch origin $OLD_COMMIT', then run bash test/upgrade.sh"
    exit 0
fi
NEW_VERSION=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" fashionrec.control)

fr_install_deps
fr_setup_paths
TMP=$(mktemp -d /tmp/fashionrec-upgrade.XXXXXX)
chmod 755 "$TMP"
# FR_KEEP=1 keeps the cluster, its databases and the server copy for a look afterwards
if [ -n "${FR_KEEP:-}" ]; then
    cleanup() { echo "kept: PATH=$TMP/pg/usr/lib/postgresql/*/bin:\$PATH PGHOST=$TMP PGPORT=${PORT:-} PGUSER=postgres psql; stop: pg_ctl -D $TMP/data stop"; }
else
    cleanup() { fr_stop_cluster "$TMP"; rm -rf "$TMP"; }
fi
trap cleanup EXIT

# ---- a private copy of the server, with 0.1 and then this tree installed ----
# PostgreSQL finds its files relative to its binaries, so a copy of the
# Debian layout (as test/private-pg.sh makes) is a server of its own.
bindir=$("$PG_CONFIG" --bindir)
root=${bindir%/usr/lib/postgresql/*/bin}
major=$(basename "$(dirname "$bindir")")
if [ "$root" = "$bindir" ]; then
    echo "not ok - $PG_CONFIG is not in a Debian layout (.../usr/lib/postgresql/N/bin)"; exit 1
fi
mkdir -p "$TMP/pg/usr/lib/postgresql" "$TMP/pg/usr/share/postgresql" "$TMP/pg/usr/include"
cp -a "$root/usr/lib/postgresql/$major" "$TMP/pg/usr/lib/postgresql/"
cp -a "$root/usr/share/postgresql/$major" "$TMP/pg/usr/share/postgresql/"
cp -a "$root/usr/include/postgresql" "$TMP/pg/usr/include/"
chmod -R go+rX "$TMP/pg"
export PG_CONFIG=$TMP/pg/usr/lib/postgresql/$major/bin/pg_config
export PATH="$("$PG_CONFIG" --bindir):$PATH"

fr_log "building fashionrec $OLD_VERSION from commit $OLD_COMMIT"
mkdir "$TMP/old"
git archive "$OLD_COMMIT" | tar -x -C "$TMP/old"
# built as released: without this tree's -Werror or sanitizer flags
(cd "$TMP/old" && env -u FR_WERROR -u FR_SANITIZE make -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG" >/dev/null &&
     make -s install PG_CONFIG="$PG_CONFIG" >/dev/null) || { echo "not ok - building $OLD_VERSION failed"; exit 1; }

PORT=$(fr_free_port $((57432 + RANDOM % 5000)))
fr_start_cluster "$TMP" "$PORT"
export PGHOST=$TMP PGPORT=$PORT PGUSER=postgres
up=fr_upgraded fresh=fr_fresh refused=fr_refused
q() { local db=$1; shift; psql -qXAt -v ON_ERROR_STOP=1 -d "$db" "$@"; }

failed=0
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }
# check NAME FILE1 FILE2: ok when the files are equal, else the diff
check() {
    if diff -u "$2" "$3" >"$TMP/diff"; then ok "$1"
    else not_ok "$1"; sed 's/^/    /' "$TMP/diff"; fi
}

# ---- 0.1: models of most algorithms, a feature set, an A/B test ----
psql -qX -d postgres -c "CREATE DATABASE $up" >/dev/null
psql -qX -d postgres -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS fr_upgrade_trainer" >/dev/null
q "$up" >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION fashionrec VERSION '$OLD_VERSION';
SQL
q "$up" >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT count(*) FROM fashionrec.generate_shop(customers => 300, products => 120, events => 8000, seed => 11,
                                              target_schema => 'shop');
CREATE VIEW shop.interactions AS
SELECT e.customer_id AS user_id, e.product_id AS item_id,
       sum(CASE e.event_type WHEN 'purchase' THEN 5 WHEN 'cart' THEN 2 ELSE 1 END)::real AS weight,
       max(e.occurred_at) AS event_time
  FROM shop.events e GROUP BY 1, 2;
SELECT fashionrec.train('up-pop', 'popularity', 'shop.interactions');
-- a trainer's own model: 0.1 let trainers write the tables, 0.2 runs its source only as them
CREATE ROLE fr_upgrade_trainer IN ROLE fashionrec_trainer;
GRANT USAGE ON SCHEMA shop TO fr_upgrade_trainer;
GRANT SELECT ON shop.interactions TO fr_upgrade_trainer;
SET ROLE fr_upgrade_trainer;
SELECT fashionrec.train('up-theirs', 'popularity', 'SELECT user_id, item_id FROM shop.interactions WHERE user_id % 2 = 0');
RESET ROLE;
SELECT fashionrec.train('up-als', 'als', 'shop.interactions', '{"factors": 8, "iterations": 5}');
SELECT fashionrec.train('up-knn', 'itemknn', 'shop.interactions');
SELECT fashionrec.train('up-knn', 'itemknn', 'shop.interactions', '{"neighbors": 20}', activate => true);
SELECT fashionrec.train('up-ease', 'ease', 'shop.interactions', '{"lambda": 50}');
SELECT fashionrec.train('up-tfidf', 'tfidf', 'SELECT product_id, description, article_type, colour FROM shop.products',
       '{"attribute_columns": "article_type, colour",
         "interactions": "SELECT user_id, item_id, weight FROM shop.interactions"}');
SELECT fashionrec.train('up-seq', 'sequence', 'SELECT customer_id, product_id, 1, occurred_at FROM shop.events');
SELECT count(*) FROM fashionrec.create_feature_set('up-attrs', 'attributes', 'shop.products',
       '{"id_column": "product_id", "columns": ["article_type", "colour", "price_band"]}');
SELECT fashionrec.enable_realtime('up-attrs');
SELECT fashionrec.train('up-live', 'features', 'up-attrs',
       '{"interactions": "SELECT user_id, item_id, weight FROM shop.interactions"}');
SELECT fashionrec.train('up-hybrid', 'hybrid', NULL,
       '{"cf": "up-als", "content": "up-tfidf", "popularity": "up-pop",
         "interactions": "SELECT user_id, item_id, weight FROM shop.interactions"}');
SELECT count(*) FROM fashionrec.evaluate('up-als', 'SELECT user_id, item_id FROM shop.interactions WHERE user_id <= 50', 10);
SELECT fashionrec.refresh_user('up-als', 1);
SELECT fashionrec.create_experiment('up-exp', salt => 'upgrade');
SELECT fashionrec.add_variant('up-exp', 'control', 'up-pop', 50);
SELECT fashionrec.add_variant('up-exp', 'personal', 'up-als', 50);
SELECT fashionrec.start_experiment('up-exp');
SELECT count(*) FROM shop.customers c, LATERAL fashionrec.recommend_experiment('up-exp', c.customer_id, k => 5) r
 WHERE c.customer_id <= 100;
SELECT count(fashionrec.track('up-exp', c.customer_id, 'purchase', c.customer_id % 50 + 1, 10))
  FROM shop.customers c WHERE c.customer_id <= 100 AND c.customer_id % 7 = 0;
SELECT fashionrec.snapshot_stats();
CALL fashionrec.retrain('up-pop', 'shop.interactions');
-- a site's own table in the extension's schema: the upgrade leaves its grants alone
CREATE TABLE fashionrec.site_notes (note text);
GRANT SELECT, INSERT ON fashionrec.site_notes TO fashionrec_trainer;
SQL

# a database 0.2 cannot take over as it is: an attributes set over an integer
# column (0.2 reads text columns only), with its realtime trigger
psql -qX -d postgres -c "CREATE DATABASE $refused" >/dev/null
q "$refused" >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION fashionrec VERSION '$OLD_VERSION';
CREATE TABLE items (id bigint PRIMARY KEY, colour text, size integer);
INSERT INTO items SELECT g, (ARRAY['red', 'blue'])[g % 2 + 1], 30 + g % 5 FROM generate_series(1, 20) g;
SELECT count(*) FROM fashionrec.create_feature_set('sizes', 'attributes', 'items',
       '{"id_column": "id", "columns": ["colour", "size"]}');
SELECT fashionrec.enable_realtime('sizes');
SQL

# what every version serves: users' lists, neighbours, next items
lists() {
    q "$up" <<'SQL'
SELECT m.name, m.version, 'user ' || u, r.list
  FROM fashionrec.model m, generate_series(1, 40) u,
       LATERAL (SELECT string_agg(x.item_id::text, ',' ORDER BY x.rank) AS list
                  FROM fashionrec.recommend(m.name, u, 10, version => m.version) x) r
 WHERE m.status IN ('ready', 'trial')
UNION ALL
SELECT m.name, m.version, 'like ' || i, r.list
  FROM fashionrec.model m, generate_series(1, 20) i,
       LATERAL (SELECT string_agg(x.item_id::text, ',' ORDER BY x.rank) AS list
                  FROM fashionrec.similar_items(m.name, i, 10, version => m.version) x) r
 WHERE m.status IN ('ready', 'trial') AND m.algorithm IN ('als', 'itemknn', 'ease', 'tfidf', 'features')
UNION ALL
SELECT m.name, m.version, 'after ' || i, r.list
  FROM fashionrec.model m, generate_series(1, 20) i,
       LATERAL (SELECT string_agg(x.item_id::text, ',' ORDER BY x.rank) AS list
                  FROM fashionrec.next_items(m.name, ARRAY[i, i + 1]::bigint[], 10, version => m.version) x) r
 WHERE m.status IN ('ready', 'trial') AND m.algorithm = 'sequence'
 ORDER BY 1, 2, 3
SQL
}
# every table's rows (count and a checksum of their text) and every sequence's position
tables() {
    q "$up" <<'SQL'
SELECT c.relname,
       (xpath('/row/r/text()', query_to_xml(CASE c.relkind
            WHEN 'S' THEN format('SELECT last_value || '' '' || is_called AS r FROM fashionrec.%I', c.relname)
            ELSE format('SELECT count(*) || '' rows, md5 '' || md5(coalesce(string_agg(%s::text, E''\n'' ORDER BY %s::text), ''''))
                           AS r FROM fashionrec.%I t', x.row, x.row, c.relname) END, false, true, '')))[1]::text
  FROM pg_class c,
       -- a version's data without the artifact stamp, which the update adds
       LATERAL (SELECT CASE c.relname WHEN 'model' THEN
                   'jsonb_populate_record(t, jsonb_build_object(''data'', t.data - ARRAY[''artifact_format'', ''byte_order'', ''library_version'']))'
                   ELSE 't' END AS row) x
 WHERE c.relnamespace = 'fashionrec'::regnamespace AND c.relkind IN ('r', 'p', 'S')
 ORDER BY 1
SQL
}
lists >"$TMP/lists.before"
versions=$(q "$up" -c "SELECT count(*) FROM fashionrec.model")
[ "$versions" -ge 10 ] && [ "$(wc -l <"$TMP/lists.before")" -ge 400 ] && ! grep -q '|$' "$TMP/lists.before" ||
    { not_ok "$OLD_VERSION set-up: $versions versions, $(wc -l <"$TMP/lists.before") lists, some empty"; exit 1; }
ok "$OLD_VERSION: $versions model versions, $(wc -l <"$TMP/lists.before") lists recorded"

# ---- this tree over it, and ALTER EXTENSION UPDATE ----
fr_build_install || { not_ok "building this tree failed"; exit 1; }
fr_stop_cluster "$TMP"
fr_start_cluster "$TMP" "$PORT"
# between the restart and the ALTER, 0.1's SQL runs on the new library
lists >"$TMP/lists.between"
check "the new library serves $OLD_VERSION's functions the same lists before the ALTER" \
      "$TMP/lists.before" "$TMP/lists.between"
# and 0.1's realtime trigger keeps working on it (a product written meanwhile)
new=$(q "$up" -c "INSERT INTO shop.products
    SELECT (jsonb_populate_record(p, jsonb_build_object('product_id', (SELECT max(product_id) + 1 FROM shop.products)))).*
      FROM shop.products p WHERE p.product_id = 2 RETURNING product_id" 2>&1) || true
live=$(q "$up" -c "SELECT count(*) FROM fashionrec.features('up-attrs') f WHERE f.item_id = '$new'" 2>&1) || true
# the new library keeps the C functions 0.1's trigger calls
# (src/features_compat.c), so writes work until the ALTER
if [ "$live" = 1 ]; then
    ok "$OLD_VERSION's realtime trigger on the new library adds a product (id $new) before the ALTER"
else
    not_ok "a product written between the restart and the ALTER: $(head -1 <<<"$new")"
fi
# the live model now serves that product too: the lists the update must keep
lists >"$TMP/lists.before"
tables >"$TMP/tables.before"
if q "$up" -v VERBOSITY=verbose -c "ALTER EXTENSION fashionrec UPDATE" 2>"$TMP/update.err" &&
   [ "$(q "$up" -c "SELECT extversion FROM pg_extension WHERE extname = 'fashionrec'")" = "$NEW_VERSION" ]; then
    ok "ALTER EXTENSION fashionrec UPDATE: $OLD_VERSION -> $NEW_VERSION"
else
    not_ok "ALTER EXTENSION fashionrec UPDATE to $NEW_VERSION"; sed 's/^/    /' "$TMP/update.err"; exit 1
fi
tables >"$TMP/tables.all"
# the tables 0.1 had (new ones are listed, and must be empty)
awk -F'|' 'NR == FNR { old[$1]; next } $1 in old' "$TMP/tables.before" "$TMP/tables.all" >"$TMP/tables.after"
check "every catalog table keeps its rows, every sequence its position ($(wc -l <"$TMP/tables.before") tables and sequences)" \
      "$TMP/tables.before" "$TMP/tables.after"
added=$(awk -F'|' 'NR == FNR { old[$1]; next } !($1 in old) { printf "%s%s (%s)", sep, $1, $2; sep = ", " }' \
            "$TMP/tables.before" "$TMP/tables.all" | sed 's/, md5 [0-9a-f]*//g')
echo "# new in $NEW_VERSION: ${added:-no table}"
stamped=$(q "$up" -c "SELECT count(*) FILTER (WHERE data ->> 'artifact_format' = '1' AND data ->> 'library_version' = '$OLD_VERSION'
                                                AND data ->> 'byte_order' = fashionrec._artifact_stamp() ->> 'byte_order')
                               || ' of ' || count(*) FROM fashionrec.model")
if [ "$stamped" = "$versions of $versions" ]; then
    ok "every $OLD_VERSION version is stamped as artifact format 1, this byte order, written by $OLD_VERSION"
else
    not_ok "artifact stamps after the update: $stamped versions stamped as $OLD_VERSION's"
fi
lists >"$TMP/lists.after"
check "every version serves the same lists as before ($(wc -l <"$TMP/lists.before") lists)" \
      "$TMP/lists.before" "$TMP/lists.after"
# the realtime trigger made under 0.1 keeps the feature set, and the live model, current
new=$(q "$up" -c "INSERT INTO shop.products
    SELECT (jsonb_populate_record(p, jsonb_build_object('product_id', (SELECT max(product_id) + 1 FROM shop.products)))).*
      FROM shop.products p WHERE p.product_id = 1 RETURNING product_id" 2>&1) || true
live=$(q "$up" -c "SELECT (SELECT count(*) FROM fashionrec.features('up-attrs') f WHERE f.item_id = '$new')
                          || ' ' || (SELECT count(*) FROM fashionrec.similar_items('up-live', '$new', 5))" 2>&1) || true
if [ "$live" = "1 5" ]; then
    ok "the realtime trigger made under $OLD_VERSION adds a new product (id $new) to the feature set and the live model"
else
    not_ok "a new product (id $new) after the upgrade: feature rows and neighbours '$live'"
fi

# ---- an update that would break product writes is refused, and 0.1 stays ----
out=$(q "$refused" -v VERBOSITY=sqlstate -c "ALTER EXTENSION fashionrec UPDATE" 2>&1) || true
state=$(q "$refused" -c "SELECT extversion FROM pg_extension WHERE extname = 'fashionrec'")
if [ "$out" = "ERROR:  55000" ] && [ "$state" = "$OLD_VERSION" ]; then
    ok "a realtime feature set $NEW_VERSION cannot read refuses the update (55000); $OLD_VERSION stays"
else
    not_ok "the update over an unreadable realtime feature set: '$out', version '$state'"
fi
written=$(q "$refused" -c "INSERT INTO items VALUES (21, 'red', 31)" \
            -c "SELECT count(*) FROM fashionrec.features('sizes') WHERE item_id = 21" 2>&1) || true
if [ "$written" = 1 ]; then
    ok "$OLD_VERSION's trigger keeps the set current after the refused update"
else
    not_ok "a product written after the refused update: $(head -1 <<<"$written")"
fi
out=$(q "$refused" -c "SELECT fashionrec.disable_realtime('sizes')" -c "ALTER EXTENSION fashionrec UPDATE" 2>&1) || true
state=$(q "$refused" -c "SELECT extversion FROM pg_extension WHERE extname = 'fashionrec'")
if [ "$state" = "$NEW_VERSION" ] && grep -q 'WARNING:  fashionrec 0.2 cannot refresh feature set "sizes"' <<<"$out"; then
    ok "without its trigger the set only warns, and the update goes through"
else
    not_ok "the update after disable_realtime(): version '$state', said: $out"
fi

# ---- a trainer after the upgrade: trains through the API, writes nothing directly ----
as_trainer() { PGOPTIONS="-c client_min_messages=warning" q "$up" -c "SET ROLE fr_upgrade_trainer" "$@"; }
v=$(as_trainer -c "SELECT fashionrec.train('up-pop', 'popularity', 'SELECT user_id, item_id FROM shop.interactions WHERE user_id > 10', activate => true)" 2>&1) || true
served=$(as_trainer -c "SELECT count(*) FROM fashionrec.recommend('up-pop', 1, 10)" 2>&1) || true
row=$(q "$up" -c "SELECT version || ' ' || active || ' ' || created_by FROM fashionrec.model WHERE name = 'up-pop' ORDER BY version DESC LIMIT 1")
if [ "$row" = "$v true fr_upgrade_trainer" ] && [ "$served" = 10 ]; then
    ok "a trainer trains, activates and serves version $v of a model trained under $OLD_VERSION"
else
    not_ok "a trainer trains a new version: train() said '$v', latest row '$row', served '$served'"
fi
refused=0
for stmt in "UPDATE fashionrec.model SET active = NOT active WHERE name = 'up-pop'" \
            "DELETE FROM fashionrec.activation" \
            "INSERT INTO fashionrec.artifact SELECT * FROM fashionrec.artifact LIMIT 1" \
            "UPDATE fashionrec.assignment SET variant_id = variant_id" \
            "SELECT nextval('fashionrec.model_id_seq')"; do
    if out=$(as_trainer -v VERBOSITY=sqlstate -c "$stmt" 2>&1); then
        not_ok "a trainer may run: $stmt"
    elif [ "$out" != "ERROR:  42501" ]; then
        not_ok "a trainer running '$stmt' fails, but not with 42501: $out"
    else
        refused=$((refused + 1))
    fi
done
[ "$refused" -eq 5 ] && ok "a trainer is refused (42501) writing the catalog tables and sequences directly"
if [ "$(q "$up" -c "SELECT has_table_privilege('fashionrec_trainer', 'fashionrec.site_notes', 'INSERT')")" = t ]; then
    ok "a table the site added to the schema keeps its grants to fashionrec_trainer"
else
    not_ok "the upgrade revoked fashionrec_trainer's grants on a table that is not the extension's"
fi
q "$up" -c "DROP TABLE fashionrec.site_notes"
# the trainer's model of 0.1: its stored source is run only as its author
out=$(q "$up" -v VERBOSITY=sqlstate -c "SELECT fashionrec.refresh_user('up-theirs', 2)" 2>&1) || true
mine=$(as_trainer -c "SELECT fashionrec.refresh_user('up-theirs', 2)" 2>&1) || true
if [ "$out" = "ERROR:  42501" ] && [ "$mine" -gt 0 ] 2>/dev/null; then
    ok "a source a trainer stored under $OLD_VERSION runs as that trainer ($mine items), not as a superuser (42501)"
else
    not_ok "the stored source of a trainer's $OLD_VERSION model: as a superuser '$out', as the trainer '$mine'"
fi

# ---- the upgraded extension is the fresh one ----
psql -qX -d postgres -c "CREATE DATABASE $fresh" >/dev/null
q "$fresh" -c "SET client_min_messages = warning" -c "CREATE EXTENSION fashionrec" >/dev/null

# pg_dump's output without what differs between any two databases: its
# comments, \restrict keys, sequence positions (data), the OIDs and
# transaction ids (relfrozenxid) that --binary-upgrade keeps; blocks (one per
# object) sorted by their header
normalise() {
    sed -e '/^\\\(un\)\{0,1\}restrict /d' -e '/^SELECT pg_catalog.setval(/d' \
        -e '/binary_upgrade_set_next_/d' -e '/binary_upgrade_set_record_init_privs/d' \
        -e '/binary_upgrade_create_empty_extension/d' -e '/^$/d' \
        -e '/^UPDATE pg_catalog.pg_class$/,/;$/d' |
    awk '/^-- Name: / { key = $0; next } /^--/ { next } { printf "%s\t%s\n", key, $0 }' |
    sort -s -t "$(printf '\t')" -k1,1 | cut -f2-
}
for db in "$up" "$fresh"; do
    pg_dump -s -n fashionrec -d "$db" | normalise >"$TMP/dump.$db"
    pg_dump -s --binary-upgrade -N shop -d "$db" | normalise >"$TMP/binary.$db"
done
check "pg_dump -s -n fashionrec: upgraded = fresh" "$TMP/dump.$fresh" "$TMP/dump.$up"
members=$(grep -c '^ALTER EXTENSION fashionrec ADD ' "$TMP/binary.$fresh" || true)
if [ "$members" -lt 100 ]; then
    not_ok "pg_dump --binary-upgrade lists only $members members of the fresh extension"
else
    check "pg_dump -s --binary-upgrade (all $members members): upgraded = fresh" "$TMP/binary.$fresh" "$TMP/binary.$up"
fi

catalog() {
    q "$1" <<'SQL'
WITH ext AS (SELECT e.oid, e.extversion, e.extrelocatable, e.extconfig, e.extcondition
               FROM pg_extension e WHERE e.extname = 'fashionrec'),
     ns AS (SELECT 'fashionrec'::regnamespace::oid AS oid),
     -- ACLs as sorted lists, NULL (the default) written out
     acls AS (SELECT p.oid, 'routine ' || p.oid::regprocedure AS obj,
                     coalesce(p.proacl, acldefault('f', p.proowner)) AS acl, 'pg_proc'::regclass AS cls, 0 AS sub
                FROM pg_proc p, ns WHERE p.pronamespace = ns.oid
              UNION ALL
              SELECT c.oid, 'relation ' || c.oid::regclass,
                     coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner)),
                     'pg_class'::regclass, 0
                FROM pg_class c, ns WHERE c.relnamespace = ns.oid AND c.relkind NOT IN ('i', 'I', 't', 'c')
              UNION ALL
              SELECT t.oid, 'type ' || t.oid::regtype, coalesce(t.typacl, acldefault('T', t.typowner)),
                     'pg_type'::regclass, 0
                FROM pg_type t, ns WHERE t.typnamespace = ns.oid AND t.typtype NOT IN ('c') AND t.typelem = 0
              UNION ALL
              SELECT ns.oid, 'schema fashionrec', coalesce(n.nspacl, acldefault('n', n.nspowner)),
                     'pg_namespace'::regclass, 0
                FROM pg_namespace n, ns WHERE n.oid = ns.oid),
     lines AS (
        SELECT 'extension' AS obj, 'version' AS attr, e.extversion AS val FROM ext e
        UNION ALL SELECT 'extension', 'relocatable', e.extrelocatable::text FROM ext e
        UNION ALL
        SELECT 'extension', 'config-dump ' || c.t::regclass, c.cond
          FROM ext e, unnest(e.extconfig, e.extcondition) AS c(t, cond)
        UNION ALL
        SELECT 'extension', 'member', pg_describe_object(d.classid, d.objid, d.objsubid)
          FROM pg_depend d, ext e WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid AND d.deptype = 'e'
        UNION ALL
        -- routines
        SELECT 'routine ' || p.oid::regprocedure, a.attr, a.val
          FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang, ns,
               LATERAL (VALUES ('kind', p.prokind::text),
                               ('arguments', pg_get_function_arguments(p.oid)),
                               ('result', pg_get_function_result(p.oid)),
                               ('language', l.lanname),
                               ('security definer', p.prosecdef::text),
                               ('config', p.proconfig::text),
                               ('volatility', p.provolatile::text),
                               ('strict', p.proisstrict::text),
                               ('parallel', p.proparallel::text),
                               ('leakproof', p.proleakproof::text),
                               ('cost rows', p.procost || ' ' || p.prorows),
                               ('body md5', md5(p.prosrc)),
                               ('library', p.probin),
                               ('owner', pg_get_userbyid(p.proowner)),
                               ('comment', obj_description(p.oid, 'pg_proc'))) AS a(attr, val)
         WHERE p.pronamespace = ns.oid
        UNION ALL
        SELECT 'routine ' || p.oid::regprocedure, 'aggregate',
               concat_ws(' ', g.aggkind, g.aggtransfn, g.aggfinalfn, g.aggcombinefn, g.aggserialfn,
                         g.aggdeserialfn, g.aggtranstype::regtype, g.agginitval, g.aggfinalmodify)
          FROM pg_proc p JOIN pg_aggregate g ON g.aggfnoid = p.oid, ns WHERE p.pronamespace = ns.oid
        UNION ALL
        -- relations: tables, views, sequences
        SELECT 'relation ' || c.oid::regclass, a.attr, a.val
          FROM pg_class c, ns,
               LATERAL (VALUES ('kind', c.relkind::text),
                               ('persistence', c.relpersistence::text),
                               ('options', c.reloptions::text),
                               ('owner', pg_get_userbyid(c.relowner)),
                               ('row security', c.relrowsecurity || ' ' || c.relforcerowsecurity),
                               ('comment', obj_description(c.oid, 'pg_class')),
                               ('view', md5(CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END))) AS a(attr, val)
         WHERE c.relnamespace = ns.oid AND c.relkind NOT IN ('i', 'I', 't')
        UNION ALL
        SELECT 'relation ' || c.oid::regclass,
               'column ' || row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum),
               concat_ws(' ', quote_ident(a.attname), format_type(a.atttypid, a.atttypmod),
                         CASE WHEN a.attnotnull THEN 'NOT NULL' END,
                         CASE WHEN a.attidentity <> '' THEN 'identity ' || a.attidentity::text END,
                         CASE WHEN a.attgenerated <> '' THEN 'generated ' || a.attgenerated::text END,
                         'storage ' || a.attstorage::text,
                         CASE WHEN a.attcollation <> 0 THEN 'collate ' || a.attcollation::regcollation END,
                         'default ' || pg_get_expr(ad.adbin, ad.adrelid),
                         'acl ' || (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM unnest(a.attacl) x),
                         'comment ' || col_description(c.oid, a.attnum))
          FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
          LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum, ns
         WHERE c.relnamespace = ns.oid AND c.relkind NOT IN ('i', 'I', 't') AND a.attnum > 0 AND NOT a.attisdropped
        UNION ALL
        SELECT 'relation ' || i.indrelid::regclass, 'index', pg_get_indexdef(i.indexrelid)
               || coalesce(' comment ' || obj_description(i.indexrelid, 'pg_class'), '')
          FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid, ns WHERE c.relnamespace = ns.oid
        UNION ALL
        SELECT 'relation ' || k.conrelid::regclass, 'constraint ' || quote_ident(k.conname),
               pg_get_constraintdef(k.oid) || coalesce(' comment ' || obj_description(k.oid, 'pg_constraint'), '')
          FROM pg_constraint k, ns WHERE k.connamespace = ns.oid
        UNION ALL
        SELECT 'relation ' || t.tgrelid::regclass, 'trigger ' || quote_ident(t.tgname), pg_get_triggerdef(t.oid)
          FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid, ns
         WHERE c.relnamespace = ns.oid AND NOT t.tgisinternal
        UNION ALL
        -- types, operators, casts
        SELECT 'type ' || t.oid::regtype, 'definition',
               concat_ws(' ', t.typtype, t.typlen, t.typbyval, t.typalign, t.typstorage, t.typinput::regproc,
                         t.typoutput::regproc, t.typreceive::regproc, t.typsend::regproc, t.typmodin::regproc,
                         t.typmodout::regproc, t.typanalyze::regproc, t.typcategory, t.typarray::regtype,
                         'comment ' || obj_description(t.oid, 'pg_type'))
          FROM pg_type t, ns WHERE t.typnamespace = ns.oid
        UNION ALL
        SELECT 'operator ' || o.oid::regoperator, 'definition',
               concat_ws(' ', o.oprcode::regproc, o.oprcom::regoperator, o.oprnegate::regoperator, o.oprrest::regproc,
                         o.oprjoin::regproc, o.oprcanmerge, o.oprcanhash, 'comment ' || obj_description(o.oid, 'pg_operator'))
          FROM pg_operator o, ns WHERE o.oprnamespace = ns.oid
        UNION ALL
        SELECT 'cast ' || format_type(c.castsource, NULL) || ' as ' || format_type(c.casttarget, NULL), 'definition',
               concat_ws(' ', c.castfunc::regprocedure, c.castcontext, c.castmethod)
          FROM pg_cast c JOIN pg_type s ON s.oid = c.castsource JOIN pg_type t ON t.oid = c.casttarget, ns
         WHERE s.typnamespace = ns.oid OR t.typnamespace = ns.oid
        UNION ALL
        -- privileges, and the initial privileges pg_dump compares them with
        SELECT a.obj, 'acl', (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM unnest(a.acl) x)
          FROM acls a
        UNION ALL
        SELECT a.obj, 'initial acl ' || ip.privtype::text,
               (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM unnest(ip.initprivs) x)
          FROM acls a JOIN pg_init_privs ip ON ip.objoid = a.oid AND ip.classoid = a.cls AND ip.objsubid = a.sub)
SELECT obj || ' | ' || attr || ' | ' || coalesce(val, '-') FROM lines ORDER BY 1
SQL
}
catalog "$fresh" >"$TMP/catalog.$fresh"
catalog "$up" >"$TMP/catalog.$up"
check "catalog listing ($(wc -l <"$TMP/catalog.$fresh") lines: routines, relations, columns, ACLs, init privileges, config dumps, members): upgraded = fresh" \
      "$TMP/catalog.$fresh" "$TMP/catalog.$up"

echo "upgrade test: $(($(date +%s) - started)) s"
[ "$failed" -eq 0 ]
