-- A/B testing without writing any table: every function that writes the
-- experiment tables (and runs no SQL of its caller) is SECURITY DEFINER, so
-- a login role that is only a member of fashionrec_trainer runs the whole
-- life cycle, and one that is only a member of fashionrec_app assigns,
-- serves and tracks, while a direct INSERT, UPDATE or DELETE on a table is
-- refused to both (42501).  Also: a QA override survives
-- assign(..., reassign => true) called by the application.
--
-- It runs in a database of its own where trainers have no INSERT, UPDATE or
-- DELETE on any table (nor a sequence to use): the other suites share one
-- database and keep its grants.
SET client_min_messages = warning;
\set SHOW_CONTEXT never
SELECT current_database() AS regress_db, current_user AS regress_user \gset
CREATE DATABASE fr_abtest_roles;
\c fr_abtest_roles
SET client_min_messages = warning;
CREATE EXTENSION fashionrec;
REVOKE INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA fashionrec FROM fashionrec_trainer;
REVOKE USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA fashionrec FROM fashionrec_trainer;
SELECT count(*) AS writable
  FROM pg_class c,
       (VALUES ('fashionrec_trainer'), ('fashionrec_app'), ('fashionrec_reader')) r(role),
       (VALUES ('INSERT'), ('UPDATE'), ('DELETE')) p(priv)
 WHERE c.relnamespace = 'fashionrec'::regnamespace AND c.relkind IN ('r', 'p')
   AND has_table_privilege(r.role, c.oid, p.priv);
-- which functions run as their owner, with a pinned search_path
SELECT p.proname, p.prosecdef AS definer, p.proconfig AS settings
  FROM pg_proc p
 WHERE p.pronamespace = 'fashionrec'::regnamespace
   AND p.proname IN ('create_experiment', 'add_variant', 'set_weights', 'start_experiment',
                     'stop_experiment', 'declare_winner', 'force_variant', 'drop_experiment',
                     'assign', 'recommend_experiment', 'track', 'experiment_results')
 ORDER BY p.prosecdef DESC, p.proname;

-- the SQLSTATE and message of a statement's error, or 'allowed' (runs as the caller)
CREATE FUNCTION public.attempt(statement text) RETURNS text
    LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'allowed';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

CREATE TABLE public.buys AS
SELECT (g % 40) AS customer, ((g * 7) % 25) AS product FROM generate_series(1, 800) g;
SELECT fashionrec.train('r-pop', 'popularity', 'public.buys') AS version;
SELECT fashionrec.train('r-pop', 'popularity',
       'SELECT customer, product FROM public.buys WHERE product % 2 = 0') AS version;
CREATE ROLE fr_ab_trainer LOGIN IN ROLE fashionrec_trainer;
CREATE ROLE fr_ab_app LOGIN IN ROLE fashionrec_app;

-- ---- the trainer: create, add variants, weights, QA overrides, start ----------
\c - fr_ab_trainer
SET client_min_messages = warning;
SELECT session_user, current_user, rolsuper,
       (SELECT array_agg(b.rolname ORDER BY b.rolname) FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid
         WHERE m.member = r.oid) AS member_of
  FROM pg_roles r WHERE r.rolname = current_user;
SELECT fashionrec.create_experiment('r-home', salt => 'r-home', description => 'v2 against v1') > 0 AS created;
SELECT fashionrec.add_variant('r-home', 'control', 'r-pop', 50);
SELECT fashionrec.add_variant('r-home', 'challenger', 'r-pop', 50, version => 2);
SELECT fashionrec.set_weights('r-home', '{"control": 40, "challenger": 60}');
-- the QA user: the hash puts them in the control (bucket below 0.4); forced into the challenger
SELECT min(u) AS qa FROM generate_series(900001, 900100) u WHERE fashionrec.ab_bucket('r-home', u) < 0.4 \gset
SELECT fashionrec.force_variant('r-home', :qa, 'challenger');
SELECT fashionrec.force_variant('r-home', :qa + 1000, 'control');
SELECT fashionrec.force_variant('r-home', :qa + 1000, NULL);
SELECT fashionrec.start_experiment('r-home');
-- who created it: the trainer, not the owner the function runs as
SELECT x.name, x.status, x.created_by,
       pg_get_userbyid(p.proowner) AS functions_run_as
  FROM fashionrec.experiment x,
       pg_proc p
 WHERE p.oid = 'fashionrec.create_experiment(text, text, double precision, text, text)'::regprocedure;
