#!/usr/bin/env bash
# featurefm on MovieLens 100K, beside fashionrec's other models trained and
# evaluated in the same run; item features = the 19 genre flags of u.item.
#
# 1. New items (the split of test/bench/hybrid_ml100k.sh): 20% of the items,
#    by a hash of the id, are held out entirely; models are trained on the
#    ratings of the others; every user who rated held-out items ranks all of
#    them (candidates): NDCG@10 and AUC.  featurefm knows the held-out items
#    by their genres only (item_identity false); WARP on one thread and two.
#    Then featurefm ensembles in the hybrid (WARP + BPR + WARP with another
#    seed as its components), the blend chosen on an inner new-item split of
#    the training part, beside featurefm alone.
# 2. Temporal split (as test/bench/ml100k.sh: each user's latest 20% of
#    ratings are the test set), k = 10: featurefm with identities only and
#    with identities + genres, on one thread and on two, beside popularity,
#    ALS and EASE.
# 3. Training speed at 1M interactions (synthetic: 20,000 users, 5,000 items,
#    Zipf-like popularity), 64 factors, one thread and two: epochs per
#    second for WARP and BPR, beside ALS iterations per second on the same
#    data; then the kernel alone (test/bench/featurefm_kernel.c).
#
#   bash test/bench/featurefm_ml100k.sh        (FR_DATA=/path/to/data to override)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

fr_ml100k_bench
echo "load: $(uptime)"

q >/dev/null <<SQL
SET client_min_messages = warning;
$(fr_ml100k_cold_sql)
CREATE VIEW genre_features AS
SELECT g.item_id, 'genre' || t.o AS feature
  FROM genres g, unnest(g.v) WITH ORDINALITY AS t(x, o) WHERE t.x > 0;
SQL

# ---- 1. new items -----------------------------------------------------------------
q >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT fashionrec.train('cold-pop', 'popularity', 'warm');
SELECT fashionrec.train('cold-genres', 'embedding', 'genres', '{"interactions": "warm"}');
SELECT fashionrec.train('cold-als', 'als', 'warm', '{"factors": 64, "regularization": 0.05, "iterations": 15}');
SELECT fashionrec.train('cold-hybrid', 'hybrid', NULL,
    '{"cf": "cold-als", "content": "cold-genres", "popularity": "cold-pop", "interactions": "warm"}');
SELECT fashionrec.train('cold-fm-warp', 'featurefm', 'warm',
    '{"item_features": "genre_features", "item_identity": false, "loss": "warp"}');
-- on two threads: the 19 genre rows are written by every step of both threads
SELECT fashionrec.train('cold-fm-warp-2threads', 'featurefm', 'warm',
    '{"item_features": "genre_features", "item_identity": false, "loss": "warp", "threads": 2}');
SELECT fashionrec.train('cold-fm-bpr', 'featurefm', 'warm',
    '{"item_features": "genre_features", "item_identity": false, "loss": "bpr"}');
-- each item's genre weights scaled to sum 1 (LightFM's default)
SELECT fashionrec.train('cold-fm-normalized', 'featurefm', 'warm',
    '{"item_features": "genre_features", "item_identity": false, "normalize": true}');
-- featurefm as the hybrid's collaborative component: scored with its own
-- callbacks (bias included, new items from their genres), default weights ...
SELECT fashionrec.train('cold-hybrid-fm', 'hybrid', NULL,
    '{"cf": "cold-fm-warp", "content": "cold-genres", "popularity": "cold-pop", "interactions": "warm"}');
-- ... less of the genre cosine, static weights ...
SELECT fashionrec.train('cold-hybrid-fm-c05', 'hybrid', NULL,
    '{"cf": "cold-fm-warp", "content": "cold-genres", "popularity": "cold-pop", "interactions": "warm",
      "content_weight": 0.05, "history_n0": 0}');
