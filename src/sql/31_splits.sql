-- Train/test splits, deterministic by seed, over the same sources train()
-- reads (a table or view name, or a SELECT; columns by position user,
-- item[, weight][, time] or named in params).  Plain SQL with window
-- functions: the work is a sort, which PostgreSQL does well and spills to
-- disk when it must.  docs/evaluation.md defines each method exactly.

-- Raised from inside the split query when a method that orders by time meets
-- a row without one.  VOLATILE so the planner never folds it into a constant;
-- PARALLEL SAFE so it does not keep the split's sort out of parallel workers.
CREATE FUNCTION fashionrec._split_null_time(method text) RETURNS double precision
    LANGUAGE plpgsql VOLATILE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'the % split needs a time in every row', method
        USING ERRCODE = '22004',
              DETAIL = 'The source has a row with a NULL time.',
              HINT = 'Filter such rows out in the source query, or use method ''random'', ''new_users'' or ''new_items''.';
END
$$;
COMMENT ON FUNCTION fashionrec._split_null_time(text) IS
    'Internal: the error of a time-ordered split that meets a NULL time';

-- The source as a query returning (u bigint, i bigint, w float8,
-- t timestamptz, tk float8): ids, weight (1 without a weight column),
-- time, and the time as epoch seconds for ordering and hashing.  The epoch
-- is what train() sees; it does not depend on the session's time zone, and
-- float8 keeps microseconds apart until 2106 and sorts faster than
-- numeric.  Rows with a NULL id are left out, as train() leaves them out.
-- Column choice follows source.c.
CREATE FUNCTION fashionrec._split_source(source text, params jsonb,
                                         OUT query text, OUT has_weight boolean,
                                         OUT has_time boolean)
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    src       text;
    probe     refcursor;
    rec       record;
    names     text[];
    types     oid[];
    ncols     integer;
    aliases   text;
    typelist  text;
    ucol      integer;
    icol      integer;
    wcol      integer;
    tcol      integer;
    ttype     oid;
    int_types CONSTANT oid[] := ARRAY['pg_catalog.int2'::pg_catalog.regtype,
                                      'pg_catalog.int4'::pg_catalog.regtype,
                                      'pg_catalog.int8'::pg_catalog.regtype]::oid[];
    num_types CONSTANT oid[] := ARRAY['pg_catalog.int2'::pg_catalog.regtype,
                                      'pg_catalog.int4'::pg_catalog.regtype,
                                      'pg_catalog.int8'::pg_catalog.regtype,
                                      'pg_catalog.float4'::pg_catalog.regtype,
                                      'pg_catalog.float8'::pg_catalog.regtype,
                                      'pg_catalog.numeric'::pg_catalog.regtype]::oid[];
    time_types CONSTANT oid[] := ARRAY['pg_catalog.timestamptz'::pg_catalog.regtype,
                                       'pg_catalog.timestamp'::pg_catalog.regtype,
                                       'pg_catalog.date'::pg_catalog.regtype]::oid[];
    role      text;
    colname   text;