SELECT variant, weight, users, forced_users FROM fashionrec.experiment_variants WHERE experiment = 'r-home';
-- but no row can be written directly
SELECT s AS statement, public.attempt(s) AS result
  FROM (VALUES ($$INSERT INTO fashionrec.assignment (experiment_id, user_id, variant_id) VALUES (1, 1, 1)$$),
               ($$UPDATE fashionrec.variant SET weight = 100$$),
               ($$UPDATE fashionrec.assignment SET forced = false$$),
               ($$DELETE FROM fashionrec.event$$),
               ($$INSERT INTO fashionrec.experiment (name, salt) VALUES ('r-forged', 'x')$$),
               ($$UPDATE fashionrec.experiment SET status = 'stopped'$$),
               ($$SELECT nextval('fashionrec.experiment_id_seq')$$)) v(s);
SELECT status FROM fashionrec.experiment WHERE name = 'r-home';

-- ---- the application: assign, serve, track -------------------------------------
\c - fr_ab_app
SET client_min_messages = warning;
SELECT session_user, current_user;
SELECT u, fashionrec.assign('r-home', u) AS variant,
       round(fashionrec.ab_bucket('r-home', u)::numeric, 4) AS bucket
  FROM generate_series(1, 6) u;
SELECT variant, count(*) AS items FROM fashionrec.recommend_experiment('r-home', 7, 5) GROUP BY variant;
-- the QA user hashed again: the override stands (it used to be replaced by the
-- hash's control, and the row was no longer forced)
SELECT fashionrec.assign('r-home', :qa, reassign => true) AS qa_reassigned,
       fashionrec.assign('r-home', :qa) AS qa_afterwards,
       round(fashionrec.ab_bucket('r-home', :qa)::numeric, 4) AS qa_bucket;
SELECT a.forced, v.name AS variant FROM fashionrec.assignment a JOIN fashionrec.variant v ON v.id = a.variant_id
 WHERE a.user_id = :qa;
-- a user who is not forced is hashed again as before
SELECT fashionrec.assign('r-home', 3, reassign => true) AS user_3;
-- events; a value is at most 1e15
SELECT fashionrec.track('r-home', u, 'purchase', value => 1e15) AS tracked
  FROM generate_series(1, 6) u WHERE u % 2 = 0;
SELECT fashionrec.track('r-home', 4, 'purchase', value => 1e15) AS again;
SELECT fashionrec.track('r-home', 4, 'purchase', value => 1e308);
SELECT fashionrec.track('r-home', :qa, 'click') AS qa_click;
-- nothing else: no direct writes, no lifecycle functions
SELECT s AS statement, public.attempt(s) AS result
  FROM (VALUES ($$INSERT INTO fashionrec.assignment (experiment_id, user_id, variant_id) VALUES (1, 1, 1)$$),
               ($$UPDATE fashionrec.variant SET weight = 100$$),
               ($$INSERT INTO fashionrec.event (experiment_id, variant_id, user_id, event_type) VALUES (1, 1, 1, 'click')$$),
               ($$SELECT fashionrec.create_experiment('r-app')$$),
               ($$SELECT fashionrec.force_variant('r-home', 1, 'challenger')$$),
               ($$SELECT fashionrec.set_weights('r-home', '{"control": 1, "challenger": 99}')$$),
               ($$SELECT fashionrec.stop_experiment('r-home')$$)) v(s);

-- ---- the trainer: results, stop, winner, drop -----------------------------------
\c - fr_ab_trainer
SET client_min_messages = warning;
SELECT variant, users, conversions, round(value_per_user::numeric) AS value_per_user
  FROM fashionrec.experiment_results('r-home');
SELECT fashionrec.stop_experiment('r-home');
SELECT fashionrec.declare_winner('r-home', 'challenger') AS activated_version;
SELECT name, status, winner, created_by, decided_by FROM fashionrec.experiment;
SELECT version, active FROM fashionrec.models WHERE name = 'r-pop' ORDER BY version;
SELECT fashionrec.create_experiment('r-draft') > 0 AS created;
SELECT fashionrec.drop_experiment('r-draft');
SELECT fashionrec.drop_experiment('r-home');
SELECT (SELECT count(*) FROM fashionrec.experiment) AS experiments,
       (SELECT count(*) FROM fashionrec.variant) AS variants,
       (SELECT count(*) FROM fashionrec.assignment) AS assignments,
       (SELECT count(*) FROM fashionrec.event) AS events;

-- ---- clean up --------------------------------------------------------------------
\c :regress_db :regress_user
DROP DATABASE fr_abtest_roles WITH (FORCE);
DROP ROLE fr_ab_trainer, fr_ab_app;
