-- The synthetic fashion shop: a catalogue in the Myntra vocabulary, customers
-- with planted style preferences, and a year (2025) of views, carts and
-- purchases.  Every row is a pure function of the seed and the row's entity
-- index (src/shopgen.c), so a seed names one shop on any plan.  The C
-- functions stream rows; generate_shop() makes the tables around them.
-- docs/generator.md describes what is planted and how to check for it.

CREATE FUNCTION fashionrec._shop_check(customers integer, products integer, events bigint)
    RETURNS void
    AS 'MODULE_PATHNAME', 'fashionrec_shop_check'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec._shop_check(integer, integer, bigint) IS
    'Internal: raises the error generate_shop() gives for out-of-range sizes';

CREATE FUNCTION fashionrec._shop_products(products integer, seed bigint)
    RETURNS TABLE (product_id bigint, name text, description text, category text,
                   sub_category text, article_type text, colour text, season text,
                   gender text, usage text, price numeric, price_band text,
                   created_at timestamptz, in_stock boolean)
    AS 'MODULE_PATHNAME', 'fashionrec_shop_products'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 500;
COMMENT ON FUNCTION fashionrec._shop_products(integer, bigint) IS
    'Internal: the products of a generated shop, streamed; use generate_shop()';

CREATE FUNCTION fashionrec._shop_customers(customers integer, products integer, seed bigint)
    RETURNS TABLE (customer_id bigint, gender text, age integer,
                   signup_at timestamptz, segment integer)
    AS 'MODULE_PATHNAME', 'fashionrec_shop_customers'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 2000;
COMMENT ON FUNCTION fashionrec._shop_customers(integer, integer, bigint) IS
    'Internal: the customers of a generated shop, streamed; use generate_shop()';

CREATE FUNCTION fashionrec._shop_preferences(customers integer, products integer, seed bigint)
    RETURNS TABLE (customer_id bigint, article_type text, colour text,
                   price_band text, strength real)
    AS 'MODULE_PATHNAME', 'fashionrec_shop_preferences'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 6000;
COMMENT ON FUNCTION fashionrec._shop_preferences(integer, integer, bigint) IS
    'Internal: the planted style-cluster cells of each generated customer; use generate_shop()';

CREATE FUNCTION fashionrec._shop_customer_seasons(customers integer, products integer, seed bigint)
    RETURNS TABLE (customer_id bigint, favourite_season text)
    AS 'MODULE_PATHNAME', 'fashionrec_shop_customer_seasons'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 2000;
COMMENT ON FUNCTION fashionrec._shop_customer_seasons(integer, integer, bigint) IS
    'Internal: the favourite season planted in each generated customer by seasonal_tastes; use generate_shop()';

CREATE FUNCTION fashionrec._shop_events(customers integer, products integer,
                                        events bigint, seed bigint,
                                        seasonal_tastes boolean DEFAULT false)
    RETURNS TABLE (event_id bigint, customer_id bigint, product_id bigint,
                   event_type text, session_id bigint, occurred_at timestamptz)
    AS 'MODULE_PATHNAME', 'fashionrec_shop_events_0_3'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 50000;
COMMENT ON FUNCTION fashionrec._shop_events(integer, integer, bigint, bigint, boolean) IS
    'Internal: the event stream of a generated shop, streamed; use generate_shop()';

CREATE FUNCTION fashionrec.generate_shop(customers integer DEFAULT 2000,
                                         products integer DEFAULT 500,
                                         events bigint DEFAULT 50000,
                                         seed bigint DEFAULT 42,
                                         target_schema name DEFAULT 'shop',
                                         replace boolean DEFAULT false,
                                         seasonal_tastes boolean DEFAULT false)
    RETURNS TABLE (table_name text, row_count bigint)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    existing text;
    n        bigint;
    origin   text;
