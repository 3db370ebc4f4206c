#!/usr/bin/env bash
# pg_cron really retrains: a job scheduled every minute with
# fashionrec.schedule_retraining() runs CALL fashionrec.retrain() without
# anyone calling it, and the decision lands in fashionrec.retrain_log.  A
# second job whose retraining fails is logged as failed and pg_cron records
# its run as failed, with the reason.
# Run by run-tests.sh against its throwaway cluster (PGHOST/PGPORT/PGUSER set;
# pg_cron preloaded with cron.database_name = 'postgres').  pg_cron's finest
# schedule is one minute, so this waits up to FR_CRON_WAIT seconds (default 100).
set -euo pipefail
db=postgres
wait_max=${FR_CRON_WAIT:-100}
q() { psql -qXAt -v ON_ERROR_STOP=1 -d "$db" "$@"; }

if [ "$(q -c "SELECT current_setting('cron.database_name', true)")" != "$db" ]; then
    echo "ok - skipped: pg_cron is not preloaded with cron.database_name = '$db'"; exit 0
fi

cleanup() {
    q >/dev/null 2>&1 <<'SQL' || true
SET client_min_messages = warning;
SELECT fashionrec.unschedule_retraining('cron-shop');
SELECT fashionrec.unschedule_retraining('cron-bad');
DROP EXTENSION IF EXISTS fashionrec CASCADE;
DROP SCHEMA IF EXISTS cron_shop CASCADE;
DROP TABLE IF EXISTS public.cron_buys;
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
SELECT fashionrec.generate_shop(customers => 1000, products => 300, events => 20000, target_schema => 'cron_shop');
-- the champion knows January to August; then the autumn arrives
CREATE TABLE public.cron_buys AS
SELECT customer_id, product_id, 1.0::float8 AS w, occurred_at
  FROM cron_shop.events WHERE event_type <> 'view' AND occurred_at < '2025-09-01';
SELECT fashionrec.train('cron-shop', 'als', 'public.cron_buys', '{"factors": 16, "iterations": 8}');
-- no time column: its retraining's temporal split fails
SELECT fashionrec.train('cron-bad', 'popularity', 'SELECT customer_id, product_id FROM public.cron_buys');
INSERT INTO public.cron_buys
SELECT customer_id, product_id, 1.0, occurred_at
  FROM cron_shop.events WHERE event_type <> 'view' AND occurred_at >= '2025-09-01';
SQL

job=$(q -c "SELECT fashionrec.schedule_retraining('cron-shop', '* * * * *')")
echo "# scheduled job $job: $(q -c "SELECT command FROM cron.job WHERE jobid = $job")"
# scheduling again replaces the job rather than adding one
q -c "SELECT fashionrec.schedule_retraining('cron-shop', '* * * * *')" >/dev/null
jobs=$(q -c "SELECT count(*) FROM cron.job WHERE jobname = 'fashionrec-retrain-cron-shop'")
bad_job=$(q -c "SELECT fashionrec.schedule_retraining('cron-bad', '* * * * *')")

start=$SECONDS decision=
while [ $((SECONDS - start)) -lt "$wait_max" ]; do
    decision=$(q -c "SELECT decision FROM fashionrec.retrain_log WHERE name = 'cron-shop' ORDER BY id LIMIT 1")
    bad_decision=$(q -c "SELECT decision FROM fashionrec.retrain_log WHERE name = 'cron-bad' ORDER BY id LIMIT 1")
    [ -n "$decision" ] && [ -n "$bad_decision" ] && break
    sleep 2
done
waited=$((SECONDS - start))
# the job's transaction commits the log row before pg_cron records the run
sleep 2

log=$(q -c "SELECT decision || ' (' || reason || ')' FROM fashionrec.retrain_log WHERE name = 'cron-shop' ORDER BY id LIMIT 1")
versions=$(q -c "SELECT string_agg(version || ':' || status || CASE WHEN active THEN '*' ELSE '' END, ' ' ORDER BY version)
                   FROM fashionrec.model WHERE name = 'cron-shop'")
runs=$(q -c "SELECT string_agg(status, ',') FROM cron.job_run_details WHERE jobid = $job")
bad_runs=$(q -c "SELECT string_agg(status || ': ' || return_message, ',') FROM cron.job_run_details WHERE jobid = $bad_job")
q -c "SELECT fashionrec.unschedule_retraining('cron-bad')" >/dev/null
unscheduled=$(q -c "SELECT fashionrec.unschedule_retraining('cron-shop')")
left=$(q -c "SELECT count(*) FROM cron.job WHERE jobname = 'fashionrec-retrain-cron-shop'")

echo "# after ${waited} s: $log; versions $versions; cron runs: ${runs:-none}"
echo "# failing job: ${bad_decision:-no log row}; cron runs: ${bad_runs:-none}"
fail=0
check() { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi; }
check "scheduling twice keeps one job" '[ "$jobs" = 1 ]'
check "pg_cron ran the retraining by itself within ${wait_max} s" '[ -n "$decision" ]'
check "it decided (promoted a new version or kept the champion)" '[ "$decision" = promoted ] || [ "$decision" = kept ]'
check "a promotion left a new active version" '[ "$decision" != promoted ] || [[ "$versions" == *"3:ready*"* ]]'
check "pg_cron recorded the run as succeeded" '[[ "$runs" == *succeeded* ]]'
check "a failing retraining is logged as failed" '[ "$bad_decision" = failed ]'
check "and pg_cron records that run as failed, with the reason" '[[ "$bad_runs" == failed*"temporal split"* ]]'
check "unschedule_retraining removed the job" '[ "$unscheduled" = t ] && [ "$left" = 0 ]'
exit $fail
