#!/usr/bin/env bash
# Type-input fuzz: random and mutated input for the svec and tfidf_vocab types
# (text and binary), the image functions, train()'s jsonb params and the
# serving and metric functions (cases from test/fuzz/gen.py).  Every case must
# end as a result or an ERROR with a SQLSTATE that names the fault: a lost
# connection (a backend crash) or an internal error (XX000, an elog that
# "cannot happen") fails the run.
#
#   bash test/fuzz/types.sh                          # CI size, seed 1
#   FR_FUZZ_SCALE=20 FR_FUZZ_SEED=$RANDOM bash test/fuzz/types.sh   # a long run
#   FR_FUZZ_KEEP=1 ...     keep the cases and psql's output (the path is printed)
#
# Runs against PGHOST/PGPORT when set, else on its own throwaway cluster.
set -uo pipefail
cd "$(dirname "$0")/../.."
. test/fuzz/lib.sh
fr_hardening_cluster fuzz || exit 1
fr_log "type-input fuzz"

SEED=${FR_FUZZ_SEED:-1}
SCALE=${FR_FUZZ_SCALE:-1}
DB=fr_fuzz_types
OUT=$(mktemp -d /tmp/fashionrec-fuzz.XXXXXX)
chmod 755 "$OUT"
trap '[ -z "${FR_FUZZ_KEEP:-}" ] && rm -rf "$OUT"; [ -n "${FR_OWN_TMP:-}" ] && { fr_stop_cluster "$FR_OWN_TMP"; rm -rf "$FR_OWN_TMP"; }' EXIT

fr_fresh_db "$DB" || exit 1
psql -qX -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || { echo "not ok - fuzz setup failed"; exit 1; }
SET client_min_messages = warning;
CREATE TABLE fz_svec (v fashionrec.svec);
CREATE TABLE fz_svec5 (v fashionrec.svec(5));
CREATE TABLE fz_vocab (v fashionrec.tfidf_vocab);
CREATE TABLE fz_buys AS
SELECT (g % 53) + 1 AS customer, ((g * 7919) % 97) + 1 AS product,
       ((g % 5) + 1)::real AS rating, timestamptz '2024-01-01' + g * interval '1 hour' AS bought
  FROM generate_series(1, 3000) g;
CREATE TABLE fz_items AS
SELECT g AS id, (ARRAY['red silk dress', 'blue denim jacket', 'black leather boots', 'white cotton shirt'])[g % 4 + 1]
              || ' ' || g AS title,
       (ARRAY['red', 'blue', 'black', 'white'])[g % 4 + 1] AS colour,
       ARRAY[g % 3, g % 5, 1]::real[] AS vec
  FROM generate_series(1, 97) g;
SELECT fashionrec.train('fz-pop', 'popularity', 'fz_buys');
SELECT fashionrec.train('fz-knn', 'itemknn', 'fz_buys');
SELECT fashionrec.train('fz-als', 'als', 'fz_buys', '{"factors": 8, "iterations": 3}');
SELECT fashionrec.train('fz-ease', 'ease', 'fz_buys');
SELECT fashionrec.train('fz-svd', 'svd', 'fz_buys', '{"factors": 8}');
SELECT fashionrec.train('fz-mf', 'mf', 'SELECT customer, product, rating FROM fz_buys', '{"factors": 8, "iterations": 3}');
SQL
psql -qX -d "$DB" -c "\\copy (SELECT fashionrec.tfidf_fit(to_tsvector('english', title)) FROM fz_items UNION ALL SELECT fashionrec.tfidf_fit(to_tsvector('simple', colour)) FROM fz_items) TO '$OUT/vocab.bin' WITH (FORMAT binary)" >/dev/null 2>&1 ||
    : >"$OUT/vocab.bin"
algorithms=$(psql -qXAt -d "$DB" -c "SELECT string_agg(name || '=' || array_to_string(parameters, ','), ';') FROM fashionrec.algorithms()")

