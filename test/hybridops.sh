#!/usr/bin/env bash
# pg_cron keeps a hybrid fresh: fashionrec.schedule_retraining() of a shop
# hybrid runs CALL fashionrec.retrain() every minute; the retraining trains
# each component again on the new window, judges the challenger hybrid
# against the champion on interactions neither saw, and promotes it because
# the new data favours it: the champion was trained while the shop sold only
# its even-numbered products, and the odd ones sell since.  The promoted
# version pins new component versions; the components' own active versions
# stay as they were.
# Run by run-tests.sh against its throwaway cluster (PGHOST/PGPORT/PGUSER set;
# pg_cron preloaded with cron.database_name = 'postgres').  pg_cron's finest
# schedule is one minute, so this waits up to FR_CRON_WAIT seconds (default 150).
set -euo pipefail
db=postgres
wait_max=${FR_CRON_WAIT:-150}
q() { psql -qXAt -v ON_ERROR_STOP=1 -d "$db" "$@"; }

if [ "$(q -c "SELECT current_setting('cron.database_name', true)")" != "$db" ]; then
    echo "ok - skipped: pg_cron is not preloaded with cron.database_name = '$db'"; exit 0
fi

cleanup() {
    q >/dev/null 2>&1 <<'SQL' || true
SET client_min_messages = warning;
SELECT fashionrec.unschedule_retraining('cron-hybrid');
DROP EXTENSION IF EXISTS fashionrec CASCADE;
DROP SCHEMA IF EXISTS cron_hyb CASCADE;
SQL
}
trap cleanup EXIT
# pg_cron itself stays for the next suite: the scheduler of Debian 12's pg_cron
# can miss the jobs of an extension dropped and created again in the same
# server (its cached cron.job oid), and the cluster is thrown away anyway.

q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE EXTENSION fashionrec;
SELECT fashionrec.generate_shop(customers => 300, products => 200, events => 40000, target_schema => 'cron_hyb');
CREATE TABLE cron_hyb.buys AS
SELECT customer_id AS user_id, product_id AS item_id, 1.0::float8 AS weight, occurred_at AS event_time
  FROM cron_hyb.events WHERE event_type <> 'view' AND occurred_at < '2025-06-01' AND product_id % 2 = 0;
SELECT fashionrec.train('cron-hybrid-als', 'als', 'cron_hyb.buys', '{"factors": 16, "iterations": 8}');
SELECT fashionrec.train('cron-hybrid-pop', 'popularity', 'cron_hyb.buys');
SELECT fashionrec.train('cron-hybrid-seq', 'sequence', 'cron_hyb.buys');
SELECT fashionrec.train('cron-hybrid', 'hybrid', NULL,
       '{"cf": "cron-hybrid-als", "popularity": "cron-hybrid-pop", "sequence": "cron-hybrid-seq",
         "interactions": "cron_hyb.buys"}');
INSERT INTO cron_hyb.buys
SELECT customer_id, product_id, 1.0, occurred_at FROM cron_hyb.events
 WHERE event_type <> 'view' AND (occurred_at >= '2025-06-01' OR product_id % 2 = 1);
SQL

job=$(q -c "SELECT fashionrec.schedule_retraining('cron-hybrid', '* * * * *')")
echo "# scheduled job $job: $(q -c "SELECT command FROM cron.job WHERE jobid = $job")"

start=$SECONDS decision=
while [ $((SECONDS - start)) -lt "$wait_max" ]; do
    decision=$(q -c "SELECT decision FROM fashionrec.retrain_log WHERE name = 'cron-hybrid' ORDER BY id LIMIT 1")
    [ -n "$decision" ] && break
    sleep 2
done
waited=$((SECONDS - start))
# the job's transaction commits the log row before pg_cron records the run
sleep 2
q -c "SELECT fashionrec.unschedule_retraining('cron-hybrid')" >/dev/null

log=$(q -c "SELECT decision || ' (' || reason || ')' FROM fashionrec.retrain_log WHERE name = 'cron-hybrid' ORDER BY id LIMIT 1")
promoted=$(q -c "SELECT details -> 'promoted_components' FROM fashionrec.retrain_log WHERE name = 'cron-hybrid' ORDER BY id LIMIT 1")
active=$(q -c "SELECT version || ' ' || (info ->> 'cf') || ' ' || (info ->> 'popularity') || ' ' || (info ->> 'sequence')
                 FROM fashionrec.model WHERE name = 'cron-hybrid' AND active")
components=$(q -c "SELECT string_agg(name || '@' || version, ' ' ORDER BY name) FROM fashionrec.model
                    WHERE name LIKE 'cron-hybrid-%' AND active")
new_products=$(q -c "SELECT count(*) FROM fashionrec.recommend('cron-hybrid', 7, 10) WHERE item_id % 2 = 1")
runs=$(q -c "SELECT string_agg(status, ',') FROM cron.job_run_details WHERE jobid = $job")

echo "# after ${waited} s: $log"
echo "# active hybrid: version $active; components' active versions: $components; cron runs: ${runs:-none}"
fail=0
check() { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi; }
check "pg_cron retrained the hybrid by itself within ${wait_max} s" '[ -n "$decision" ]'
check "the new data favoured the challenger: promoted" '[ "$decision" = promoted ]'
check "the promoted version is active and pins the components retrained on the whole source" \
      '[ "$active" = "3 cron-hybrid-als@3 cron-hybrid-pop@3 cron-hybrid-seq@3" ] && [[ "$promoted" == *"cron-hybrid-als@3"* ]]'
check "the components' own active versions did not change" \
      '[ "$components" = "cron-hybrid-als@1 cron-hybrid-pop@1 cron-hybrid-seq@1" ]'
check "it serves the products that arrived after the champion" '[ "$new_products" -gt 0 ]'
check "pg_cron recorded the run as succeeded" '[[ "$runs" == *succeeded* ]]'
exit $fail
