#!/usr/bin/env bash
# Bagging the MLP fusion ("mlp_bags") on MovieLens 100K, the temporal split of
# test/bench/hybrid_ml100k.sh: the hand configuration of
# test/bench/hybrid_fusion_ml100k.sh (ease, genres 0.1, popularity 0.1,
# sequence 0.3, fusion mlp), its fusion fitted on "val" with components
# trained on "fit", then stacked over components trained on "train".  Per
# bag count and MLP seed: the fit's training time, its validation NDCG@10
# (the comparison quarter of "val", training data only) and the stacked
# hybrid's test NDCG@10; then the spread over the seeds, and the serving
# time of the stacked hybrid (recommend, k 10, for 300 users).
#
#   bash test/bench/hybrid_mlp_bags_ml100k.sh   (FR_DATA=/path/to/data, BAGS="1 3 5", SEEDS="42 1 2 3")
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

fr_ml100k_bench
echo "load: $(uptime)"
echo "OpenBLAS kernel in the server: $(q -c "SELECT core || coalesce(' (' || advice || ')', '') FROM fashionrec.blas_info(0)")"
q >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT fashionrec.train('ml-ease', 'ease', 'SELECT user_id, item_id FROM train', '{"lambda": 500}');
SELECT fashionrec.train('ml-pop', 'popularity', 'SELECT user_id, item_id FROM train');
SELECT fashionrec.train('ml-genres', 'embedding', 'genres', '{"interactions": "SELECT user_id, item_id FROM train"}');
SELECT fashionrec.train('ml-seq', 'sequence', 'train');
SELECT fashionrec.train('fit-ease', 'ease', 'SELECT user_id, item_id FROM fit', '{"lambda": 500}');
SELECT fashionrec.train('fit-pop', 'popularity', 'SELECT user_id, item_id FROM fit');
SELECT fashionrec.train('fit-genres', 'embedding', 'genres', '{"interactions": "SELECT user_id, item_id FROM fit"}');
SELECT fashionrec.train('fit-seq', 'sequence', 'fit');
CREATE TABLE runs (bags int, seed int, seconds numeric, val numeric, test numeric, epochs int);
SQL
printf '%5s %5s %10s %12s %12s %8s\n' bags seed "fit s" "val NDCG@10" "test NDCG@10" epochs
for b in ${BAGS:-1 3 5}; do
    for s in ${SEEDS:-42 1 2 3}; do
        q >/dev/null <<SQL
SET client_min_messages = warning;
SELECT fashionrec.train('bag-fit-$b-$s', 'hybrid', NULL, '{"cf": "fit-ease", "content": "fit-genres", "popularity": "fit-pop",
       "sequence": "fit-seq", "content_weight": 0.1, "popularity_weight": 0.1, "sequence_weight": 0.3,
       "fusion": "mlp", "mlp_bags": $b, "seed": $s, "validation": "val", "interactions": "SELECT user_id, item_id FROM fit"}');
SELECT fashionrec.train('bag-$b-$s', 'hybrid', NULL, '{"cf": "ml-ease", "content": "ml-genres", "popularity": "ml-pop",
       "sequence": "ml-seq", "content_weight": 0.1, "popularity_weight": 0.1, "sequence_weight": 0.3,
       "fusion_from": "bag-fit-$b-$s", "interactions": "SELECT user_id, item_id FROM train"}');
INSERT INTO runs SELECT $b, $s, seconds, round((info ->> 'validation_ndcg_mlp')::numeric, 4),
       (SELECT round(ndcg_at_k::numeric, 4) FROM fashionrec.evaluate('bag-$b-$s', 'test', 10)),
       (info ->> 'mlp_epochs')::int
  FROM fashionrec.models WHERE name = 'bag-fit-$b-$s';
SQL
        q -c "SELECT bags, seed, seconds, val, test, epochs FROM runs WHERE bags = $b AND seed = $s" |
            awk -F'\t' '{ printf "%5s %5s %10s %12s %12s %8s\n", $1, $2, $3, $4, $5, $6 }'
    done
done
echo
echo "per bag count over the seeds: mean fit s, validation NDCG@10 mean and range, test NDCG@10 mean and range"
q -c "SELECT bags, round(avg(seconds), 1), round(avg(val), 4), round(max(val) - min(val), 4),
             round(avg(test), 4), round(max(test) - min(test), 4) FROM runs GROUP BY bags ORDER BY bags" |
    awk -F'\t' '{ printf "  bags %-3s fit %6s s   val %s (range %s)   test %s (range %s)\n", $1, $2, $3, $4, $5, $6 }'
echo
echo "serving: recommend(k 10) for 300 users, stacked hybrid of seed 42"
for b in ${BAGS:-1 3 5}; do
    q -c "SELECT count(*) FROM generate_series(1, 30) u, fashionrec.recommend('bag-$b-42', u, k => 10)" >/dev/null  # load it
    t0=$(date +%s.%N)
    q -c "SELECT count(*) FROM generate_series(1, 300) u, fashionrec.recommend('bag-$b-42', u, k => 10)" >/dev/null
    t1=$(date +%s.%N)
    printf '  bags %-3s %8.2f ms per call\n' "$b" "$(echo "($t1 - $t0) * 1000 / 300" | bc -l)"
done
echo "load: $(uptime)"