/usr/bin/python3 test/fuzz/gen.py "$OUT" --seed "$SEED" --scale "$SCALE" --algorithms "$algorithms" \
    --vocab "$OUT/vocab.bin" || { echo "not ok - case generation failed"; exit 1; }
chmod -R a+rX "$OUT"

# the NULL sweep (test/fuzz/nulls.sql writes it), run last: it may drop the models
psql -qXAt -d "$DB" -f test/fuzz/nulls.sql >"$OUT/nulls.sql" || { echo "not ok - NULL sweep generation failed"; exit 1; }

fails=0 total_cases=0 total_errors=0
for family in svec_text svec_bin images train serving nulls; do
    sql=$OUT/$family.sql
    cases=$(grep -cE '^(SELECT|\\copy)' "$sql")
    start=$(date +%s.%N)
    psql -X -q -d "$DB" -v VERBOSITY=verbose -f "$sql" >"$OUT/$family.out" 2>&1
    rc=$?
    secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
    # with VERBOSITY=verbose an error reads "psql:FILE:LINE: ERROR:  22P02: message"
    errors=$(grep -oE 'ERROR:  [0-9A-Z]{5}' "$OUT/$family.out" | awk '{print $2}' | sort | uniq -c |
             sort -rn | awk '{printf "%s%s x%s", sep, $2, $1; sep=", "}')
    nerr=$(grep -cE 'ERROR:  [0-9A-Z]{5}' "$OUT/$family.out")
    total_cases=$((total_cases + cases)) total_errors=$((total_errors + nerr))
    bad=""
    [ "$rc" -eq 2 ] && bad="connection lost (backend crash)"
    grep -qE 'server closed the connection|connection to server was lost|terminated abnormally' "$OUT/$family.out" &&
        bad="connection lost (backend crash)"
    grep -qE 'ERROR:  XX000|PANIC|FATAL' "$OUT/$family.out" && bad="${bad:+$bad; }internal error or FATAL"
    if [ -n "$bad" ]; then
        fails=$((fails + 1))
        echo "not ok - $family: $bad after $cases cases"
        grep -nE -B1 'XX000|PANIC|FATAL|server closed|connection to server was lost' "$OUT/$family.out" | head -n 10
        # the statement that was running: the last line number psql reported
        line=$(grep -oE "^psql:[^:]+:[0-9]+" "$OUT/$family.out" | tail -n 1 | awk -F: '{print $3}')
        [ -n "$line" ] && { echo "  last reported statement (line $line):"; sed -n "${line}p" "$sql" | cut -c1-400; }
        fr_wait_ready || exit 1
    else
        printf 'ok - %s: %d cases in %.1fs, %d errors (%s), no crash\n' "$family" "$cases" "$secs" "$nerr" "${errors:-none}"
    fi
done

# a failed or cancelled training leaves nothing behind
stale=$(psql -qXAt -d "$DB" -c "SELECT count(*) FROM fashionrec.model WHERE status = 'training'")
orphans=$(psql -qXAt -d "$DB" -c "SELECT count(*) FROM fashionrec.artifact a WHERE NOT EXISTS (SELECT FROM fashionrec.model m WHERE m.id = a.model_id)")
if [ "$stale" != 0 ] || [ "$orphans" != 0 ]; then
    echo "not ok - registry after fuzzing: $stale rows still 'training', $orphans orphaned artifacts"; fails=$((fails + 1))
else
    echo "ok - registry consistent after fuzzing ($(psql -qXAt -d "$DB" -c 'SELECT count(*) FROM fashionrec.model') model versions)"
fi
psql -qX -d postgres -c "DROP DATABASE $DB" >/dev/null 2>&1

[ -n "${FR_FUZZ_KEEP:-}" ] && echo "# cases and outputs kept in $OUT"
echo "fuzz (seed $SEED, scale $SCALE): $total_cases cases, $total_errors ERRORs, $fails failures"
[ "$fails" -eq 0 ]
