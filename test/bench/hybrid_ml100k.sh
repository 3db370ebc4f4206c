#!/usr/bin/env bash
# Hybrid recommender on MovieLens 100K, everything trained and evaluated
# inside PostgreSQL.  Content = the 19 genre flags of u.item as an
# "embedding" model.
#
# 1. Temporal split (as test/bench/ml100k.sh: per user, ratings ordered by
#    (timestamp, item, rating), the last floor(n * 20 / 100) in test; k = 10).
#    The hybrid's weights are chosen on a validation split carved out of the
#    training part the same way (the last 20% of each user's training
#    ratings), never on the test set; then every model is retrained on the
#    whole training part and evaluated once on the test part.
# 2. Cold-start items: 20% of the items (by a hash of the id) are held out
#    entirely; models are trained on the ratings of the other 80%; for every
#    user who rated held-out items, the held-out items alone are ranked
#    (candidates) and scored against the user's ratings among them: NDCG@10
#    and AUC (items a model cannot score share the remaining ranks).
#
#   bash test/bench/hybrid_ml100k.sh        (FR_DATA=/path/to/data to override)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

fr_ml100k_bench
echo "temporal split: $(q -c "SELECT count(*) FILTER (WHERE NOT is_tail) || ' train, ' || count(*) FILTER (WHERE is_tail) || ' test rows' FROM split")"

# components on a training view: <prefix>-ease, -als, -pop, -genres, -seq
components() {
    local p=$1 src=$2
    q >/dev/null <<SQL
SET client_min_messages = warning;
SELECT fashionrec.train('$p-ease', 'ease', 'SELECT user_id, item_id FROM $src', '{"lambda": 500}');
SELECT fashionrec.train('$p-als', 'als', 'SELECT user_id, item_id FROM $src',
                        '{"factors": 64, "regularization": 0.05, "iterations": 15}');
SELECT fashionrec.train('$p-pop', 'popularity', 'SELECT user_id, item_id FROM $src');
SELECT fashionrec.train('$p-genres', 'embedding', 'genres', '{"interactions": "SELECT user_id, item_id FROM $src"}');
SELECT fashionrec.train('$p-seq', 'sequence', '$src');
SQL
}
components fit fit
components full train

ndcg() {    # model, test view
    q -c "SET client_min_messages = warning" -c "SELECT round(ndcg_at_k::numeric, 4) FROM fashionrec.evaluate('$1', '$2', 10)" | tail -1
}
hybrid() {  # name, prefix, cf, content_w, pop_w, seq_w, n0
    local seq=""
    [ "$6" != 0 ] && seq="\"sequence\": \"$2-seq\", \"sequence_weight\": $6,"
    q -c "SET client_min_messages = warning" -c "SELECT fashionrec.train('$1', 'hybrid', NULL,
        '{\"cf\": \"$2-$3\", \"content\": \"$2-genres\", \"popularity\": \"$2-pop\", $seq
          \"content_weight\": $4, \"popularity_weight\": $5, \"history_n0\": $7,
          \"interactions\": \"SELECT user_id, item_id FROM ${8}\"}')" >/dev/null
}

echo "choosing weights on the validation split ..."
best=""; best_ndcg=0; best_noseq=""; best_noseq_ndcg=0; i=0
for cf in ease als; do
  for cw in 0 0.1 0.3; do
    for pw in 0 0.1 0.3; do
      for sw in 0 0.3 0.6; do
        i=$((i + 1))
        hybrid "grid-$i" fit "$cf" "$cw" "$pw" "$sw" 5 fit
        v=$(ndcg "grid-$i" val)
        if awk -v a="$v" -v b="$best_ndcg" 'BEGIN { exit !(a > b) }'; then best="$cf $cw $pw $sw"; best_ndcg=$v; fi
        if [ "$sw" = 0 ] && awk -v a="$v" -v b="$best_noseq_ndcg" 'BEGIN { exit !(a > b) }'; then
            best_noseq="$cf $cw $pw $sw"; best_noseq_ndcg=$v; fi
      done
    done
  done
done
echo "  best with sequence:    cf content pop seq = $best (validation NDCG@10 $best_ndcg)"
echo "  best without sequence: cf content pop seq = $best_noseq (validation NDCG@10 $best_noseq_ndcg)"
read -r cf cw pw sw <<< "$best"
hybrid hybrid full "$cf" "$cw" "$pw" "$sw" 5 train
read -r cf cw pw sw <<< "$best_noseq"
hybrid hybrid-noseq full "$cf" "$cw" "$pw" "$sw" 5 train

printf '\n%-28s %10s\n' "temporal split, test" "NDCG@10"
for m in full-pop full-genres full-seq full-als full-ease hybrid-noseq hybrid; do
    printf '%-28s %10s\n' "$m" "$(ndcg "$m" test)"
done

# ---- 2. cold-start items ------------------------------------------------------
q >/dev/null <<SQL
SET client_min_messages = warning;
$(fr_ml100k_cold_sql)
SELECT fashionrec.train('cold-als', 'als', 'warm', '{"factors": 64, "regularization": 0.05, "iterations": 15}');
SELECT fashionrec.train('cold-pop', 'popularity', 'warm');
SELECT fashionrec.train('cold-genres', 'embedding', 'genres', '{"interactions": "warm"}');
SELECT fashionrec.train('cold-hybrid', 'hybrid', NULL,
    '{"cf": "cold-als", "content": "cold-genres", "popularity": "cold-pop", "interactions": "warm"}');
SELECT fashionrec.train('cold-hybrid-noridge', 'hybrid', NULL,
    '{"cf": "cold-als", "content": "cold-genres", "popularity": "cold-pop", "interactions": "warm",
      "cold_start": false}');

SQL
echo
echo "cold-start items: $(q -c "SELECT count(*) || ' held-out items, ' || (SELECT count(*) FROM cold_test) || ' test ratings' FROM held_out")"
printf '%-28s %8s %10s %8s\n' model users "NDCG@10" AUC
for m in cold-pop cold-genres cold-hybrid-noridge cold-hybrid; do
    printf '%-28s %8s %10s %8s\n' "$m" $(q -c "SELECT users, ndcg, auc FROM cold_eval('$m')")
done
