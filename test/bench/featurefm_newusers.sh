#!/usr/bin/env bash
# featurefm's new customers on MovieLens 100K: a fifth of the users, by a
# hash of the id, are held out entirely; models are trained on the others'
# ratings; each held-out user's ratings are their test set (evaluate(), k =
# 10, every item a candidate).  The user features are the demographics of
# u.user (gender, age decade, occupation), given for every user: featurefm
# scores the held-out users from them; popularity (what every model gives a
# customer it does not know) is the reference, trained on the same ratings in
# the same run.
#
#   bash test/bench/featurefm_newusers.sh        (FR_DATA=/path/to/data to override)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

fr_data_bench movielens-100k u.data u.item u.user
echo "load: $(uptime)"

q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION fashionrec;
$(fr_ml100k_sql "$DIR")
CREATE TABLE people (user_id bigint, age int, gender text, occupation text, zip text);
\copy people FROM '$DIR/u.user' WITH (FORMAT csv, DELIMITER '|')
CREATE VIEW demographics AS
SELECT user_id, 'gender=' || gender AS feature FROM people
UNION ALL SELECT user_id, 'age=' || (age / 10) * 10 FROM people
UNION ALL SELECT user_id, 'occupation=' || occupation FROM people;
CREATE TABLE new_users AS
SELECT DISTINCT user_id FROM ratings
 WHERE ('x' || substr(md5('fashionrec' || user_id), 1, 8))::bit(32)::int % 5 = 0;
CREATE VIEW known AS SELECT user_id, item_id FROM ratings WHERE user_id NOT IN (SELECT user_id FROM new_users);
CREATE VIEW new_user_test AS SELECT user_id, item_id FROM ratings WHERE user_id IN (SELECT user_id FROM new_users);
SQL

q >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT fashionrec.train('nu-pop', 'popularity', 'known');
SELECT fashionrec.train('nu-fm', 'featurefm', 'known');
SELECT fashionrec.train('nu-fm-demo', 'featurefm', 'known', '{"user_features": "demographics"}');
SELECT fashionrec.train('nu-fm-demo-only', 'featurefm', 'known',
                        '{"user_features": "demographics", "user_identity": false}');
-- each customer's three features scaled to sum 1
SELECT fashionrec.train('nu-fm-demo-normalized', 'featurefm', 'known',
                        '{"user_features": "demographics", "user_identity": false, "normalize": true}');
SQL
echo "new users: $(q -c "SELECT count(*) || ' held-out users, ' || (SELECT count(*) FROM new_user_test) || ' test ratings, ' || (SELECT count(*) FROM known) || ' training ratings' FROM new_users")"
printf '%-34s %8s %10s %12s %s\n' model users "NDCG@10" "precision@10" "scored from features"
for m in nu-pop nu-fm nu-fm-demo nu-fm-demo-only nu-fm-demo-normalized; do
    printf '%-34s %8s %10s %12s %s\n' "$m" $(q -c "SET client_min_messages = warning" \
        -c "SELECT users, round(ndcg_at_k::numeric, 4), round(precision_at_k::numeric, 4) FROM fashionrec.evaluate('$m', 'new_user_test', 10)" | tail -1) \
        "$(q -c "SELECT coalesce(info ->> 'users_without_interactions', '0') FROM fashionrec.models WHERE name = '$m'")"
done
echo "load: $(uptime)"