BEGIN
    -- not STRICT, so that a NULL gets an error rather than silently no shop
    IF customers IS NULL OR products IS NULL OR events IS NULL OR seed IS NULL
       OR target_schema IS NULL OR replace IS NULL OR seasonal_tastes IS NULL THEN
        RAISE EXCEPTION '% must not be NULL',
                CASE WHEN customers IS NULL THEN 'customers'
                     WHEN products IS NULL THEN 'products'
                     WHEN events IS NULL THEN 'events'
                     WHEN seed IS NULL THEN 'seed'
                     WHEN target_schema IS NULL THEN 'target_schema'
                     WHEN replace IS NULL THEN 'replace'
                     ELSE 'seasonal_tastes' END
            USING ERRCODE = '22004',
                  HINT = 'Leave the argument out to get its default.';
    END IF;
    PERFORM fashionrec._shop_check(customers, products, events);
    IF target_schema = '' THEN
        RAISE EXCEPTION 'target_schema must not be empty'
            USING ERRCODE = '22023';
    END IF;
    IF target_schema = 'fashionrec' THEN
        RAISE EXCEPTION 'target_schema must not be the extension''s own schema'
            USING ERRCODE = '22023',
                  DETAIL = 'Schema fashionrec holds the extension''s catalog and functions; keep data apart from it.',
                  HINT = 'Pick another schema, e.g. target_schema => ''shop''.';
    END IF;

    SELECT pg_catalog.string_agg(pg_catalog.format('%I.%I', s.nspname, c.relname), ', '
                                 ORDER BY c.relname)
      INTO existing
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace
     WHERE s.nspname = target_schema
       AND c.relname IN ('products', 'customers', 'customer_preferences', 'customer_seasons', 'events');
    IF existing IS NOT NULL THEN
        IF NOT replace THEN
            RAISE EXCEPTION 'schema "%" already has shop tables', target_schema
                USING ERRCODE = '42P07',
                      DETAIL = pg_catalog.format('Found %s.', existing),
                      HINT = 'Pass replace => true to drop and regenerate them, or choose another target_schema.';
        END IF;
        -- without CASCADE: views a user built on the shop stop the replacement
        -- a shop made with seasonal_tastes has one table more
        IF pg_catalog.to_regclass(pg_catalog.format('%I.customer_seasons', target_schema)) IS NOT NULL THEN
            EXECUTE pg_catalog.format('DROP TABLE %I.customer_seasons', target_schema);
        END IF;
        EXECUTE pg_catalog.format('DROP TABLE IF EXISTS %1$I.events, %1$I.customer_preferences, '
                                  '%1$I.customers, %1$I.products', target_schema);
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = target_schema) THEN
        EXECUTE pg_catalog.format('CREATE SCHEMA %I', target_schema);
    END IF;
    origin := pg_catalog.format('fashionrec.generate_shop(customers => %s, products => %s, '
                                'events => %s, seed => %s%s)', customers, products, events, seed,
                                CASE WHEN seasonal_tastes THEN ', seasonal_tastes => true' ELSE '' END);

    -- Tables are filled before their keys and indexes exist: one sorted
    -- index build is much cheaper than ten million index insertions.
    EXECUTE pg_catalog.format($sql$
        CREATE TABLE %I.products (
            product_id   bigint NOT NULL,
            name         text NOT NULL,
            description  text NOT NULL,
            category     text NOT NULL,
            sub_category text NOT NULL,
            article_type text NOT NULL,
            colour       text NOT NULL,
            season       text NOT NULL CHECK (season IN ('Winter', 'Spring', 'Summer', 'Fall')),
            gender       text NOT NULL,
            usage        text NOT NULL,
            price        numeric(10,2) NOT NULL CHECK (price > 0),
            price_band   text NOT NULL CHECK (price_band IN ('budget', 'mid', 'premium')),
            created_at   timestamptz NOT NULL,
            in_stock     boolean NOT NULL)$sql$, target_schema);
    EXECUTE pg_catalog.format('INSERT INTO %I.products SELECT * FROM fashionrec._shop_products($1, $2)',
                              target_schema) USING products, seed;
    GET DIAGNOSTICS n = ROW_COUNT;
    EXECUTE pg_catalog.format('ALTER TABLE %I.products ADD PRIMARY KEY (product_id)', target_schema);
    EXECUTE pg_catalog.format('COMMENT ON TABLE %I.products IS %L', target_schema,
                              'Synthetic fashion catalogue made by ' || origin);
    table_name := 'products';
    row_count := n;
    RETURN NEXT;

    EXECUTE pg_catalog.format($sql$
        CREATE TABLE %I.customers (
            customer_id bigint NOT NULL,
            gender      text NOT NULL,
            age         integer NOT NULL,
            signup_at   timestamptz NOT NULL,
            segment     integer NOT NULL)$sql$, target_schema);
    EXECUTE pg_catalog.format('INSERT INTO %I.customers SELECT * FROM fashionrec._shop_customers($1, $2, $3)',
                              target_schema) USING customers, products, seed;
    GET DIAGNOSTICS n = ROW_COUNT;
    EXECUTE pg_catalog.format('ALTER TABLE %I.customers ADD PRIMARY KEY (customer_id)', target_schema);
    EXECUTE pg_catalog.format('COMMENT ON TABLE %I.customers IS %L', target_schema,
                              'Synthetic customers made by ' || origin
                              || '; segment is the planted style cluster');
    table_name := 'customers';
    row_count := n;
    RETURN NEXT;

    EXECUTE pg_catalog.format($sql$
        CREATE TABLE %I.customer_preferences (
            customer_id  bigint NOT NULL,
            article_type text NOT NULL,
            colour       text NOT NULL,
            price_band   text NOT NULL CHECK (price_band IN ('budget', 'mid', 'premium')),
            strength     real NOT NULL CHECK (strength > 0 AND strength <= 1))$sql$, target_schema);
    EXECUTE pg_catalog.format('INSERT INTO %I.customer_preferences SELECT * FROM fashionrec._shop_preferences($1, $2, $3)',
                              target_schema) USING customers, products, seed;
    GET DIAGNOSTICS n = ROW_COUNT;
    -- A cluster never names an article type twice, so (customer, article
    -- type) is a key; a foreign key added afterwards is checked by one join,
    -- not by a trigger per row.
    EXECUTE pg_catalog.format('ALTER TABLE %1$I.customer_preferences '
                              'ADD PRIMARY KEY (customer_id, article_type), '
                              'ADD FOREIGN KEY (customer_id) REFERENCES %1$I.customers', target_schema);
    EXECUTE pg_catalog.format('COMMENT ON TABLE %I.customer_preferences IS %L', target_schema,
                              'The hidden preferences planted by ' || origin
                              || ': strength is the share of a customer''s fresh picks drawn around the cell');
    table_name := 'customer_preferences';
    row_count := n;
    RETURN NEXT;

    IF seasonal_tastes THEN
        EXECUTE pg_catalog.format($sql$
            CREATE TABLE %I.customer_seasons (
                customer_id      bigint NOT NULL,
                favourite_season text NOT NULL
                                 CHECK (favourite_season IN ('Winter', 'Spring', 'Summer', 'Fall')))$sql$,
                                  target_schema);
        EXECUTE pg_catalog.format('INSERT INTO %I.customer_seasons SELECT * FROM fashionrec._shop_customer_seasons($1, $2, $3)',
                                  target_schema) USING customers, products, seed;
        GET DIAGNOSTICS n = ROW_COUNT;
        EXECUTE pg_catalog.format('ALTER TABLE %1$I.customer_seasons ADD PRIMARY KEY (customer_id), '
                                  'ADD FOREIGN KEY (customer_id) REFERENCES %1$I.customers', target_schema);
        EXECUTE pg_catalog.format('COMMENT ON TABLE %I.customer_seasons IS %L', target_schema,
                                  'The seasonal tastes planted by ' || origin
                                  || ': each customer shops three times as often in their favourite season, and for it');
        table_name := 'customer_seasons';
        row_count := n;
        RETURN NEXT;
    END IF;

    EXECUTE pg_catalog.format($sql$
        CREATE TABLE %I.events (
            event_id    bigint NOT NULL,
            customer_id bigint NOT NULL,
            product_id  bigint NOT NULL,
            event_type  text NOT NULL CHECK (event_type IN ('view', 'cart', 'purchase')),
            session_id  bigint NOT NULL,
            occurred_at timestamptz NOT NULL)$sql$, target_schema);
    -- the SRF in the select list streams through ProjectSet; in FROM it
    -- would first be materialised into a tuplestore
    EXECUTE pg_catalog.format($sql$
        INSERT INTO %I.events
        SELECT (e).event_id, (e).customer_id, (e).product_id, (e).event_type,
               (e).session_id, (e).occurred_at
          FROM (SELECT fashionrec._shop_events($1, $2, $3, $4, $5) AS e) s$sql$,
                              target_schema) USING customers, products, events, seed, seasonal_tastes;
    GET DIAGNOSTICS n = ROW_COUNT;
    EXECUTE pg_catalog.format('ALTER TABLE %I.events ADD PRIMARY KEY (event_id)', target_schema);
    EXECUTE pg_catalog.format('CREATE INDEX ON %I.events (customer_id)', target_schema);
    EXECUTE pg_catalog.format('CREATE INDEX ON %I.events (product_id)', target_schema);
    EXECUTE pg_catalog.format('ALTER TABLE %1$I.events ADD FOREIGN KEY (customer_id) REFERENCES %1$I.customers, '
                              'ADD FOREIGN KEY (product_id) REFERENCES %1$I.products', target_schema);
    EXECUTE pg_catalog.format('COMMENT ON TABLE %I.events IS %L', target_schema,
                              'Synthetic views, carts and purchases in 2025 made by ' || origin);
    table_name := 'events';
    row_count := n;
    RETURN NEXT;

    EXECUTE pg_catalog.format('ANALYZE %1$I.products, %1$I.customers, %1$I.customer_preferences, %1$I.events',
                              target_schema);
    IF seasonal_tastes THEN
        EXECUTE pg_catalog.format('ANALYZE %I.customer_seasons', target_schema);
    END IF;
END
$$;
COMMENT ON FUNCTION fashionrec.generate_shop(integer, integer, bigint, bigint, name, boolean, boolean) IS
    'Creates a synthetic fashion shop (products, customers, customer_preferences, events; with seasonal_tastes, customer_seasons) in target_schema, deterministic by seed';
