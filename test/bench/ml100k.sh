#!/usr/bin/env bash
# MovieLens 100K quality benchmark: every algorithm trained and evaluated inside
# PostgreSQL on the temporal split (per user, ratings ordered by (timestamp,
# item, rating), the last floor(n * 20 / 100) in test; every rating is an
# interaction; training items excluded; k = 10), next to a numpy/scipy
# reference computed in the same run (reference_cf.py).
#
#   bash test/bench/ml100k.sh            (FR_DATA=/path/to/data to override)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

DATA=${FR_DATA:-$PWD/../shared/data}
UDATA=$DATA/movielens-100k/u.data
if [ ! -r "$UDATA" ]; then
    echo "skipped: $UDATA not found (set FR_DATA)"; exit 0
fi

fr_install_deps
fr_setup_paths
fr_build_install

fr_bench_cluster

psql -qX -v ON_ERROR_STOP=1 -d bench <<SQL
SET client_min_messages = warning;
CREATE EXTENSION fashionrec;
CREATE TABLE ratings (user_id int, item_id int, rating int, ts bigint);
\copy ratings FROM '$UDATA'
CREATE TABLE split AS
SELECT r.*, row_number() OVER w > count(*) OVER (PARTITION BY user_id) - floor(count(*) OVER (PARTITION BY user_id) * 20 / 100) AS is_test
  FROM ratings r
WINDOW w AS (PARTITION BY user_id ORDER BY ts, item_id, rating ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW);
CREATE VIEW train AS SELECT user_id, item_id FROM split WHERE NOT is_test;
CREATE VIEW test AS SELECT user_id, item_id FROM split WHERE is_test;
SQL

echo "split: $(psql -qXAt -d bench -c "SELECT count(*) FILTER (WHERE NOT is_test) || ' train, ' || count(*) FILTER (WHERE is_test) || ' test rows' FROM split")"

# model name | algorithm | params (as in the issue's reference rows)
MODELS="popularity|popularity|{}
itemknn|itemknn|{\"neighbors\": 100}
svd|svd|{\"factors\": 64}
als|als|{\"factors\": 64, \"regularization\": 0.05, \"iterations\": 15}
ease|ease|{\"lambda\": 500}"

OUT=$TMP/fashionrec.tsv
: > "$OUT"
while IFS='|' read -r name algo params; do
    if ! psql -qXAt -d bench -c "SELECT 1 FROM fashionrec.algorithms() WHERE name = '$algo'" | grep -q 1; then
        printf '%s\t%s\t%s\t%s\n' "$name" "-" "-" "not built" >> "$OUT"; continue
    fi
    psql -qXAt -F $'\t' -d bench -v ON_ERROR_STOP=1 >> "$OUT" <<SQL
SET client_min_messages = warning;
SELECT fashionrec.train('$name', '$algo', 'train', '$params') \gset
SELECT '$name', round(e.ndcg_at_k::numeric, 4), round(e.precision_at_k::numeric, 4),
       round(m.training_seconds::numeric, 3) || ' s'
  FROM fashionrec.evaluate('$name', 'test', 10) e, fashionrec.model m
 WHERE m.name = '$name' AND m.active;
SQL
done <<< "$MODELS"

REF=$TMP/reference.tsv
if /usr/bin/python3 -c 'import numpy, scipy' 2>/dev/null; then
    /usr/bin/python3 test/bench/reference_cf.py "$UDATA" > "$REF" 2>"$TMP/reference.err" || { cat "$TMP/reference.err"; : > "$REF"; }
else
    echo "(numpy/scipy missing: apt-get install python3-numpy python3-scipy for the reference)"; : > "$REF"
fi

printf '\n%-12s %10s %10s %12s   %14s %14s\n' model "NDCG@10" "P@10" "train time" "ref NDCG@10" "ref P@10"
while IFS=$'\t' read -r name ndcg prec secs; do
    ref=$(awk -F'\t' -v m="$name" '$1 == m { print $2 "\t" $3 }' "$REF")
    printf '%-12s %10s %10s %12s   %14s %14s\n' "$name" "$ndcg" "$prec" "$secs" \
        "$(cut -f1 <<< "${ref:--}")" "$(cut -f2 <<< "${ref:--}")"
done < "$OUT"
