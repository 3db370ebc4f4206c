#!/usr/bin/env bash
# Explicit ratings on MovieLens 100K's five predefined splits: fashionrec's
# "mf" trained and evaluated inside PostgreSQL (RMSE/MAE from evaluate()), next
# to a biased-baseline reference (mf_reference.py) computed in the same run.
#
#   bash test/bench/ml100k_mf.sh            (FR_DATA=/path/to/data)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

DATA=${FR_DATA:-$PWD/../shared/data}
DIR=$DATA/movielens-100k
[ -r "$DIR/u1.base" ] || { echo "skipped: $DIR/u1.base not found (set FR_DATA)"; exit 0; }

fr_install_deps
fr_setup_paths
fr_build_install
fr_bench_cluster
psql -qX -d bench -c 'CREATE EXTENSION fashionrec' >/dev/null

REF=$TMP/ref.tsv
/usr/bin/python3 test/bench/mf_reference.py "$DIR" > "$REF" 2>/dev/null || : > "$REF"

printf '%-6s %8s %8s %10s   %14s\n' split RMSE MAE "train s" "baseline RMSE"
for s in 1 2 3 4 5; do
    read -r rmse mae secs < <(psql -qXAt -F ' ' -v ON_ERROR_STOP=1 -d bench <<SQL
SET client_min_messages = warning;
CREATE TABLE base$s (u int, i int, r int, ts bigint);
CREATE TABLE test$s (u int, i int, r int, ts bigint);
\copy base$s FROM '$DIR/u$s.base'
\copy test$s FROM '$DIR/u$s.test'
SELECT fashionrec.train('mf$s', 'mf', 'SELECT u, i, r FROM base$s') \gset
SELECT round(e.rmse::numeric, 4), round(e.mae::numeric, 4), round(m.training_seconds::numeric, 2)
  FROM fashionrec.evaluate('mf$s', 'SELECT u, i, r FROM test$s', 10) e, fashionrec.model m
 WHERE m.name = 'mf$s' AND m.active;
SQL
)
    printf '%-6s %8s %8s %10s   %14s\n' "u$s" "$rmse" "$mae" "$secs" "$(awk -v s="u$s" '$1 == s { print $2 }' "$REF")"
    echo "$rmse" >> "$TMP/rmses"
done
printf 'mean RMSE over u1..u5: %s\n' "$(awk '{ s += $1 } END { printf "%.4f", s / NR }' "$TMP/rmses")"
