-- Hybrid recommender (hybrid*.c) and session sequences
-- (sequence_model.c).  Training goes through fashionrec.train() with the
-- algorithms "hybrid" and "sequence"; these are their serving functions.

CREATE FUNCTION fashionrec.explain(name text, user_id bigint, k integer DEFAULT 10,
                                   exclude_seen boolean DEFAULT true,
                                   candidates bigint[] DEFAULT NULL,
                                   exclude bigint[] DEFAULT NULL,
                                   context text DEFAULT NULL,
                                   version integer DEFAULT NULL)
    RETURNS TABLE (rank integer, item_id bigint, score real, signal text, component text,
                   raw_score real, normalized real, weight real, contribution real)
    AS 'MODULE_PATHNAME', 'fashionrec_explain_0_3'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION fashionrec.explain(text, bigint, integer, boolean, bigint[], bigint[], text, integer) IS
    'What each signal of a hybrid model contributes to a user''s top-k list: one row per item and signal (with a context, the context signals too), contribution = weight x normalized, score = their sum. Options as recommend()';

CREATE FUNCTION fashionrec.next_items(name text, recent_item_ids bigint[], k integer DEFAULT 10,
                                      exclude_seen boolean DEFAULT true,
                                      candidates bigint[] DEFAULT NULL,
                                      exclude bigint[] DEFAULT NULL,
                                      version integer DEFAULT NULL)
    RETURNS TABLE (item_id bigint, score real, rank integer)
    AS 'MODULE_PATHNAME', 'fashionrec_next_items_0_2'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION fashionrec.next_items(text, bigint[], integer, boolean, bigint[], bigint[], integer) IS
    'The items most likely next after a session''s items (in time order, latest last), from a sequence model or a hybrid with a sequence signal; exclude_seen leaves out the session''s items';

-- ---- a hybrid in the training pipeline: retrain(), tune(), cross_validate() ----
-- A hybrid's quality depends on its components as much as on its own
-- parameters, and components trained on everything have seen any held-out
-- data.  So wherever a hybrid is trained on part of the data (a retrain
-- challenger, a tuning trial, a fold), its components are trained again, each
-- on its own source without the held-out (user, item) pairs, and the hybrid
-- pins those versions.  docs/hybrid.md, "Retraining, tuning and
-- cross-validation".

-- The components of a hybrid as (signal, name, version): pins ("name@3", a
-- trained version's info) over its params; a bare name means the active version.
CREATE FUNCTION fashionrec._hybrid_components(params jsonb, pins jsonb DEFAULT NULL)
    RETURNS TABLE (signal text, component text, version integer)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_spec text;
BEGIN
    FOREACH signal IN ARRAY ARRAY['cf', 'content', 'image', 'popularity', 'sequence'] LOOP
        v_spec := COALESCE(_hybrid_components.pins ->> signal, _hybrid_components.params ->> signal);
        CONTINUE WHEN v_spec IS NULL;
        IF v_spec ~ '@[0-9]+$' THEN
            component := pg_catalog.substring(v_spec, '^(.*)@[0-9]+$');
            version := pg_catalog.substring(v_spec, '@([0-9]+)$')::integer;
        ELSE
            component := v_spec;
            SELECT m.version INTO version FROM fashionrec.model m WHERE m.name = v_spec AND m.active;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'component "%" (%) of the hybrid has no active version', v_spec, signal
                      USING ERRCODE = '42704',
                            HINT = 'Train or activate a version of it, or name a version as "name@version".';
            END IF;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION fashionrec._hybrid_components(jsonb, jsonb) IS
    'Internal: the components of a hybrid as (signal, name, version), pinned versions over the names of its params';

-- The registry row a component is retrained from: the pinned version, which
-- must still be there and not archived (an archived component is one its
-- owner retired; retraining it silently would bring it back).
CREATE FUNCTION fashionrec._hybrid_component_row(component text, version integer)
    RETURNS fashionrec.model
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_row fashionrec.model%ROWTYPE;
BEGIN
    SELECT m.* INTO v_row FROM fashionrec.model m
     WHERE m.name = _hybrid_component_row.component AND m.version = _hybrid_component_row.version;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'component "%" of the hybrid has no version %', component, version
              USING ERRCODE = '42704',
                    DETAIL = 'The version the hybrid pins was dropped.',
                    HINT = 'Train the hybrid again over existing components, or retrain with params => ''{"components": "active"}''.';
    END IF;
    IF v_row.status = 'archived' THEN
        RAISE EXCEPTION 'version % of component "%" of the hybrid is archived', version, component
              USING ERRCODE = '55000',
                    HINT = 'Activate it again, or train the hybrid over other components.';
    END IF;
    IF v_row.status = 'training' THEN
        RAISE EXCEPTION 'version % of component "%" of the hybrid is still training', version, component
              USING ERRCODE = '55000';
    END IF;
    RETURN v_row;
END
$$;
COMMENT ON FUNCTION fashionrec._hybrid_component_row(text, integer) IS
    'Internal: the registry row of a hybrid''s component version, refused when dropped, archived or training';

-- A temporary table of a query's rows, dropped at commit (made again when a
-- previous call of the same transaction left it) and analysed, so that the
-- joins over it are planned from its real size.  Not pinned to a
-- search_path: the query's names resolve as its caller expects.
CREATE FUNCTION fashionrec._temp_table(name text, query text) RETURNS void
    LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    IF pg_catalog.to_regclass(pg_catalog.format('pg_temp.%I', name)) IS NOT NULL THEN
        EXECUTE pg_catalog.format('DROP TABLE pg_temp.%I', name);
    END IF;
    EXECUTE pg_catalog.format('CREATE TEMP TABLE %I ON COMMIT DROP AS %s', name, query);
    EXECUTE pg_catalog.format('ANALYZE pg_temp.%I', name);
