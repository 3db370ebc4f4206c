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
-- quoted identifiers and literals only; C for the attribute terms, a colour
-- histogram that reports bad images instead of raising (features_sql.c), the
-- writers (features_store.c) and the realtime trigger (features_trigger.c).
--
-- Who runs what (docs/features.md, "Security"): no role writes these tables.
-- A source is read only by its set's author or a role whose rights the
-- author holds (_check_author), with that reader's rights; the C writers
-- store what the set's own statements computed, as the tables' owner.  The
-- trigger runs as the product writer and evaluates nothing over the row: it
-- reads the set's columns as the types the set accepts (text, varchar, char,
-- name; bytea; real[], double precision[]; an integer id).

CREATE TABLE fashionrec.feature_set (
    id                 serial PRIMARY KEY,
    name               text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$'),
    kind               text NOT NULL CHECK (kind IN ('tfidf', 'attributes', 'colors', 'embedding')),
    source             regclass NOT NULL,
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
    created_by         name NOT NULL
);
COMMENT ON TABLE fashionrec.feature_set IS
    'Feature sets: what is computed from which product table; generation counts the transactions that wrote its items';
COMMENT ON COLUMN fashionrec.feature_set.source IS
    'The product table or view: the relation itself, followed through renames, never another one';
COMMENT ON COLUMN fashionrec.feature_set.columns IS 'The columns the features are computed from';
COMMENT ON COLUMN fashionrec.feature_set.dimension IS 'Dimension of every vector of the set';
COMMENT ON COLUMN fashionrec.feature_set.vocabulary IS 'tfidf and attributes: the vocabulary, fixed between rebuilds';
COMMENT ON COLUMN fashionrec.feature_set.vocabulary_version IS
    '+1 whenever the vector space changes (a tfidf/attributes rebuild, a new embedding dimension)';
COMMENT ON COLUMN fashionrec.feature_set.generation IS
    'Change counter: every writing transaction bumps it once and stamps its rows with it';
COMMENT ON COLUMN fashionrec.feature_set.oov_baseline IS
    'Out-of-vocabulary share of the set right after its last rebuild (tfidf, attributes)';
COMMENT ON COLUMN fashionrec.feature_set.created_by IS
    'The role that created the set: its source is read only by this role or a role whose rights it holds';

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

