-- Module basics: version, settings, roles and privileges.

SELECT fashionrec.version() = extversion AS version_matches_control
  FROM pg_extension WHERE extname = 'fashionrec';

-- settings and their defaults
SHOW fashionrec.blas_threads;
SHOW fashionrec.max_memory;
SHOW fashionrec.cache_models;
SHOW fashionrec.max_k;
SET fashionrec.max_memory = '64MB';
SHOW fashionrec.max_memory;
RESET fashionrec.max_memory;

-- invalid settings
SET fashionrec.blas_threads = 0;
SET fashionrec.blas_threads = 65;
SET fashionrec.max_memory = '10kB';
SET fashionrec.cache_models = 0;
SET fashionrec.no_such_setting = 1;

-- roles exist and the trainer is a reader
SELECT rolname, rolcanlogin FROM pg_roles
 WHERE rolname IN ('fashionrec_reader', 'fashionrec_trainer') ORDER BY 1;
SELECT pg_has_role('fashionrec_trainer', 'fashionrec_reader', 'MEMBER') AS trainer_reads;

-- catalog tables are not writable by PUBLIC
SELECT c.relname, has_table_privilege('public', c.oid, 'INSERT') AS public_insert,
       has_table_privilege('public', c.oid, 'SELECT') AS public_select,
       has_table_privilege('fashionrec_reader', c.oid, 'SELECT') AS reader_select,
       has_table_privilege('fashionrec_reader', c.oid, 'INSERT') AS reader_insert,
       has_table_privilege('fashionrec_trainer', c.oid, 'INSERT') AS trainer_insert
  FROM pg_class c
 WHERE c.relnamespace = 'fashionrec'::regnamespace AND c.relkind = 'r'
 ORDER BY 1;

-- a reader can read the registry but not change it, nor train
CREATE ROLE fr_test_reader LOGIN IN ROLE fashionrec_reader;
SET ROLE fr_test_reader;
SELECT count(*) >= 0 AS reader_reads_models FROM fashionrec.models;
INSERT INTO fashionrec.model (name, version, algorithm) VALUES ('x', 1, 'popularity');
DELETE FROM fashionrec.artifact;
SELECT fashionrec.train('x', 'popularity', 'SELECT 1::bigint, 2::bigint');
SELECT fashionrec.activate('x', 1);
RESET ROLE;
DROP ROLE fr_test_reader;

-- every object of the extension is documented
SELECT p.oid::regprocedure AS undocumented_function
  FROM pg_proc p
 WHERE p.pronamespace = 'fashionrec'::regnamespace
   AND obj_description(p.oid, 'pg_proc') IS NULL;
SELECT c.relname AS undocumented_relation
  FROM pg_class c
 WHERE c.relnamespace = 'fashionrec'::regnamespace AND c.relkind IN ('r', 'v')
   AND obj_description(c.oid, 'pg_class') IS NULL;

-- planner costs (src/sql/98_costs.sql): serving and training are not the cost of an addition
SELECT p.proname, p.procost, CASE WHEN p.proretset THEN p.prorows END AS prorows
  FROM pg_proc p
 WHERE p.pronamespace = 'fashionrec'::regnamespace
   AND p.proname IN ('recommend', 'recommend_all', 'train', 'dominant_colors', 'tfidf', 'precision_at_k')
 ORDER BY p.proname;
