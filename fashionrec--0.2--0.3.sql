\echo Use "ALTER EXTENSION fashionrec UPDATE TO '0.3'" to load this file. \quit
-- fashionrec 0.2 -> 0.3: run by ALTER EXTENSION fashionrec UPDATE TO '0.3'.
-- It leaves the extension exactly as CREATE EXTENSION fashionrec VERSION
-- '0.3' makes it, which test/upgrade.sh checks object by object (from 0.1,
-- through fashionrec--0.1--0.2.sql and this script).  Routines below are
-- copied from src/sql/ as 0.3 has them.

-- ---- approximate top-k (IVF index), issue #19 item 1 ----------------------
-- recommend, similar_items and recommend_for_items append probes and exact
-- (new C symbols _0_3; 0.2's _0_2 symbols stay bound for databases not yet
-- updated); train() builds an index when "ann" asks or the catalog is large;
-- build_ann() adds one to a trained version.
DROP FUNCTION fashionrec.recommend(text, bigint, integer, boolean, bigint[], bigint[], text, integer);
DROP FUNCTION fashionrec.similar_items(text, bigint, integer, bigint[], bigint[], integer);
DROP FUNCTION fashionrec.recommend_for_items(text, bigint[], integer, boolean, bigint[], bigint[], text, integer, real[]);
CREATE FUNCTION fashionrec.recommend(name text, user_id bigint, k integer DEFAULT 10,
                                     exclude_seen boolean DEFAULT true,
                                     candidates bigint[] DEFAULT NULL,
                                     exclude bigint[] DEFAULT NULL,
                                     context text DEFAULT NULL,
                                     version integer DEFAULT NULL,
                                     probes integer DEFAULT NULL,
                                     exact boolean DEFAULT false)
    RETURNS TABLE (item_id bigint, score real, rank integer)
    AS 'MODULE_PATHNAME', 'fashionrec_recommend_0_3'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION fashionrec.recommend(text, bigint, integer, boolean, bigint[], bigint[], text, integer, integer, boolean) IS
    'Top-k items for a user; unknown users get the model''s popularity ranking. exclude_seen leaves out the user''s items, candidates restricts the ranking to those items, exclude removes items, context picks a context ranking of a popularity model (or a hybrid''s); a version with an approximate index is searched through it (probes lists, fashionrec.ann_probes by default) unless exact => true';

CREATE FUNCTION fashionrec.similar_items(name text, item_id bigint, k integer DEFAULT 10,
                                         candidates bigint[] DEFAULT NULL,
                                         exclude bigint[] DEFAULT NULL,
                                         version integer DEFAULT NULL,
                                         probes integer DEFAULT NULL,
                                         exact boolean DEFAULT false)
    RETURNS TABLE (item_id bigint, score real, rank integer)
    AS 'MODULE_PATHNAME', 'fashionrec_similar_items_0_3'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION fashionrec.similar_items(text, bigint, integer, bigint[], bigint[], integer, integer, boolean) IS
    'Items most similar to one item ("more like this"), never the item itself; no rows for an item the model does not know. candidates restricts the ranking to those items, exclude removes items; probes and exact as recommend()';

CREATE FUNCTION fashionrec.recommend_for_items(name text, item_ids bigint[], k integer DEFAULT 10,
                                               exclude_seen boolean DEFAULT true,
                                               candidates bigint[] DEFAULT NULL,
                                               exclude bigint[] DEFAULT NULL,
                                               context text DEFAULT NULL,
                                               version integer DEFAULT NULL,
                                               weights real[] DEFAULT NULL,
                                               probes integer DEFAULT NULL,
                                               exact boolean DEFAULT false)
    RETURNS TABLE (item_id bigint, score real, rank integer)
    AS 'MODULE_PATHNAME', 'fashionrec_recommend_for_items_0_3'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION fashionrec.recommend_for_items(text, bigint[], integer, boolean, bigint[], bigint[], text, integer, real[], integer, boolean) IS
    'Top-k items for an anonymous history (a session''s items, with optional weights), folded in without retraining; exclude_seen leaves out the given items. Options as recommend()';