CREATE FUNCTION fashionrec._feature_check_columns(source regclass, kind text, id_column text,
                                                 columns text[], feature_set text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'fashionrec_feature_check_columns'
    LANGUAGE C STABLE;
COMMENT ON FUNCTION fashionrec._feature_check_columns(regclass, text, text, text[], text) IS
    'Internal: raises 42703/42804 unless the source has the columns with types the kind reads (id: smallint, integer, bigint; tfidf, attributes: text, varchar, char, name; colors: bytea; embedding: real[], double precision[])';

-- ---- writers (features_store.c) ----------------------------------------------
-- They run as their caller, read a source only through the set's own
-- statements and after _check_author(), and store as the tables' owner; so
-- each may be called directly.

CREATE FUNCTION fashionrec._feature_set_create(name text, kind text, source regclass, params jsonb)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'fashionrec_feature_set_create'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION fashionrec._feature_set_create(text, text, regclass, jsonb) IS
    'Internal: records a feature set authored by the caller, checked by _feature_set_check() with the caller''s rights; use create_feature_set()';

CREATE FUNCTION fashionrec._feature_refresh_begin(feature_set integer) RETURNS fashionrec.feature_set
    AS 'MODULE_PATHNAME', 'fashionrec_feature_refresh_begin'
    LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION fashionrec._feature_refresh_begin(integer) IS
    'Internal: a refresh''s start: checks the caller against the set''s author and the source''s columns, locks the set''s row, takes its queue; use refresh_features()';

CREATE FUNCTION fashionrec._feature_rebuild(feature_set integer) RETURNS fashionrec.feature_set
    AS 'MODULE_PATHNAME', 'fashionrec_feature_rebuild'
    LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION fashionrec._feature_rebuild(integer) IS
    'Internal: fits the vocabulary or takes the dimension over the source; NULL when the source gives none; use refresh_features(rebuild => true)';

CREATE FUNCTION fashionrec._feature_refresh_batch(feature_set integer, ids bigint[], force boolean,
                                                  OUT added bigint, OUT updated bigint, OUT failed bigint,
                                                  OUT tombstoned bigint, OUT terms bigint, OUT oov_terms bigint)
    AS 'MODULE_PATHNAME', 'fashionrec_feature_refresh_batch'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION fashionrec._feature_refresh_batch(integer, bigint[], boolean) IS
    'Internal: computes the listed items whose source row is new or changed (all with force) and stores them; use refresh_features()';

CREATE FUNCTION fashionrec._feature_refresh_gone(feature_set integer) RETURNS bigint
    AS 'MODULE_PATHNAME', 'fashionrec_feature_refresh_gone'
    LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION fashionrec._feature_refresh_gone(integer) IS
    'Internal: tombstones the items whose id left the source; use refresh_features()';

CREATE FUNCTION fashionrec._feature_refresh_finish(feature_set integer, rebuilt boolean) RETURNS bigint
    AS 'MODULE_PATHNAME', 'fashionrec_feature_refresh_finish'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION fashionrec._feature_refresh_finish(integer, boolean) IS
    'Internal: a refresh''s end: its time and, after a rebuild, the out-of-vocabulary baseline; returns the generation';

-- Store only what the catalog already says, so they are safe to call directly
-- (_feature_set_realtime() is with the trigger, below).
CREATE FUNCTION fashionrec._feature_set_drop(feature_set integer) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fs fashionrec.feature_set;
BEGIN
    SELECT * INTO fs FROM fashionrec.feature_set s WHERE s.id = _feature_set_drop.feature_set;
    IF EXISTS (SELECT FROM pg_catalog.pg_trigger t
                WHERE t.tgrelid = fs.source AND t.tgname = 'fashionrec_features_' || fs.id) THEN
        RAISE EXCEPTION 'feature set "%" still has its realtime trigger on %', fs.name, fs.source
              USING ERRCODE = '55000',
                    HINT = 'Drop the set with fashionrec.drop_feature_set(), which removes the trigger first.';
    END IF;
    DELETE FROM fashionrec.feature_set s WHERE s.id = _feature_set_drop.feature_set;
END
$$;
COMMENT ON FUNCTION fashionrec._feature_set_drop(integer) IS
    'Internal: deletes a feature set without a trigger, with its items, errors and queue; use drop_feature_set()';

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
 * identifier is quoted with %I and every constant is a literal (%L) or a
 * number, so nothing stored in a feature set or named by a source's columns
 * can become SQL.  They read the source and item_feature only: the writers
 * (features_store.c) run them as their caller and store what they return.
 * Parameters:
 *   $1 set id, $2 item ids (bigint[], ascending), $3 vocabulary version,
 *   $4 recompute even if unchanged, $5 rebuilt_at (names the vocabulary
 *   with $1 and $3).
 * what: changed, batch, gone, rebuild, staleness.
 */
CREATE FUNCTION fashionrec._feature_sql(fs fashionrec.feature_set, what text) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p       jsonb := fs.params;
    src     text := format('%s', fs.source);
    id      text := format('s.%I', fs.id_column);
    cols    text;
    h       text;
    inputs  text;
    compute text;
    where_  text;
    texts   text[];
    attrs   text[];
    weights text;
    w       integer;
    a       text;
    allnull text;
    docexpr text;
    opts    jsonb;
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
                   CASE x.reason WHEN 'null_columns' THEN %L
                                 WHEN 'empty_text' THEN 'The document has no terms.' END AS detail,
                   CASE WHEN x.reason IS NULL THEN fashionrec._feature_tfidf($1, $3, $5, src.doc) END AS v,
                   pg_catalog.length(src.doc) AS terms
              FROM (SELECT CASE WHEN src.all_null THEN 'null_columns'
                                WHEN pg_catalog.length(src.doc) = 0 THEN 'empty_text' END AS reason) x$c$,
                          format('Every column of %s is NULL.', array_to_string(fs.columns, ', ')));
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
                        WHEN 'wrong_dimension' THEN pg_catalog.format(%L,
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
                          format('Expected %s values, got %%s.', fs.dimension), coalesce(fs.dimension, 0));
    END IF;

    IF what = 'changed' THEN
        -- (ids of the new and changed items, count of the unchanged ones)
        RETURN format($q$
            WITH x AS (SELECT DISTINCT ON (1) %s::pg_catalog.int8 AS item_id, %s AS h
                         FROM %s s WHERE %s IS NOT NULL ORDER BY 1, 2)
            SELECT coalesce(pg_catalog.array_agg(x.item_id ORDER BY x.item_id) FILTER (WHERE t.stale), '{}'),
                   pg_catalog.count(*) FILTER (WHERE NOT t.stale)
              FROM x
              LEFT JOIN fashionrec.item_feature f ON f.feature_set = $1 AND f.item_id = x.item_id
             CROSS JOIN LATERAL (SELECT $4 OR f.item_id IS NULL OR f.content_hash IS DISTINCT FROM x.h
                                        OR f.vocabulary_version <> $3 AS stale) t$q$,
            id, h, src, id);
    ELSIF what = 'staleness' THEN
        RETURN format($q$
            WITH x AS (SELECT DISTINCT ON (1) %s::pg_catalog.int8 AS item_id, %s AS h
                         FROM %s s WHERE %s IS NOT NULL ORDER BY 1, 2)
            SELECT pg_catalog.count(*) FILTER (WHERE f.item_id IS NULL OR f.content_hash IS NULL),
                   pg_catalog.count(*) FILTER (WHERE f.content_hash <> x.h OR f.vocabulary_version <> $3),
                   (SELECT pg_catalog.count(*) FROM fashionrec.item_feature g
                     WHERE g.feature_set = $1 AND g.content_hash IS NOT NULL
                       AND NOT EXISTS (SELECT FROM %s s WHERE %s = g.item_id))
              FROM x LEFT JOIN fashionrec.item_feature f ON f.feature_set = $1 AND f.item_id = x.item_id$q$,
            id, h, src, id, src, id);
    ELSIF what = 'rebuild' AND fs.kind IN ('tfidf', 'attributes') THEN
        -- (vocabulary, dimension): NULL when no document has a term
        SELECT jsonb_object_agg(e.key, e.value) || '{"norm": "l2"}' INTO opts
          FROM jsonb_each(p) e
         WHERE e.key IN ('min_df', 'max_df', 'max_features', 'sublinear_tf', 'use_idf', 'smooth_idf');
        RETURN format($q$
            SELECT v.vocab, CASE WHEN v.vocab IS NOT NULL
                                 THEN (SELECT pg_catalog.count(*) FROM fashionrec.tfidf_terms(v.vocab))::pg_catalog.int4 END
              FROM (SELECT fashionrec.tfidf_fit(x.doc, %L::pg_catalog.jsonb) AS vocab
                      FROM (SELECT DISTINCT ON (%s) %s AS doc FROM %s s WHERE %s IS NOT NULL ORDER BY %s, %s) x
                     WHERE pg_catalog.length(x.doc) > 0) v$q$,
            coalesce(opts, '{"norm": "l2"}'), id, docexpr, src, id, id, h);
    ELSIF what = 'rebuild' AND fs.kind = 'embedding' AND p ? 'dimension' THEN
        RETURN format('SELECT NULL::fashionrec.tfidf_vocab, %s::pg_catalog.int4', (p ->> 'dimension')::integer);
    ELSIF what = 'rebuild' AND fs.kind = 'embedding' THEN
        -- the most common length; NULL when there is no embedding
        RETURN format($q$
            SELECT NULL::fashionrec.tfidf_vocab,
                   pg_catalog.mode() WITHIN GROUP (ORDER BY pg_catalog.cardinality(s.%I))
              FROM %s s WHERE %s IS NOT NULL AND pg_catalog.array_ndims(s.%I) = 1$q$,
            fs.columns[1], src, id, fs.columns[1]);
    ELSIF what = 'rebuild' THEN
        RETURN format('SELECT NULL::fashionrec.tfidf_vocab, %s::pg_catalog.int4',
                      ((p ->> 'bins')::integer ^ 3)::integer);
    ELSIF what = 'batch' THEN
        -- one row per new or changed item of $2, computed; materialised, so
        -- the document is computed once and not once per use; images are
        -- only read once and would fill the tuplestore.  The columns are
        -- those features_store.c reads (B_ITEM_ID ...).
        where_ := format('%s = ANY ($2) AND %s BETWEEN $2[1] AND $2[pg_catalog.cardinality($2)]', id, id);
        RETURN format($q$
            WITH src AS %s (
                SELECT DISTINCT ON (1) %s::pg_catalog.int8 AS item_id, %s AS h, %s
                  FROM %s s WHERE %s ORDER BY 1, 2
            )
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
             WHERE $4 OR f.item_id IS NULL OR f.content_hash IS DISTINCT FROM src.h
                   OR f.vocabulary_version <> $3$q$,
            CASE WHEN fs.kind = 'colors' THEN 'NOT MATERIALIZED' ELSE 'MATERIALIZED' END,
            id, h, inputs, src, where_, compute);
    ELSIF what = 'gone' THEN
        -- the items whose id left the source
        RETURN format($q$
            SELECT f.item_id FROM fashionrec.item_feature f
             WHERE f.feature_set = $1 AND f.content_hash IS NOT NULL
               AND NOT EXISTS (SELECT FROM %s s WHERE %s = f.item_id)$q$,
            src, id);
    END IF;
    RAISE EXCEPTION 'unknown statement "%"', what
          USING ERRCODE = '22023', HINT = 'The statements are changed, batch, gone, rebuild and staleness.';
