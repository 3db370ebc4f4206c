-- Security: the registry attacked by the roles that would attack it.
-- A trainer must not write the catalog directly, must not get their SQL run
-- by a more privileged role, must not plant artifacts in another's model;
-- no role may hold a model's queue up; serving statistics are for readers.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

CREATE TABLE sec_events (user_id int, item_id int);
INSERT INTO sec_events SELECT u, (u * 7 + i) % 20 FROM generate_series(1, 30) u, generate_series(1, 4) i;
CREATE ROLE fr_sec_trainer LOGIN IN ROLE fashionrec_trainer;
CREATE ROLE fr_sec_other LOGIN IN ROLE fashionrec_trainer;
CREATE ROLE fr_sec_nobody LOGIN;
GRANT SELECT ON sec_events TO fashionrec_trainer;
CREATE SCHEMA sec_tr AUTHORIZATION fr_sec_trainer;
GRANT USAGE ON SCHEMA sec_tr TO PUBLIC;

-- the trainer's function: as a superuser it would make the trainer one
SET ROLE fr_sec_trainer;
CREATE FUNCTION sec_tr.escalate() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE 'ALTER ROLE fr_sec_trainer SUPERUSER';
    END IF;
    RETURN true;
END $$;
SELECT fashionrec.train('sec-pop', 'popularity', 'sec_events');
SELECT fashionrec.train('sec-evil', 'popularity',
       'SELECT user_id, item_id FROM sec_events WHERE sec_tr.escalate()');
SELECT name, version, created_by FROM fashionrec.model WHERE name LIKE 'sec-%' ORDER BY name, version;

-- 1. no direct DML on the catalog, trainers included
UPDATE fashionrec.model SET source = 'SELECT user_id, item_id FROM sec_events WHERE sec_tr.escalate()'
 WHERE name = 'sec-pop';
INSERT INTO fashionrec.artifact SELECT model_id, name, 1, dtype, nrows, ncols, data
  FROM fashionrec.artifact LIMIT 1;
DELETE FROM fashionrec.activation;
UPDATE fashionrec.model SET params = '{"interactions": "x"}';
INSERT INTO fashionrec.evaluation (model_id, k, test_source, metrics) VALUES (1, 1, 'x', '{}');
DELETE FROM fashionrec.retrain_log;
SELECT nextval('fashionrec.model_id_seq');
-- the API still works: activation, rollback, archive, evaluation, refresh
SELECT fashionrec.train('sec-pop', 'popularity', 'sec_events', activate => true);
SELECT fashionrec.rollback('sec-pop');
SELECT fashionrec.archive('sec-pop', 2);
SELECT users FROM fashionrec.evaluate('sec-pop', 'sec_events', 5);
SELECT fashionrec.refresh_user('sec-pop', 1);
SELECT name, version, previous_version, activated_by FROM fashionrec.activation
 WHERE name = 'sec-pop' ORDER BY activated_at;

-- 2. the writers refuse what is not the caller's own training
SELECT id AS evil_id FROM fashionrec.model WHERE name = 'sec-evil' \gset
SELECT id AS pop_id FROM fashionrec.model WHERE name = 'sec-pop' AND version = 1 \gset
SET ROLE fr_sec_other;
SELECT fashionrec._train_artifacts(:evil_id, 'popularity', 'sec_events', '{}');
SELECT fashionrec._model_finish(:evil_id, '{}', 1);
SELECT fashionrec._model_restate(:pop_id, 'SELECT 1', NULL, NULL);
-- a version row begun directly is the caller's, whatever it names
BEGIN;
SELECT fashionrec._model_begin('sec-pop', 'popularity', '{}', 'sec_events') AS begun \gset
SELECT version, status, created_by FROM fashionrec.model WHERE id = :begun;
ROLLBACK;
RESET ROLE;

