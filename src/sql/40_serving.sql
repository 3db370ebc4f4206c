-- Serving: set-returning functions over the active (or a named) version.
-- STABLE: they read the registry under the statement's snapshot.  PARALLEL
-- RESTRICTED: a parallel worker would load the whole model just to score a
-- few rows.

CREATE FUNCTION fashionrec.recommend(name text, user_id bigint, k integer DEFAULT 10,
                                     exclude_seen boolean DEFAULT true,
                                     candidates bigint[] DEFAULT NULL,
                                     version integer DEFAULT NULL,
                                     exclude bigint[] DEFAULT NULL,
                                     context text DEFAULT NULL)
    RETURNS TABLE (item_id bigint, score real, rank integer)
    AS 'MODULE_PATHNAME', 'fashionrec_recommend'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION fashionrec.recommend(text, bigint, integer, boolean, bigint[], integer, bigint[], text) IS
    'Top-k items for a user; unknown users get the model''s popularity ranking. candidates restricts the ranking to those items, exclude removes items, context picks a context ranking of a popularity model';

CREATE FUNCTION fashionrec.similar_items(name text, item_id bigint, k integer DEFAULT 10,
                                         candidates bigint[] DEFAULT NULL,
                                         version integer DEFAULT NULL)
    RETURNS TABLE (item_id bigint, score real, rank integer)
    AS 'MODULE_PATHNAME', 'fashionrec_similar_items'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION fashionrec.similar_items(text, bigint, integer, bigint[], integer) IS
    'Items most similar to one item ("more like this"); no rows for an item the model does not know';

CREATE FUNCTION fashionrec.recommend_for_items(name text, item_ids bigint[], k integer DEFAULT 10,
                                               weights real[] DEFAULT NULL,
                                               exclude_given boolean DEFAULT true,
                                               candidates bigint[] DEFAULT NULL,
                                               version integer DEFAULT NULL)
    RETURNS TABLE (item_id bigint, score real, rank integer)
    AS 'MODULE_PATHNAME', 'fashionrec_recommend_for_items'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION fashionrec.recommend_for_items(text, bigint[], integer, real[], boolean, bigint[], integer) IS
    'Top-k items for an anonymous history (a session''s items), folded in without retraining';

CREATE FUNCTION fashionrec.predict(name text, user_id bigint, item_id bigint, version integer DEFAULT NULL)
    RETURNS real
    AS 'MODULE_PATHNAME', 'fashionrec_predict'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION fashionrec.predict(text, bigint, bigint, integer) IS
    'The model''s score (or predicted rating) for one user and item; NULL when either is unknown';

CREATE FUNCTION fashionrec.cache_info()
    RETURNS TABLE (model_id bigint, name text, version integer, algorithm text, load_ms double precision)
    AS 'MODULE_PATHNAME', 'fashionrec_cache_info'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION fashionrec.cache_info() IS
    'Model versions loaded in this backend''s cache, with their load time';