END
$$;
COMMENT ON FUNCTION fashionrec._feature_sql(fashionrec.feature_set, text) IS
    'Internal: the SQL statements of a feature set (changed, batch, gone, rebuild, staleness), which read its source';

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
    rebuilt     fashionrec.feature_set;
    t0          timestamptz := clock_timestamp();
    vv          integer;
    force       boolean := false;
    ids         bigint[];
    n           integer;
    n_batches   integer;
    b           record;
    n_terms     bigint := 0;
    n_oov       bigint := 0;
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
    -- the set's author may read the source (42501 otherwise), its columns are
    -- as created; then one refresh of a set at a time, and no realtime write
    -- while it runs (the row lock)
    fs := fashionrec._feature_refresh_begin(fs.id);
    vv := fs.vocabulary_version;
    feature_set := fs.name;
    added := 0; updated := 0; deleted := 0; failed := 0;

    IF rebuild OR fs.vocabulary_version = 0 THEN
        force := true;
        rebuilt := fashionrec._feature_rebuild(fs.id);
        IF rebuilt.id IS NULL AND fs.kind IN ('tfidf', 'attributes') THEN
            RAISE EXCEPTION 'feature set "%" has no document with a term to fit a vocabulary on', fs.name
                  USING ERRCODE = '22000',
                        HINT = format('Check the columns %s of %s.', array_to_string(fs.columns, ', '), fs.source);
        ELSIF rebuilt.id IS NULL THEN
            RAISE EXCEPTION 'feature set "%" has no embedding to take the dimension from', fs.name
                  USING ERRCODE = '22000',
                        HINT = 'Give the dimension in the parameters: {"dimension": 512}.';
        END IF;
        fs := rebuilt;
        vv := fs.vocabulary_version;
    END IF;

    EXECUTE fashionrec._feature_sql(fs, 'changed') INTO ids, unchanged
      USING fs.id, NULL::bigint[], vv, force;
    n := coalesce(array_length(ids, 1), 0);
    n_batches := (n + batch_size - 1) / batch_size;
    FOR i IN 1 .. n_batches LOOP
        SELECT * INTO b
          FROM fashionrec._feature_refresh_batch(fs.id, ids[(i - 1) * batch_size + 1 : i * batch_size], force);
        added := added + b.added;
        updated := updated + b.updated;
        failed := failed + b.failed;
        n_terms := n_terms + b.terms;
        n_oov := n_oov + b.oov_terms;
        RAISE NOTICE 'refresh_features "%": batch %/%: % added, % updated, % failed',
                     fs.name, i, n_batches, b.added, b.updated, b.failed;
    END LOOP;
    -- items that changed while we ran are not in ids: the next refresh has them
    unchanged := unchanged + (n - added - updated - failed);

    deleted := fashionrec._feature_refresh_gone(fs.id);

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

    -- the time, and after a rebuild the out-of-vocabulary baseline (the same share)
    generation := fashionrec._feature_refresh_finish(fs.id, force);
    vocabulary_version := vv;
    seconds := extract(epoch FROM clock_timestamp() - t0);
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION fashionrec.refresh_features(text, boolean, integer) IS
    'Computes the features of new and changed items (content hash differs), tombstones deleted ones, in batches; rebuild => true refits the vocabulary and recomputes all. Reads the source only as its set''s author or a role whose rights the author holds';

