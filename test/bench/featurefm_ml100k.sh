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
#    the training part, beside featurefm alone (1b); and the release year of
#    u.item as a second featurefm component, and learned fusions fitted on the
#    inner split's new items only ("fusion_items": "new", stacked with
#    fusion_from), beside featurefm alone and featurefm given the years (1c).
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
echo "OpenBLAS kernel in the server: $(q -c "SELECT core || coalesce(' (' || advice || ')', '') FROM fashionrec.blas_info(0)")"

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
q >/dev/null -c "$(fr_ml100k_cold_sql | sed -n '/^CREATE FUNCTION cold_users/,$p' \
    | sed 's/cold_users/inner_users/g; s/cold_eval/inner_eval/; s/cold_diff/inner_diff/; s/FROM held_out/FROM inner_held/; s/FROM cold_test/FROM inner_test/')"
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
# blends LIST: trains each line's hybrid on both sides and prints its figures;
# sets best to the candidate with the best inner NDCG@10 among those whose
# inner AUC is not below the first line's (the reference)
blends() {
    local label cfg side prefix source eval alone_auc= best_ndcg=-1
    printf '%-26s %11s %10s %10s %9s\n' "featurefm hybrid" "inner NDCG" "inner AUC" "test NDCG" "test AUC"
    best=
    while IFS='|' read -r label cfg; do
        # static weights 1 for every scoring model (a line may set its own)
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
    done <<<"$1"
    echo "chosen on the inner split: $best"
}
echo
blends "$ENSEMBLES"
fr_cold_rows cold-fm-warp cold-fm-warp8 "ens-cold-$best"

# ---- 1c. the release year: a second content component; fusions fitted on new items ----
# u.item's release date gives each film its decade and, for the 1990s (81%
# of the films), its year: information the genre model does not have.  It
# enters the hybrid as a second featurefm over the year features alone
# (fm-years8), beside featurefm over the genres (fm-warp8); featurefm given
# genres and years together (fm-gy8) says how much of a gain is the year's.
# Static blends are chosen on the inner split as in 1b.  The learned fusions
# are fitted on the inner split (components trained on inner_warm, the
# inner held-out ratings as validation), with their examples restricted to
# the held-out items ("fusion_items": "new") or not, and reused over the
# components trained on warm (fusion_from): their inner figures are on the
# data they were fitted on, so they take no part in the choice.
q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE TABLE item_years AS
SELECT split_part(line, '|', 1)::bigint AS item_id,
       nullif(substring(split_part(line, '|', 3) FROM '[0-9]{4}$'), '')::int AS year
  FROM item_lines;
CREATE VIEW year_features AS
SELECT item_id, 'decade=' || year / 10 * 10 AS feature FROM item_years WHERE year IS NOT NULL
UNION ALL SELECT item_id, 'year=' || year FROM item_years WHERE year >= 1990;
CREATE VIEW genre_year_features AS SELECT * FROM genre_features UNION ALL SELECT * FROM year_features;
-- the title without its "(1995)": TF-IDF, the user's history as profile
CREATE VIEW titles AS
SELECT split_part(line, '|', 1)::bigint AS item_id,
       regexp_replace(split_part(line, '|', 2), '\s*\([0-9]{4}\)\s*$', '') AS title
  FROM item_lines;
SELECT fashionrec.train('inner-titles', 'tfidf', 'titles', '{"interactions": "inner_warm"}');
SELECT fashionrec.train('cold-titles', 'tfidf', 'titles', '{"interactions": "warm"}');
SQL
for c in 'years8|"item_features": "year_features", "loss": "warp", "factors": 8, "seed": 17' \
         'gy8|"item_features": "genre_year_features", "loss": "warp", "factors": 8, "seed": 13' \
         'bpr-gy8|"item_features": "genre_year_features", "loss": "bpr", "factors": 8, "seed": 15' \
         'gy8-seed16|"item_features": "genre_year_features", "loss": "warp", "factors": 8, "seed": 16'; do
    for side in inner-fm:inner_warm cold-fm:warm; do
        q >/dev/null -c "SET client_min_messages = warning" -c "SELECT fashionrec.train('${side%%:*}-${c%%|*}', 'featurefm',
            '${side#*:}', '{\"item_identity\": false, ${c#*|}}')"
    done