-- 3. a stored source runs only as a role its author holds the rights of:
-- neither a superuser's retrain (or pg_cron job) nor another trainer runs it
CALL fashionrec.retrain('sec-evil');
SELECT decision, reason, run_by FROM fashionrec.retrain_log WHERE name = 'sec-evil';
SELECT fashionrec.refresh_user('sec-evil', 1);
SET ROLE fr_sec_other;
SELECT fashionrec.refresh_user('sec-evil', 1);
RESET ROLE;
SELECT rolsuper AS trainer_became_superuser FROM pg_roles WHERE rolname = 'fr_sec_trainer';
-- passing the source again runs it as the caller, who then wrote it
SELECT fashionrec.refresh_user('sec-evil', 1, source => 'sec_events');
-- the author runs their own source, and roles whose rights the author holds may
SET ROLE fr_sec_trainer;
SELECT fashionrec.refresh_user('sec-evil', 1);
SET ROLE fashionrec_trainer;
SELECT fashionrec.refresh_user('sec-evil', 1);
RESET ROLE;
-- a role that no longer exists runs nothing
CREATE ROLE fr_sec_gone LOGIN IN ROLE fashionrec_trainer;
SET ROLE fr_sec_gone;
SELECT fashionrec.train('sec-gone', 'popularity', 'sec_events');
RESET ROLE;
DROP ROLE fr_sec_gone;
SELECT fashionrec.refresh_user('sec-gone', 1);

-- 4. nobody can hold a model's queue up: not with the advisory locks 0.1
-- took, and not by locking the queue's rows
CREATE EXTENSION dblink;
SELECT dblink_connect('locker', format('host=%s port=%s dbname=%s user=fr_sec_nobody',
       current_setting('unix_socket_directories'), current_setting('port'), current_database()));
SELECT * FROM dblink('locker', $$SELECT pg_advisory_lock(hashtext('fashionrec.train'), hashtext('sec-pop'))::text,
                                        pg_advisory_lock(hashtext('fashionrec.model'), hashtext('sec-pop'))::text,
                                        pg_advisory_lock(hashtext('fashionrec.retrain'), hashtext('sec-pop'))::text$$)
    AS t(a text, b text, c text);
SET lock_timeout = '2s';
SELECT fashionrec.train('sec-pop', 'popularity', 'sec_events', activate => true) > 0 AS trained_and_activated;
RESET lock_timeout;
SELECT * FROM dblink('locker', $$SELECT fashionrec._queue('sec-pop', 'train')$$) AS t(q boolean);
SELECT dblink_disconnect('locker');
-- readers see the queues but cannot lock them
SET ROLE fashionrec_reader;
SELECT name, queue FROM fashionrec.model_queue WHERE name = 'sec-pop' ORDER BY queue FOR UPDATE;
SELECT name, queue FROM fashionrec.model_queue WHERE name = 'sec-pop' ORDER BY queue FOR KEY SHARE;
BEGIN;
LOCK TABLE fashionrec.model_queue IN EXCLUSIVE MODE;
ROLLBACK;
RESET ROLE;
DROP EXTENSION dblink;

-- 5. serving statistics are for the extension's roles
SET ROLE fr_sec_nobody;
SELECT count(*) FROM fashionrec._serving_stats();
SELECT count(*) FROM fashionrec.serving_stats;
SET ROLE fashionrec_reader;
SELECT count(*) >= 0 AS reader_sees_stats FROM fashionrec.serving_stats;
RESET ROLE;

-- 6. no SECURITY DEFINER function is callable by PUBLIC, and each pins search_path
SELECT p.oid::regprocedure AS open_to_public
  FROM pg_proc p
 WHERE p.pronamespace = 'fashionrec'::regnamespace AND p.prosecdef
   AND has_function_privilege('fr_sec_nobody', p.oid, 'EXECUTE');
SELECT p.oid::regprocedure AS definer_without_search_path
  FROM pg_proc p
 WHERE p.pronamespace = 'fashionrec'::regnamespace AND p.prosecdef
   AND NOT EXISTS (SELECT FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%');

SELECT fashionrec.drop_model(n) FROM unnest(ARRAY['sec-pop', 'sec-evil', 'sec-gone']) n;
DROP SCHEMA sec_tr CASCADE;
DROP TABLE sec_events;
DROP ROLE fr_sec_trainer;
DROP ROLE fr_sec_other;
DROP ROLE fr_sec_nobody;