-- ... and without it: popularity is 0 for every new item, so this ranks them as featurefm
SELECT fashionrec.train('cold-hybrid-fm-c0', 'hybrid', NULL,
    '{"cf": "cold-fm-warp", "content": "cold-genres", "popularity": "cold-pop", "interactions": "warm",
      "content_weight": 0}');
SQL
echo
echo "new items: $(q -c "SELECT count(*) || ' held-out items, ' || (SELECT count(*) FROM cold_test) || ' test ratings' FROM held_out")"
fr_cold_rows cold-pop cold-genres cold-hybrid cold-fm-normalized cold-fm-bpr cold-fm-warp cold-fm-warp-2threads \
             cold-hybrid-fm cold-hybrid-fm-c05 cold-hybrid-fm-c0

# ---- 1b. featurefm ensembles in the hybrid, chosen on the training data --------------
# Two or three featurefm models (WARP, BPR, another seed, 8 factors) as the
# hybrid's cf, content and image components, normalised per user over the
# catalogue and summed with static weights.  Which blend is kept is decided
# on an inner new-item split of the training part alone: another hashed
# fifth of the warm items held out from fresh components (inner_*); the
# blend with the best inner NDCG@10 among those whose inner AUC is not below
# featurefm alone's.  The held-out items of part 1 play no part in it.
q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE TABLE inner_held AS SELECT DISTINCT item_id FROM warm
 WHERE ('x' || substr(md5('inner' || item_id), 1, 8))::bit(32)::int % 5 = 0;
CREATE VIEW inner_warm AS SELECT user_id, item_id FROM warm WHERE item_id NOT IN (SELECT item_id FROM inner_held);
CREATE VIEW inner_test AS SELECT user_id, item_id FROM warm
 WHERE item_id IN (SELECT item_id FROM inner_held) AND user_id IN (SELECT user_id FROM inner_warm);
SELECT fashionrec.train('inner-genres', 'embedding', 'genres', '{"interactions": "inner_warm"}');
SQL
q >/dev/null -c "$(fr_ml100k_cold_sql | sed -n '/^CREATE FUNCTION cold_eval/,$p' \
    | sed 's/cold_eval/inner_eval/; s/FROM held_out/FROM inner_held/; s/FROM cold_test/FROM inner_test/')"
echo "inner split: $(q -c "SELECT count(*) || ' held-out warm items, ' || (SELECT count(*) FROM inner_test) || ' ratings' FROM inner_held")"
# the components, each trained as inner-fm-NAME on inner_warm and cold-fm-NAME
# on warm (part 1 trained cold-fm-warp and cold-fm-bpr); 8 factors: 19 genre
# embeddings need fewer than the default 32
for c in 'warp|"loss": "warp"' 'bpr|"loss": "bpr"' 'warp-seed7|"loss": "warp", "seed": 7' \
         'warp8|"loss": "warp", "factors": 8, "seed": 13' 'bpr8|"loss": "bpr", "factors": 8, "seed": 15' \
         'warp8-seed16|"loss": "warp", "factors": 8, "seed": 16'; do
    for side in inner-fm:inner_warm cold-fm:warm; do
        [ "$side" = cold-fm:warm ] && { [ "${c%%|*}" = warp ] || [ "${c%%|*}" = bpr ]; } && continue
        q >/dev/null -c "SET client_min_messages = warning" -c "SELECT fashionrec.train('${side%%:*}-${c%%|*}', 'featurefm',
            '${side#*:}', '{\"item_features\": \"genre_features\", \"item_identity\": false, ${c#*|}}')"
    done