done
echo
blends 'warp8-alone|"cf": "@fm-warp8"
years8-alone|"cf": "@fm-years8"
gy8-alone|"cf": "@fm-gy8"
gy8-seed16-alone|"cf": "@fm-gy8-seed16"
titles-alone|"content": "@titles"
warp8_years8|"cf": "@fm-warp8", "content": "@fm-years8"
warp8_years8.rank|"cf": "@fm-warp8", "content": "@fm-years8", "normalization": "rank"
warp8_years8-0.3|"cf": "@fm-warp8", "content": "@fm-years8", "content_weight": 0.3
warp8_years8_genres0.05|"cf": "@fm-warp8", "content": "@fm-years8", "image": "@genres", "image_weight": 0.05
gy8_years8-0.3|"cf": "@fm-gy8", "content": "@fm-years8", "content_weight": 0.3
gy8_bpr-gy8_gy8-seed16|"cf": "@fm-gy8", "content": "@fm-bpr-gy8", "image": "@fm-gy8-seed16"
gy8_years8-0.3_titles0.05|"cf": "@fm-gy8", "content": "@fm-years8", "content_weight": 0.3, "image": "@titles", "image_weight": 0.05'
chosen=$best
# stacked LABEL ITEMS COMPONENTS: a logistic fusion fitted on the inner split
# with "fusion_items" ITEMS (every sampled user's candidates: each signal's
# top 300 among those items), reused over the components trained on warm
stacked() {
    local cfg=$3
    q >/dev/null -c "SET client_min_messages = warning" -c "SELECT fashionrec.train('fit-$1', 'hybrid', NULL,
        '{${cfg//@/inner-}, \"fusion\": \"logistic\", \"fusion_items\": \"$2\", \"fusion_candidates\": 300,
          \"validation\": \"inner_test\", \"interactions\": \"inner_warm\"}')" \
        -c "SELECT fashionrec.train('ens-cold-$1', 'hybrid', NULL,
        '{${cfg//@/cold-}, \"fusion_from\": \"fit-$1\", \"interactions\": \"warm\"}')"
    printf '%-26s %11s %10s %10s %9s\n' "$1" $(q -F ' ' -c "SELECT i.ndcg, i.auc, c.ndcg, c.auc FROM inner_eval('fit-$1') i, cold_eval('ens-cold-$1') c")
}
echo
printf '%-26s %11s %10s %10s %9s\n' "learned fusion, stacked" "inner (fit)" "inner AUC" "test NDCG" "test AUC"
stacked warp8_genres.lr-new new '"cf": "@fm-warp8", "content": "@genres"'
stacked warp8_genres.lr-all all '"cf": "@fm-warp8", "content": "@genres"'
stacked warp8_years8.lr-new new '"cf": "@fm-warp8", "content": "@fm-years8"'
stacked warp8_years8.lr-all all '"cf": "@fm-warp8", "content": "@fm-years8"'
stacked warp8_years8_genres.lr-new new '"cf": "@fm-warp8", "content": "@fm-years8", "image": "@genres"'
echo
echo "test: per-user difference (NDCG@10, AUC) and its standard error, against featurefm WARP 8 (genres) and featurefm given the years (gy8)"
printf '%-26s %8s %8s %8s %8s   %8s %8s %8s %8s\n' hybrid "vs warp8" se AUC se "vs gy8" se AUC se
for m in "$chosen" warp8_years8 warp8_genres.lr-new warp8_years8.lr-new warp8_years8_genres.lr-new; do
    printf '%-26s %8s %8s %8s %8s   %8s %8s %8s %8s\n' "$m" $(q -F ' ' -c "SELECT a.ndcg, a.ndcg_se, a.auc, a.auc_se,
        b.ndcg, b.ndcg_se, b.auc, b.auc_se FROM cold_diff('ens-cold-$m', 'cold-fm-warp8') a, cold_diff('ens-cold-$m', 'cold-fm-gy8') b")
done
echo "load: $(uptime)"

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
