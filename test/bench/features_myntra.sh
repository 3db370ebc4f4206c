#!/usr/bin/env bash
# Feature store on the Myntra styles (44,446 products):
#
#   1. full build (create_feature_set) against an incremental refresh after
#      changing 1% of the products' titles and colours, inserting 20 and
#      deleting 20 — for a tfidf set (title + 4 attribute columns) and an
#      attributes set (7 columns); also a refresh with nothing to do (it still
#      hashes every source row) and a rebuild;
#   2. the realtime trigger's insert overhead: 10,000 products inserted in one
#      statement and 1,000 inserted one per transaction, into a copy of the
#      styles table without a trigger and with the tfidf set's trigger.
# Figures are recorded in docs/benchmarks.md ("Feature store") and
# docs/features.md.
#
#   bash test/bench/features_myntra.sh     (FR_DATA=/path/to/data, FR_REPEATS=3)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

DATA=${FR_DATA:-$PWD/../shared/data}
STYLES=$DATA/myntra-fashion-product-styles
REPEATS=${FR_REPEATS:-3}
if [ ! -r "$STYLES/styles.part1.csv" ]; then
    echo "skipped: Myntra styles not found under $DATA (set FR_DATA)"; exit 0
fi

fr_install_deps
fr_setup_paths
fr_build_install

fr_bench_cluster
Q() { psql -qXAt -v ON_ERROR_STOP=1 -d bench "$@"; }

fr_log "loading the styles"
Q <<SQL
SET client_min_messages = warning;
CREATE EXTENSION fashionrec;
-- unquoted CSV whose titles may hold commas: split on the first 9 only
CREATE TABLE styles_raw (line text);
\copy styles_raw FROM PROGRAM 'tail -n +2 "$STYLES/styles.part1.csv"; cat "$STYLES/styles.part2.csv"' WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02')
CREATE TABLE styles_src AS
SELECT m[1]::bigint AS id, m[2] AS gender, m[3] AS master_category, m[4] AS sub_category,
       m[5] AS article_type, m[6] AS base_colour, m[7] AS season, m[8] AS year, m[9] AS usage,
       m[10] AS name
  FROM styles_raw, regexp_match(line, '^([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),(.*)$') m;
ALTER TABLE styles_src ADD PRIMARY KEY (id);
VACUUM ANALYZE;
SQL
echo "styles: $(Q -c 'SELECT count(*) FROM styles_src') products"

TEXT_PARAMS='{"text_columns": "name", "attribute_columns": ["article_type", "base_colour", "gender", "usage"], "weights": {"article_type": 2}}'
ATTR_PARAMS='{"columns": ["gender", "master_category", "sub_category", "article_type", "base_colour", "season", "usage"], "weights": {"article_type": 3, "base_colour": 2, "sub_category": 2}}'

# one run: fresh copy, full build, 1% change, refresh, no-op refresh, rebuild; seconds
run_once() {
    local kind=$1 params=$2
    Q -F ' ' <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS styles;
SELECT fashionrec.drop_feature_set(name) FROM fashionrec.feature_set;
CREATE TABLE styles AS SELECT * FROM styles_src;
ALTER TABLE styles ADD PRIMARY KEY (id);
ANALYZE styles;
CREATE TEMP TABLE r (step text, added bigint, updated bigint, deleted bigint, failed bigint, seconds float8);
INSERT INTO r SELECT 'build', added, updated, deleted, failed, seconds
  FROM fashionrec.create_feature_set('s', '$kind', 'styles', '$params');
-- 1%: new titles and colours for every 100th product, 20 new, 20 gone
UPDATE styles SET name = name || ' Festive Edition', base_colour = 'Rose Gold' WHERE id % 100 = 7;
INSERT INTO styles SELECT id + 1000000, gender, master_category, sub_category, article_type,
       base_colour, season, year, usage, name || ' Reloaded' FROM styles_src ORDER BY id LIMIT 20;
DELETE FROM styles WHERE id IN (SELECT id FROM styles_src ORDER BY id DESC LIMIT 20);
INSERT INTO r SELECT 'refresh', added, updated, deleted, failed, seconds FROM fashionrec.refresh_features('s');
INSERT INTO r SELECT 'noop', added, updated, deleted, failed, seconds FROM fashionrec.refresh_features('s');
INSERT INTO r SELECT 'rebuild', added, updated, deleted, failed, seconds
  FROM fashionrec.refresh_features('s', rebuild => true);
SELECT step, added, updated, deleted, failed, round(seconds::numeric, 3) FROM r;
SQL
}

