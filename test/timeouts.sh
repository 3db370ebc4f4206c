#!/usr/bin/env bash
# statement_timeout cancels every long function within a second: train() of
# every algorithm, recommend_all(), generate_shop() and evaluate(), each given
# work that takes far longer than the 1-second timeout.  Each must fail with
# 57014 (query_canceled) no later than 1 second after the timeout fired, and
# leave nothing behind.
#
#   bash test/timeouts.sh
# Runs against PGHOST/PGPORT when set, else on its own throwaway cluster.
set -uo pipefail
cd "$(dirname "$0")/.."
. test/fuzz/lib.sh
fr_hardening_cluster timeouts || exit 1
fr_log "statement_timeout cancels long functions"

DB=fr_timeouts
TIMEOUT_MS=1000
SLACK_MS=${FR_TIMEOUT_SLACK_MS:-1000}
fails=0 passes=0 worst=0
check() {
    if [ "$1" = ok ]; then echo "ok - $2"; passes=$((passes + 1)); else echo "not ok - $2"; fails=$((fails + 1)); fi
}

fr_fresh_db "$DB" || exit 1
psql -qX -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || { echo "not ok - setup failed"; exit 1; }
SET client_min_messages = warning;
CREATE TABLE big AS
SELECT (g % 20000) + 1 AS u, ((g::bigint * 7919) % 8000) + 1 AS i, ((g % 5) + 1)::real AS w,
       timestamptz '2024-01-01' + g * interval '1 minute' AS t
  FROM generate_series(1, 400000) g;
CREATE TABLE small AS SELECT u, i FROM big WHERE u <= 300;
SELECT fashionrec.train('small-als', 'als', 'small', '{"factors": 4, "iterations": 2}');
SELECT fashionrec.train('small-pop', 'popularity', 'small');
SELECT fashionrec.train('big-als', 'als', 'SELECT u, i FROM big', '{"factors": 64, "iterations": 2}');
CREATE TABLE prod AS SELECT g AS id, ARRAY[g % 3, 1, 0]::real[] AS v FROM generate_series(1, 300) g;
SELECT count(*) FROM fashionrec.create_feature_set('prod-vectors', 'embedding', 'prod', '{"id_column": "id", "vector_column": "v"}');
SQL

# name | SQL that would run for many seconds
workloads=$(cat <<'EOF'
train popularity|SELECT fashionrec.train('t', 'popularity', 'SELECT g % 50000, g % 20000 FROM generate_series(1, 200000000) g')
train itemknn|SELECT fashionrec.train('t', 'itemknn', 'SELECT g % 50000, (g::bigint * 7919) % 30000 FROM generate_series(1, 20000000) g', '{"neighbors": 1000}')
train featurefm|SELECT fashionrec.train('t', 'featurefm', 'SELECT u, i FROM big', '{"factors": 256, "epochs": 1000}')
train featurefm, 2 threads|SELECT fashionrec.train('t', 'featurefm', 'SELECT u, i FROM big', '{"factors": 256, "epochs": 1000, "threads": 2}')
train als|SELECT fashionrec.train('t', 'als', 'SELECT u, i FROM big', '{"factors": 256, "iterations": 200}')
train mf|SELECT fashionrec.train('t', 'mf', 'SELECT u, i, w FROM big', '{"factors": 256, "iterations": 500}')
train ease|SELECT fashionrec.train('t', 'ease', 'SELECT u, i FROM big WHERE i <= 6000')
train svd|SELECT fashionrec.train('t', 'svd', 'SELECT u, i FROM big', '{"factors": 100, "power_iterations": 100}')
train embedding|SELECT fashionrec.train('t', 'embedding', 'SELECT g, array_fill((g % 97)::real, ARRAY[64]) FROM generate_series(1, 50000000) g')
train tfidf|SELECT fashionrec.train('t', 'tfidf', 'SELECT g, ''red silk dress number '' || g FROM generate_series(1, 50000000) g')
train attributes|SELECT fashionrec.train('t', 'attributes', 'SELECT g, (g % 50)::text AS colour, (g % 7)::text AS season FROM generate_series(1, 50000000) g')
train sequence|SELECT fashionrec.train('t', 'sequence', 'SELECT g % 50000, g % 20000, 1, timestamp ''2024-01-01'' + g * interval ''1 second'' FROM generate_series(1, 200000000) g')
train features|SELECT fashionrec.train('t', 'features', 'prod-vectors', '{"interactions": "SELECT g % 50000, g % 300 + 1 FROM generate_series(1, 200000000) g"}')
train hybrid|SELECT fashionrec.train('t', 'hybrid', NULL, '{"cf": "small-als", "popularity": "small-pop", "interactions": "SELECT g % 50000, g % 300 FROM generate_series(1, 200000000) g"}')
recommend_all|SELECT count(*) FROM fashionrec.recommend_all('big-als', (SELECT array_agg(g) FROM generate_series(1, 20000) g), 1000, false) r, generate_series(1, 50)
generate_shop|SELECT count(*) FROM fashionrec.generate_shop(2000000, 200000, 200000000, target_schema => 'shop_big')
evaluate|SELECT count(*) FROM fashionrec.evaluate('big-als', 'SELECT u, i FROM big UNION ALL SELECT g % 20000, g % 8000 FROM generate_series(1, 100000000) g', 1000, exclude_seen => false)
EOF
)

known=$(psql -qXAt -d "$DB" -c "SELECT string_agg(name, ' ') FROM fashionrec.algorithms()")
for a in $known; do
    grep -q "^train $a|" <<<"$workloads" || check fail "no timeout workload for algorithm $a: add one to test/timeouts.sh"
done

while IFS='|' read -r name sql; do
    [ -z "$name" ] && continue
    alg=${name#train }
    if [[ $name == train\ * ]] && ! grep -qw "${alg%%,*}" <<<"$known"; then
        echo "# skip $name: no such algorithm in this build"; continue
    fi
    t0=$(date +%s%N)
    out=$(psql -qX -d "$DB" -v VERBOSITY=sqlstate -c "SET client_min_messages = warning" \
               -c "SET statement_timeout = $TIMEOUT_MS" -c "$sql" 2>&1)
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    code=$(grep -oE 'ERROR:  [0-9A-Z]{5}' <<<"$out" | head -n 1 | awk '{print $2}')
    [ "$code" = 57014 ] && [ $((ms - TIMEOUT_MS)) -gt "$worst" ] && worst=$((ms - TIMEOUT_MS))
    if [ "$code" = 57014 ] && [ "$ms" -le $((TIMEOUT_MS + SLACK_MS)) ]; then
        check ok "$name cancelled by statement_timeout after ${ms} ms"
    elif [ "$code" = 57014 ]; then
        check fail "$name cancelled only after ${ms} ms (timeout ${TIMEOUT_MS} ms)"
    else
        check fail "$name ended without the timeout (${code:-no error}) after ${ms} ms: $(head -c 300 <<<"$out")"
    fi
done <<<"$workloads"

left=$(psql -qXAt -d "$DB" -c "SELECT count(*) FROM fashionrec.model WHERE name = 't'")
schema=$(psql -qXAt -d "$DB" -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'shop_big'")
[ "$left" = 0 ] && [ "$schema" = 0 ] && check ok "cancelled work left no model row and no schema" ||
    check fail "cancelled work left $left model rows and $schema schemas"

psql -qX -d postgres -c "DROP DATABASE $DB" >/dev/null 2>&1
echo "# the slowest cancel came ${worst} ms after the timeout (client round trip included)"
echo "timeouts: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
