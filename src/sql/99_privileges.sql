-- Privileges, last so they cover every object above.
-- Readers serve recommendations; trainers also train and change the registry.
-- Nobody else may write the catalog, and nobody may through PUBLIC.

REVOKE ALL ON ALL TABLES IN SCHEMA fashionrec FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA fashionrec FROM PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA fashionrec TO fashionrec_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA fashionrec TO fashionrec_trainer;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA fashionrec TO fashionrec_trainer;

-- functions that write: trainers only
DO $grants$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'fashionrec'::regnamespace
           AND p.proname IN ('train', '_train_artifacts', 'activate', 'rollback', 'archive',
                             'drop_model', 'evaluate', 'cross_validate', 'tune', 'refresh_user')
    LOOP
        EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO fashionrec_trainer', f);
    END LOOP;
END
$grants$;
