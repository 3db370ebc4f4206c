#!/usr/bin/env bash
# tune() and cross_validate() of a hybrid on MovieLens 100K (the temporal
# split of test/bench/hybrid_ml100k.sh; content = the 19 genre flags).
#
# 1. tune() searches the hybrid's collaborative component (als or ease),
#    fusion kind (weighted, logistic, mlp) and weights (the whole grid, or a
#    random search with a budget), on the training part only: each trial is
#    scored by its mean over TUNE_FOLDS rolling-origin splits of "train"
#    (each user's last 20%, then the last 20% of what is left, ...), its
#    components retrained without the held-out part.  tune() then trains
#    the best configuration on the whole training part itself (refit: a
#    learned fusion by stacking, as retrain() does) and activates it; it is
#    evaluated once on the test part, beside the hand-configured hybrids of
#    test/bench/hybrid_fusion_ml100k.sh run again here as the reference.
# 2. cross_validate() over 5 temporal folds (rolling origin) of all ratings:
#    mean and standard deviation of NDCG@10 per model.
#
#   bash test/bench/hybrid_tune_ml100k.sh   (FR_DATA=/path/to/data, BUDGET=108: the whole grid,
#   TUNE_FOLDS=3 validation splits per trial, FOLDS=5 cross-validation folds, CV=0 skips part 2,
#   MLP_SEEDS="42 1 2 3" the seed diagnosis after part 1, MLP_BAGS=3 MLPs averaged per fusion, the default)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

fr_ml100k_bench
budget=${BUDGET:-108}
folds=${FOLDS:-5}
tune_folds=${TUNE_FOLDS:-3}
bags=${MLP_BAGS:-3}
echo "MLP fusions: mlp_bags $bags"
echo "load: $(uptime)"
echo "OpenBLAS kernel in the server: $(q -c "SELECT core || coalesce(' (' || advice || ')', '') FROM fashionrec.blas_info(0)")"

q >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT fashionrec.train('ml-ease', 'ease', 'SELECT user_id, item_id FROM train', '{"lambda": 500}');
SELECT fashionrec.train('ml-als', 'als', 'SELECT user_id, item_id FROM train',
                        '{"factors": 64, "regularization": 0.05, "iterations": 15}');
SELECT fashionrec.train('ml-pop', 'popularity', 'SELECT user_id, item_id FROM train');
SELECT fashionrec.train('ml-genres', 'embedding', 'genres', '{"interactions": "SELECT user_id, item_id FROM train"}');
SELECT fashionrec.train('ml-seq', 'sequence', 'train');
SQL
ndcg() {    # model, test view
    q -c "SET client_min_messages = warning" -c "SELECT round(ndcg_at_k::numeric, 4) FROM fashionrec.evaluate('$1', '$2', 10)" | tail -1
}
base='"cf": "ml-als", "content": "ml-genres", "popularity": "ml-pop", "sequence": "ml-seq", "mlp_bags": '$bags

# ---- the reference: hand-configured hybrids (hybrid_fusion_ml100k.sh) ----------
q >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT fashionrec.train('fit-ease', 'ease', 'SELECT user_id, item_id FROM fit', '{"lambda": 500}');
SELECT fashionrec.train('fit-als', 'als', 'SELECT user_id, item_id FROM fit',
                        '{"factors": 64, "regularization": 0.05, "iterations": 15}');
SELECT fashionrec.train('fit-pop', 'popularity', 'SELECT user_id, item_id FROM fit');
SELECT fashionrec.train('fit-genres', 'embedding', 'genres', '{"interactions": "SELECT user_id, item_id FROM fit"}');
SELECT fashionrec.train('fit-seq', 'sequence', 'fit');
SELECT fashionrec.train('hand-weighted', 'hybrid', NULL, '{"cf": "ml-als", "popularity": "ml-pop", "sequence": "ml-seq",
       "popularity_weight": 0.1, "sequence_weight": 0.3, "interactions": "SELECT user_id, item_id FROM train"}');
SQL
printf '\n%-44s %12s\n' "temporal split" "test NDCG@10"
printf '%-44s %12s\n' "ease alone" "$(ndcg ml-ease test)"
printf '%-44s %12s\n' "hand: weighted als + pop 0.1 + seq 0.3" "$(ndcg hand-weighted test)"
for cf in als ease; do
    q >/dev/null <<SQL
SET client_min_messages = warning;
SELECT fashionrec.train('hand-mlp-$cf-fit', 'hybrid', NULL, '{"cf": "fit-$cf", "content": "fit-genres", "popularity": "fit-pop",
       "sequence": "fit-seq", "content_weight": 0.1, "popularity_weight": 0.1, "sequence_weight": 0.3,
       "fusion": "mlp", "mlp_bags": $bags, "validation": "val", "interactions": "SELECT user_id, item_id FROM fit"}');
SELECT fashionrec.train('hand-mlp-$cf', 'hybrid', NULL, '{"cf": "ml-$cf", "content": "ml-genres", "popularity": "ml-pop",
       "sequence": "ml-seq", "content_weight": 0.1, "popularity_weight": 0.1, "sequence_weight": 0.3,
       "fusion_from": "hand-mlp-$cf-fit", "interactions": "SELECT user_id, item_id FROM train"}');
SQL
    printf '%-44s %12s\n' "hand: mlp fusion, cf $cf (stacked)" "$(ndcg "hand-mlp-$cf" test)"
done

