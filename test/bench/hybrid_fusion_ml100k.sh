#!/usr/bin/env bash
# Learned fusion and recency-decayed histories of the hybrid on MovieLens
# 100K (the temporal split of test/bench/hybrid_ml100k.sh; content = the 19
# genre flags of u.item as an "embedding" model).
#
# Nothing is tuned on the test set:
#  - the fusion is fitted on a validation split carved out of the training
#    part (each user's last 20% of training ratings, "val"), with components
#    trained on the rest ("fit"), which never saw val;
#  - it is then reused ("fusion_from") over components retrained on the
#    whole training part, and that hybrid alone is evaluated on the test part
#    (stacking);
#  - the half-life is chosen on the same validation split.
#
#   bash test/bench/hybrid_fusion_ml100k.sh        (FR_DATA=/path/to/data to override)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

fr_ml100k_bench

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
train() {   # name, params
    q -c "SET client_min_messages = warning" -c "SELECT fashionrec.train('$1', 'hybrid', NULL, '$2')" >/dev/null
}
# the signals: those of the weighted hybrid chosen by test/bench/hybrid_ml100k.sh
# (als + popularity 0.1 + sequence 0.3) plus the genres, which a learned
# fusion may use (0.1: in the weighted sum, about what the grid allowed)
signals() { echo "\"cf\": \"$1-${CF:-als}\", \"content\": \"$1-genres\", \"popularity\": \"$1-pop\", \"sequence\": \"$1-seq\",
                  \"content_weight\": 0.1, \"popularity_weight\": 0.1, \"sequence_weight\": 0.3"; }

printf '\n%-36s %12s %12s\n' "learned fusion (cf ${CF:-als})" "val NDCG@10" "test NDCG@10"
train w-full "{\"cf\": \"full-${CF:-als}\", \"popularity\": \"full-pop\", \"sequence\": \"full-seq\",
               \"popularity_weight\": 0.1, \"sequence_weight\": 0.3, \"interactions\": \"SELECT user_id, item_id FROM train\"}"
printf '%-36s %12s %12s\n' "weighted (grid's choice, no genres)" "" "$(ndcg w-full test)"
train w4-full "{$(signals full), \"interactions\": \"SELECT user_id, item_id FROM train\"}"
printf '%-36s %12s %12s\n' "weighted (+ genres 0.1)" "" "$(ndcg w4-full test)"
for kind in logistic mlp auto; do
    t0=$(date +%s.%N)
    train "$kind-fit" "{$(signals fit), \"fusion\": \"$kind\", \"validation\": \"val\", ${EXTRA:-}
                        \"interactions\": \"SELECT user_id, item_id FROM fit\"}"
    t1=$(date +%s.%N)
    # auto may keep the weighted sum, which has no fitted fusion to reuse:
    # then the full hybrid is that weighted sum (as retrain() does)
    if [ "$(q -c "SELECT info ->> 'fusion' FROM fashionrec.models WHERE name = '$kind-fit'")" = weighted ]; then
        reuse=""
    else
        reuse="\"fusion_from\": \"$kind-fit\","
    fi
    train "$kind-full" "{$(signals full), $reuse
                         \"interactions\": \"SELECT user_id, item_id FROM train\"}"
    info=$(q -c "SELECT info ->> 'fusion', round((info ->> ('validation_ndcg_' || (info ->> 'fusion')))::numeric, 4),
                        round((info ->> 'validation_ndcg_weighted')::numeric, 4), info ->> 'fusion_examples',
                        coalesce(info ->> 'mlp_best_epoch', '-')
                   FROM fashionrec.models WHERE name = '$kind-fit'")
    read -r chosen vndcg wndcg examples epoch <<< "$info"
    printf '%-36s %12s %12s   (chose %s; weighted on the same users %s; %s examples; mlp epoch %s; fit %.1f s)\n' \
        "$kind" "$vndcg" "$(ndcg "$kind-full" test)" "$chosen" "$wndcg" "$examples" "$epoch" "$(echo "$t1 - $t0" | bc)"
done

# ---- recency: half-life of the folded-in histories -----------------------------
printf '\n%-36s %12s %12s\n' "half_life_days (weighted, als+pop+seq)" "val NDCG@10" "test NDCG@10"
best=0; best_ndcg=-1
for hl in 0 1 7 30 90 365; do
    train "hl-$hl-fit" "{\"cf\": \"fit-als\", \"popularity\": \"fit-pop\", \"sequence\": \"fit-seq\",
                         \"popularity_weight\": 0.1, \"sequence_weight\": 0.3, \"half_life_days\": $hl,
                         \"interactions\": \"SELECT user_id, item_id, w, t FROM fit\"}"
    v=$(ndcg "hl-$hl-fit" val)
    printf '%-36s %12s\n' "$hl" "$v"
    if awk -v a="$v" -v b="$best_ndcg" 'BEGIN { exit !(a > b) }'; then best=$hl; best_ndcg=$v; fi
done
train hl-full "{\"cf\": \"full-als\", \"popularity\": \"full-pop\", \"sequence\": \"full-seq\",
                \"popularity_weight\": 0.1, \"sequence_weight\": 0.3, \"half_life_days\": $best,
                \"interactions\": \"SELECT user_id, item_id, w, t FROM train\"}"
printf '%-36s %12s %12s\n' "chosen: $best" "$best_ndcg" "$(ndcg hl-full test)"