BEGIN
    IF source IS NULL OR pg_catalog.btrim(source) = '' THEN
        RAISE EXCEPTION 'source must not be empty'
            USING ERRCODE = '22004',
                  HINT = 'Give a table or view name, or a SELECT returning (user, item[, weight][, time]).';
    END IF;
    -- a trailing semicolon is a habit, not part of a subquery
    src := pg_catalog.regexp_replace(source, '[\s;]+$', '');

    IF src ~* '^\s*(\(|(select|with|values|table)([^[:alnum:]_]|$))' THEN
        -- only ever run as a subquery, through a cursor: a second statement
        -- or a data-modifying one cannot get through
        NULL;
    ELSIF src ~ '^\s*("([^"]|"")+"|[[:alpha:]_][[:alnum:]_$]*)(\s*\.\s*("([^"]|"")+"|[[:alpha:]_][[:alnum:]_$]*)){0,2}\s*$' THEN
        -- regclass resolves with search_path, 42P01 if absent; its text is quoted
        src := pg_catalog.format('SELECT * FROM %s', src::pg_catalog.regclass);
    ELSE
        RAISE EXCEPTION 'source must be a table or view name or a SELECT query'
            USING ERRCODE = '22023',
                  DETAIL = pg_catalog.format('The source starts with "%s".',
                                             pg_catalog.left(pg_catalog.btrim(source), 20)),
                  HINT = 'A query must start with SELECT, WITH, VALUES or TABLE; other statements are not accepted.';
    END IF;

    -- the column names, in order: one all-NULL row whatever the source holds
    OPEN probe FOR EXECUTE
        'SELECT s.* FROM (SELECT) AS fr_one LEFT JOIN (SELECT * FROM (' || src
        || E'\n) AS fr_s LIMIT 0) AS s ON true';
    FETCH probe INTO rec;
    CLOSE probe;
    names := ARRAY(SELECT pg_catalog.json_object_keys(pg_catalog.row_to_json(rec)));
    ncols := pg_catalog.cardinality(names);
    IF ncols < 2 THEN
        RAISE EXCEPTION 'source has % columns, the item id is expected in column 2', ncols
            USING ERRCODE = '22023',
                  HINT = 'Return (user, item[, weight][, time]) or name the columns in params, e.g. ''{"user_column": "customer_id"}''.';
    END IF;

    -- the column types (domains resolved to their base type), by position
    SELECT pg_catalog.string_agg(pg_catalog.format('fr_c%s', n), ', ' ORDER BY n),
           pg_catalog.string_agg(pg_catalog.format('pg_catalog.pg_typeof(s.fr_c%s)::pg_catalog.oid', n), ', ' ORDER BY n)
      INTO aliases, typelist
      FROM pg_catalog.generate_series(1, ncols) AS g(n);
    OPEN probe FOR EXECUTE
        'SELECT ARRAY[' || typelist || '] FROM (SELECT) AS fr_one LEFT JOIN (SELECT * FROM ('
        || src || E'\n) AS fr_s(' || aliases || ') LIMIT 0) AS s ON true';
    FETCH probe INTO types;
    CLOSE probe;
    types := ARRAY(SELECT CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
                     FROM pg_catalog.unnest(types) WITH ORDINALITY AS x(oid, n)
                     JOIN pg_catalog.pg_type t ON t.oid = x.oid
                    ORDER BY x.n);

    -- named columns, or the positions of source.c
    FOREACH role IN ARRAY ARRAY['user', 'item', 'weight', 'time'] LOOP
        colname := params ->> (role || '_column');
        CONTINUE WHEN colname IS NULL;
        IF pg_catalog.array_position(names, colname) IS NULL THEN
            RAISE EXCEPTION 'source has no column "%" for the %', colname,
                            CASE WHEN role IN ('user', 'item') THEN role || ' id' ELSE role END
                USING ERRCODE = '42703',
                      HINT = pg_catalog.format('The source''s columns are: %s.',
                                               pg_catalog.array_to_string(names, ', '));
        END IF;
        CASE role
            WHEN 'user' THEN ucol := pg_catalog.array_position(names, colname);
            WHEN 'item' THEN icol := pg_catalog.array_position(names, colname);
            WHEN 'weight' THEN wcol := pg_catalog.array_position(names, colname);
            ELSE tcol := pg_catalog.array_position(names, colname);
        END CASE;
    END LOOP;
    ucol := COALESCE(ucol, 1);
    icol := COALESCE(icol, 2);
    IF NOT (types[ucol] = ANY (int_types)) OR NOT (types[icol] = ANY (int_types)) THEN
        RAISE EXCEPTION 'user and item ids must be integers, got % and %',
                        pg_catalog.format_type(types[ucol], NULL), pg_catalog.format_type(types[icol], NULL)
            USING ERRCODE = '42804',
                  HINT = 'Cast them in the source query, or map text keys to bigint ids first.';
    END IF;

    IF wcol IS NOT NULL THEN
        IF NOT (types[wcol] = ANY (num_types)) THEN
            RAISE EXCEPTION 'weight column "%" must be numeric, got %', names[wcol],
                            pg_catalog.format_type(types[wcol], NULL)
                USING ERRCODE = '42804';
        END IF;
    ELSIF ncols >= 3 AND types[3] = ANY (num_types) AND 3 NOT IN (ucol, icol) THEN
        wcol := 3;
    END IF;

    IF tcol IS NOT NULL THEN
        IF NOT (types[tcol] = ANY (time_types) OR types[tcol] = ANY (num_types)) THEN
            RAISE EXCEPTION 'time column "%" must be a date, timestamp or epoch number, got %',
                            names[tcol], pg_catalog.format_type(types[tcol], NULL)
                USING ERRCODE = '42804';
        END IF;
    ELSE
        tcol := CASE WHEN wcol IS NOT NULL THEN 4 ELSE 3 END;
        IF tcol > ncols OR tcol IN (ucol, icol, COALESCE(wcol, 0))
           OR NOT (types[tcol] = ANY (time_types) OR types[tcol] = ANY (num_types)) THEN
            tcol := NULL;
        END IF;
    END IF;
    ttype := types[tcol];

    has_weight := wcol IS NOT NULL;
    has_time := tcol IS NOT NULL;
    query := pg_catalog.format(
        'SELECT s.fr_c%s::pg_catalog.int8 AS u, s.fr_c%s::pg_catalog.int8 AS i, %s AS w, %s AS t, %s AS tk'
        || E' FROM (%s\n) AS s(%s) WHERE s.fr_c%s IS NOT NULL AND s.fr_c%s IS NOT NULL',
        ucol, icol,
        CASE WHEN has_weight THEN pg_catalog.format('s.fr_c%s::pg_catalog.float8', wcol)
             ELSE '1::pg_catalog.float8' END,
        CASE WHEN NOT has_time THEN 'NULL::pg_catalog.timestamptz'
             WHEN ttype = ANY (time_types) THEN pg_catalog.format('s.fr_c%s::pg_catalog.timestamptz', tcol)
             ELSE pg_catalog.format('pg_catalog.to_timestamp(s.fr_c%s::pg_catalog.float8)', tcol) END,
        CASE WHEN NOT has_time THEN 'NULL::pg_catalog.float8'
             WHEN ttype = ANY (time_types) THEN pg_catalog.format('pg_catalog.date_part(''epoch'', s.fr_c%s)::pg_catalog.float8', tcol)
             ELSE pg_catalog.format('s.fr_c%s::pg_catalog.float8', tcol) END,
        src, aliases, ucol, icol);