# ---- 1. tune() -------------------------------------------------------------------
t0=$(date +%s)
q -c "SET client_min_messages = warning" -c "CREATE TABLE trials AS SELECT * FROM fashionrec.tune('tuned', 'hybrid', 'train',
    '{\"cf\": [\"ml-als\", \"ml-ease\"], \"fusion\": [\"weighted\", \"logistic\", \"mlp\"],
      \"content_weight\": [0, 0.1], \"popularity_weight\": [0, 0.1, 0.3], \"sequence_weight\": [0, 0.3, 0.6]}',
    split_method => 'temporal', budget => $budget, folds => $tune_folds, activate_best => true, params => '{$base}')" >/dev/null
t1=$(date +%s)
echo
echo "tune(): $budget of 108 combinations x $tune_folds splits in $((t1 - t0)) s (refit included), scored by the mean NDCG@10 over its splits of train, best 5:"
q -c "SELECT round(score::numeric, 4), trial_params FROM trials ORDER BY score DESC, model_version LIMIT 5" | sed 's/^/  /'
echo "  the hand configuration (ease, mlp, genres 0.1, popularity 0.1, sequence 0.3):"
q -c "SELECT round(score::numeric, 4), 'rank ' || (SELECT count(*) + 1 FROM trials u WHERE u.score > t.score) || ' of ' || (SELECT count(*) FROM trials)
        FROM trials t WHERE trial_params = '{\"cf\": \"ml-ease\", \"fusion\": \"mlp\", \"content_weight\": 0.1,
                                             \"popularity_weight\": 0.1, \"sequence_weight\": 0.3}'" | sed 's/^/  /'
best=$(q -c "SELECT trial_params FROM trials WHERE best")
# tune() activated the best configuration trained on the whole training part
printf '\n%-44s %12s\n' "tuned: $(q -c "SELECT '$best'::jsonb ->> 'cf' || ', ' || ('$best'::jsonb ->> 'fusion')")" "$(ndcg tuned test)"
q -c "SELECT 'active version ' || version || ', status ' || status || ', params ' || (params - 'interactions')::text FROM fashionrec.model WHERE name = 'tuned' AND active" | sed 's/^/  /'

# Diagnosis, not choice (MLP_SEEDS="42 1 2 3"): how much of a test figure is
# the learned fusion's own fit?  The tuned and the hand configuration, each
# trained on the whole training part (stacked, as tune()'s refit) with other
# seeds of the MLP's initialisation and sampling (42 is the default).
hand='{"cf": "ml-ease", "fusion": "mlp", "content_weight": 0.1, "popularity_weight": 0.1, "sequence_weight": 0.3}'
for s in ${MLP_SEEDS:-}; do
    for cfg in tuned hand; do
        conf=$best; [ $cfg = hand ] && conf=$hand
        q -c "SET client_min_messages = warning" -c "SELECT fashionrec._hybrid_train('seed-$cfg-$s',
                '{$base}'::jsonb || '$conf'::jsonb || '{\"seed\": $s}', NULL,
                'SELECT user_id, item_id, w, t FROM train', 'train', NULL, activate => true)" >/dev/null
    done
    printf '%-44s %12s %12s\n' "mlp seed $s: tuned / hand configuration" "$(ndcg "seed-tuned-$s" test)" "$(ndcg "seed-hand-$s" test)"
done
echo "load: $(uptime)"
[ "${CV:-1}" = 0 ] && exit 0

# ---- 2. cross_validate(), temporal folds -------------------------------------------
echo
echo "cross_validate(): $folds temporal folds (rolling origin) of all ratings, NDCG@10 mean ± sd (folds evaluated, test users)"
cv() {  # label, algorithm, params
    q -c "SET client_min_messages = warning" -c "SELECT '$1', round(avg(ndcg_at_k)::numeric, 4) || ' ± ' || round(stddev_samp(ndcg_at_k)::numeric, 4),
                 count(*) FILTER (WHERE status = 'evaluated'), sum(users)
            FROM fashionrec.cross_validate('cv', '$2', 'SELECT user_id, item_id, 1, to_timestamp(ts) FROM ratings',
                                           folds => $folds, fold_method => 'temporal', params => '$3')" |
        awk -F'\t' '{ printf "  %-40s %18s %4s %7s\n", $1, $2, $3, $4 }'
}
# the hybrids' components read all ratings too: each fold retrains them on
# the ratings before its cut
q >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT fashionrec.train('cv-ease', 'ease', 'SELECT user_id, item_id FROM ratings', '{"lambda": 500}');
SELECT fashionrec.train('cv-als', 'als', 'SELECT user_id, item_id FROM ratings',
                        '{"factors": 64, "regularization": 0.05, "iterations": 15}');
SELECT fashionrec.train('cv-pop', 'popularity', 'SELECT user_id, item_id FROM ratings');
SELECT fashionrec.train('cv-genres', 'embedding', 'genres', '{"interactions": "SELECT user_id, item_id FROM ratings"}');
SELECT fashionrec.train('cv-seq', 'sequence', 'SELECT user_id, item_id, 1, to_timestamp(ts) FROM ratings');
SQL
cv popularity popularity '{}'
cv "als" als '{"factors": 64, "regularization": 0.05, "iterations": 15}'
cv "ease" ease '{"lambda": 500}'
cv "hybrid weighted (als + pop 0.1 + seq 0.3)" hybrid '{"cf": "cv-als", "popularity": "cv-pop", "sequence": "cv-seq", "popularity_weight": 0.1, "sequence_weight": 0.3}'
cv "hybrid tuned" hybrid "$(q -c "SELECT '{\"cf\": \"cv-als\", \"content\": \"cv-genres\", \"popularity\": \"cv-pop\", \"sequence\": \"cv-seq\"}'::jsonb
                                   || '$best'::jsonb || jsonb_build_object('cf', replace('$best'::jsonb ->> 'cf', 'ml-', 'cv-'))")"
echo "load: $(uptime)"