ALTER FUNCTION fashionrec.recommend(text, bigint, integer, boolean, bigint[], bigint[], text, integer, integer, boolean) COST 2000;
ALTER FUNCTION fashionrec.similar_items(text, bigint, integer, bigint[], bigint[], integer, integer, boolean) COST 2000;
ALTER FUNCTION fashionrec.recommend_for_items(text, bigint[], integer, boolean, bigint[], bigint[], text, integer, real[], integer, boolean) COST 2000;

CREATE FUNCTION fashionrec._train_ann(model_id bigint, algorithm text, items integer, ann jsonb)
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'fashionrec_train_ann'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION fashionrec._train_ann(bigint, text, integer, jsonb) IS
    'Internal: builds the approximate top-k index of the caller''s training when params ask or the catalog is large; use fashionrec.train()';

CREATE FUNCTION fashionrec.build_ann(name text, version integer DEFAULT NULL, lists integer DEFAULT NULL)
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'fashionrec_build_ann'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION fashionrec.build_ann(text, integer, integer) IS
    'Adds an approximate top-k (IVF) index to a trained version (the active one when version is NULL), or rebuilds it with lists lists (about 4 x sqrt(items) when NULL); returns its description, also recorded in the version''s info under "ann"';

-- approximate top-k (41_ann.sql): a k-means over the catalog's vectors
ALTER FUNCTION fashionrec.build_ann(text, integer, integer) COST 10000000;
ALTER FUNCTION fashionrec._train_ann(bigint, text, integer, jsonb) COST 10000000;
REVOKE EXECUTE ON FUNCTION fashionrec.build_ann(text, integer, integer),
                           fashionrec._train_ann(bigint, text, integer, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fashionrec.build_ann(text, integer, integer),
                          fashionrec._train_ann(bigint, text, integer, jsonb) TO fashionrec_trainer;

CREATE OR REPLACE FUNCTION fashionrec.train(name text, algorithm text, source text,
                                 params jsonb DEFAULT '{}', activate boolean DEFAULT NULL)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_version  integer;
    v_id       bigint;
    v_started  timestamptz := pg_catalog.clock_timestamp();
    v_result   jsonb;
BEGIN
    PERFORM fashionrec._require_primary('train()');
    IF train.name IS NULL OR train.algorithm IS NULL OR (train.source IS NULL AND train.algorithm IS DISTINCT FROM 'hybrid') THEN
        RAISE EXCEPTION 'name, algorithm and source must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF train.name !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid model name "%"', train.name
              USING ERRCODE = '22023',
                    HINT = 'Use up to 63 letters, digits and _ . : - starting with a letter or digit.';
    END IF;
    v_id := fashionrec._model_begin(train.name, train.algorithm, COALESCE(train.params, '{}'), train.source);
    SELECT m.version INTO v_version FROM fashionrec.model m WHERE m.id = v_id;

    v_result := fashionrec._train_artifacts(v_id, train.algorithm, COALESCE(train.source, ''),
                                            COALESCE(train.params, '{}') - 'ann');
    -- the approximate top-k index, asked for by "ann" or by the catalog's size
    -- (41_ann.sql), into info; jsonb_set is strict: no index, v_result as is
    v_result := COALESCE(pg_catalog.jsonb_set(v_result, '{info,ann}',
                             fashionrec._train_ann(v_id, train.algorithm, (v_result ->> 'items')::integer,
                                                   train.params -> 'ann')),
                         v_result);
    PERFORM fashionrec._model_finish(v_id, v_result,
                                     pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() - v_started));

    IF train.activate OR (train.activate IS NULL AND NOT EXISTS (
            SELECT FROM fashionrec.model m WHERE m.name = train.name AND m.active)) THEN
        PERFORM fashionrec.activate(train.name, v_version);
    END IF;
    RETURN v_version;
END
$$;
ALTER FUNCTION fashionrec.train(text, text, text, jsonb, boolean) COST 10000000;
