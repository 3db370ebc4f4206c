-- Feature store (docs/features.md): named feature sets computed from a
-- product table, stored per item with the hash of the columns they came
-- from, refreshed incrementally (only new and changed items), optionally in
-- the same transaction as the product write (a trigger).  Models read them
-- (the "features" algorithm) and follow items added after training.
--
-- Generation protocol: every transaction that writes item_feature rows of a
-- set first bumps feature_set.generation under the row lock (one bump per
-- transaction, _feature_generation) and stamps every row it writes with that
-- value.  The lock makes generations follow commit order, so a reader that
-- saw generation G has seen every row with generation <= G.
--
-- Orchestration in PL/pgSQL over dynamic SQL built by _feature_sql() from
-- quoted identifiers only; C (features_sql.c) for the generation cache, the
-- attribute terms and a colour histogram that reports bad images instead of
-- raising.

CREATE TABLE fashionrec.feature_set (
    id                 serial PRIMARY KEY,
    name               text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$'),
    kind               text NOT NULL CHECK (kind IN ('tfidf', 'attributes', 'colors', 'embedding')),
    source             text NOT NULL,
    id_column          text NOT NULL,
    columns            text[] NOT NULL,
    params             jsonb NOT NULL DEFAULT '{}',
    dimension          integer,
    vocabulary         fashionrec.tfidf_vocab,
    vocabulary_version integer NOT NULL DEFAULT 0,
    generation         bigint NOT NULL DEFAULT 0,
    realtime           boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT pg_catalog.now(),
    refreshed_at       timestamptz,
    rebuilt_at         timestamptz,
    oov_baseline       double precision,
    created_by         name NOT NULL DEFAULT CURRENT_USER
);
COMMENT ON TABLE fashionrec.feature_set IS
    'Feature sets: what is computed from which product table; generation counts the transactions that wrote its items';
COMMENT ON COLUMN fashionrec.feature_set.source IS 'The product table or view, schema-qualified';
COMMENT ON COLUMN fashionrec.feature_set.columns IS 'The columns the features are computed from';
COMMENT ON COLUMN fashionrec.feature_set.dimension IS 'Dimension of every vector of the set';
COMMENT ON COLUMN fashionrec.feature_set.vocabulary IS 'tfidf and attributes: the vocabulary, fixed between rebuilds';
COMMENT ON COLUMN fashionrec.feature_set.vocabulary_version IS
    '+1 whenever the vector space changes (a tfidf/attributes rebuild, a new embedding dimension)';
COMMENT ON COLUMN fashionrec.feature_set.generation IS
    'Change counter: every writing transaction bumps it once and stamps its rows with it';
COMMENT ON COLUMN fashionrec.feature_set.oov_baseline IS
    'Out-of-vocabulary share of the set right after its last rebuild (tfidf, attributes)';

CREATE TABLE fashionrec.item_feature (
    feature_set        integer NOT NULL REFERENCES fashionrec.feature_set (id) ON DELETE CASCADE,
    item_id            bigint NOT NULL,
    features           fashionrec.svec,
    content_hash       bytea,
    vocabulary_version integer NOT NULL,
    generation         bigint NOT NULL,
    computed_at        timestamptz NOT NULL,
    terms              integer,
    oov_terms          integer,
    PRIMARY KEY (feature_set, item_id)
);
CREATE INDEX item_feature_generation ON fashionrec.item_feature (feature_set, generation);
COMMENT ON TABLE fashionrec.item_feature IS
    'Features per item of a feature set; features NULL is a tombstone (the item left the source, or fails validation)';
COMMENT ON COLUMN fashionrec.item_feature.content_hash IS
    'SHA-256 of the source columns the row was computed from; NULL once the item left the source';
COMMENT ON COLUMN fashionrec.item_feature.terms IS 'tfidf, attributes: distinct terms of the document';
COMMENT ON COLUMN fashionrec.item_feature.oov_terms IS 'tfidf, attributes: of those, terms outside the vocabulary';

CREATE TABLE fashionrec.feature_error (
    feature_set integer NOT NULL REFERENCES fashionrec.feature_set (id) ON DELETE CASCADE,
    item_id     bigint NOT NULL,
    reason      text NOT NULL,
    detail      text,
    seen_at     timestamptz NOT NULL,
    PRIMARY KEY (feature_set, item_id)
);
COMMENT ON TABLE fashionrec.feature_error IS
    'Items of a feature set whose source row failed validation, with the reason; cleared when the item succeeds or leaves the source';

CREATE TABLE fashionrec.feature_queue (
    feature_set integer NOT NULL REFERENCES fashionrec.feature_set (id) ON DELETE CASCADE,
    item_id     bigint NOT NULL,
    queued_at   timestamptz NOT NULL,
    PRIMARY KEY (feature_set, item_id)
);
COMMENT ON TABLE fashionrec.feature_queue IS
    'Items a realtime trigger left for the next refresh_features (colors: decoding images is too slow for a write)';