END
$$;
COMMENT ON FUNCTION fashionrec._temp_table(text, text) IS
    'Internal: (re)creates an analysed temporary table, dropped at commit, of a query''s rows';

-- split() of a source, with each row's value of a context column (NULL
-- without one): a model trained with a context_column (a popularity
-- component, a hybrid) is retrained from the split, so the split must carry
-- the column.  The value is looked up by (user, item, time), the row split()
-- labels; repeated rows with different values take the least one.
CREATE FUNCTION fashionrec._split_context(source text, method text, test_fraction double precision,
                                          params jsonb, context_column text)
    RETURNS TABLE (user_id bigint, item_id bigint, weight double precision,
                   event_time timestamptz, is_test boolean, context text)
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_query text;
    v_msg   text;
BEGIN
    IF context_column IS NULL THEN
        RETURN QUERY SELECT sp.*, NULL::text FROM fashionrec.split(source, method, test_fraction, 42, params) sp;
        RETURN;
    END IF;
    BEGIN
        v_query := fashionrec.source_query(source, params || pg_catalog.jsonb_build_object('context_column', context_column));
    EXCEPTION WHEN undefined_column THEN
        GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT;
        RAISE EXCEPTION 'the source to retrain from has no context column "%"', context_column
              USING ERRCODE = '42703', DETAIL = v_msg,
                    HINT = 'The model was trained with this "context_column": retrain from a source that carries it (source => ''...''), or train the model again without it.';
    END;
    RETURN QUERY EXECUTE pg_catalog.format(
        'SELECT sp.user_id, sp.item_id, sp.weight, sp.event_time, sp.is_test, c.context
           FROM fashionrec.split($1, $2, $3, 42, $4) sp
           LEFT JOIN (SELECT q.user_id, q.item_id, pg_catalog.to_timestamp(q.event_epoch) AS t,
                             pg_catalog.min(q.context) AS context
                        FROM (%s) q GROUP BY 1, 2, 3) c
             ON c.user_id = sp.user_id AND c.item_id = sp.item_id AND c.t = sp.event_time', v_query)
        USING source, method, test_fraction, params;
END
$$;
COMMENT ON FUNCTION fashionrec._split_context(text, text, double precision, jsonb, text) IS
    'Internal: split() of a source with each row''s value of a context column, for retraining a model trained with one';

-- A new, inactive version of a component: its algorithm and parameters, its
-- own source (a content model: its interactions) without the pairs of
-- "exclude" (a query of user_id, item_id; NULL: everything).  A version
-- trained on a filtered source is restated with its original source and
-- parameters, so that a later retraining reads those again.
CREATE FUNCTION fashionrec._retrain_component(component fashionrec.model, exclude text, note text)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_content boolean := component.algorithm IN ('tfidf', 'attributes', 'embedding', 'features');
    v_data    text := CASE WHEN v_content THEN component.params ->> 'interactions' ELSE component.source END;
    v_params  jsonb := component.params - ARRAY['user_column', 'item_column', 'weight_column', 'time_column'];
    v_context text := component.params ->> 'context_column';
    v_filtered text;
    v_version integer;
BEGIN
    -- what the component stored was written by its author: run only as them
    PERFORM fashionrec._check_author(component.created_by,
                                     pg_catalog.format('the source of model "%s"', component.name));
    IF exclude IS NULL OR v_data IS NULL THEN
        RETURN fashionrec.train(component.name, component.algorithm, component.source, component.params,
                                activate => false);
    END IF;
    -- the pairs to leave out, once: "exclude" may be a set operation, which
    -- the planner would otherwise run again for every row of the source
    PERFORM fashionrec._temp_table('fr_component_exclude',
        pg_catalog.format('SELECT DISTINCT x.user_id, x.item_id FROM (%s) x', exclude));
    -- with a context_column, the rows keep their context under its name
    v_filtered := pg_catalog.format(
        'SELECT s.user_id, s.item_id, s.weight, pg_catalog.to_timestamp(s.event_epoch) AS event_time%s
           FROM (%s) s
          WHERE NOT EXISTS (SELECT FROM pg_temp.fr_component_exclude x
                             WHERE x.user_id = s.user_id AND x.item_id = s.item_id)',
        CASE WHEN v_context IS NOT NULL THEN pg_catalog.format(', s.context AS %I', v_context) ELSE '' END,
        fashionrec.source_query(v_data, fashionrec._column_params(component.params)
            || CASE WHEN v_context IS NOT NULL THEN pg_catalog.jsonb_build_object('context_column', v_context)
                    ELSE '{}' END));
    IF v_content THEN
        v_version := fashionrec.train(component.name, component.algorithm, component.source,
                                      v_params || pg_catalog.jsonb_build_object('interactions', v_filtered),
                                      activate => false);
    ELSE
        v_version := fashionrec.train(component.name, component.algorithm, v_filtered, v_params,
                                      activate => false);
    END IF;
    DROP TABLE pg_temp.fr_component_exclude;
    PERFORM fashionrec._model_restate(
        (SELECT m.id FROM fashionrec.model m WHERE m.name = component.name AND m.version = v_version),
        component.source, component.params,
        pg_catalog.jsonb_build_object('retrained_for', note, 'retrained_from', component.version));
    RETURN v_version;
END
$$;
COMMENT ON FUNCTION fashionrec._retrain_component(fashionrec.model, text, text) IS
    'Internal: a new inactive version of a hybrid''s component, trained on its source without the held-out pairs of a query';

-- A hybrid version trained on "interactions" (a query of user_id, item_id,
-- weight, event_time) whose components never saw the pairs of "exclude":
-- each component retrained without them (components => 'retrain') or its
-- active version taken as it is ('active').  A learned fusion is refitted by
-- stacking: components trained also without a validation tail of
-- "interactions" (split by split_method), a fusion fitted on that tail, then
-- reused (fusion_from) over the components above; or "fusion_from" names the
-- fusion to reuse.  "cache" (component name -> pinned version) lets a search
-- train each component once per split.  The version is inactive unless
-- activate, and recorded with "source" as its interactions so that a later
-- retraining reads the real source.  Returns {"version", "components"
-- (signal -> "name@version"), "trained" (the component versions made for
-- it), "fitted" (those made to fit its fusion, for the caller to drop when
-- the cache is done with), "cache"}.
CREATE FUNCTION fashionrec._hybrid_train(name text, params jsonb, pins jsonb, interactions text,
                                         source text, exclude text, components text DEFAULT 'retrain',
                                         split_method text DEFAULT 'temporal',
                                         fusion_from text DEFAULT NULL,
                                         cache jsonb DEFAULT '{}',
                                         activate boolean DEFAULT false)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    -- what configures a learned fusion, carried to the hybrid that refits it
    c_fusion_keys CONSTANT text[] := ARRAY['fusion', 'fusion_users', 'fusion_candidates', 'fusion_items', 'fusion_l2',
                                           'mlp_hidden', 'mlp_epochs', 'mlp_learning_rate', 'mlp_patience', 'mlp_bags',
                                           'seed'];
    v_cache    jsonb := COALESCE(_hybrid_train.cache, '{}');
    v_pins     jsonb := '{}';
    v_fit_pins jsonb := '{}';
    v_trained  text[] := '{}';
    v_fitted   text[] := '{}';
    v_fusion   jsonb;
    v_learned  boolean;
    v_params   jsonb;
    v_from     text := _hybrid_train.fusion_from;
    -- a hybrid with a context_column: the fit split carries the column
    v_context  text := _hybrid_train.params ->> 'context_column';
    v_context_col text := CASE WHEN v_context IS NOT NULL
                               THEN pg_catalog.format(', f.context AS %I', v_context) ELSE '' END;
    v_fit      integer;
    v_version  integer;
    v_key      text;
    v_spec     text;
    c          record;
    v_row      fashionrec.model%ROWTYPE;
BEGIN
    IF _hybrid_train.components NOT IN ('retrain', 'active') THEN
        RAISE EXCEPTION 'components must be ''retrain'' or ''active'', got "%"', _hybrid_train.components
              USING ERRCODE = '22023';
    END IF;
    -- the fusion to refit: the hybrid's own, or that of the hybrid it reused
    v_fusion := _hybrid_train.params;
    IF v_from IS NULL AND _hybrid_train.params ? 'fusion_from' THEN
        SELECT m.params INTO v_fusion
          FROM fashionrec._hybrid_components(pg_catalog.jsonb_build_object('cf', _hybrid_train.params ->> 'fusion_from')) h
          JOIN fashionrec.model m ON m.name = h.component AND m.version = h.version;
    END IF;
    v_fusion := v_fusion - ARRAY(SELECT k FROM pg_catalog.jsonb_object_keys(v_fusion) k
                                  WHERE NOT k = ANY (c_fusion_keys));
    v_learned := v_from IS NULL AND COALESCE(v_fusion ->> 'fusion', 'weighted') <> 'weighted';
    v_params := _hybrid_train.params - ARRAY['fusion', 'validation', 'fusion_from', 'interactions'];

    FOR c IN SELECT * FROM fashionrec._hybrid_components(_hybrid_train.params, _hybrid_train.pins) LOOP
        IF _hybrid_train.components = 'active' THEN
            v_spec := c.component || '@' || (fashionrec._model_row(c.component, NULL)).version;
        ELSE
            v_key := c.component || '@' || c.version;
            v_spec := v_cache ->> v_key;
            IF v_spec IS NULL THEN
                v_row := fashionrec._hybrid_component_row(c.component, c.version);
                v_spec := c.component || '@' || fashionrec._retrain_component(v_row, _hybrid_train.exclude,
                                                                               _hybrid_train.name);
                v_trained := v_trained || v_spec;
                v_cache := v_cache || pg_catalog.jsonb_build_object(v_key, v_spec);
            END IF;
        END IF;
        v_pins := v_pins || pg_catalog.jsonb_build_object(c.signal, v_spec);
    END LOOP;

    IF v_learned THEN
        IF _hybrid_train.components = 'active' THEN
            RAISE EXCEPTION 'a learned fusion is refitted only over retrained components'
                  USING ERRCODE = '22023',
                        DETAIL = 'Active components may have seen the validation tail the fusion is fitted on.',
                        HINT = 'Use components ''retrain'', or reuse a fitted fusion with fusion_from.';
        END IF;
        PERFORM fashionrec._temp_table('fr_hybrid_fit', pg_catalog.format(
            'SELECT sp.user_id, sp.item_id, sp.weight, sp.event_time, sp.is_test, sp.context
               FROM fashionrec._split_context(%L, %L, 0.2, ''{}'', %L) sp',
            _hybrid_train.interactions, _hybrid_train.split_method, v_context));
        -- the validation tail: held-out pairs new to the user
        DELETE FROM pg_temp.fr_hybrid_fit f
         WHERE f.is_test AND EXISTS (SELECT FROM pg_temp.fr_hybrid_fit p
                                      WHERE NOT p.is_test AND p.user_id = f.user_id AND p.item_id = f.item_id);
        FOR c IN SELECT * FROM fashionrec._hybrid_components(_hybrid_train.params, _hybrid_train.pins) LOOP
            v_key := 'fit:' || c.component || '@' || c.version;
            v_spec := v_cache ->> v_key;
            IF v_spec IS NULL THEN
                v_row := fashionrec._hybrid_component_row(c.component, c.version);
                v_spec := c.component || '@' || fashionrec._retrain_component(v_row,
                    COALESCE(_hybrid_train.exclude || ' UNION ALL ', '')
                        || 'SELECT f.user_id, f.item_id FROM pg_temp.fr_hybrid_fit f WHERE f.is_test',
                    _hybrid_train.name || ' (fusion fit)');
                v_fitted := v_fitted || v_spec;
                v_cache := v_cache || pg_catalog.jsonb_build_object(v_key, v_spec);
            END IF;
            v_fit_pins := v_fit_pins || pg_catalog.jsonb_build_object(c.signal, v_spec);
        END LOOP;
        v_fit := fashionrec.train(_hybrid_train.name, 'hybrid', NULL,
            v_params || v_fit_pins || v_fusion || pg_catalog.jsonb_build_object(
                'interactions', 'SELECT f.user_id, f.item_id, f.weight, f.event_time' || v_context_col
                                || ' FROM pg_temp.fr_hybrid_fit f WHERE NOT f.is_test',
                'validation', 'SELECT f.user_id, f.item_id' || v_context_col
                              || ' FROM pg_temp.fr_hybrid_fit f WHERE f.is_test'),
            activate => false);
        v_from := _hybrid_train.name || '@' || v_fit;
    END IF;

    v_version := fashionrec.train(_hybrid_train.name, 'hybrid', NULL,
        v_params || v_pins || pg_catalog.jsonb_build_object('interactions', _hybrid_train.interactions)
            || CASE WHEN v_from IS NULL THEN '{}'::jsonb
                    ELSE pg_catalog.jsonb_build_object('fusion_from', v_from) END,
        activate => false);
    IF v_fit IS NOT NULL THEN
        -- its fusion is copied into the version above
        PERFORM fashionrec.drop_model(_hybrid_train.name, v_fit);
        DROP TABLE pg_temp.fr_hybrid_fit;
    END IF;
    -- its params as given (names, not this run's pins) and the real source
    PERFORM fashionrec._model_restate(
        (SELECT m.id FROM fashionrec.model m WHERE m.name = _hybrid_train.name AND m.version = v_version),
        NULL, _hybrid_train.params || pg_catalog.jsonb_build_object('interactions', _hybrid_train.source),
        NULL);
    IF _hybrid_train.activate THEN
        PERFORM fashionrec.activate(_hybrid_train.name, v_version);
    END IF;
    RETURN pg_catalog.jsonb_build_object('version', v_version, 'components', v_pins,
                                         'trained', pg_catalog.to_jsonb(v_trained),
                                         'fitted', pg_catalog.to_jsonb(v_fitted), 'cache', v_cache);
END
$$;
COMMENT ON FUNCTION fashionrec._hybrid_train(text, jsonb, jsonb, text, text, text, text, text, text, jsonb, boolean) IS
    'Internal: a hybrid version over components retrained without held-out pairs (or their active versions), its learned fusion refitted by stacking';

-- Drop versions named "name@version" (the components a search or a retrain
-- trained and no longer needs).
CREATE FUNCTION fashionrec._drop_versions(versions jsonb) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v text;
BEGIN
    FOR v IN SELECT pg_catalog.jsonb_array_elements_text(COALESCE(versions, '[]')) LOOP
        PERFORM fashionrec.drop_model(pg_catalog.substring(v, '^(.*)@[0-9]+$'),
                                      pg_catalog.substring(v, '@([0-9]+)$')::integer);
    END LOOP;
END
$$;
COMMENT ON FUNCTION fashionrec._drop_versions(jsonb) IS
    'Internal: drop the model versions of a JSON array of "name@version"';