-- ---- create and drop ---------------------------------------------------------

-- The definition checked and normalised, with the caller's rights: the
-- caller must be able to read the id and feature columns (a refresh later
-- reads them as the author).  _feature_set_create() stores its result only.
CREATE FUNCTION fashionrec._feature_set_check(name text, kind text, source regclass, params jsonb,
                                              OUT id_column text, OUT columns text[], OUT normalized jsonb)
    LANGUAGE plpgsql STABLE
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
    IF name IS NULL OR kind IS NULL OR source IS NULL OR params IS NULL THEN
        RAISE EXCEPTION 'name, kind, source and params must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF name !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid feature set name "%"', name
              USING ERRCODE = '22023',
                    HINT = 'A name is 1 to 63 letters, digits, "_", ".", ":" or "-", starting with a letter or digit.';
    END IF;
    IF EXISTS (SELECT FROM fashionrec.feature_set s WHERE s.name = _feature_set_check.name) THEN
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
    IF NOT has_any_column_privilege(source, 'SELECT') THEN
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
    PERFORM fashionrec._feature_check_columns(source, kind, id_col, '{}');
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

    -- the types the kind reads, nothing that a cast would have to convert
    PERFORM fashionrec._feature_check_columns(source, kind, id_col, cols);
    -- column privileges: the set would publish what its author cannot read
    FOREACH c IN ARRAY id_col || cols LOOP
        IF NOT has_column_privilege(source, c, 'SELECT') THEN
            RAISE EXCEPTION 'permission denied for column "%" of %', c, source
                  USING ERRCODE = '42501',
                        HINT = 'A feature set reads its columns with the rights of the role that creates it; that role needs SELECT on them.';
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

    id_column := id_col;
    columns := cols;
    normalized := p;
