#!/usr/bin/env bash
# sqlsmith against a database with fashionrec objects: tables of svec,
# tfidf_vocab, images and id arrays, and trained models.  sqlsmith reads the
# catalog through unqualified names (pg_proc), so a view of that name in a
# schema ahead of pg_catalog in the fuzzing role's search_path narrows the
# functions it calls to fashionrec's and a few core ones that make values for
# them; otherwise 97% of its calls would go to core functions.  The role is a
# non-superuser member of fashionrec_trainer, so random calls cannot kill other
# backends or write files.
#
# A crash of any backend makes the postmaster terminate every other one, so a
# sentinel session that must survive the run detects crashes on any cluster.
#
#   bash test/fuzz/sqlsmith.sh                       # CI: 2000 queries, seed 1
#   FR_SMITH_QUERIES=100000 FR_SMITH_SEED=$RANDOM bash test/fuzz/sqlsmith.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/fuzz/lib.sh
command -v sqlsmith >/dev/null || { echo "not ok - sqlsmith is not installed (apt-get install sqlsmith)"; exit 1; }
fr_hardening_cluster smith || exit 1
fr_log "sqlsmith"

QUERIES=${FR_SMITH_QUERIES:-2000}
SEED=${FR_SMITH_SEED:-1}
DB=fr_fuzz_smith
LOG=$(mktemp /tmp/fashionrec-smith.XXXXXX)
trap 'rm -f "$LOG"; [ -n "${FR_OWN_TMP:-}" ] && { fr_stop_cluster "$FR_OWN_TMP"; rm -rf "$FR_OWN_TMP"; }' EXIT

fr_fresh_db "$DB" || exit 1
psql -qX -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || { echo "not ok - sqlsmith setup failed"; exit 1; }
SET client_min_messages = warning;
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'fr_smith') THEN
        CREATE ROLE fr_smith LOGIN;
    END IF;
END $$;
GRANT fashionrec_trainer TO fr_smith;
CREATE SCHEMA smith;
GRANT USAGE ON SCHEMA smith TO PUBLIC;
CREATE VIEW smith.pg_proc AS
SELECT * FROM pg_catalog.pg_proc p
 WHERE p.pronamespace = 'fashionrec'::regnamespace
    OR (p.pronamespace = 'pg_catalog'::regnamespace
        AND p.proname IN ('abs', 'length', 'md5', 'decode', 'set_byte', 'substring', 'repeat',
                          'array_length', 'array_fill', 'array_append', 'array_cat', 'cardinality',
                          'to_tsvector', 'jsonb_build_object', 'jsonb_build_array', 'to_jsonb',
                          'int4', 'int8', 'float4', 'float8', 'numeric', 'text', 'random',
                          'count', 'sum', 'max', 'min', 'array_agg', 'string_agg'));
GRANT SELECT ON smith.pg_proc TO PUBLIC;
ALTER ROLE fr_smith IN DATABASE fr_fuzz_smith SET search_path = smith, pg_catalog, fashionrec, public;
-- counts the calls of fashionrec's C functions too, for the report
ALTER ROLE fr_smith IN DATABASE fr_fuzz_smith SET track_functions = 'all';

CREATE TABLE buys AS
SELECT (g % 61) + 1 AS customer, ((g * 7919) % 89) + 1 AS product, ((g % 5) + 1)::real AS rating
  FROM generate_series(1, 4000) g;
CREATE TABLE items AS
SELECT g AS id, (ARRAY['red silk dress', 'blue denim jacket', 'black boots', 'white shirt'])[g % 4 + 1] AS title,
       to_tsvector('english', (ARRAY['red silk dress', 'blue denim jacket', 'black boots'])[g % 3 + 1]) AS doc,
       ARRAY[g % 3, g % 5, 1]::real[]::fashionrec.svec AS features,
       ARRAY[g, g + 1, g * 2]::bigint[] AS related,
       fashionrec.encode_png(2, 2, decode(repeat(lpad(to_hex(g * 40503 % 16777216), 6, '0'), 4), 'hex')) AS image
  FROM generate_series(1, 89) g;
CREATE TABLE vocab AS SELECT fashionrec.tfidf_fit(doc) AS v FROM items;
CREATE TABLE names (name text);
INSERT INTO names VALUES ('pop'), ('knn'), ('als'), ('ease'), ('mf'), ('nope');
SELECT fashionrec.train('pop', 'popularity', 'buys');
SELECT fashionrec.train('knn', 'itemknn', 'buys');
SELECT fashionrec.train('als', 'als', 'buys', '{"factors": 8, "iterations": 3}');
SELECT fashionrec.train('ease', 'ease', 'buys');
SELECT fashionrec.train('mf', 'mf', 'buys', '{"factors": 4, "iterations": 3}');
GRANT SELECT ON ALL TABLES IN SCHEMA public TO fr_smith;
GRANT CREATE ON SCHEMA public TO fr_smith;
SQL

# the sentinel: a superuser session that only sleeps; it dies only if some backend crashed
sentinel_out=$(mktemp /tmp/fashionrec-sentinel.XXXXXX)
PGAPPNAME=fr_sentinel_$$ psql -X -d postgres -c "SELECT pg_sleep(86400)" >"$sentinel_out" 2>&1 &
sentinel=$!
sleep 0.5

start=$(date +%s)
sqlsmith --target="host=$PGHOST port=$PGPORT user=fr_smith dbname=$DB" --seed="$SEED" \
    --max-queries="$QUERIES" --exclude-catalog --verbose >"$LOG" 2>&1
rc=$?
secs=$(( $(date +%s) - start ))

psql -qXAt -d postgres -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'fr_sentinel_$$'" >/dev/null 2>&1
wait "$sentinel"
if grep -q 'canceling statement due to user request' "$sentinel_out"; then crashed=0; else crashed=1; fi

# sqlsmith's verbose report: "queries: N (x gen/s, y exec/s)" and an error tally
queries=$(grep -oE 'queries: [0-9]+' "$LOG" | tail -n 1 | awk '{print $2}')
echo "sqlsmith: seed $SEED, ${queries:-?} queries in ${secs}s, exit status $rc"
grep -E '^ *[0-9]+\s+ERROR' "$LOG" | sort -rn | head -n 12 | sed 's/^/  /'
calls=$(psql -qXAt -d "$DB" -c "SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions WHERE schemaname = 'fashionrec'" 2>/dev/null)
psql -qX -d postgres -c "DROP DATABASE $DB" >/dev/null 2>&1
if [ "$crashed" -ne 0 ]; then
    echo "not ok - a backend crashed during the sqlsmith run:"; cat "$sentinel_out"
    echo "---- last sqlsmith output"; tail -n 40 "$LOG"
    fr_wait_ready; rm -f "$sentinel_out"; exit 1
fi
rm -f "$sentinel_out"
if grep -qE 'XX000|internal error' "$LOG"; then
    echo "not ok - internal errors (XX000) during the sqlsmith run"; grep -E 'XX000|internal error' "$LOG" | head; exit 1
fi
echo "ok - sqlsmith: ${queries:-0} queries, 0 crashes${calls:+, $calls calls of fashionrec functions tracked}"
