-- Serving: set-returning functions over the active (or a named) version.
-- STABLE: they read the registry under the statement's snapshot.  PARALLEL
-- RESTRICTED: a parallel worker would load the whole model just to score a
-- few rows.
--
-- One shape for every serving function (docs/serving.md, "The serving API";
-- src/serving.h): (name, subject, k), then of the options
--     exclude_seen, candidates, exclude, context, version
-- those that mean something for the function, in that order and under those
-- names, then an option of its own.  Frozen from 0.2: a new option is
-- appended, never inserted (0.3 appends probes and exact to the three that
-- an approximate index serves).  The C symbols carry the API version
-- (_0_2, _0_3): an older release's definitions keep their own symbols until
-- ALTER EXTENSION UPDATE.

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

CREATE FUNCTION fashionrec.recommend_all(name text, users bigint[] DEFAULT NULL, k integer DEFAULT 10,
                                         exclude_seen boolean DEFAULT true,
                                         candidates bigint[] DEFAULT NULL,
                                         exclude bigint[] DEFAULT NULL,
                                         version integer DEFAULT NULL,
                                         shard integer DEFAULT 0, shards integer DEFAULT 1,
                                         context text DEFAULT NULL)
    RETURNS TABLE (user_id bigint, item_id bigint, score real, rank integer)
    AS 'MODULE_PATHNAME', 'fashionrec_recommend_all_0_3'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION fashionrec.recommend_all(text, bigint[], integer, boolean, bigint[], bigint[], integer, integer, integer, text) IS
    'Top-k items for many users (all the model knows when users is NULL; of them, those with user_shard(user_id, shards) = shard), scored in blocks: for nightly batches, INSERT ... SELECT. candidates, exclude and context apply to every user, each list as recommend() gives it';

