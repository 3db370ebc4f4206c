-- Trainings in progress, seen from another session (fashionrec.training_progress),
-- freed when a training ends, fails or is cancelled; the loss history kept in the info.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

CREATE TABLE tp_events AS
SELECT u AS user_id, (u * 7 + i) % 40 AS item_id FROM generate_series(1, 200) u, generate_series(1, 6) i;
CREATE EXTENSION dblink;
SELECT dblink_connect('trainer', format('host=%s port=%s dbname=%s',
       current_setting('unix_socket_directories'), current_setting('port'), current_database()));
SELECT pid AS trainer_pid FROM dblink('trainer', 'SELECT pg_backend_pid()') AS t(pid integer) \gset

-- the trainer's source waits for a lock this session holds, so the training
-- is held in its first phase while we look
SELECT pg_advisory_lock(4242);
SELECT dblink_send_query('trainer', $$SELECT fashionrec.train('tp-als', 'als',
    'SELECT user_id, item_id FROM tp_events WHERE pg_advisory_xact_lock_shared(4242) IS NOT NULL',
    '{"factors": 8, "iterations": 5}')$$);
DO $$
BEGIN
    FOR i IN 1 .. 200 LOOP
        EXIT WHEN EXISTS (SELECT FROM fashionrec.training_progress WHERE model = 'tp-als');
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
SELECT pid = :trainer_pid AS trainer, model, version, algorithm, phase, step, steps, loss, rows_read,
       elapsed >= interval '0' AS running
  FROM fashionrec.training_progress;
-- the version row itself is not visible until the training commits
SELECT count(*) AS visible_rows FROM fashionrec.model WHERE name = 'tp-als';
SELECT pg_advisory_unlock(4242);
SELECT * FROM dblink_get_result('trainer') AS t(version integer);
SELECT * FROM dblink_get_result('trainer') AS t(version integer);
SELECT count(*) AS in_progress FROM fashionrec.training_progress;
-- one loss per iteration, for learning curves
SELECT jsonb_array_length(info -> 'loss_history') AS losses,
       (info -> 'loss_history' ->> 4)::float8 = (info ->> 'final_loss')::float8 AS last_is_final
  FROM fashionrec.model WHERE name = 'tp-als';

-- cancelled while it runs: gone from the view at once
SELECT pg_advisory_lock(4242);
SELECT dblink_send_query('trainer', $$SELECT fashionrec.train('tp-als', 'als',
    'SELECT user_id, item_id FROM tp_events WHERE pg_advisory_xact_lock_shared(4242) IS NOT NULL',
    '{"factors": 8, "iterations": 5}')$$);
DO $$
BEGIN
    FOR i IN 1 .. 200 LOOP
        EXIT WHEN EXISTS (SELECT FROM fashionrec.training_progress WHERE model = 'tp-als');
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
SELECT model, version, phase FROM fashionrec.training_progress;
SELECT pg_cancel_backend(:trainer_pid);
SELECT * FROM dblink_get_result('trainer', false) AS t(version integer);
SELECT pg_advisory_unlock(4242);
DO $$
BEGIN
    FOR i IN 1 .. 200 LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM fashionrec.training_progress);
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
SELECT count(*) AS in_progress_after_cancel FROM fashionrec.training_progress;
SELECT version, status FROM fashionrec.model WHERE name = 'tp-als' ORDER BY version;

-- a failed training is gone too, in the same session
SELECT fashionrec.train('tp-bad', 'als', 'SELECT user_id, item_id FROM tp_events', '{"factors": 0}');
SELECT count(*) AS in_progress_after_error FROM fashionrec.training_progress;

-- readers see it; others do not
CREATE ROLE fr_tp_nobody;
SET ROLE fr_tp_nobody;
SELECT count(*) FROM fashionrec.training_progress;
RESET ROLE;
DROP ROLE fr_tp_nobody;

SELECT dblink_disconnect('trainer');
DROP EXTENSION dblink;
SELECT fashionrec.drop_model('tp-als');
DROP TABLE tp_events;