END
$$;
COMMENT ON FUNCTION fashionrec._split_source(text, jsonb) IS
    'Internal: the query split() runs over a source, with the columns chosen as train() chooses them';

CREATE FUNCTION fashionrec.split(source text,
                                 method text DEFAULT 'temporal',
                                 test_fraction double precision DEFAULT 0.2,
                                 seed bigint DEFAULT 42,
                                 params jsonb DEFAULT '{}')
    RETURNS TABLE (user_id bigint, item_id bigint, weight double precision,
                   event_time timestamptz, is_test boolean)
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    methods   CONSTANT text[] := ARRAY['random', 'temporal', 'leave_last_n', 'new_users', 'new_items'];
    keys      CONSTANT text[] := ARRAY['user_column', 'item_column', 'weight_column', 'time_column', 'n'];
    bad_key   text;
    n         integer := 1;
    src       record;
    by_time   text;
    q         text;
BEGIN
    IF method IS NULL OR test_fraction IS NULL OR seed IS NULL OR params IS NULL THEN
        RAISE EXCEPTION 'method, test_fraction, seed and params must not be NULL'
            USING ERRCODE = '22004';
    END IF;
    IF NOT (method = ANY (methods)) THEN
        RAISE EXCEPTION 'unknown split method "%"', method
            USING ERRCODE = '22023',
                  HINT = 'Known methods: ' || pg_catalog.array_to_string(methods, ', ') || '.';
    END IF;
    IF method <> 'leave_last_n' AND NOT (test_fraction > 0 AND test_fraction < 1) THEN
        RAISE EXCEPTION 'test_fraction must be between 0 and 1, not %', test_fraction
            USING ERRCODE = '22023',
                  HINT = 'It is the share of rows (users, items) held out for testing, e.g. 0.2.';
    END IF;
    IF pg_catalog.jsonb_typeof(params) <> 'object' THEN
        RAISE EXCEPTION 'params must be a JSON object'
            USING ERRCODE = '22023';
    END IF;
    SELECT k INTO bad_key FROM pg_catalog.jsonb_object_keys(params) AS k
     WHERE NOT (k = ANY (keys)) ORDER BY k LIMIT 1;
    IF bad_key IS NOT NULL THEN
        RAISE EXCEPTION 'unknown split parameter "%"', bad_key
            USING ERRCODE = '22023',
                  HINT = 'Known parameters: ' || pg_catalog.array_to_string(keys, ', ') || '.';
    END IF;
    SELECT k INTO bad_key FROM pg_catalog.jsonb_each(params) AS e(k, v)
     WHERE k LIKE '%\_column' AND pg_catalog.jsonb_typeof(v) <> 'string' ORDER BY k LIMIT 1;
    IF bad_key IS NOT NULL THEN
        RAISE EXCEPTION 'split parameter "%" must be a column name as a JSON string', bad_key
            USING ERRCODE = '22023';
    END IF;
    IF params ? 'n' THEN
        IF method <> 'leave_last_n' THEN
            RAISE EXCEPTION 'split parameter "n" applies only to method leave_last_n'
                USING ERRCODE = '22023';
        END IF;
        IF pg_catalog.jsonb_typeof(params -> 'n') <> 'number'
           OR (params ->> 'n')::numeric <> pg_catalog.trunc((params ->> 'n')::numeric)
           OR (params ->> 'n')::numeric NOT BETWEEN 1 AND 2147483647 THEN
            RAISE EXCEPTION 'split parameter "n" must be a positive integer, not %', params -> 'n'
                USING ERRCODE = '22023',
                      HINT = 'n is how many of each user''s latest interactions go to the test set.';
        END IF;
        n := (params ->> 'n')::integer;
    END IF;

    SELECT * INTO src FROM fashionrec._split_source(source, params);
    IF method IN ('temporal', 'leave_last_n') THEN
        IF NOT src.has_time THEN
            RAISE EXCEPTION 'the % split needs a time column', method
                USING ERRCODE = '22023',
                      HINT = 'Return (user, item, weight, time) from the source, name it with params {"time_column": "..."}, or use method ''random''.';
        END IF;
        -- order by the time, failing on a NULL one, then by item and weight
        by_time := pg_catalog.format(
            'PARTITION BY d.u ORDER BY COALESCE(d.tk, fashionrec._split_null_time(%L)), d.i, d.w',
            method);
    END IF;

    -- $1 the fraction as the decimal it prints as (0.29 is 29/100, so
    -- floor(n * fraction) has no binary rounding), $2 the seed, $3 n
    CASE method
    WHEN 'temporal' THEN
        -- per user, the last floor(n * fraction) events
        q := 'SELECT d.u, d.i, d.w, d.t, pg_catalog.row_number() OVER w'
             ' > pg_catalog.count(*) OVER p - pg_catalog.floor(pg_catalog.count(*) OVER p * $1)'
             ' FROM (' || src.query || ') AS d'
             ' WINDOW w AS (' || by_time || '), p AS (PARTITION BY d.u)';
    WHEN 'leave_last_n' THEN
        -- per user, the last n events, keeping at least one for training
        q := 'SELECT d.u, d.i, d.w, d.t, pg_catalog.row_number() OVER w'
             ' > pg_catalog.count(*) OVER p - LEAST($3, pg_catalog.count(*) OVER p - 1)'
             ' FROM (' || src.query || ') AS d'
             ' WINDOW w AS (' || by_time || '), p AS (PARTITION BY d.u)';
    WHEN 'random' THEN
        -- the floor(N * fraction) rows with the smallest seeded hash of
        -- (user, item, time in microseconds): independent of row order and
        -- of the session; integer hashes are the same on every platform
        q := 'SELECT h.u, h.i, h.w, h.t, pg_catalog.row_number() OVER (ORDER BY h.h, h.u, h.i, h.tk, h.w)'
             ' <= pg_catalog.floor(pg_catalog.count(*) OVER () * $1)'
             ' FROM (SELECT d.*, CASE WHEN d.tk IS NULL THEN d.h0'
             '              WHEN pg_catalog.abs(d.tk) < 9e12'
             '              THEN pg_catalog.hashint8extended((d.tk * 1e6)::pg_catalog.int8, d.h0)'
             '              ELSE pg_catalog.hashfloat8extended(d.tk, d.h0) END AS h'
             '       FROM (SELECT d.*, pg_catalog.hashint8extended(d.i, pg_catalog.hashint8extended(d.u, $2)) AS h0'
             '             FROM (' || src.query || ') AS d) AS d) AS h';
    WHEN 'new_users' THEN
        -- the floor(U * fraction) users with the smallest seeded hash, whole
        q := 'WITH d AS MATERIALIZED (' || src.query || '),'
             ' held AS (SELECT x.u, pg_catalog.row_number() OVER (ORDER BY pg_catalog.hashint8extended(x.u, $2), x.u)'
             '          <= pg_catalog.floor(pg_catalog.count(*) OVER () * $1) AS test'
             '          FROM (SELECT DISTINCT d.u FROM d) AS x)'
             ' SELECT d.u, d.i, d.w, d.t, held.test FROM d JOIN held ON held.u = d.u';
    WHEN 'new_items' THEN
        q := 'WITH d AS MATERIALIZED (' || src.query || '),'
             ' held AS (SELECT x.i, pg_catalog.row_number() OVER (ORDER BY pg_catalog.hashint8extended(x.i, $2), x.i)'
             '          <= pg_catalog.floor(pg_catalog.count(*) OVER () * $1) AS test'
             '          FROM (SELECT DISTINCT d.i FROM d) AS x)'
             ' SELECT d.u, d.i, d.w, d.t, held.test FROM d JOIN held ON held.i = d.i';
    END CASE;

    RETURN QUERY EXECUTE q USING test_fraction::pg_catalog.numeric, seed, n;