done
# label | the hybrid's parameters, @NAME = the component inner-NAME or cold-NAME;
# "alone" (featurefm WARP with the defaults, first: the bar of the AUC rule)
# and the other single models are references, every other line a candidate
ENSEMBLES='alone|"cf": "@fm-warp"
warp8-alone|"cf": "@fm-warp8"
bpr8-alone|"cf": "@fm-bpr8"
warp-bpr|"cf": "@fm-warp", "content": "@fm-bpr"
warp-bpr.rank|"cf": "@fm-warp", "content": "@fm-bpr", "normalization": "rank"
warp-warp7|"cf": "@fm-warp", "content": "@fm-warp-seed7"
warp-bpr-warp7|"cf": "@fm-warp", "content": "@fm-bpr", "image": "@fm-warp-seed7"
warp-bpr-warp7.rank|"cf": "@fm-warp", "content": "@fm-bpr", "image": "@fm-warp-seed7", "normalization": "rank"
warp-warp8-bpr8|"cf": "@fm-warp", "content": "@fm-warp8", "image": "@fm-bpr8"
warp8-bpr8|"cf": "@fm-warp8", "content": "@fm-bpr8"
warp8-bpr8-warp8s16|"cf": "@fm-warp8", "content": "@fm-bpr8", "image": "@fm-warp8-seed16"
warp8-bpr8-warp8s16.rank|"cf": "@fm-warp8", "content": "@fm-bpr8", "image": "@fm-warp8-seed16", "normalization": "rank"
warp-genres0.05|"cf": "@fm-warp", "content": "@genres", "content_weight": 0.05'
echo
printf '%-26s %11s %10s %10s %9s\n' "featurefm hybrid" "inner NDCG" "inner AUC" "test NDCG" "test AUC"
best= best_ndcg=-1 alone_auc=
while IFS='|' read -r label cfg; do
    # static weights 1 for every scoring model (the genre line sets its own)
    for side in inner:inner_warm:inner_eval cold:warm:cold_eval; do
        IFS=: read -r prefix source eval <<<"$side"
        q >/dev/null -c "SET client_min_messages = warning" -c "SELECT fashionrec.train('ens-$prefix-$label', 'hybrid', NULL,
            '{\"content_weight\": 1, \"image_weight\": 1, \"history_n0\": 0, ${cfg//@/$prefix-}, \"interactions\": \"$source\"}')"
        read -r "ndcg_$prefix" "auc_$prefix" <<<"$(q -F ' ' -c "SELECT ndcg, auc FROM $eval('ens-$prefix-$label')")"
    done
    printf '%-26s %11s %10s %10s %9s\n' "$label" "$ndcg_inner" "$auc_inner" "$ndcg_cold" "$auc_cold"
    [ -z "$alone_auc" ] && alone_auc=$auc_inner
    case $label in *alone) continue ;; esac
    if awk -v a="$auc_inner" -v b="$alone_auc" -v n="$ndcg_inner" -v m="$best_ndcg" 'BEGIN { exit !(a >= b && n > m) }'; then
        best=$label best_ndcg=$ndcg_inner
    fi
done <<<"$ENSEMBLES"
echo "chosen on the inner split: $best"
fr_cold_rows cold-fm-warp cold-fm-warp8 "ens-cold-$best"

# ---- 2. temporal split ---------------------------------------------------------------
q >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT fashionrec.train('warm-pop', 'popularity', 'SELECT user_id, item_id FROM train');
SELECT fashionrec.train('warm-als', 'als', 'SELECT user_id, item_id FROM train',
                        '{"factors": 64, "regularization": 0.05, "iterations": 15}');
SELECT fashionrec.train('warm-ease', 'ease', 'SELECT user_id, item_id FROM train', '{"lambda": 500}');
SELECT fashionrec.train('warm-fm', 'featurefm', 'SELECT user_id, item_id FROM train');
SELECT fashionrec.train('warm-fm-genres', 'featurefm', 'SELECT user_id, item_id FROM train',
                        '{"item_features": "genre_features"}');
SELECT fashionrec.train('warm-fm-2threads', 'featurefm', 'SELECT user_id, item_id FROM train',
                        '{"threads": 2}');
