-- Privileges, last so they cover every object above.
--
-- Readers serve recommendations; trainers also train and change the
-- registry; the application role assigns, serves and tracks A/B variants.
-- No role writes the extension's tables directly, trainers included: every
-- write goes through an API function, which either runs no SQL of its
-- caller's and is SECURITY DEFINER, or reads its caller's source as the
-- caller and stores through a narrow writer (src/catalog.c).
-- docs/reliability.md, "Security model", lists who may do what.

REVOKE ALL ON ALL TABLES IN SCHEMA fashionrec FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA fashionrec FROM PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA fashionrec TO fashionrec_reader;

-- SECURITY DEFINER functions are nobody's to call until granted below by
-- name; so are the writers that switch to the owner in C.
DO $internal$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'fashionrec'::regnamespace
           AND p.prosecdef
    LOOP
        EXECUTE pg_catalog.format('REVOKE EXECUTE ON ROUTINE %s FROM PUBLIC', f);
    END LOOP;
END
$internal$;

-- functions that write: trainers only
DO $grants$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'fashionrec'::regnamespace
           AND p.proname IN ('train', '_train_artifacts', '_model_begin', '_model_finish',
                             '_model_restate', '_queue', '_record_evaluation', '_mark_trial',
                             '_store_user_history', '_log_retrain', 'activate', 'rollback', 'archive',
                             'drop_model', 'evaluate', 'cross_validate', 'tune', 'refresh_user',
                             'create_experiment', 'add_variant', 'set_weights', 'start_experiment',
                             'stop_experiment', 'declare_winner', 'force_variant', 'drop_experiment',
                             'experiment_results', '_ab_assign', '_ab_state', 'assign', 'recommend_experiment', 'track',
                             'snapshot_stats', '_snapshot_online', 'reset_serving_stats', 'retrain',
                             'schedule_retraining', 'unschedule_retraining', 'schedule_snapshots',
                             'unschedule_snapshots', '_cron_schedule', '_cron_unschedule',
                             'create_feature_set', 'drop_feature_set', 'refresh_features',
                             'enable_realtime', 'disable_realtime', '_feature_trigger',
                             '_feature_set_create', '_feature_refresh_begin', '_feature_rebuild',
                             '_feature_refresh_batch', '_feature_refresh_gone', '_feature_refresh_finish',
                             '_feature_set_realtime', '_feature_set_drop',
                             'model_cache_drop', '_model_cache_drop',
                             'build_ann', '_train_ann',
                             '_hybrid_train', '_retrain_component', '_drop_versions', '_train_trial')
    LOOP
        -- ROUTINE: procedures (retrain) too
        EXECUTE pg_catalog.format('REVOKE EXECUTE ON ROUTINE %s FROM PUBLIC', f);
        EXECUTE pg_catalog.format('GRANT EXECUTE ON ROUTINE %s TO fashionrec_trainer', f);
    END LOOP;
END
$grants$;

-- A/B testing (60_abtest.sql): the application may only assign, serve and
-- track.  It gets EXECUTE on those three SECURITY DEFINER functions and what
-- readers may, but writes no table itself.  Raw events are for trainers only.
DO $app$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'fashionrec_app') THEN
        CREATE ROLE fashionrec_app NOLOGIN;
    END IF;
    IF NOT pg_catalog.pg_has_role('fashionrec_app', 'fashionrec_reader', 'MEMBER') THEN
        GRANT fashionrec_reader TO fashionrec_app;
    END IF;
END
$app$;
REVOKE SELECT ON fashionrec.event FROM fashionrec_reader;
GRANT SELECT ON fashionrec.event TO fashionrec_trainer;
GRANT EXECUTE ON FUNCTION fashionrec.assign(text, bigint, boolean),
                          fashionrec.recommend_experiment(text, bigint, integer, boolean, bigint[], bigint[], text, boolean),
                          fashionrec.track(text, bigint, text, bigint, double precision)
   TO fashionrec_app;

-- serving statistics, trainings in progress and the model store name every
-- model: readers only
REVOKE EXECUTE ON FUNCTION fashionrec._serving_stats(), fashionrec._training_progress(),
                           fashionrec._model_cache() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fashionrec._serving_stats(), fashionrec._training_progress(),
                          fashionrec._model_cache() TO fashionrec_reader;

-- batch scoring into a table: readers (it reads the model as its caller and
-- inserts with the caller's rights into the caller's table)
REVOKE EXECUTE ON FUNCTION fashionrec.recommend_all_into(text, regclass, integer, boolean, bigint[], bigint[], integer, integer, integer, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fashionrec.recommend_all_into(text, regclass, integer, boolean, bigint[], bigint[], integer, integer, integer, integer, text) TO fashionrec_reader;

-- Last, after every grant above: the install fails rather than leave a
-- SECURITY DEFINER function callable by PUBLIC.
DO $check$
DECLARE
    v_open text;
BEGIN
    SELECT pg_catalog.string_agg(p.oid::regprocedure::text, ', ') INTO v_open
      FROM pg_catalog.pg_proc p
     WHERE p.pronamespace = 'fashionrec'::regnamespace AND p.prosecdef
       AND (p.proacl IS NULL OR EXISTS (SELECT FROM pg_catalog.aclexplode(p.proacl) a
                                         WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'));
    IF v_open IS NOT NULL THEN
        RAISE EXCEPTION 'SECURITY DEFINER functions executable by PUBLIC: %', v_open;
    END IF;
END
$check$;