SELECT pg_catalog.pg_extension_config_dump('fashionrec.feature_set', '');
SELECT pg_catalog.pg_extension_config_dump('fashionrec.feature_set_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('fashionrec.item_feature', '');
SELECT pg_catalog.pg_extension_config_dump('fashionrec.feature_error', '');
SELECT pg_catalog.pg_extension_config_dump('fashionrec.feature_queue', '');

-- ---- C helpers (features_sql.c) -------------------------------------------

CREATE FUNCTION fashionrec._feature_generation(feature_set integer) RETURNS bigint
    AS 'MODULE_PATHNAME', 'fashionrec_feature_generation'
    LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION fashionrec._feature_generation(integer) IS
    'Internal: the generation this transaction stamps its rows of a feature set with; bumps feature_set.generation (taking its row lock) on the first call of the transaction';

CREATE FUNCTION fashionrec.attribute_tsvector(names text[], vals text[], weights integer[])
    RETURNS tsvector
    AS 'MODULE_PATHNAME', 'fashionrec_attribute_tsvector'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.attribute_tsvector(text[], text[], integer[]) IS
    'The terms "name=value" of the non-NULL, non-empty values, each with weight positions (0 to 256) so tfidf() counts the weight as its frequency; values are used as given';

CREATE FUNCTION fashionrec._color_features(image bytea, bins integer, ignore_background boolean,
                                           OUT histogram real[], OUT reason text, OUT detail text)
    AS 'MODULE_PATHNAME', 'fashionrec_color_features'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec._color_features(bytea, integer, boolean) IS
    'Internal: color_histogram(), but a bad image gives a reason (undecodable_image, unsupported_image, image_too_large) and detail instead of an error';

CREATE FUNCTION fashionrec._feature_tfidf(feature_set integer, vocabulary_version integer,
                                          rebuilt_at timestamptz, doc tsvector)
    RETURNS fashionrec.svec
    AS 'MODULE_PATHNAME', 'fashionrec_feature_tfidf'
    LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION fashionrec._feature_tfidf(integer, integer, timestamptz, tsvector) IS
    'Internal: tfidf() over the vocabulary of a feature set, kept in backend memory across statements (named by set, vocabulary version and rebuild time)';

-- Not STRICT: the fourth argument NULL asks, non-NULL stores.  Only the
-- SECURITY DEFINER trigger may call it (a stored statement runs with its owner's
-- rights), so EXECUTE is revoked from PUBLIC and granted to nobody.
CREATE FUNCTION fashionrec._feature_row_sql(feature_set integer, vocabulary_version integer,
                                           rebuilt_at timestamptz, sql text DEFAULT NULL)
    RETURNS text
    AS 'MODULE_PATHNAME', 'fashionrec_feature_row_sql'
    LANGUAGE C VOLATILE;
REVOKE EXECUTE ON FUNCTION fashionrec._feature_row_sql(integer, integer, timestamptz, text) FROM PUBLIC;
COMMENT ON FUNCTION fashionrec._feature_row_sql(integer, integer, timestamptz, text) IS
    'Internal: the realtime trigger''s row statement of a feature set kept in backend memory (sql NULL: look up; else store)';

-- ---- internals ---------------------------------------------------------------

-- A list of column names: a JSON array of strings or a string "a, b".
CREATE FUNCTION fashionrec._feature_names(value jsonb, param text) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    result text[];
BEGIN
    IF value IS NULL OR jsonb_typeof(value) = 'null' THEN
        RETURN NULL;
    ELSIF value = '[]' THEN
        RETURN '{}';
    ELSIF jsonb_typeof(value) = 'string' THEN
        SELECT array_agg(btrim(x) ORDER BY o) INTO result
          FROM unnest(string_to_array(value #>> '{}', ',')) WITH ORDINALITY AS u(x, o);
    ELSIF jsonb_typeof(value) = 'array'
          AND NOT EXISTS (SELECT FROM jsonb_array_elements(value) e WHERE jsonb_typeof(e) <> 'string') THEN
        SELECT array_agg(e ORDER BY o) INTO result
          FROM jsonb_array_elements_text(value) WITH ORDINALITY AS u(e, o);
    ELSE
        RAISE EXCEPTION 'parameter "%" must list column names', param
              USING ERRCODE = '22023',
                    HINT = format('Write "%s": ["title", "description"] or "%s": "title, description".', param, param);
    END IF;
    IF result IS NULL OR '' = ANY (result) THEN
        RAISE EXCEPTION 'parameter "%" has an empty column name', param
              USING ERRCODE = '22023',
                    HINT = format('Write "%s": ["title", "description"].', param);
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION fashionrec._feature_names(jsonb, text) IS
    'Internal: column names from a JSON array or a comma-separated string';

CREATE FUNCTION fashionrec._feature_set(name text) RETURNS fashionrec.feature_set
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fs fashionrec.feature_set;
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION 'feature set name must not be NULL' USING ERRCODE = '22004';
    END IF;
    SELECT * INTO fs FROM fashionrec.feature_set s WHERE s.name = _feature_set.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'feature set "%" does not exist', name
              USING ERRCODE = '42704',
                    HINT = 'SELECT * FROM fashionrec.feature_sets lists the feature sets.';
    END IF;
    RETURN fs;
END
$$;
COMMENT ON FUNCTION fashionrec._feature_set(text) IS 'Internal: a feature set by name, 42704 if there is none';

/*
 * The statements of a feature set, over the source rows as "s".  Every
 * identifier is quoted and every constant a literal, so a stored feature set
 * cannot smuggle SQL into the SECURITY DEFINER trigger.  Parameters:
 *   $1 set id, $2 item ids (bigint[]), $3 vocabulary, $4 vocabulary version,
 *   $5 recompute even if unchanged, $6 a source row (the trigger's NEW/OLD),
 *   $9 rebuilt_at (names the vocabulary with $1 and $4).
 * what: changed, batch, row, gone, fit, staleness.
 */
CREATE FUNCTION fashionrec._feature_sql(fs fashionrec.feature_set, what text) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p       jsonb := fs.params;
    src     text := format('%s', fs.source::regclass);
    id      text := format('s.%I', fs.id_column);
    cols    text;
    h       text;
    inputs  text;
    compute text;
    from_   text;
    where_  text;
    texts   text[];
    attrs   text[];
    weights text;
    w       integer;
    a       text;
    allnull text;
    docexpr text;
BEGIN
    SELECT string_agg(format('s.%I', c), ', ' ORDER BY o) INTO cols
      FROM unnest(fs.columns) WITH ORDINALITY AS u(c, o);
    SELECT string_agg(format('s.%I IS NULL', c), ' AND ' ORDER BY o) INTO allnull
      FROM unnest(fs.columns) WITH ORDINALITY AS u(c, o);

    IF fs.kind IN ('tfidf', 'attributes') THEN
        h := format('pg_catalog.sha256(pg_catalog.convert_to(ROW(%s)::text, %L))', cols, 'UTF8');
        texts := fashionrec._feature_names(p -> 'text_columns', 'text_columns');
        attrs := coalesce(fashionrec._feature_names(p -> 'attribute_columns', 'attribute_columns'), '{}');
        IF fs.kind = 'tfidf' THEN
            docexpr := format('pg_catalog.to_tsvector(%L::pg_catalog.regconfig, pg_catalog.concat_ws('' '', %s))',
                              p ->> 'config',
                              (SELECT string_agg(format('s.%I::pg_catalog.text', c), ', ' ORDER BY o)
                                 FROM unnest(texts) WITH ORDINALITY AS u(c, o)));
        END IF;
        IF cardinality(attrs) > 0 THEN
            weights := '';
            FOREACH a IN ARRAY attrs LOOP
                w := coalesce((p -> 'weights' ->> a)::integer, 1);
                weights := weights || CASE WHEN weights = '' THEN '' ELSE ', ' END || w::text;
            END LOOP;
            a := format('fashionrec.attribute_tsvector(ARRAY[%s]::pg_catalog.text[], ARRAY[%s]::pg_catalog.text[], ARRAY[%s]::pg_catalog.int4[])',
                        (SELECT string_agg(format('%L', c), ', ' ORDER BY o) FROM unnest(attrs) WITH ORDINALITY AS u(c, o)),
                        (SELECT string_agg(format('pg_catalog.lower(pg_catalog.btrim(s.%I::pg_catalog.text))', c), ', ' ORDER BY o)
                           FROM unnest(attrs) WITH ORDINALITY AS u(c, o)),
                        weights);
            docexpr := CASE WHEN docexpr IS NULL THEN a ELSE docexpr || ' OPERATOR(pg_catalog.||) ' || a END;
        END IF;
        inputs := format('%s AS doc, (%s) AS all_null', docexpr, allnull);
        compute := format($c$
            SELECT x.reason,
                   CASE x.reason WHEN 'null_columns' THEN 'Every column of %s is NULL.'
                                 WHEN 'empty_text' THEN 'The document has no terms.' END AS detail,
                   CASE WHEN x.reason IS NULL THEN fashionrec._feature_tfidf($1, $4, $9, src.doc) END AS v,
                   pg_catalog.length(src.doc) AS terms
              FROM (SELECT CASE WHEN src.all_null THEN 'null_columns'
                                WHEN pg_catalog.length(src.doc) = 0 THEN 'empty_text' END AS reason) x$c$,
                          array_to_string(fs.columns, ', '));
    ELSIF fs.kind = 'colors' THEN
        h := format('pg_catalog.sha256(CASE WHEN %s IS NULL THEN %L::pg_catalog.bytea ELSE %L::pg_catalog.bytea OPERATOR(pg_catalog.||) %s END)',
                    cols, '\x00', '\x01', cols);
        inputs := format('%s AS img', cols);
        compute := format($c$
            SELECT CASE WHEN src.img IS NULL THEN 'null_columns' ELSE c.reason END AS reason,
                   CASE WHEN src.img IS NULL THEN 'The image is NULL.' ELSE c.detail END AS detail,
                   c.histogram::fashionrec.svec AS v,
                   NULL::integer AS terms
              FROM (SELECT 1) one
              LEFT JOIN fashionrec._color_features(src.img, %s, %s) c ON true$c$,
                          (p ->> 'bins')::integer,
                          CASE WHEN (p ->> 'ignore_background')::boolean THEN 'true' ELSE 'false' END);
    ELSE
        h := format('pg_catalog.sha256(pg_catalog.convert_to(ROW(%s)::text, %L))', cols, 'UTF8');
        inputs := format('%s AS vec', cols);
        compute := format($c$
            SELECT x.reason,
                   CASE x.reason
                        WHEN 'null_columns' THEN 'The embedding is NULL.'
                        WHEN 'wrong_dimension' THEN pg_catalog.format('Expected %s values, got %%s.',
                             CASE WHEN pg_catalog.array_ndims(src.vec) > 1
                                  THEN 'an array of dimensions ' OPERATOR(pg_catalog.||) pg_catalog.array_dims(src.vec)
                                  ELSE pg_catalog.cardinality(src.vec)::pg_catalog.text END)
                        WHEN 'null_element' THEN 'The embedding has a NULL element.'
                        WHEN 'not_finite' THEN 'The embedding has a NaN, infinite or out of range value.' END AS detail,
                   CASE WHEN x.reason IS NULL THEN src.vec::pg_catalog.float4[]::fashionrec.svec END AS v,
                   NULL::integer AS terms
              FROM (SELECT CASE
                        WHEN src.vec IS NULL THEN 'null_columns'
                        WHEN pg_catalog.array_ndims(src.vec) IS DISTINCT FROM 1
                             OR pg_catalog.cardinality(src.vec) <> %s THEN 'wrong_dimension'
                        WHEN pg_catalog.array_position(src.vec, NULL) IS NOT NULL THEN 'null_element'
                        WHEN 'NaN' = ANY (src.vec) OR 'Infinity' = ANY (src.vec) OR '-Infinity' = ANY (src.vec)
                             OR EXISTS (SELECT FROM pg_catalog.unnest(src.vec) e
                                         WHERE pg_catalog.abs(e::pg_catalog.float8) > 3.4028234663852886e38)
                             THEN 'not_finite' END AS reason) x$c$,
                          fs.dimension, coalesce(fs.dimension, 0));
    END IF;

    IF what = 'changed' THEN
        -- the queue is emptied in the same snapshot the source is read in
        RETURN format($q$
            WITH q AS (DELETE FROM fashionrec.feature_queue WHERE feature_set = $1 RETURNING 1),
                 x AS (SELECT DISTINCT ON (1) %s::pg_catalog.int8 AS item_id, %s AS h
                         FROM %s s WHERE %s IS NOT NULL ORDER BY 1, 2)
            SELECT coalesce(pg_catalog.array_agg(x.item_id ORDER BY x.item_id) FILTER (WHERE t.stale), '{}'),
                   pg_catalog.count(*) FILTER (WHERE NOT t.stale),
                   (SELECT pg_catalog.count(*) FROM q)
              FROM x
              LEFT JOIN fashionrec.item_feature f ON f.feature_set = $1 AND f.item_id = x.item_id
             CROSS JOIN LATERAL (SELECT $5 OR f.item_id IS NULL OR f.content_hash IS DISTINCT FROM x.h
                                        OR f.vocabulary_version <> $4 AS stale) t$q$,
            id, h, src, id);
    ELSIF what = 'staleness' THEN
        RETURN format($q$
            WITH x AS (SELECT DISTINCT ON (1) %s::pg_catalog.int8 AS item_id, %s AS h
                         FROM %s s WHERE %s IS NOT NULL ORDER BY 1, 2)
            SELECT pg_catalog.count(*) FILTER (WHERE f.item_id IS NULL OR f.content_hash IS NULL),
                   pg_catalog.count(*) FILTER (WHERE f.content_hash <> x.h OR f.vocabulary_version <> $4),
                   (SELECT pg_catalog.count(*) FROM fashionrec.item_feature g
                     WHERE g.feature_set = $1 AND g.content_hash IS NOT NULL
                       AND NOT EXISTS (SELECT FROM %s s WHERE %s = g.item_id))
              FROM x LEFT JOIN fashionrec.item_feature f ON f.feature_set = $1 AND f.item_id = x.item_id$q$,
            id, h, src, id, src, id);
    ELSIF what = 'fit' THEN
        RETURN format($q$
            SELECT fashionrec.tfidf_fit(x.doc, $3)
              FROM (SELECT DISTINCT ON (%s) %s AS doc FROM %s s WHERE %s IS NOT NULL ORDER BY %s, %s) x
             WHERE pg_catalog.length(x.doc) > 0$q$,
            id, docexpr, src, id, id, h);
    ELSIF what = 'row' AND fs.kind IN ('tfidf', 'attributes') THEN
        -- the trigger weighs the document itself: folded into one expression,
        -- the planner would repeat to_tsvector() for every use of it
        RETURN format('SELECT %s::pg_catalog.int8, %s, %s FROM (SELECT ($1).*) s', id, h, inputs);
    ELSIF what = 'row' THEN
        -- the trigger's: one row, written by the trigger's own (prepared) statements
        RETURN format($q$
            SELECT src.item_id, src.h, c.reason, c.detail, CASE WHEN c.reason IS NULL THEN c.v END,
                   CASE WHEN c.reason IS NULL THEN c.terms END,
                   CASE WHEN c.reason IS NULL THEN c.terms - fashionrec.nnz(c.v) END
              FROM (SELECT %s::pg_catalog.int8 AS item_id, %s AS h, %s FROM (SELECT ($6).*) s) src
             CROSS JOIN LATERAL (%s) c$q$,
            id, h, inputs, compute);
    ELSIF what = 'batch' THEN
        from_ := format('%s s', src);
        -- ids come sorted: the range lets both tables be read by index
        where_ := format('%s = ANY ($2) AND %s BETWEEN $2[1] AND $2[pg_catalog.cardinality($2)]', id, id);
        -- materialised, so the document is computed once and not once per use;
        -- images are only read once and would fill the tuplestore
        RETURN format($q$
            WITH src AS %s (
                SELECT DISTINCT ON (1) %s::pg_catalog.int8 AS item_id, %s AS h, %s
                  FROM %s WHERE %s ORDER BY 1, 2
            ), comp AS MATERIALIZED (
                SELECT src.item_id, src.h, c.reason, c.detail,
                       CASE WHEN c.reason IS NULL THEN c.v END AS features,
                       CASE WHEN c.reason IS NULL THEN c.terms END AS terms,
                       CASE WHEN c.reason IS NULL THEN c.terms - fashionrec.nnz(c.v) END AS oov_terms,
                       f.item_id IS NULL OR (f.features IS NULL AND f.content_hash IS NULL) AS is_new,
                       f.features IS NOT NULL AS had_features
                  FROM src
                  LEFT JOIN fashionrec.item_feature f ON f.feature_set = $1 AND f.item_id = src.item_id
                       AND f.item_id BETWEEN $2[1] AND $2[pg_catalog.cardinality($2)]
                 CROSS JOIN LATERAL (%s) c
                 WHERE $5 OR f.item_id IS NULL OR f.content_hash IS DISTINCT FROM src.h
                       OR f.vocabulary_version <> $4
            ), g AS (
                SELECT fashionrec._feature_generation($1) AS generation WHERE EXISTS (SELECT FROM comp)
            ), up AS (
                INSERT INTO fashionrec.item_feature AS f
                       (feature_set, item_id, features, content_hash, vocabulary_version, generation,
                        computed_at, terms, oov_terms)
                SELECT $1, comp.item_id, comp.features, comp.h, $4, g.generation, pg_catalog.now(),
                       comp.terms, comp.oov_terms
                  FROM comp, g
                ON CONFLICT (feature_set, item_id) DO UPDATE
                   SET features = EXCLUDED.features, content_hash = EXCLUDED.content_hash,
                       vocabulary_version = EXCLUDED.vocabulary_version, generation = EXCLUDED.generation,
                       computed_at = EXCLUDED.computed_at, terms = EXCLUDED.terms, oov_terms = EXCLUDED.oov_terms
            ), ok AS (
                DELETE FROM fashionrec.feature_error e USING comp
                 WHERE e.feature_set = $1 AND e.item_id = comp.item_id AND comp.reason IS NULL
            ), bad AS (
                INSERT INTO fashionrec.feature_error AS e (feature_set, item_id, reason, detail, seen_at)
                SELECT $1, comp.item_id, comp.reason, comp.detail, pg_catalog.now() FROM comp
                 WHERE comp.reason IS NOT NULL
                ON CONFLICT (feature_set, item_id) DO UPDATE
                   SET reason = EXCLUDED.reason, detail = EXCLUDED.detail, seen_at = EXCLUDED.seen_at
            )
            SELECT pg_catalog.count(*) FILTER (WHERE reason IS NULL AND is_new),
                   pg_catalog.count(*) FILTER (WHERE reason IS NULL AND NOT is_new),
                   pg_catalog.count(*) FILTER (WHERE reason IS NOT NULL),
                   pg_catalog.count(*) FILTER (WHERE reason IS NOT NULL AND had_features),
                   coalesce(pg_catalog.sum(terms), 0),
                   coalesce(pg_catalog.sum(oov_terms), 0)
              FROM comp$q$,
            CASE WHEN fs.kind = 'colors' THEN 'NOT MATERIALIZED' ELSE 'MATERIALIZED' END,
            id, h, inputs, from_, where_, compute);
    ELSIF what = 'gone' THEN
        where_ := format('NOT EXISTS (SELECT FROM %s s WHERE %s = f.item_id)', src, id);
        RETURN format($q$
            WITH gone AS MATERIALIZED (
                SELECT f.item_id, f.features IS NOT NULL AS had_features FROM fashionrec.item_feature f
                 WHERE f.feature_set = $1 AND f.content_hash IS NOT NULL AND %s
            ), g AS (
                SELECT fashionrec._feature_generation($1) AS generation WHERE EXISTS (SELECT FROM gone)
            ), up AS (
                UPDATE fashionrec.item_feature f
                   SET features = NULL, content_hash = NULL, terms = NULL, oov_terms = NULL,
                       generation = g.generation, computed_at = pg_catalog.now()
                  FROM gone, g
                 WHERE f.feature_set = $1 AND f.item_id = gone.item_id
            ), er AS (
                DELETE FROM fashionrec.feature_error e USING gone
                 WHERE e.feature_set = $1 AND e.item_id = gone.item_id
            )
            SELECT pg_catalog.count(*) FROM gone$q$,
            where_);
    END IF;
    RAISE EXCEPTION 'unknown statement "%"', what;
END
$$;
COMMENT ON FUNCTION fashionrec._feature_sql(fashionrec.feature_set, text) IS
    'Internal: the SQL statements of a feature set (changed, batch, row, gone, fit, staleness)';

-- ---- refresh -----------------------------------------------------------------

CREATE FUNCTION fashionrec.refresh_features(name text, rebuild boolean DEFAULT false,
                                            batch_size integer DEFAULT 1000)
    RETURNS TABLE (feature_set text, added bigint, updated bigint, deleted bigint, unchanged bigint,
                   failed bigint, generation bigint, vocabulary_version integer,
                   oov_share double precision, set_oov_share double precision,
                   rebuild_advised boolean, seconds double precision)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fs          fashionrec.feature_set;
    t0          timestamptz := clock_timestamp();
    vocab       fashionrec.tfidf_vocab;
    vv          integer;
    dim         integer;
    force       boolean := false;
    opts        jsonb;
    ids         bigint[];
    n           integer;
    n_batches   integer;
    b_added     bigint;
    b_updated   bigint;
    b_failed    bigint;
    b_tomb      bigint;
    b_terms     bigint;
    b_oov       bigint;
    n_terms     bigint := 0;
    n_oov       bigint := 0;
    n_queued    bigint;
    batch_sql   text;
    threshold   double precision;
BEGIN
    PERFORM fashionrec._require_primary('refresh_features()');
    IF rebuild IS NULL OR batch_size IS NULL THEN
        RAISE EXCEPTION 'rebuild and batch_size must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF batch_size < 1 OR batch_size > 1000000 THEN
        RAISE EXCEPTION 'batch_size must be between 1 and 1000000, got %', batch_size
              USING ERRCODE = '22023';
    END IF;
    fs := fashionrec._feature_set(name);
    -- one refresh of a set at a time, and no realtime write while it runs
    SELECT * INTO fs FROM fashionrec.feature_set s WHERE s.id = fs.id FOR UPDATE;
    vocab := fs.vocabulary;
    vv := fs.vocabulary_version;
    dim := fs.dimension;
    feature_set := fs.name;
    added := 0; updated := 0; deleted := 0; failed := 0;

    IF rebuild OR fs.vocabulary_version = 0 THEN
        force := true;
        IF fs.kind IN ('tfidf', 'attributes') THEN
            SELECT jsonb_object_agg(e.key, e.value) || '{"norm": "l2"}' INTO opts
              FROM jsonb_each(fs.params) e
             WHERE e.key IN ('min_df', 'max_df', 'max_features', 'sublinear_tf', 'use_idf', 'smooth_idf');
            EXECUTE fashionrec._feature_sql(fs, 'fit') INTO vocab USING fs.id, NULL::bigint[], coalesce(opts, '{"norm": "l2"}');
            IF vocab IS NULL THEN
                RAISE EXCEPTION 'feature set "%" has no document with a term to fit a vocabulary on', fs.name
                      USING ERRCODE = '22000',
                            HINT = format('Check the columns %s of %s.', array_to_string(fs.columns, ', '), fs.source);
            END IF;
            SELECT count(*) INTO dim FROM fashionrec.tfidf_terms(vocab);
            vv := vv + 1;
        ELSIF fs.kind = 'embedding' THEN
            IF fs.params ? 'dimension' THEN
                dim := (fs.params ->> 'dimension')::integer;
            ELSE
                EXECUTE format('SELECT pg_catalog.mode() WITHIN GROUP (ORDER BY pg_catalog.cardinality(s.%I))
                                  FROM %s s WHERE s.%I IS NOT NULL AND pg_catalog.array_ndims(s.%I) = 1',
                               fs.columns[1], fs.source::regclass, fs.id_column, fs.columns[1])
                   INTO dim;
                IF dim IS NULL THEN
                    RAISE EXCEPTION 'feature set "%" has no embedding to take the dimension from', fs.name
                          USING ERRCODE = '22000',
                                HINT = 'Give the dimension in the parameters: {"dimension": 512}.';
                END IF;
            END IF;
            IF dim IS DISTINCT FROM fs.dimension OR vv = 0 THEN
                vv := vv + 1;
            END IF;
        ELSE
            dim := pow((fs.params ->> 'bins')::integer, 3)::integer;
            IF vv = 0 THEN
                vv := 1;
            END IF;
        END IF;
        UPDATE fashionrec.feature_set s
           SET vocabulary = vocab, dimension = dim, vocabulary_version = vv, rebuilt_at = now()
         WHERE s.id = fs.id;
        fs.rebuilt_at := now();
        fs.vocabulary := vocab;
        fs.dimension := dim;
        fs.vocabulary_version := vv;
    END IF;

    EXECUTE fashionrec._feature_sql(fs, 'changed') INTO ids, unchanged, n_queued
      USING fs.id, NULL::bigint[], vocab, vv, force;
    n := coalesce(array_length(ids, 1), 0);
    n_batches := (n + batch_size - 1) / batch_size;
    IF n > 0 THEN
        batch_sql := fashionrec._feature_sql(fs, 'batch');
    END IF;
    FOR b IN 1 .. n_batches LOOP
        EXECUTE batch_sql INTO b_added, b_updated, b_failed, b_tomb, b_terms, b_oov
          USING fs.id, ids[(b - 1) * batch_size + 1 : b * batch_size], vocab, vv, force,
                NULL::integer, NULL::integer, NULL::integer, fs.rebuilt_at;
        added := added + b_added;
        updated := updated + b_updated;
        failed := failed + b_failed;
        n_terms := n_terms + b_terms;
        n_oov := n_oov + b_oov;
        RAISE NOTICE 'refresh_features "%": batch %/%: % added, % updated, % failed',
                     fs.name, b, n_batches, b_added, b_updated, b_failed;
    END LOOP;
    -- items that changed while we ran are not in ids: the next refresh has them
    unchanged := unchanged + (n - added - updated - failed);

    EXECUTE fashionrec._feature_sql(fs, 'gone') INTO deleted USING fs.id;

    IF fs.kind IN ('tfidf', 'attributes') THEN
        oov_share := n_oov::double precision / nullif(n_terms, 0);
        SELECT sum(f.oov_terms)::double precision / nullif(sum(f.terms), 0) INTO set_oov_share
          FROM fashionrec.item_feature f WHERE f.feature_set = fs.id AND f.features IS NOT NULL;
        IF force THEN
            fs.oov_baseline := set_oov_share;
        END IF;
        threshold := coalesce((fs.params ->> 'oov_threshold')::double precision, 0.05);
        rebuild_advised := set_oov_share - coalesce(fs.oov_baseline, 0) > threshold;
        IF rebuild_advised THEN
            RAISE NOTICE 'feature set "%": % %% of its terms are outside the vocabulary, % %% after its last rebuild; a rebuild is advised',
                         fs.name, round((100 * set_oov_share)::numeric, 1),
                         round((100 * coalesce(fs.oov_baseline, 0))::numeric, 1)
                  USING HINT = format('SELECT * FROM fashionrec.refresh_features(%L, rebuild => true);', fs.name);
        END IF;
    ELSE
        rebuild_advised := false;
    END IF;

    UPDATE fashionrec.feature_set s SET refreshed_at = now(), oov_baseline = fs.oov_baseline
     WHERE s.id = fs.id
    RETURNING s.generation INTO generation;
    vocabulary_version := vv;
    seconds := extract(epoch FROM clock_timestamp() - t0);
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION fashionrec.refresh_features(text, boolean, integer) IS
    'Computes the features of new and changed items (content hash differs), tombstones deleted ones, in batches; rebuild => true refits the vocabulary and recomputes all';

-- ---- create and drop ---------------------------------------------------------

CREATE FUNCTION fashionrec.create_feature_set(name text, kind text, source regclass, params jsonb DEFAULT '{}')
    RETURNS TABLE (feature_set text, added bigint, updated bigint, deleted bigint, unchanged bigint,
                   failed bigint, generation bigint, vocabulary_version integer,
                   oov_share double precision, set_oov_share double precision,
                   rebuild_advised boolean, seconds double precision)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    allowed   text[];
    p         jsonb := '{}';
    k         text;
    rel       record;
    id_col    text;
    cols      text[];
    texts     text[];
    attrs     text[];
    c         text;
    t         oid;
    v         jsonb;
    cfg       text;
BEGIN
    PERFORM fashionrec._require_primary('create_feature_set()');
    IF name IS NULL OR kind IS NULL OR source IS NULL OR params IS NULL THEN
        RAISE EXCEPTION 'name, kind, source and params must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF name !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid feature set name "%"', name
              USING ERRCODE = '22023',
                    HINT = 'A name is 1 to 63 letters, digits, "_", ".", ":" or "-", starting with a letter or digit.';
    END IF;
    IF EXISTS (SELECT FROM fashionrec.feature_set s WHERE s.name = create_feature_set.name) THEN
        RAISE EXCEPTION 'feature set "%" already exists', name
              USING ERRCODE = '42710',
                    HINT = 'Refresh it with refresh_features(), or drop it with drop_feature_set() first.';
    END IF;
    allowed := CASE kind
        WHEN 'tfidf' THEN ARRAY['id_column', 'text_columns', 'attribute_columns', 'weights', 'config',
                                'min_df', 'max_df', 'max_features', 'sublinear_tf', 'use_idf', 'smooth_idf',
                                'oov_threshold']
        WHEN 'attributes' THEN ARRAY['id_column', 'columns', 'weights', 'min_df', 'max_df', 'use_idf',
                                     'smooth_idf', 'oov_threshold']
        WHEN 'colors' THEN ARRAY['id_column', 'image_column', 'bins', 'ignore_background']
        WHEN 'embedding' THEN ARRAY['id_column', 'vector_column', 'dimension'] END;
    IF allowed IS NULL THEN
        RAISE EXCEPTION 'unknown feature set kind "%"', kind
              USING ERRCODE = '22023',
                    HINT = 'The kinds are tfidf, attributes, colors and embedding.';
    END IF;
    IF jsonb_typeof(params) <> 'object' THEN
        RAISE EXCEPTION 'params must be a JSON object' USING ERRCODE = '22023';
    END IF;
    FOR k IN SELECT jsonb_object_keys(params) LOOP
        IF NOT k = ANY (allowed) THEN
            RAISE EXCEPTION 'unknown parameter "%" for a % feature set', k, kind
                  USING ERRCODE = '22023',
                        HINT = format('The parameters are %s.', array_to_string(allowed, ', '));
        END IF;
    END LOOP;

    SELECT c2.relkind, n.nspname, c2.relname INTO rel
      FROM pg_class c2 JOIN pg_namespace n ON n.oid = c2.relnamespace WHERE c2.oid = source;
    IF rel.relkind NOT IN ('r', 'p', 'v', 'm', 'f') THEN
        RAISE EXCEPTION '"%" is not a table or view', source
              USING ERRCODE = '42809';
    END IF;
    IF NOT has_table_privilege(source, 'SELECT') THEN
        RAISE EXCEPTION 'permission denied for table %', source
              USING ERRCODE = '42501', HINT = 'The feature set reads the source with your rights.';
    END IF;

    -- the id column: given, or the table's one-column primary key
    id_col := params ->> 'id_column';
    IF id_col IS NULL THEN
        SELECT a.attname INTO id_col
          FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
         WHERE i.indrelid = source AND i.indisprimary AND i.indnatts = 1;
        IF id_col IS NULL THEN
            RAISE EXCEPTION '% has no one-column primary key to take the item id from', source
                  USING ERRCODE = '22023', HINT = 'Name it: {"id_column": "product_id"}.';
        END IF;
    END IF;
    SELECT a.atttypid INTO t FROM pg_attribute a
     WHERE a.attrelid = source AND a.attname = id_col AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of the id does not exist in %', id_col, source USING ERRCODE = '42703';
    ELSIF t NOT IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype) THEN
        RAISE EXCEPTION 'the id column "%" must be smallint, integer or bigint, not %', id_col, t::regtype
              USING ERRCODE = '42804';
    END IF;
    p := jsonb_build_object('id_column', id_col);

    IF kind = 'tfidf' THEN
        texts := fashionrec._feature_names(params -> 'text_columns', 'text_columns');
        IF coalesce(cardinality(texts), 0) = 0 THEN
            RAISE EXCEPTION 'a tfidf feature set needs "text_columns"' USING ERRCODE = '22023',
                  HINT = 'Name the text columns: {"text_columns": ["title", "description"]}.';
        END IF;
        attrs := coalesce(fashionrec._feature_names(params -> 'attribute_columns', 'attribute_columns'), '{}');
        cols := texts || attrs;
        cfg := coalesce(params ->> 'config', 'english');
        BEGIN
            t := cfg::regconfig;
        EXCEPTION WHEN undefined_object OR invalid_name OR syntax_error THEN
            RAISE EXCEPTION 'text search configuration "%" does not exist', cfg
                  USING ERRCODE = '42704', HINT = 'SELECT cfgname FROM pg_ts_config lists them.';
        END;
        SELECT format('%I.%I', n.nspname, c3.cfgname) INTO cfg
          FROM pg_ts_config c3 JOIN pg_namespace n ON n.oid = c3.cfgnamespace WHERE c3.oid = t;
        p := p || jsonb_build_object('text_columns', to_jsonb(texts), 'attribute_columns', to_jsonb(attrs),
                                     'config', cfg);
    ELSIF kind = 'attributes' THEN
        attrs := fashionrec._feature_names(params -> 'columns', 'columns');
        IF coalesce(cardinality(attrs), 0) = 0 THEN
            RAISE EXCEPTION 'an attributes feature set needs "columns"' USING ERRCODE = '22023',
                  HINT = 'Name the attribute columns: {"columns": ["article_type", "colour"]}.';
        END IF;
        cols := attrs;
        p := p || jsonb_build_object('attribute_columns', to_jsonb(attrs));
    ELSIF kind = 'colors' THEN
        IF NOT params ? 'image_column' OR jsonb_typeof(params -> 'image_column') <> 'string' THEN
            RAISE EXCEPTION 'a colors feature set needs "image_column"' USING ERRCODE = '22023',
                  HINT = 'Name the bytea column of the images: {"image_column": "image"}.';
        END IF;
        cols := ARRAY[params ->> 'image_column'];
        p := p || jsonb_build_object('bins', 8, 'ignore_background', true);
    ELSE
        IF NOT params ? 'vector_column' OR jsonb_typeof(params -> 'vector_column') <> 'string' THEN
            RAISE EXCEPTION 'an embedding feature set needs "vector_column"' USING ERRCODE = '22023',
                  HINT = 'Name the real[] column of the embeddings: {"vector_column": "embedding"}.';
        END IF;
        cols := ARRAY[params ->> 'vector_column'];
    END IF;
    IF (SELECT count(DISTINCT x) FROM unnest(cols) x) <> cardinality(cols) THEN
        RAISE EXCEPTION 'a column is named twice in %', array_to_string(cols, ', ') USING ERRCODE = '22023';
    END IF;

    FOREACH c IN ARRAY cols LOOP
        SELECT a.atttypid INTO t FROM pg_attribute a
         WHERE a.attrelid = source AND a.attname = c AND a.attnum > 0 AND NOT a.attisdropped;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'column "%" does not exist in %', c, source USING ERRCODE = '42703';
        END IF;
        IF kind = 'tfidf' AND c = ANY (texts)
           AND t NOT IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype, 'name'::regtype) THEN
            RAISE EXCEPTION 'text column "%" must be text or varchar, not %', c, t::regtype
                  USING ERRCODE = '42804', HINT = 'Put other columns in "attribute_columns".';
        ELSIF kind = 'colors' AND t <> 'bytea'::regtype THEN
            RAISE EXCEPTION 'image column "%" must be bytea, not %', c, t::regtype USING ERRCODE = '42804';
        ELSIF kind = 'embedding' AND t NOT IN ('real[]'::regtype, 'double precision[]'::regtype) THEN
            RAISE EXCEPTION 'vector column "%" must be real[] or double precision[], not %', c, t::regtype
                  USING ERRCODE = '42804';
        END IF;
    END LOOP;

    -- weights: attribute column -> whole number 0..256 (a term frequency)
    IF params ? 'weights' THEN
        v := params -> 'weights';
        IF jsonb_typeof(v) = 'string' THEN
            v := (v #>> '{}')::jsonb;
        END IF;
        IF jsonb_typeof(v) <> 'object' THEN
            RAISE EXCEPTION 'parameter "weights" must be a JSON object of attribute column weights'
                  USING ERRCODE = '22023', HINT = 'Write "weights": {"article_type": 3, "colour": 2}.';
        END IF;
        FOR k IN SELECT jsonb_object_keys(v) LOOP
            IF NOT k = ANY (attrs) THEN
                RAISE EXCEPTION 'parameter "weights" names "%", which is not an attribute column', k
                      USING ERRCODE = '22023',
                            DETAIL = format('The attribute columns are %s.', coalesce(nullif(array_to_string(attrs, ', '), ''), 'none'));
            END IF;
            IF jsonb_typeof(v -> k) <> 'number' OR (v ->> k)::numeric NOT BETWEEN 0 AND 256
               OR (v ->> k)::numeric <> trunc((v ->> k)::numeric) THEN
                RAISE EXCEPTION 'the weight of "%" must be a whole number between 0 and 256, got %', k, v -> k
                      USING ERRCODE = '22023',
                            HINT = 'A weight is the term frequency of the column''s term; scale fractional weights up.';
            END IF;
        END LOOP;
        p := p || jsonb_build_object('weights', v);
    END IF;

    FOR k IN SELECT unnest(ARRAY['min_df', 'max_df', 'max_features', 'sublinear_tf', 'use_idf', 'smooth_idf']) LOOP
        IF params ? k THEN
            p := p || jsonb_build_object(k, params -> k);
        END IF;
    END LOOP;
    IF params ? 'oov_threshold' THEN
        IF jsonb_typeof(params -> 'oov_threshold') <> 'number'
           OR (params ->> 'oov_threshold')::numeric NOT BETWEEN 0 AND 1 THEN
            RAISE EXCEPTION 'parameter "oov_threshold" must be a number between 0 and 1' USING ERRCODE = '22023';
        END IF;
        p := p || jsonb_build_object('oov_threshold', params -> 'oov_threshold');
    END IF;
    IF params ? 'bins' THEN
        IF jsonb_typeof(params -> 'bins') <> 'number' OR (params ->> 'bins')::numeric NOT IN (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16) THEN
            RAISE EXCEPTION 'parameter "bins" must be a whole number between 2 and 16' USING ERRCODE = '22023';
        END IF;
        p := p || jsonb_build_object('bins', params -> 'bins');
    END IF;
    IF params ? 'ignore_background' THEN
        IF jsonb_typeof(params -> 'ignore_background') <> 'boolean' THEN
            RAISE EXCEPTION 'parameter "ignore_background" must be true or false' USING ERRCODE = '22023';
        END IF;
        p := p || jsonb_build_object('ignore_background', params -> 'ignore_background');
    END IF;
    IF params ? 'dimension' THEN
        IF jsonb_typeof(params -> 'dimension') <> 'number' OR (params ->> 'dimension')::numeric NOT BETWEEN 1 AND 1000000
           OR (params ->> 'dimension')::numeric <> trunc((params ->> 'dimension')::numeric) THEN
            RAISE EXCEPTION 'parameter "dimension" must be a whole number between 1 and 1000000' USING ERRCODE = '22023';
        END IF;
        p := p || jsonb_build_object('dimension', params -> 'dimension');
    END IF;

    INSERT INTO fashionrec.feature_set (name, kind, source, id_column, columns, params)
    VALUES (name, kind, format('%I.%I', rel.nspname, rel.relname), id_col, cols, p);
    RETURN QUERY SELECT * FROM fashionrec.refresh_features(name, rebuild => true);
END
$$;
COMMENT ON FUNCTION fashionrec.create_feature_set(text, text, regclass, jsonb) IS
    'Creates a feature set (tfidf, attributes, colors, embedding) over a product table or view and builds it';

CREATE FUNCTION fashionrec.drop_feature_set(name text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fs fashionrec.feature_set;
BEGIN
    PERFORM fashionrec._require_primary('drop_feature_set()');
    fs := fashionrec._feature_set(name);
    PERFORM fashionrec.disable_realtime(name);
    DELETE FROM fashionrec.feature_set s WHERE s.id = fs.id;
END
$$;
COMMENT ON FUNCTION fashionrec.drop_feature_set(text) IS
    'Drops a feature set, its items, errors and queue, and its realtime trigger';

-- ---- realtime ----------------------------------------------------------------

/*
 * The trigger of enable_realtime(), one per feature set (TG_ARGV[0] is its
 * id).  SECURITY DEFINER: the application writing products has no rights on
 * the fashionrec tables.  It reads only the row it fires for.
 */
CREATE FUNCTION fashionrec._feature_trigger() RETURNS trigger
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fs      fashionrec.feature_set;
    set_id     integer := TG_ARGV[0]::integer;
    g          bigint;
    old_id     bigint;
    v_id       bigint;
    v_hash     bytea;
    v_reason   text;
    v_detail   text;
    v_features fashionrec.svec;
    v_terms    integer;
    v_oov      integer;
    v_doc      tsvector;
    v_allnull  boolean;
    row_sql    text;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW IS NOT DISTINCT FROM OLD THEN
        RETURN NULL;
    END IF;
    -- every column but the vocabulary, which _feature_tfidf() keeps in memory
    SELECT s.id, s.name, s.kind, s.source, s.id_column, s.columns, s.params, s.dimension, NULL,
           s.vocabulary_version, s.generation, s.realtime, s.created_at, s.refreshed_at, s.rebuilt_at,
           s.oov_baseline, s.created_by
      INTO fs FROM fashionrec.feature_set s WHERE s.id = set_id;
    -- only as installed by enable_realtime(): not a way to write any set
    IF NOT FOUND OR NOT fs.realtime OR TG_NAME <> 'fashionrec_features_' || set_id THEN
        RETURN NULL;
    END IF;
    -- the table was renamed or moved: follow it, so refresh_features() finds it too
    IF to_regclass(fs.source) IS DISTINCT FROM TG_RELID THEN
        fs.source := format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME);
        UPDATE fashionrec.feature_set s SET source = fs.source WHERE s.id = set_id;
    END IF;
    IF fs.kind = 'colors' THEN
        -- decoding images in the writer's transaction would be too slow
        EXECUTE format('INSERT INTO fashionrec.feature_queue (feature_set, item_id, queued_at)
                        SELECT $1, x.id, pg_catalog.now()
                          FROM (VALUES (($2).%I::pg_catalog.int8), (($3).%I::pg_catalog.int8)) x(id)
                         WHERE x.id IS NOT NULL
                        ON CONFLICT (feature_set, item_id) DO UPDATE SET queued_at = EXCLUDED.queued_at',
                       fs.id_column, fs.id_column)
          USING set_id, CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END,
                CASE WHEN TG_OP = 'UPDATE' THEN OLD ELSE NULL END;
        RETURN NULL;
    END IF;
    -- the row lock first: a rebuild that committed meanwhile is then seen
    g := fashionrec._feature_generation(set_id);
    SELECT s.vocabulary_version, s.rebuilt_at INTO fs.vocabulary_version, fs.rebuilt_at
      FROM fashionrec.feature_set s WHERE s.id = set_id;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        row_sql := fashionrec._feature_row_sql(set_id, fs.vocabulary_version, fs.rebuilt_at);
        IF row_sql IS NULL THEN
            row_sql := fashionrec._feature_row_sql(set_id, fs.vocabulary_version, fs.rebuilt_at,
                                                   fashionrec._feature_sql(fs, 'row'));
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND fs.kind IN ('tfidf', 'attributes') THEN
        EXECUTE row_sql INTO v_id, v_hash, v_doc, v_allnull USING NEW;
        v_terms := pg_catalog.length(v_doc);
        IF v_allnull THEN
            v_reason := 'null_columns';
            v_detail := format('Every column of %s is NULL.', pg_catalog.array_to_string(fs.columns, ', '));
        ELSIF v_terms = 0 THEN
            v_reason := 'empty_text';
            v_detail := 'The document has no terms.';
        ELSE
            v_features := fashionrec._feature_tfidf(set_id, fs.vocabulary_version, fs.rebuilt_at, v_doc);
            v_oov := v_terms - fashionrec.nnz(v_features);
        END IF;
        IF v_reason IS NOT NULL THEN
            v_terms := NULL;
        END IF;
    ELSIF TG_OP IN ('INSERT', 'UPDATE') THEN
        EXECUTE row_sql
           INTO v_id, v_hash, v_reason, v_detail, v_features, v_terms, v_oov
          USING set_id, NULL::bigint[], NULL::fashionrec.tfidf_vocab, fs.vocabulary_version, false, NEW;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        old_id := (pg_catalog.to_jsonb(OLD) ->> fs.id_column)::bigint;
        IF old_id IS DISTINCT FROM v_id THEN
            UPDATE fashionrec.item_feature f
               SET features = NULL, content_hash = NULL, terms = NULL, oov_terms = NULL,
                   generation = g, computed_at = pg_catalog.now()
             WHERE f.feature_set = set_id AND f.item_id = old_id AND f.content_hash IS NOT NULL;
            DELETE FROM fashionrec.feature_error e WHERE e.feature_set = set_id AND e.item_id = old_id;
        END IF;
    END IF;
    IF v_id IS NULL OR EXISTS (SELECT FROM fashionrec.item_feature f
                                WHERE f.feature_set = set_id AND f.item_id = v_id AND f.content_hash = v_hash
                                  AND f.vocabulary_version = fs.vocabulary_version) THEN
        RETURN NULL;
    END IF;
    INSERT INTO fashionrec.item_feature AS f
           (feature_set, item_id, features, content_hash, vocabulary_version, generation, computed_at,
            terms, oov_terms)
    VALUES (set_id, v_id, v_features, v_hash, fs.vocabulary_version, g, pg_catalog.now(), v_terms, v_oov)
    ON CONFLICT (feature_set, item_id) DO UPDATE
       SET features = EXCLUDED.features, content_hash = EXCLUDED.content_hash,
           vocabulary_version = EXCLUDED.vocabulary_version, generation = EXCLUDED.generation,
           computed_at = EXCLUDED.computed_at, terms = EXCLUDED.terms, oov_terms = EXCLUDED.oov_terms;
    IF v_reason IS NULL THEN
        DELETE FROM fashionrec.feature_error e WHERE e.feature_set = set_id AND e.item_id = v_id;
    ELSE
        INSERT INTO fashionrec.feature_error AS e (feature_set, item_id, reason, detail, seen_at)
        VALUES (set_id, v_id, v_reason, v_detail, pg_catalog.now())
        ON CONFLICT (feature_set, item_id) DO UPDATE
           SET reason = EXCLUDED.reason, detail = EXCLUDED.detail, seen_at = EXCLUDED.seen_at;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION fashionrec._feature_trigger() IS
    'Internal: the realtime trigger of a feature set; computes (or, for colors, queues) the features of the written row';

CREATE FUNCTION fashionrec.enable_realtime(name text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fs  fashionrec.feature_set;
    rel regclass;
BEGIN
    PERFORM fashionrec._require_primary('enable_realtime()');
    fs := fashionrec._feature_set(name);
    rel := to_regclass(fs.source);
    IF rel IS NULL OR (SELECT relkind FROM pg_class WHERE oid = rel) NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'the source % of feature set "%" is not a table', fs.source, fs.name
              USING ERRCODE = '42809',
                    HINT = 'A trigger needs a table; refresh a view''s feature set with refresh_features().';
    END IF;
    IF EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = rel AND t.tgname = 'fashionrec_features_' || fs.id) THEN
        EXECUTE format('DROP TRIGGER %I ON %s', 'fashionrec_features_' || fs.id, rel);
    END IF;
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR DELETE OR UPDATE OF %s ON %s
                    FOR EACH ROW EXECUTE FUNCTION fashionrec._feature_trigger(%L)',
                   'fashionrec_features_' || fs.id,
                   (SELECT string_agg(format('%I', c), ', ') FROM unnest(fs.id_column || fs.columns) c),
                   rel, fs.id::text);
    UPDATE fashionrec.feature_set s SET realtime = true WHERE s.id = fs.id;
END
$$;
COMMENT ON FUNCTION fashionrec.enable_realtime(text) IS
    'Installs a trigger on the source table: written products get their features (colors: a queue entry) in the same transaction';

CREATE FUNCTION fashionrec.disable_realtime(name text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fs  fashionrec.feature_set;
    rel regclass;
BEGIN
    PERFORM fashionrec._require_primary('disable_realtime()');
    fs := fashionrec._feature_set(name);
    rel := to_regclass(fs.source);
    IF rel IS NOT NULL AND EXISTS (SELECT FROM pg_trigger t
                                    WHERE t.tgrelid = rel AND t.tgname = 'fashionrec_features_' || fs.id) THEN
        EXECUTE format('DROP TRIGGER %I ON %s', 'fashionrec_features_' || fs.id, rel);
    END IF;
    UPDATE fashionrec.feature_set s SET realtime = false WHERE s.id = fs.id AND s.realtime;
END
$$;
COMMENT ON FUNCTION fashionrec.disable_realtime(text) IS 'Drops the realtime trigger of a feature set';

-- ---- reading -----------------------------------------------------------------

CREATE FUNCTION fashionrec.features(name text)
    RETURNS TABLE (item_id bigint, features fashionrec.svec, computed_at timestamptz)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fs fashionrec.feature_set := fashionrec._feature_set(name);
BEGIN
    RETURN QUERY SELECT f.item_id, f.features, f.computed_at FROM fashionrec.item_feature f
                  WHERE f.feature_set = fs.id AND f.features IS NOT NULL ORDER BY f.item_id;
END
$$;
COMMENT ON FUNCTION fashionrec.features(text) IS 'The live items of a feature set with their features';

CREATE FUNCTION fashionrec.item_features(name text, item_id bigint) RETURNS fashionrec.svec
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fs fashionrec.feature_set := fashionrec._feature_set(name);
    v  fashionrec.svec;
BEGIN
    SELECT f.features INTO v FROM fashionrec.item_feature f
     WHERE f.feature_set = fs.id AND f.item_id = item_features.item_id;
    RETURN v;
END
$$;
COMMENT ON FUNCTION fashionrec.item_features(text, bigint) IS
    'The features of one item; NULL if it has none (unknown, deleted or failing validation)';

CREATE FUNCTION fashionrec.feature_errors(name text)
    RETURNS TABLE (item_id bigint, reason text, detail text, seen_at timestamptz)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fs fashionrec.feature_set := fashionrec._feature_set(name);
BEGIN
    RETURN QUERY SELECT e.item_id, e.reason, e.detail, e.seen_at FROM fashionrec.feature_error e
                  WHERE e.feature_set = fs.id ORDER BY e.item_id;
END
$$;
COMMENT ON FUNCTION fashionrec.feature_errors(text) IS
    'Items of a feature set that failed validation, with the reason (null_columns, empty_text, undecodable_image, unsupported_image, image_too_large, wrong_dimension, null_element, not_finite)';

CREATE FUNCTION fashionrec.feature_staleness(name text,
                                             OUT new_items bigint, OUT changed_items bigint,
                                             OUT deleted_items bigint, OUT queued_items bigint)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fs fashionrec.feature_set := fashionrec._feature_set(name);
BEGIN
    EXECUTE fashionrec._feature_sql(fs, 'staleness') INTO new_items, changed_items, deleted_items
      USING fs.id, NULL::bigint[], NULL::fashionrec.tfidf_vocab, fs.vocabulary_version;
    SELECT count(*) INTO queued_items FROM fashionrec.feature_queue q WHERE q.feature_set = fs.id;
END
$$;
COMMENT ON FUNCTION fashionrec.feature_staleness(text) IS
    'What refresh_features() would do: new, changed and deleted items of the source (hashes every source row: a scan), and the queued items';

CREATE VIEW fashionrec.feature_sets AS
SELECT s.name,
       s.kind,
       s.source,
       s.dimension,
       s.vocabulary_version,
       s.generation,
       coalesce(c.items, 0) AS items,
       coalesce(c.tombstones, 0) AS tombstones,
       (SELECT count(*) FROM fashionrec.feature_error e WHERE e.feature_set = s.id) AS errors,
       (SELECT count(*) FROM fashionrec.feature_queue q WHERE q.feature_set = s.id) AS queued,
       c.oov_share,
       s.oov_baseline,
       s.realtime,
       s.created_at,
       s.refreshed_at,
       s.rebuilt_at
  FROM fashionrec.feature_set s
  LEFT JOIN LATERAL (
        SELECT count(*) FILTER (WHERE f.features IS NOT NULL) AS items,
               count(*) FILTER (WHERE f.features IS NULL) AS tombstones,
               sum(f.oov_terms)::double precision / nullif(sum(f.terms), 0) AS oov_share
          FROM fashionrec.item_feature f
         WHERE f.feature_set = s.id) c ON true;
COMMENT ON VIEW fashionrec.feature_sets IS
    'Feature sets with their items, tombstones (deleted or failing items), errors, queued items, out-of-vocabulary share and times; feature_staleness(name) compares with the source';