SELECT fashionrec.train('warm-fm-genres-2threads', 'featurefm', 'SELECT user_id, item_id FROM train',
                        '{"item_features": "genre_features", "threads": 2}');
SQL
echo
printf '%-28s %10s\n' "temporal split, test" "NDCG@10"
for m in warm-pop warm-als warm-ease warm-fm warm-fm-2threads warm-fm-genres warm-fm-genres-2threads; do
    printf '%-28s %10s\n' "$m" "$(q -c "SET client_min_messages = warning" \
        -c "SELECT round(ndcg_at_k::numeric, 4) FROM fashionrec.evaluate('$m', 'test', 10)" | tail -1)"
done

# ---- 3. training speed at 1M interactions ---------------------------------------------
q >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT setseed(0.5);
CREATE TABLE big AS
SELECT DISTINCT (random() * 19999)::int + 1 AS user_id,
       floor(5000 * power(random(), 2.5))::int + 1 AS item_id
  FROM generate_series(1, 1150000);
SQL
echo
echo "speed: $(q -c "SELECT count(*) || ' interactions, ' || count(DISTINCT user_id) || ' users, ' || count(DISTINCT item_id) || ' items' FROM big")"
echo "load: $(uptime)"
# The training loop's wall time, from its last progress NOTICE ("... epoch 3
# of 3: loss ..., 12.3 s"; reading the source is left out), and the CPU time
# of the whole train() call from the backend's /proc entry: on a shared
# machine the CPU time is the figure that compares.
speed() {   # name, algorithm, params
    q -v ON_ERROR_STOP=1 2>&1 >/dev/null <<SQL | tr '\n' ' '
SELECT pg_backend_pid() AS pid \gset
\setenv FR_BACKEND :pid
SET fashionrec.max_memory = '2GB';
\\! awk '{ print "cpu0", \$14 + \$15 }' /proc/\$FR_BACKEND/stat >&2
SELECT fashionrec.train('$1', '$2', 'big', '$3');
\\! awk '{ print "cpu1", \$14 + \$15 }' /proc/\$FR_BACKEND/stat >&2
SQL
}
report() {  # label, then what speed() printed
    local label=$1; shift
    echo "$*" | awk -v label="$label" -v hz="$(getconf CLK_TCK)" '
        { for (i = 1; i <= NF; i++) {
              if ($i == "cpu0") c0 = $(i + 1); if ($i == "cpu1") c1 = $(i + 1)
              if ($i == "of" && $(i + 2) == "loss") { n = $(i - 1) }
              if ($i == "s" && $(i - 2) ~ /,$/) { t = $(i - 1) } } }
        END { printf "%-30s %8d %10.2f %10.3f %10.2f\n", label, n, t, n / t, (c1 - c0) / hz }'
}
printf '%-30s %8s %10s %10s %10s\n' model passes "loop s" "passes/s" "call cpu s"
report "featurefm warp, 64 factors" $(speed speed-warp featurefm '{"factors": 64, "epochs": 3}')
report "  the same, 2 threads" $(speed speed-warp-2 featurefm '{"factors": 64, "epochs": 3, "threads": 2}')
report "featurefm bpr, 64 factors" $(speed speed-bpr featurefm '{"factors": 64, "epochs": 3, "loss": "bpr"}')
report "  the same, 2 threads" $(speed speed-bpr-2 featurefm '{"factors": 64, "epochs": 3, "loss": "bpr", "threads": 2}')
report "als (cg), 64 factors" $(speed speed-als als '{"factors": 64, "iterations": 3}')
echo "load: $(uptime)"
# the kernel alone, the same shape of data: threads without the server around them
echo
KDIR=$(mktemp -d)
cc -O2 -pthread -Isrc -o "$KDIR/featurefm_kernel" test/bench/featurefm_kernel.c test/unit/kernel_stub.c \
   src/featurefm.c src/csr.c src/rng.c -lm
"$KDIR/featurefm_kernel" 3
rm -rf "$KDIR"