-- Batch scoring: every user of a model (or of one share by user hash) into
-- the caller's table, by several processes, in the caller's transaction.
CREATE FUNCTION fashionrec.recommend_all_into(name text, target regclass, k integer DEFAULT 10,
                                              exclude_seen boolean DEFAULT true,
                                              candidates bigint[] DEFAULT NULL,
                                              exclude bigint[] DEFAULT NULL,
                                              version integer DEFAULT NULL,
                                              shard integer DEFAULT 0, shards integer DEFAULT 1,
                                              workers integer DEFAULT 1,
                                              context text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'fashionrec_recommend_all_into'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION fashionrec.recommend_all_into(text, regclass, integer, boolean, bigint[], bigint[], integer, integer, integer, integer, text) IS
    'Inserts every user''s top k (of the share shard of shards; in context when given) into target (user_id, item_id, score, rank) with workers processes in the caller''s transaction; returns the rows inserted';

CREATE FUNCTION fashionrec.user_shard(user_id bigint, shards integer)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'fashionrec_user_shard'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.user_shard(bigint, integer) IS
    'The share (0 .. shards - 1) of a user for recommend_all and recommend_all_into''s shard/shards: abs(hashint8(user_id) % shards)';

CREATE FUNCTION fashionrec.user_embedding(name text, user_id bigint, version integer DEFAULT NULL)
    RETURNS real[]
    AS 'MODULE_PATHNAME', 'fashionrec_user_embedding'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION fashionrec.user_embedding(text, bigint, integer) IS
    'A user''s latent vector in a factor model (castable to pgvector''s vector); NULL for an unknown user';

CREATE FUNCTION fashionrec.item_embedding(name text, item_id bigint, version integer DEFAULT NULL)
    RETURNS real[]
    AS 'MODULE_PATHNAME', 'fashionrec_item_embedding'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION fashionrec.item_embedding(text, bigint, integer) IS
    'An item''s latent vector in a factor or embedding model (castable to pgvector''s vector); NULL for an unknown item';

-- refresh_user(): a user's current history, folded in at serving time, so a
-- purchase changes the next recommendations without retraining.  Stored per
-- model version: a newly trained version starts from its own training data.
CREATE TABLE fashionrec.user_refresh (
    model_id     bigint NOT NULL REFERENCES fashionrec.model (id) ON DELETE CASCADE,
    user_id      bigint NOT NULL,
    item_ids     bigint[] NOT NULL,
    weights      real[] NOT NULL
                 CHECK (pg_catalog.array_length(weights, 1) IS NOT DISTINCT FROM pg_catalog.array_length(item_ids, 1)
                        AND pg_catalog.array_position(weights, NULL) IS NULL),
    refreshed_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (model_id, user_id)
);
COMMENT ON TABLE fashionrec.user_refresh IS
    'Histories stored by refresh_user(), folded in by recommend() instead of the training history';
SELECT pg_catalog.pg_extension_config_dump('fashionrec.user_refresh', '');

-- refresh_user() reads the history with its caller's rights; storing it is
-- this function's one job, with the owner's (no role writes the table).
CREATE FUNCTION fashionrec._store_user_history(model_id bigint, user_id bigint,
                                               item_ids bigint[], weights real[])
    RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO fashionrec.user_refresh AS r (model_id, user_id, item_ids, weights)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT ON CONSTRAINT user_refresh_pkey DO UPDATE
       SET item_ids = EXCLUDED.item_ids, weights = EXCLUDED.weights, refreshed_at = pg_catalog.now();
$$;
COMMENT ON FUNCTION fashionrec._store_user_history(bigint, bigint, bigint[], real[]) IS
    'Internal: stores the history refresh_user() read; use fashionrec.refresh_user()';

CREATE FUNCTION fashionrec.refresh_user(name text, user_id bigint, source text DEFAULT NULL)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_model  fashionrec.model%ROWTYPE;
    v_source text;
    v_query  text;
    v_items  bigint[];
    v_weights real[];
BEGIN
    PERFORM fashionrec._require_primary('refresh_user()');
    IF refresh_user.name IS NULL OR refresh_user.user_id IS NULL THEN
        RAISE EXCEPTION 'name and user_id must not be NULL' USING ERRCODE = '22004';
    END IF;
    SELECT m.* INTO v_model FROM fashionrec.model m WHERE m.name = refresh_user.name AND m.active;
    IF NOT FOUND THEN
        PERFORM fashionrec.recommend(refresh_user.name, 0, 1);    -- words the error
    END IF;
    -- content models read a catalog as their source; their interactions are a parameter
    v_source := COALESCE(refresh_user.source, v_model.params ->> 'interactions', v_model.source);
    IF v_source IS NULL THEN
        RAISE EXCEPTION 'model "%" has no source to read the user''s history from', refresh_user.name
              USING ERRCODE = '22023', HINT = 'Pass source => ''...''.';
    END IF;
    IF refresh_user.source IS NULL THEN
        PERFORM fashionrec._check_author(v_model.created_by,
                                         pg_catalog.format('the source of model "%s"', refresh_user.name));
    END IF;
    v_query := fashionrec.source_query(v_source, fashionrec._column_params(v_model.params));
    EXECUTE pg_catalog.format(
        'SELECT pg_catalog.array_agg(h.item_id ORDER BY h.item_id), pg_catalog.array_agg(h.w ORDER BY h.item_id)
           FROM (SELECT s.item_id, pg_catalog.sum(s.weight)::real AS w FROM (%s) s
                  WHERE s.user_id = $1 AND s.item_id IS NOT NULL GROUP BY s.item_id) h
          WHERE h.w > 0', v_query)
      INTO v_items, v_weights
      USING refresh_user.user_id;
    PERFORM fashionrec._store_user_history(v_model.id, refresh_user.user_id,
                                           COALESCE(v_items, '{}'), COALESCE(v_weights, '{}'));
    RETURN COALESCE(pg_catalog.array_length(v_items, 1), 0);
END
$$;
COMMENT ON FUNCTION fashionrec.refresh_user(text, bigint, text) IS
    'Re-read one user''s history from the model''s source (or the given one) so recommend() folds it in without retraining; returns the number of items';