END
$$;
COMMENT ON FUNCTION fashionrec._feature_set_check(text, text, regclass, jsonb) IS
    'Internal: checks a feature set''s definition with the caller''s rights; returns its id column, columns and normalised params';

CREATE FUNCTION fashionrec.create_feature_set(name text, kind text, source regclass, params jsonb DEFAULT '{}')
    RETURNS TABLE (feature_set text, added bigint, updated bigint, deleted bigint, unchanged bigint,
                   failed bigint, generation bigint, vocabulary_version integer,
                   oov_share double precision, set_oov_share double precision,
                   rebuild_advised boolean, seconds double precision)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM fashionrec._require_primary('create_feature_set()');
    -- checked with the caller's rights (the writer checks again: it may be
    -- called directly), recorded as authored by the caller
    PERFORM fashionrec._feature_set_check(name, kind, source, params);
    PERFORM fashionrec._feature_set_create(name, kind, source, params);
    RETURN QUERY SELECT * FROM fashionrec.refresh_features(name, rebuild => true);
END
$$;
COMMENT ON FUNCTION fashionrec.create_feature_set(text, text, regclass, jsonb) IS
    'Creates a feature set (tfidf, attributes, colors, embedding) over a product table or view and builds it; the caller is its author';

CREATE FUNCTION fashionrec.drop_feature_set(name text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fs fashionrec.feature_set;
BEGIN
    PERFORM fashionrec._require_primary('drop_feature_set()');
    fs := fashionrec._feature_set(name);
    -- the trigger as the caller (who must own the table), then the rows
    PERFORM fashionrec.disable_realtime(name);
    PERFORM fashionrec._feature_set_drop(fs.id);
END
$$;
COMMENT ON FUNCTION fashionrec.drop_feature_set(text) IS
    'Drops a feature set, its items, errors and queue, and its realtime trigger';

-- ---- realtime ----------------------------------------------------------------

/*
 * The trigger of enable_realtime(), one per feature set (its argument is the
 * set's id), in C (features_trigger.c).  It runs as the role writing the
 * product and evaluates no expression over the row: it reads the set's
 * columns from the tuple as the types the set accepts, computes with
 * built-in functions, and stores through fixed statements as the tables'
 * owner, so the writer needs no rights on them.  It refuses to fire on
 * another table than the set's source (or a partition of it), and when a
 * column's type was changed.  It cannot be called directly.
 */
CREATE FUNCTION fashionrec._feature_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'fashionrec_feature_trigger'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION fashionrec._feature_trigger() IS
    'Internal: the realtime trigger of a feature set; computes (or, for colors, queues) the features of the written row, as its writer';

CREATE FUNCTION fashionrec._feature_set_realtime(feature_set integer) RETURNS boolean
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE fashionrec.feature_set s
       SET realtime = EXISTS (SELECT FROM pg_catalog.pg_trigger t
                               WHERE t.tgrelid = s.source
                                 AND t.tgname = 'fashionrec_features_' OPERATOR(pg_catalog.||) s.id
                                 AND t.tgfoid = 'fashionrec._feature_trigger()'::pg_catalog.regprocedure)
     WHERE s.id = _feature_set_realtime.feature_set
    RETURNING s.realtime
$$;
COMMENT ON FUNCTION fashionrec._feature_set_realtime(integer) IS
    'Internal: records whether the set''s trigger is on its source; used by enable_realtime() and disable_realtime()';

-- Invoker: the trigger is created and dropped with the caller's rights on the
-- table (TRIGGER privilege or ownership); only the flag is stored as the owner.
CREATE FUNCTION fashionrec.enable_realtime(name text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fs   fashionrec.feature_set;
    kind "char";
BEGIN
    PERFORM fashionrec._require_primary('enable_realtime()');
    fs := fashionrec._feature_set(name);
    -- the source exists and has the set's columns; the trigger checks them again on every row
    PERFORM fashionrec._feature_check_columns(fs.source, fs.kind, fs.id_column, fs.columns, fs.name);
    SELECT c.relkind INTO kind FROM pg_class c WHERE c.oid = fs.source;
    IF kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'the source % of feature set "%" is not a table', fs.source, fs.name
              USING ERRCODE = '42809',
                    HINT = 'A trigger needs a table; refresh a view''s feature set with refresh_features().';
    END IF;
    IF EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = fs.source AND t.tgname = 'fashionrec_features_' || fs.id) THEN
        EXECUTE format('DROP TRIGGER %I ON %s', 'fashionrec_features_' || fs.id, fs.source);
    END IF;
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR DELETE OR UPDATE OF %s ON %s
                    FOR EACH ROW EXECUTE FUNCTION fashionrec._feature_trigger(%L)',
                   'fashionrec_features_' || fs.id,
                   (SELECT string_agg(format('%I', c), ', ') FROM unnest(fs.id_column || fs.columns) c),
                   fs.source, fs.id::text);
    PERFORM fashionrec._feature_set_realtime(fs.id);
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
BEGIN
    PERFORM fashionrec._require_primary('disable_realtime()');
    fs := fashionrec._feature_set(name);
    IF EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = fs.source AND t.tgname = 'fashionrec_features_' || fs.id) THEN
        EXECUTE format('DROP TRIGGER %I ON %s', 'fashionrec_features_' || fs.id, fs.source);
    END IF;
    IF fs.realtime THEN
        PERFORM fashionrec._feature_set_realtime(fs.id);
    END IF;
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
    -- the source is read only as its set's author or a role whose rights the author holds
    PERFORM fashionrec._check_author(fs.created_by, format('feature set "%s"', fs.name));
    PERFORM fashionrec._feature_check_columns(fs.source, fs.kind, fs.id_column, fs.columns, fs.name);
    EXECUTE fashionrec._feature_sql(fs, 'staleness') INTO new_items, changed_items, deleted_items
      USING fs.id, NULL::bigint[], fs.vocabulary_version;
    SELECT count(*) INTO queued_items FROM fashionrec.feature_queue q WHERE q.feature_set = fs.id;
END
$$;
COMMENT ON FUNCTION fashionrec.feature_staleness(text) IS
    'What refresh_features() would do: new, changed and deleted items of the source (hashes every source row: a scan), and the queued items';

CREATE VIEW fashionrec.feature_sets AS
SELECT s.name,
       s.kind,
       coalesce((SELECT pg_catalog.format('%I.%I', n.nspname, r.relname)
                   FROM pg_catalog.pg_class r JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace
                  WHERE r.oid = s.source),
                s.source::pg_catalog.oid::pg_catalog.text) AS source,
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
    'Feature sets with their source (schema-qualified; its OID if it was dropped), items, tombstones (deleted or failing items), errors, queued items, out-of-vocabulary share and times; feature_staleness(name) compares with the source';