fr_log "full build vs incremental refresh (best of $REPEATS)"
printf '%-11s %-8s %8s %8s %8s %7s %10s\n' kind step added updated deleted failed seconds
for kind in tfidf attributes; do
    if [ $kind = tfidf ]; then params=$TEXT_PARAMS; else params=$ATTR_PARAMS; fi
    : > "$TMP/$kind.runs"
    for _ in $(seq "$REPEATS"); do run_once $kind "$params" >> "$TMP/$kind.runs"; done
    # best time per step; the counts are the same in every run
    awk 'NF == 6' "$TMP/$kind.runs" | sort -k1,1 -k6,6n | awk -v k=$kind '!seen[$1]++ {
        o = ($1 == "build") ? 1 : ($1 == "refresh") ? 2 : ($1 == "noop") ? 3 : 4
        printf "%d\t%-11s %-8s %8s %8s %8s %7s %10s\n", o, k, $1, $2, $3, $4, $5, $6 }' |
        sort -n | cut -f2-
done

fr_log "realtime trigger: insert overhead (tfidf set, title + 4 attribute columns)"
Q >/dev/null <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS styles;
SELECT fashionrec.drop_feature_set(name) FROM fashionrec.feature_set;
CREATE TABLE styles AS SELECT * FROM styles_src;
ALTER TABLE styles ADD PRIMARY KEY (id);
CREATE TABLE plain (LIKE styles INCLUDING ALL);
INSERT INTO plain SELECT * FROM styles;
SELECT count(*) AS built FROM fashionrec.create_feature_set('rt', 'tfidf', 'styles',
       '{"text_columns": "name", "attribute_columns": ["article_type", "base_colour", "gender", "usage"], "weights": {"article_type": 2}}');
SELECT fashionrec.enable_realtime('rt');
CREATE TABLE newrows AS
SELECT id + 2000000 AS id, gender, master_category, sub_category, article_type, base_colour, season,
       year, usage, name || ' New' AS name
  FROM styles_src ORDER BY id LIMIT 10000;
VACUUM ANALYZE;
SQL
# single-row transactions: a script of 1,000 INSERTs run in autocommit
Q -c "\copy (SELECT format('INSERT INTO %%s VALUES (%s, %L, %L, %L, %L, %L, %L, %L, %L, %L);', id + 1000, gender, master_category, sub_category, article_type, base_colour, season, year, usage, name) FROM newrows ORDER BY id LIMIT 1000) TO '$TMP/inserts.tmpl'"
for t in plain styles; do sed "s/%s/$t/" "$TMP/inserts.tmpl" > "$TMP/inserts_$t.sql"; done

best_bulk() {   # $1 table: best of REPEATS, ms for the 10k-row INSERT (rolled back)
    for _ in $(seq "$REPEATS"); do
        Q <<SQL | grep -E '^[0-9.]+$'
BEGIN;
SELECT clock_timestamp() AS t0 \gset
INSERT INTO $1 SELECT * FROM newrows;
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric * 1000, 1);
ROLLBACK;
SQL
    done | sort -n | head -1
}
best_single() { # $1 table: best of REPEATS, ms for 1,000 one-row transactions
    for _ in $(seq "$REPEATS"); do
        local t0 t1
        t0=$(date +%s%N)
        Q -f "$TMP/inserts_$1.sql" >/dev/null
        t1=$(date +%s%N)
        Q -c "DELETE FROM $1 WHERE id >= 2001000"
        echo $(( (t1 - t0) / 1000000 ))
    done | sort -n | head -1
}
PB=$(best_bulk plain); TB=$(best_bulk styles)
PS=$(best_single plain); TS=$(best_single styles)
printf '%-38s %12s %12s %14s\n' "" "no trigger" "trigger" "per row"
printf '%-38s %9s ms %9s ms %11s us\n' "10,000 rows in one INSERT" "$PB" "$TB" \
    "$(awk -v a="$PB" -v b="$TB" 'BEGIN { printf "%.0f", (b - a) * 1000 / 10000 }')"
printf '%-38s %9s ms %9s ms %11s us\n' "1,000 one-row INSERT transactions" "$PS" "$TS" \
    "$(awk -v a="$PS" -v b="$TS" 'BEGIN { printf "%.0f", (b - a) * 1000 / 1000 }')"
Q -c "SELECT 'generation after the single-row runs: ' || generation || ', items: ' || items FROM fashionrec.feature_sets WHERE name = 'rt'"
