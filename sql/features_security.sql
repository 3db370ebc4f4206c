-- Feature store security (issue 16): each attack of the review, made by the
-- role that would make it — a trainer (fr_sec_tr, only a member of
-- fashionrec_trainer) or a shop that owns a product table and has no
-- fashionrec role (fr_sec_shop) — refused or harmless.  What an attacker's
-- function did, and as whom, lands in fr_sec_marker: it must never show a
-- superuser.  docs/features.md, "Security".
SET client_min_messages = warning;
\set SHOW_CONTEXT never

CREATE ROLE fr_sec_tr LOGIN;
GRANT fashionrec_trainer TO fr_sec_tr;
CREATE ROLE fr_sec_shop LOGIN;
CREATE SCHEMA fr_sec AUTHORIZATION fr_sec_tr;
CREATE SCHEMA fr_sec_shop AUTHORIZATION fr_sec_shop;
CREATE TABLE fr_sec_marker (who name, superuser boolean, via text);
GRANT INSERT, SELECT ON fr_sec_marker TO PUBLIC;
-- runs a statement as the current role; its SQLSTATE and message if refused
CREATE FUNCTION fr_sec_try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'done';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- ---- 1. a trainer's own cast, run by the trigger as superuser ---------------------
-- Casts (and to_jsonb's cast to json) are found by type, whatever the
-- search_path: the trainer's function would run in the old SECURITY DEFINER
-- trigger, as the extension's owner, and make the trainer superuser.
SET ROLE fr_sec_tr;
CREATE TYPE fr_sec.mood AS ENUM ('calm');
CREATE FUNCTION fr_sec.mood_text(fr_sec.mood) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.fr_sec_marker SELECT current_user, r.rolsuper, 'cast to text'
      FROM pg_roles r WHERE r.rolname = current_user;
    IF (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
        EXECUTE 'ALTER ROLE fr_sec_tr SUPERUSER';
    END IF;
    RETURN 'calm';
END
$$;
CREATE FUNCTION fr_sec.mood_json(fr_sec.mood) RETURNS json LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.fr_sec_marker SELECT current_user, r.rolsuper, 'cast to json'
      FROM pg_roles r WHERE r.rolname = current_user;
    IF (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
        EXECUTE 'ALTER ROLE fr_sec_tr SUPERUSER';
    END IF;
    RETURN '"calm"';
END
$$;
CREATE CAST (fr_sec.mood AS text) WITH FUNCTION fr_sec.mood_text(fr_sec.mood);
CREATE CAST (fr_sec.mood AS json) WITH FUNCTION fr_sec.mood_json(fr_sec.mood);
CREATE TABLE fr_sec.products (id integer PRIMARY KEY, colour text, mood fr_sec.mood);
INSERT INTO fr_sec.products VALUES (1, 'red', 'calm'), (2, 'blue', 'calm');
-- a column of the trainer's type is refused: a set reads text columns only
SELECT fr_sec_try($$SELECT fashionrec.create_feature_set('sec-cast', 'attributes', 'fr_sec.products',
                                                         '{"columns": ["colour", "mood"]}')$$);
\set VERBOSITY default
SELECT fashionrec.create_feature_set('sec-cast', 'tfidf', 'fr_sec.products', '{"text_columns": "mood"}');
\set VERBOSITY terse
-- over the text column, realtime; writes of rows with the trainer's column
SELECT feature_set, added FROM fashionrec.create_feature_set('sec-cast', 'attributes', 'fr_sec.products',
                                                             '{"columns": ["colour"]}');
SELECT fashionrec.enable_realtime('sec-cast');
INSERT INTO fr_sec.products VALUES (3, 'green', 'calm');
UPDATE fr_sec.products SET colour = 'navy' WHERE id = 1;
DELETE FROM fr_sec.products WHERE id = 2;
-- the trigger's columns keep their types (PostgreSQL refuses ALTER TYPE), but
-- a column of the trainer's type can take the name: writes are refused, not cast
ALTER TABLE fr_sec.products ALTER colour TYPE fr_sec.mood USING 'calm';
ALTER TABLE fr_sec.products RENAME colour TO colour_before;
ALTER TABLE fr_sec.products ADD COLUMN colour fr_sec.mood DEFAULT 'calm';
SELECT fr_sec_try($$INSERT INTO fr_sec.products VALUES (4, 'purple')$$);
SELECT fr_sec_try($$UPDATE fr_sec.products SET id = 5 WHERE id = 3$$);
SELECT fr_sec_try($$SELECT * FROM fashionrec.refresh_features('sec-cast')$$);
SELECT fr_sec_try($$SELECT fashionrec.enable_realtime('sec-cast')$$);
\set VERBOSITY default
INSERT INTO fr_sec.products VALUES (4, 'purple');
\set VERBOSITY terse
RESET ROLE;
-- the trainer is not superuser, and no cast ran at all
SELECT rolsuper FROM pg_roles WHERE rolname = 'fr_sec_tr';
SELECT * FROM fr_sec_marker;
SELECT f.item_id, f.features IS NULL AS tombstone
  FROM fashionrec.item_feature f JOIN fashionrec.feature_set s ON s.id = f.feature_set
 WHERE s.name = 'sec-cast' ORDER BY 1;

-- ---- 2. a table owner with no fashionrec role ------------------------------------
-- An administrator's realtime set over the shop's table.  The shop adds a
-- column of its own type with a cast to json (the old trigger read OLD
-- through to_jsonb) and writes rows.
SET ROLE fr_sec_shop;
CREATE TABLE fr_sec_shop.items (id bigint PRIMARY KEY, title text);
INSERT INTO fr_sec_shop.items VALUES (1, 'red summer dress'), (2, 'blue denim jeans'), (3, 'red denim jacket');
RESET ROLE;
SELECT feature_set, added FROM fashionrec.create_feature_set('sec-shop', 'tfidf', 'fr_sec_shop.items',
                                                             '{"text_columns": "title"}');
SELECT fashionrec.enable_realtime('sec-shop');
SET ROLE fr_sec_shop;
SELECT has_table_privilege('fashionrec.item_feature', 'INSERT') AS shop_may_insert,
       pg_has_role('fashionrec_reader', 'MEMBER') AS shop_is_reader;
CREATE TYPE fr_sec_shop.evil AS ENUM ('x');
CREATE FUNCTION fr_sec_shop.evil_json(fr_sec_shop.evil) RETURNS json LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.fr_sec_marker SELECT current_user, r.rolsuper, 'shop cast to json'
      FROM pg_roles r WHERE r.rolname = current_user;
    IF (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
        EXECUTE 'ALTER ROLE fr_sec_shop SUPERUSER';
    END IF;
    RETURN '"x"';
END
$$;
CREATE CAST (fr_sec_shop.evil AS json) WITH FUNCTION fr_sec_shop.evil_json(fr_sec_shop.evil);
ALTER TABLE fr_sec_shop.items ADD COLUMN extra fr_sec_shop.evil DEFAULT 'x';
-- the shop's writes go through, as the shop: computed, tombstoned, queued nowhere
UPDATE fr_sec_shop.items SET title = 'red maxi dress' WHERE id = 1;
DELETE FROM fr_sec_shop.items WHERE id = 2;
INSERT INTO fr_sec_shop.items VALUES (4, 'blue summer dress');
RESET ROLE;
SELECT rolsuper FROM pg_roles WHERE rolname = 'fr_sec_shop';
SELECT * FROM fr_sec_marker;
SELECT f.item_id, f.features IS NULL AS tombstone, f.terms, f.oov_terms
  FROM fashionrec.item_feature f JOIN fashionrec.feature_set s ON s.id = f.feature_set
 WHERE s.name = 'sec-shop' ORDER BY 1;
-- the same vectors as a refresh computes: nothing left to do
SELECT * FROM fashionrec.feature_staleness('sec-shop');

-- ---- 3. the trigger attached by hand to another table ---------------------------
-- The old trigger checked only its own name, then repointed the set at the
-- table it fired on and wrote that table's rows into it.
SET ROLE fr_sec_tr;
CREATE TABLE fr_sec.forged (id bigint PRIMARY KEY, title text);
DO $$
BEGIN
    EXECUTE (SELECT format('CREATE TRIGGER %I AFTER INSERT OR UPDATE ON fr_sec.forged FOR EACH ROW
                            EXECUTE FUNCTION fashionrec._feature_trigger(%L)', 'fashionrec_features_' || s.id, s.id)
               FROM fashionrec.feature_set s WHERE s.name = 'sec-shop');
END
$$;
SELECT fr_sec_try($$INSERT INTO fr_sec.forged VALUES (999, 'forged red dress')$$);
\set VERBOSITY default
INSERT INTO fr_sec.forged VALUES (999, 'forged red dress');
\set VERBOSITY terse
-- nor called directly, nor fired otherwise than as enable_realtime() installs it
SELECT fr_sec_try($$SELECT fashionrec._feature_trigger()$$);
RESET ROLE;
DO $$
BEGIN
    EXECUTE (SELECT format('CREATE TRIGGER fr_sec_statement AFTER INSERT ON fr_sec_shop.items FOR EACH STATEMENT
                            EXECUTE FUNCTION fashionrec._feature_trigger(%L)', s.id)
               FROM fashionrec.feature_set s WHERE s.name = 'sec-shop');
END
$$;
SELECT fr_sec_try($$INSERT INTO fr_sec_shop.items VALUES (5, 'green silk scarf')$$);
DROP TRIGGER fr_sec_statement ON fr_sec_shop.items;
-- the set still reads the shop's table, and has no forged item
SELECT name, source FROM fashionrec.feature_sets WHERE name = 'sec-shop';
SELECT count(*) AS forged FROM fashionrec.item_feature f JOIN fashionrec.feature_set s ON s.id = f.feature_set
 WHERE s.name = 'sec-shop' AND f.item_id IN (5, 999);

-- ---- 4. the id column: column privileges, no catalog writes --------------------------
-- The old trainer pointed an administrator's set's id_column at a salary
-- column it could not read, and the trigger published the salaries as
-- item ids to every reader.
CREATE TABLE fr_sec_staff (id integer PRIMARY KEY, name text, salary integer, band text);
INSERT INTO fr_sec_staff VALUES (1, 'Ada', 91000, 'senior'), (2, 'Bob', 52000, 'junior');
GRANT SELECT (id, name) ON fr_sec_staff TO fr_sec_tr;
SELECT feature_set, added FROM fashionrec.create_feature_set('sec-staff', 'attributes', 'fr_sec_staff',
                                                             '{"columns": "name"}');
SELECT fashionrec.enable_realtime('sec-staff');
SET ROLE fr_sec_tr;
-- no role writes the feature store's tables
SELECT fr_sec_try($$UPDATE fashionrec.feature_set SET id_column = 'salary' WHERE name = 'sec-staff'$$);
SELECT fr_sec_try($$UPDATE fashionrec.feature_set SET source = 'fr_sec.forged' WHERE name = 'sec-staff'$$);
SELECT fr_sec_try($$INSERT INTO fashionrec.item_feature VALUES (1, 91000, NULL, NULL, 1, 1, now())$$);
SELECT fr_sec_try($$DELETE FROM fashionrec.feature_queue$$);
SELECT fr_sec_try($$DELETE FROM fashionrec.feature_error$$);
-- and no writer changes a set's source or columns: a name is created once,
-- over columns its author may read (column privileges)
SELECT fr_sec_try($$SELECT fashionrec.create_feature_set('sec-staff', 'attributes', 'fr_sec_staff',
                                                         '{"id_column": "salary", "columns": "name"}')$$);
SELECT fr_sec_try($$SELECT fashionrec.create_feature_set('sec-salary', 'attributes', 'fr_sec_staff',
                                                         '{"id_column": "salary", "columns": "name"}')$$);
SELECT fr_sec_try($$SELECT fashionrec.create_feature_set('sec-salary', 'attributes', 'fr_sec_staff',
                                                         '{"columns": ["name", "band"]}')$$);
SELECT fr_sec_try($$SELECT fashionrec._feature_set_create('sec-salary', 'attributes', 'fr_sec_staff',
                                                          '{"id_column": "salary", "columns": "name"}')$$);
\set VERBOSITY default
SELECT fashionrec.create_feature_set('sec-salary', 'attributes', 'fr_sec_staff', '{"columns": "band"}');
\set VERBOSITY terse
-- a writer called directly takes no data: it runs the set's own statements
-- (here with the trainer's rights, which the set's superuser author holds)
SELECT b.added, b.updated, b.failed
  FROM fashionrec.feature_set s, fashionrec._feature_refresh_batch(s.id, '{1,2}', true) b
 WHERE s.name = 'sec-staff';
-- the columns the trainer may read make a set
SELECT feature_set, added FROM fashionrec.create_feature_set('sec-names', 'attributes', 'fr_sec_staff',
                                                             '{"columns": "name"}');
RESET ROLE;
INSERT INTO fr_sec_staff VALUES (3, 'Cy', 77000, 'senior');
-- the ids stay ids: no salary anywhere
SELECT s.name, f.item_id FROM fashionrec.item_feature f JOIN fashionrec.feature_set s ON s.id = f.feature_set
 WHERE s.name IN ('sec-staff', 'sec-names') ORDER BY 1, 2;
SELECT name, id_column, columns, created_by = current_user AS by_admin
  FROM fashionrec.feature_set WHERE name IN ('sec-staff', 'sec-names', 'sec-salary') ORDER BY name;

-- ---- 5. a column name spliced into a string literal -------------------------------
-- The old refresh wrote "Every column of <names> is NULL." into its SQL
-- with %s: this column name closed the literal and called the trainer's
-- function, as whoever refreshed (here an administrator).
SET ROLE fr_sec_tr;
CREATE FUNCTION fr_sec.spy() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.fr_sec_marker SELECT current_user, r.rolsuper, 'spliced column name'
      FROM pg_roles r WHERE r.rolname = current_user;
    RETURN '';
END
$$;
CREATE TABLE fr_sec.spliced (id integer PRIMARY KEY, "a' || fr_sec.spy() || '" text);
INSERT INTO fr_sec.spliced VALUES (1, 'red'), (2, NULL);
RESET ROLE;
SELECT feature_set, added, failed FROM fashionrec.create_feature_set('sec-spliced', 'attributes', 'fr_sec.spliced',
                                                                     '{"columns": ["a'' || fr_sec.spy() || ''"]}');
SELECT fashionrec.enable_realtime('sec-spliced');
INSERT INTO fr_sec.spliced VALUES (3, NULL);
SELECT item_id, reason, detail FROM fashionrec.feature_errors('sec-spliced');
SELECT * FROM fr_sec_marker;

-- ---- 6. a trainer's view, refreshed by an administrator --------------------------
-- A view's functions run as whoever reads it: a refresh by an administrator
-- or a pg_cron job would run the trainer's function with their rights.  A
-- set's source is read only by its author or a role whose rights the author
-- holds.
SET ROLE fr_sec_tr;
CREATE TABLE fr_sec.catalog (id integer PRIMARY KEY, title text);
INSERT INTO fr_sec.catalog VALUES (1, 'red summer dress'), (2, 'blue denim jeans');
CREATE FUNCTION fr_sec.peek(t text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.fr_sec_marker SELECT current_user, r.rolsuper, 'view function'
      FROM pg_roles r WHERE r.rolname = current_user;
    RETURN t;
END
$$;
CREATE VIEW fr_sec.catalog_view AS SELECT id, fr_sec.peek(title) AS title FROM fr_sec.catalog;
SELECT feature_set, added FROM fashionrec.create_feature_set('sec-view', 'tfidf', 'fr_sec.catalog_view',
                                                             '{"id_column": "id", "text_columns": "title"}');
RESET ROLE;
-- the author is the trainer, not the extension's owner
SELECT name, created_by FROM fashionrec.feature_set WHERE name = 'sec-view';
INSERT INTO fr_sec.catalog VALUES (3, 'green silk scarf');
SELECT fr_sec_try($$SELECT * FROM fashionrec.refresh_features('sec-view')$$);
SELECT fr_sec_try($$SELECT * FROM fashionrec.refresh_features('sec-view', rebuild => true)$$);
SELECT fr_sec_try($$SELECT * FROM fashionrec.feature_staleness('sec-view')$$);
SELECT fr_sec_try(format('SELECT * FROM fashionrec._feature_refresh_batch(%s, %L, true)', s.id, '{1,2,3}'))
  FROM fashionrec.feature_set s WHERE s.name = 'sec-view';
SELECT fr_sec_try(format('SELECT fashionrec._feature_refresh_gone(%s)', s.id))
  FROM fashionrec.feature_set s WHERE s.name = 'sec-view';
\set VERBOSITY default
SELECT * FROM fashionrec.refresh_features('sec-view');
\set VERBOSITY terse
-- only the trainer ran the view's function
SELECT who, superuser, via FROM fr_sec_marker GROUP BY 1, 2, 3 ORDER BY 1, 3;
-- the trainer refreshes it, and the administrator may as the trainer
SET ROLE fr_sec_tr;
SELECT feature_set, added, updated, deleted, unchanged FROM fashionrec.refresh_features('sec-view');
RESET ROLE;
DELETE FROM fr_sec.catalog WHERE id = 1;
SET ROLE fr_sec_tr;
SELECT feature_set, added, updated, deleted, unchanged FROM fashionrec.refresh_features('sec-view');
RESET ROLE;
SELECT who, superuser, via FROM fr_sec_marker GROUP BY 1, 2, 3 ORDER BY 1, 3;

-- ---- the source is the relation: renamed it is followed, partitions fire for it --------
CREATE TABLE fr_sec_parts (id integer PRIMARY KEY, title text) PARTITION BY RANGE (id);
CREATE TABLE fr_sec_parts_low PARTITION OF fr_sec_parts FOR VALUES FROM (0) TO (100);
CREATE TABLE fr_sec_parts_high PARTITION OF fr_sec_parts FOR VALUES FROM (100) TO (200);
INSERT INTO fr_sec_parts VALUES (1, 'red summer dress'), (150, 'blue denim jeans');
SELECT feature_set, added FROM fashionrec.create_feature_set('sec-parts', 'tfidf', 'fr_sec_parts',
                                                             '{"text_columns": "title"}');
SELECT fashionrec.enable_realtime('sec-parts');
INSERT INTO fr_sec_parts VALUES (2, 'red denim jeans'), (151, 'blue summer dress');
UPDATE fr_sec_parts SET id = 5 WHERE id = 1;
SELECT item_id FROM fashionrec.features('sec-parts');
ALTER TABLE fr_sec_parts RENAME TO fr_sec_parts_renamed;
INSERT INTO fr_sec_parts_renamed VALUES (3, 'green silk scarf');
SELECT name, source FROM fashionrec.feature_sets WHERE name = 'sec-parts';
SELECT feature_set, added, updated, deleted, unchanged FROM fashionrec.refresh_features('sec-parts');
-- a dropped source is refused with the reason; the set can still be dropped
DROP TABLE fr_sec_parts_renamed;
SELECT fr_sec_try($$SELECT * FROM fashionrec.refresh_features('sec-parts')$$);
SELECT fr_sec_try($$SELECT fashionrec.enable_realtime('sec-parts')$$);
SELECT name, source ~ '^[0-9]+$' AS source_is_an_oid, realtime FROM fashionrec.feature_sets WHERE name = 'sec-parts';
SELECT fashionrec.drop_feature_set('sec-parts');

-- ---- the writers for realtime and drop store only what is true ----------------------
SET ROLE fr_sec_tr;
-- the flag follows the trigger; a set with its trigger is not dropped behind its back
SELECT fashionrec._feature_set_realtime(s.id) FROM fashionrec.feature_set s WHERE s.name = 'sec-staff';
SELECT fr_sec_try(format('SELECT fashionrec._feature_set_drop(%s)', s.id))
  FROM fashionrec.feature_set s WHERE s.name = 'sec-staff';
-- dropping a set needs the table's trigger dropped, by its owner
SELECT fr_sec_try($$SELECT fashionrec.drop_feature_set('sec-staff')$$);
RESET ROLE;
SELECT name, realtime FROM fashionrec.feature_sets WHERE name LIKE 'sec-%' ORDER BY name;

-- clean up
SELECT fashionrec.drop_feature_set(name) FROM fashionrec.feature_set WHERE name LIKE 'sec-%' ORDER BY name;
DROP TABLE fr_sec_staff, fr_sec_marker;
DROP FUNCTION fr_sec_try(text);
DROP SCHEMA fr_sec CASCADE;
DROP SCHEMA fr_sec_shop CASCADE;
DROP ROLE fr_sec_tr;
DROP ROLE fr_sec_shop;