END
$$;
COMMENT ON FUNCTION fashionrec.split(text, text, double precision, bigint, jsonb) IS
    'Rows of a source labelled train or test (is_test); methods random, temporal, leave_last_n, new_users, new_items; deterministic for a given seed';

CREATE FUNCTION fashionrec.split_into(source text, train_table text, test_table text,
                                      method text DEFAULT 'temporal',
                                      test_fraction double precision DEFAULT 0.2,
                                      seed bigint DEFAULT 42,
                                      params jsonb DEFAULT '{}',
                                      OUT train_rows bigint, OUT test_rows bigint)
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    tables    text[] := ARRAY[train_table, test_table];
    quoted    text[];
    parts     text[];
    has_time  boolean;
    tmp       text := pg_catalog.format('fr_split_%s', pg_catalog.pg_backend_pid());
    cols      text;
BEGIN
    IF train_table IS NULL OR test_table IS NULL THEN
        RAISE EXCEPTION 'train_table and test_table must not be NULL'
            USING ERRCODE = '22004';
    END IF;
    FOR k IN 1 .. 2 LOOP
        -- parse_ident errors 22023 on anything but a (qualified) name
        parts := pg_catalog.parse_ident(tables[k]);
        IF pg_catalog.cardinality(parts) > 2 THEN
            RAISE EXCEPTION 'table name "%" has too many dots', tables[k]
                USING ERRCODE = '22023',
                      HINT = 'Give a table name, optionally with its schema.';
        END IF;
        quoted[k] := (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(p), '.' ORDER BY o)
                        FROM pg_catalog.unnest(parts) WITH ORDINALITY AS x(p, o));
    END LOOP;
    IF quoted[1] = quoted[2] THEN
        RAISE EXCEPTION 'train_table and test_table must differ'
            USING ERRCODE = '22023';
    END IF;
    -- refuse before the work, not after it
    FOR k IN 1 .. 2 LOOP
        IF pg_catalog.to_regclass(quoted[k]) IS NOT NULL THEN
            RAISE EXCEPTION 'relation "%" already exists', tables[k]
                USING ERRCODE = '42P07',
                      HINT = 'Drop it first or choose another name.';
        END IF;
    END LOOP;

    -- split once into a temporary table, then copy each side out
    EXECUTE pg_catalog.format('CREATE TEMPORARY TABLE %I ON COMMIT DROP AS'
                              ' SELECT * FROM fashionrec.split($1, $2, $3, $4, $5)', tmp)
        USING source, method, test_fraction, seed, params;
    has_time := (fashionrec._split_source(source, params)).has_time;
    cols := 'user_id, item_id, weight' || CASE WHEN has_time THEN ', event_time' ELSE '' END;
    EXECUTE pg_catalog.format('CREATE TABLE %s AS SELECT %s FROM pg_temp.%I WHERE NOT is_test',
                              quoted[1], cols, tmp);
    GET DIAGNOSTICS train_rows = ROW_COUNT;
    EXECUTE pg_catalog.format('CREATE TABLE %s AS SELECT %s FROM pg_temp.%I WHERE is_test',
                              quoted[2], cols, tmp);
    GET DIAGNOSTICS test_rows = ROW_COUNT;
    EXECUTE pg_catalog.format('DROP TABLE pg_temp.%I', tmp);
END
$$;
COMMENT ON FUNCTION fashionrec.split_into(text, text, text, text, double precision, bigint, jsonb) IS
    'Runs split() and stores the two sides as new tables (user_id, item_id, weight[, event_time]); returns their row counts';
