-- A/B testing: experiments whose variants serve different models (or
-- versions), sticky assignment by hashing, event tracking, and the
-- statistics of the results.  Bookkeeping in PL/pgSQL; the hash and the
-- statistics in C (abstats.c, abstats_sql.c).  docs/ab-testing.md is the guide.
--
-- No role writes these tables directly.  Every function that writes them
-- and runs no SQL of its caller is SECURITY DEFINER with a pinned
-- search_path: the lifecycle functions (EXECUTE for trainers) and the three
-- the application calls at serving rate (assign, recommend_experiment,
-- track; EXECUTE for fashionrec_app).  So a trainer can change an experiment
-- only the way the lifecycle allows, and the application can assign, serve
-- and track but neither forge an assignment nor read the events.
-- experiment_results runs the caller's segment_by query, so it runs with the
-- caller's rights and only reads.  Under definer rights CURRENT_USER is the
-- owner: who created or decided something is fashionrec._session_role().

-- ---- statistics (C) --------------------------------------------------------

CREATE FUNCTION fashionrec.normal_cdf(x double precision) RETURNS double precision
    AS 'MODULE_PATHNAME', 'fashionrec_normal_cdf'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.normal_cdf(double precision) IS
    'Standard normal cumulative distribution function Phi(x)';

CREATE FUNCTION fashionrec.normal_quantile(p double precision) RETURNS double precision
    AS 'MODULE_PATHNAME', 'fashionrec_normal_quantile'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.normal_quantile(double precision) IS
    'Inverse of the standard normal CDF: the z with normal_cdf(z) = p (0.975 gives 1.959964)';

CREATE FUNCTION fashionrec.t_cdf(t double precision, df double precision) RETURNS double precision
    AS 'MODULE_PATHNAME', 'fashionrec_t_cdf'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.t_cdf(double precision, double precision) IS
    'Student t cumulative distribution function with df (> 0, not necessarily whole) degrees of freedom';

CREATE FUNCTION fashionrec.chisq_cdf(x double precision, df double precision) RETURNS double precision
    AS 'MODULE_PATHNAME', 'fashionrec_chisq_cdf'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.chisq_cdf(double precision, double precision) IS
    'Chi-square cumulative distribution function with df (> 0) degrees of freedom';

CREATE FUNCTION fashionrec.proportion_test(control_conversions bigint, control_users bigint,
                                           conversions bigint, users bigint,
                                           alpha double precision DEFAULT 0.05,
                                           OUT lift double precision, OUT ci_low double precision,
                                           OUT ci_high double precision, OUT z double precision,
                                           OUT p_value double precision)
    AS 'MODULE_PATHNAME', 'fashionrec_proportion_test'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.proportion_test(bigint, bigint, bigint, bigint, double precision) IS
    'Two-proportion z-test of a variant against the control: rate difference, its (1 - alpha) Wald interval, z (pooled) and the two-sided p-value';

CREATE FUNCTION fashionrec.welch_test(control_mean double precision, control_variance double precision,
                                      control_n bigint, mean double precision,
                                      variance double precision, n bigint,
                                      OUT diff double precision, OUT t double precision,
                                      OUT df double precision, OUT p_value double precision)
    AS 'MODULE_PATHNAME', 'fashionrec_welch_test'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.welch_test(double precision, double precision, bigint, double precision, double precision, bigint) IS
    'Welch''s unequal-variance t-test from group means and sample variances: difference, t, Welch-Satterthwaite df, two-sided p-value';

CREATE FUNCTION fashionrec.srm_p_value(users bigint[], weights double precision[]) RETURNS double precision
    AS 'MODULE_PATHNAME', 'fashionrec_srm_p_value'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.srm_p_value(bigint[], double precision[]) IS
    'Sample-ratio mismatch: chi-square goodness-of-fit p-value of users per variant against the weights; NULL when nobody was counted';

CREATE FUNCTION fashionrec.required_sample_size(baseline_rate double precision, mde double precision,
                                                alpha double precision DEFAULT 0.05,
                                                power double precision DEFAULT 0.8,
                                                relative boolean DEFAULT true)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'fashionrec_required_sample_size'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.required_sample_size(double precision, double precision, double precision, double precision, boolean) IS
    'Users per variant a two-sided two-proportion test needs to detect a lift of mde (relative to the baseline rate, or in rate points when relative is false)';

CREATE FUNCTION fashionrec.ab_bucket(salt text, user_id bigint) RETURNS double precision
    AS 'MODULE_PATHNAME', 'fashionrec_ab_bucket'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.ab_bucket(text, bigint) IS
    'The point in [0, 1) that a salt and a user id hash to; assignment cuts [0, 1) into the holdout and the variants'' shares';

CREATE FUNCTION fashionrec._ab_choose(salt text, user_id bigint, holdout double precision,
                                      weights double precision[]) RETURNS integer
    AS 'MODULE_PATHNAME', 'fashionrec_ab_choose'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec._ab_choose(text, bigint, double precision, double precision[]) IS
    'Internal: 0 when ab_bucket(salt, user_id) falls in the holdout fraction, else the 1-based index of the weighted bucket';

-- ---- catalog ---------------------------------------------------------------

CREATE TABLE fashionrec.experiment (
    id             serial PRIMARY KEY,
    name           text NOT NULL
                   CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$'),
    description    text,
    status         text NOT NULL DEFAULT 'draft'
                   CHECK (status IN ('draft', 'running', 'stopped')),
    salt           text NOT NULL CHECK (salt <> ''),
    primary_metric text NOT NULL DEFAULT 'purchase'
                   CHECK (primary_metric IN ('exposure', 'click', 'cart', 'purchase')),
    -- percent of users kept out of the experiment (they see the control's model, unrecorded)
    holdout        double precision NOT NULL DEFAULT 0 CHECK (holdout >= 0 AND holdout < 100),
    created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    created_by     name NOT NULL DEFAULT fashionrec._session_role(),
    started_at     timestamptz,
    stopped_at     timestamptz,
    winner         text,
    decided_at     timestamptz,
    decided_by     name,
    CHECK ((status = 'draft') = (started_at IS NULL)),
    CHECK ((status = 'stopped') = (stopped_at IS NOT NULL)),
    CHECK ((winner IS NULL) = (decided_at IS NULL) AND (winner IS NULL OR status = 'stopped')),
    -- _ab_state() reads through the three named indexes of this file
    CONSTRAINT experiment_name_key UNIQUE (name)
);
COMMENT ON TABLE fashionrec.experiment IS
    'A/B experiments: status draft, running or stopped, assignment salt, primary metric, holdout share, winner';

CREATE TABLE fashionrec.variant (
    id            serial PRIMARY KEY,
    experiment_id integer NOT NULL REFERENCES fashionrec.experiment (id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$'),
    position      integer NOT NULL CHECK (position > 0),
    model         text NOT NULL,
    version       integer CHECK (version > 0),
    -- percent of the enrolled users; NaN sorts above infinity, so this refuses both
    weight        double precision NOT NULL CHECK (weight > 0 AND weight < 'Infinity'),
    is_control    boolean NOT NULL DEFAULT false,
    CONSTRAINT variant_experiment_name_key UNIQUE (experiment_id, name),
    UNIQUE (experiment_id, position)
);
CREATE UNIQUE INDEX variant_one_control ON fashionrec.variant (experiment_id) WHERE is_control;
COMMENT ON TABLE fashionrec.variant IS
    'Variants of an experiment: the model (and optionally pinned version) each serves and its share of traffic';

-- No foreign keys on the two tables written at serving rate: each check
-- would lock the experiment's row on every insert.  The functions that
-- write them check instead, and drop_experiment() deletes their rows.
CREATE TABLE fashionrec.assignment (
    experiment_id integer NOT NULL,
    user_id       bigint NOT NULL,
    variant_id    integer NOT NULL,
    forced        boolean NOT NULL DEFAULT false,
    assigned_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT assignment_pkey PRIMARY KEY (experiment_id, user_id)
);
COMMENT ON TABLE fashionrec.assignment IS
    'Sticky assignments: the variant each user got first (or was forced into for QA)';

CREATE TABLE fashionrec.event (
    experiment_id integer NOT NULL,
    variant_id    integer NOT NULL,
    user_id       bigint NOT NULL,
    occurred_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    item_id       bigint,
    -- at most 1e15: see track(); NaN sorts above every number, so this refuses it too
    value         double precision CHECK (value >= 0 AND value <= 1e15::double precision),
    event_type    text NOT NULL CHECK (event_type IN ('exposure', 'click', 'cart', 'purchase'))
);
-- experiment_results() reads one experiment's events grouped by (variant, user)
CREATE INDEX event_by_user ON fashionrec.event (experiment_id, variant_id, user_id);
-- appended in time order: a BRIN index answers time windows for a few pages of index
CREATE INDEX event_by_time ON fashionrec.event USING brin (occurred_at);
COMMENT ON TABLE fashionrec.event IS
    'Append-only log of experiment events (exposure, click, cart, purchase) with the variant the user was in';

SELECT pg_catalog.pg_extension_config_dump('fashionrec.experiment', '');
SELECT pg_catalog.pg_extension_config_dump('fashionrec.experiment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('fashionrec.variant', '');
SELECT pg_catalog.pg_extension_config_dump('fashionrec.variant_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('fashionrec.assignment', '');
SELECT pg_catalog.pg_extension_config_dump('fashionrec.event', '');

CREATE VIEW fashionrec.experiments AS
SELECT x.name,
       x.status,
       x.primary_metric,
       x.holdout,
       (SELECT pg_catalog.string_agg(v.name || CASE WHEN v.is_control THEN ' (control)' ELSE '' END
                                     || ' ' || v.weight || '%: ' || v.model
                                     || COALESCE(' v' || v.version, ''), ', ' ORDER BY v.position)
          FROM fashionrec.variant v WHERE v.experiment_id = x.id) AS variants,
       (SELECT pg_catalog.count(*) FROM fashionrec.assignment a
         WHERE a.experiment_id = x.id AND NOT a.forced) AS users,
       x.started_at,
       x.stopped_at,
       x.winner,
       x.description
  FROM fashionrec.experiment x
 ORDER BY x.name;
COMMENT ON VIEW fashionrec.experiments IS
    'Experiments as a person reads them: status, variants with their weights and models, users assigned';

CREATE VIEW fashionrec.experiment_variants AS
SELECT x.name AS experiment,
       v.name AS variant,
       v.is_control,
       v.model,
       v.version,
       v.weight,
       (SELECT pg_catalog.count(*) FROM fashionrec.assignment a
         WHERE a.experiment_id = x.id AND a.variant_id = v.id AND NOT a.forced) AS users,
       (SELECT pg_catalog.count(*) FROM fashionrec.assignment a
         WHERE a.experiment_id = x.id AND a.variant_id = v.id AND a.forced) AS forced_users
  FROM fashionrec.experiment x
  JOIN fashionrec.variant v ON v.experiment_id = x.id
 ORDER BY x.name, v.position;
COMMENT ON VIEW fashionrec.experiment_variants IS
    'One row per variant: model, pinned version, weight, users assigned and users forced into it for QA';

-- ---- lifecycle (trainers) --------------------------------------------------

CREATE FUNCTION fashionrec._ab_experiment(experiment text, for_update boolean DEFAULT false)
    RETURNS fashionrec.experiment
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_row fashionrec.experiment;
BEGIN
    IF _ab_experiment.experiment IS NULL THEN
        RAISE EXCEPTION 'experiment must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF for_update THEN
        SELECT x.* INTO v_row FROM fashionrec.experiment x
         WHERE x.name = _ab_experiment.experiment FOR UPDATE;
    ELSE
        SELECT x.* INTO v_row FROM fashionrec.experiment x
         WHERE x.name = _ab_experiment.experiment;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'experiment "%" does not exist', _ab_experiment.experiment
              USING ERRCODE = '42704',
                    HINT = 'SELECT * FROM fashionrec.experiments lists the experiments.';
    END IF;
    RETURN v_row;
END
$$;
COMMENT ON FUNCTION fashionrec._ab_experiment(text, boolean) IS
    'Internal: the experiment row by name, optionally locked; error 42704 when there is none';

CREATE FUNCTION fashionrec.create_experiment(name text, primary_metric text DEFAULT 'purchase',
                                             holdout double precision DEFAULT 0,
                                             salt text DEFAULT NULL,
                                             description text DEFAULT NULL)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id integer;
BEGIN
    IF create_experiment.name IS NULL OR create_experiment.primary_metric IS NULL
       OR create_experiment.holdout IS NULL THEN
        RAISE EXCEPTION 'name, primary_metric and holdout must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF create_experiment.name !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid experiment name "%"', create_experiment.name
              USING ERRCODE = '22023',
                    HINT = 'Use up to 63 letters, digits and _ . : - starting with a letter or digit.';
    END IF;
    IF create_experiment.primary_metric NOT IN ('exposure', 'click', 'cart', 'purchase') THEN
        RAISE EXCEPTION 'unknown metric "%"', create_experiment.primary_metric
              USING ERRCODE = '22023',
                    HINT = 'A metric is an event type: exposure, click, cart or purchase.';
    END IF;
    IF NOT (create_experiment.holdout >= 0 AND create_experiment.holdout < 100) THEN
        RAISE EXCEPTION 'holdout must be at least 0 and below 100, not %', create_experiment.holdout
              USING ERRCODE = '22023',
                    HINT = 'holdout is the percent of users kept out of the experiment.';
    END IF;
    IF create_experiment.salt = '' THEN
        RAISE EXCEPTION 'salt must not be empty' USING ERRCODE = '22023',
              HINT = 'Leave it out to get a random salt.';
    END IF;
    IF EXISTS (SELECT FROM fashionrec.experiment x WHERE x.name = create_experiment.name) THEN
        RAISE EXCEPTION 'experiment "%" already exists', create_experiment.name
              USING ERRCODE = '42710',
                    HINT = 'Experiments keep their history; give the new one another name.';
    END IF;
    -- a salt of its own, so that two experiments split the same users independently
    INSERT INTO fashionrec.experiment (name, primary_metric, holdout, salt, description)
    VALUES (create_experiment.name, create_experiment.primary_metric, create_experiment.holdout,
            COALESCE(create_experiment.salt, pg_catalog.gen_random_uuid()::text),
            create_experiment.description)
    RETURNING id INTO v_id;
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION fashionrec.create_experiment(text, text, double precision, text, text) IS
    'Create an experiment in status draft; add variants, then start it. holdout is the percent of users kept out; the salt defaults to a random one';

CREATE FUNCTION fashionrec.add_variant(experiment text, variant text, model text,
                                       weight double precision, version integer DEFAULT NULL,
                                       control boolean DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_exp     fashionrec.experiment;
    v_status  text;
    v_control boolean;
BEGIN
    IF add_variant.variant IS NULL OR add_variant.model IS NULL OR add_variant.weight IS NULL THEN
        RAISE EXCEPTION 'variant, model and weight must not be NULL' USING ERRCODE = '22004';
    END IF;
    v_exp := fashionrec._ab_experiment(add_variant.experiment, true);
    IF v_exp.status <> 'draft' THEN
        RAISE EXCEPTION 'experiment "%" is %', v_exp.name, v_exp.status
              USING ERRCODE = '55000',
                    DETAIL = 'Variants can only be added while an experiment is a draft.',
                    HINT = 'Create a new experiment for a new set of variants.';
    END IF;
    IF add_variant.variant !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid variant name "%"', add_variant.variant
              USING ERRCODE = '22023',
                    HINT = 'Use up to 63 letters, digits and _ . : - starting with a letter or digit.';
    END IF;
    IF NOT (add_variant.weight > 0 AND add_variant.weight < 'Infinity') THEN
        RAISE EXCEPTION 'weight must be a positive number, not %', add_variant.weight
              USING ERRCODE = '22023',
                    HINT = 'Weights are percents of the enrolled users and must sum to 100.';
    END IF;
    IF (SELECT pg_catalog.count(*) FROM fashionrec.variant v WHERE v.experiment_id = v_exp.id) >= 64 THEN
        RAISE EXCEPTION 'experiment "%" has 64 variants, the most it may have', v_exp.name
              USING ERRCODE = '54000';
    END IF;
    IF EXISTS (SELECT FROM fashionrec.variant v
                WHERE v.experiment_id = v_exp.id AND v.name = add_variant.variant) THEN
        RAISE EXCEPTION 'experiment "%" already has a variant "%"', v_exp.name, add_variant.variant
              USING ERRCODE = '42710';
    END IF;
    IF add_variant.version IS NULL THEN
        IF NOT EXISTS (SELECT FROM fashionrec.model m WHERE m.name = add_variant.model) THEN
            RAISE EXCEPTION 'model "%" does not exist', add_variant.model
                  USING ERRCODE = '42704',
                        HINT = 'SELECT * FROM fashionrec.models lists the models.';
        END IF;
    ELSE
        SELECT m.status INTO v_status FROM fashionrec.model m
         WHERE m.name = add_variant.model AND m.version = add_variant.version;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'model "%" has no version %', add_variant.model, add_variant.version
                  USING ERRCODE = '42704',
                        HINT = 'SELECT * FROM fashionrec.models lists the versions.';
        END IF;
    END IF;
    -- the first variant is the control unless another one claims it
    v_control := COALESCE(add_variant.control, NOT EXISTS (
                     SELECT FROM fashionrec.variant v WHERE v.experiment_id = v_exp.id AND v.is_control));
    IF v_control THEN
        UPDATE fashionrec.variant v SET is_control = false
         WHERE v.experiment_id = v_exp.id AND v.is_control;
    END IF;
    INSERT INTO fashionrec.variant (experiment_id, name, position, model, version, weight, is_control)
    SELECT v_exp.id, add_variant.variant, COALESCE(pg_catalog.max(v.position), 0) + 1,
           add_variant.model, add_variant.version, add_variant.weight, v_control
      FROM fashionrec.variant v WHERE v.experiment_id = v_exp.id;
END
$$;
COMMENT ON FUNCTION fashionrec.add_variant(text, text, text, double precision, integer, boolean) IS
    'Add a variant to a draft experiment: the model it serves (the active version, or the pinned version), its weight in percent; the first variant is the control unless control => true names another';

CREATE FUNCTION fashionrec._ab_check_weights(experiment_id integer) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_sum   double precision;
    v_list  text;
BEGIN
    SELECT pg_catalog.sum(v.weight),
           pg_catalog.string_agg(v.name || ' ' || v.weight, ', ' ORDER BY v.position)
      INTO v_sum, v_list
      FROM fashionrec.variant v WHERE v.experiment_id = _ab_check_weights.experiment_id;
    IF pg_catalog.abs(v_sum - 100) > 1e-6 THEN
        RAISE EXCEPTION 'variant weights must sum to 100, not %', v_sum
              USING ERRCODE = '22023',
                    DETAIL = pg_catalog.format('The weights are %s.', v_list),
                    HINT = 'Weights are percents of the enrolled users; fix them with fashionrec.set_weights().';
    END IF;
END
$$;
COMMENT ON FUNCTION fashionrec._ab_check_weights(integer) IS
    'Internal: error 22023 unless the variant weights of an experiment sum to 100';

CREATE FUNCTION fashionrec.set_weights(experiment text, weights jsonb,
                                       holdout double precision DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_exp   fashionrec.experiment;
    v_key   text;
    v_val   jsonb;
    v_missing text;
BEGIN
    IF set_weights.weights IS NULL THEN
        RAISE EXCEPTION 'weights must not be NULL' USING ERRCODE = '22004';
    END IF;
    v_exp := fashionrec._ab_experiment(set_weights.experiment, true);
    IF v_exp.status = 'stopped' THEN
        RAISE EXCEPTION 'experiment "%" is stopped', v_exp.name USING ERRCODE = '55000';
    END IF;
    IF pg_catalog.jsonb_typeof(set_weights.weights) <> 'object' THEN
        RAISE EXCEPTION 'weights must be a JSON object of variant names and percents'
              USING ERRCODE = '22023',
                    HINT = 'For example ''{"control": 50, "treatment": 50}''.';
    END IF;
    FOR v_key, v_val IN SELECT * FROM pg_catalog.jsonb_each(set_weights.weights) LOOP
        IF NOT EXISTS (SELECT FROM fashionrec.variant v
                        WHERE v.experiment_id = v_exp.id AND v.name = v_key) THEN
            RAISE EXCEPTION 'experiment "%" has no variant "%"', v_exp.name, v_key
                  USING ERRCODE = '42704',
                        HINT = 'SELECT * FROM fashionrec.experiment_variants lists the variants.';
        END IF;
        IF pg_catalog.jsonb_typeof(v_val) <> 'number' OR NOT ((v_val #>> '{}')::double precision > 0) THEN
            RAISE EXCEPTION 'weight of variant "%" must be a positive number, not %', v_key, v_val
                  USING ERRCODE = '22023';
        END IF;
    END LOOP;
    SELECT pg_catalog.string_agg(v.name, ', ' ORDER BY v.position) INTO v_missing
      FROM fashionrec.variant v
     WHERE v.experiment_id = v_exp.id AND NOT set_weights.weights ? v.name;
    IF v_missing IS NOT NULL THEN
        RAISE EXCEPTION 'weights must name every variant' USING ERRCODE = '22023',
              DETAIL = pg_catalog.format('Missing: %s.', v_missing);
    END IF;
    IF set_weights.holdout IS NOT NULL AND NOT (set_weights.holdout >= 0 AND set_weights.holdout < 100) THEN
        RAISE EXCEPTION 'holdout must be at least 0 and below 100, not %', set_weights.holdout
              USING ERRCODE = '22023';
    END IF;
    UPDATE fashionrec.variant v SET weight = (set_weights.weights ->> v.name)::double precision
     WHERE v.experiment_id = v_exp.id;
    PERFORM fashionrec._ab_check_weights(v_exp.id);
    IF set_weights.holdout IS NOT NULL THEN
        UPDATE fashionrec.experiment x SET holdout = set_weights.holdout WHERE x.id = v_exp.id;
    END IF;
END
$$;
COMMENT ON FUNCTION fashionrec.set_weights(text, jsonb, double precision) IS
    'Set every variant''s weight (percents summing to 100) and optionally the holdout; users already assigned keep their variant';

CREATE FUNCTION fashionrec.start_experiment(experiment text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_exp fashionrec.experiment;
    r_var record;
BEGIN
    v_exp := fashionrec._ab_experiment(start_experiment.experiment, true);
    IF v_exp.status = 'running' THEN
        RAISE EXCEPTION 'experiment "%" is already running', v_exp.name
              USING ERRCODE = '55000',
                    HINT = 'SELECT * FROM fashionrec.experiment_results(...) shows how it is going.';
    ELSIF v_exp.status = 'stopped' THEN
        RAISE EXCEPTION 'experiment "%" has been stopped', v_exp.name
              USING ERRCODE = '55000',
                    DETAIL = 'A restarted experiment would mix two periods in one result.',
                    HINT = 'Create a new experiment.';
    END IF;
    IF (SELECT pg_catalog.count(*) FROM fashionrec.variant v WHERE v.experiment_id = v_exp.id) < 2 THEN
        RAISE EXCEPTION 'experiment "%" needs at least two variants', v_exp.name
              USING ERRCODE = '55000',
                    HINT = 'Add them with fashionrec.add_variant().';
    END IF;
    IF NOT EXISTS (SELECT FROM fashionrec.variant v WHERE v.experiment_id = v_exp.id AND v.is_control) THEN
        RAISE EXCEPTION 'experiment "%" has no control variant', v_exp.name
              USING ERRCODE = '55000',
                    HINT = 'Add one with fashionrec.add_variant(..., control => true).';
    END IF;
    PERFORM fashionrec._ab_check_weights(v_exp.id);
    -- every variant must be servable now, not fail on the first user
    FOR r_var IN SELECT vr.name, vr.model, vr.version FROM fashionrec.variant vr
              WHERE vr.experiment_id = v_exp.id ORDER BY vr.position LOOP
        IF r_var.version IS NULL AND NOT EXISTS (
               SELECT FROM fashionrec.model m WHERE m.name = r_var.model AND m.active) THEN
            RAISE EXCEPTION 'model "%" of variant "%" has no active version', r_var.model, r_var.name
                  USING ERRCODE = '55000',
                        HINT = 'Activate a version, or pin one in the variant.';
        ELSIF r_var.version IS NOT NULL AND NOT EXISTS (
               SELECT FROM fashionrec.model m WHERE m.name = r_var.model AND m.version = r_var.version) THEN
            RAISE EXCEPTION 'model "%" has no version % (variant "%")', r_var.model, r_var.version, r_var.name
                  USING ERRCODE = '42704';
        END IF;
    END LOOP;
    UPDATE fashionrec.experiment x SET status = 'running', started_at = pg_catalog.now()
     WHERE x.id = v_exp.id;
END
$$;
COMMENT ON FUNCTION fashionrec.start_experiment(text) IS
    'Start a draft experiment: from now on assign() enrolls users';

CREATE FUNCTION fashionrec.stop_experiment(experiment text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_exp fashionrec.experiment;
BEGIN
    v_exp := fashionrec._ab_experiment(stop_experiment.experiment, true);
    IF v_exp.status <> 'running' THEN
        RAISE EXCEPTION 'experiment "%" is not running', v_exp.name
              USING ERRCODE = '55000',
                    DETAIL = pg_catalog.format('Its status is %s.', v_exp.status);
    END IF;
    UPDATE fashionrec.experiment x SET status = 'stopped', stopped_at = pg_catalog.now()
     WHERE x.id = v_exp.id;
END
$$;
COMMENT ON FUNCTION fashionrec.stop_experiment(text) IS
    'Stop a running experiment: no more enrolment or events; everyone is served the control (or the winner, once declared); history is kept';

CREATE FUNCTION fashionrec.declare_winner(experiment text, variant text) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_exp     fashionrec.experiment;
    v_model   text;
    v_version integer;
BEGIN
    IF declare_winner.variant IS NULL THEN
        RAISE EXCEPTION 'variant must not be NULL' USING ERRCODE = '22004';
    END IF;
    v_exp := fashionrec._ab_experiment(declare_winner.experiment, true);
    IF v_exp.status = 'draft' THEN
        RAISE EXCEPTION 'experiment "%" has not started', v_exp.name USING ERRCODE = '55000';
    END IF;
    IF v_exp.winner IS NOT NULL THEN
        RAISE EXCEPTION 'experiment "%" already has a winner: "%"', v_exp.name, v_exp.winner
              USING ERRCODE = '55000';
    END IF;
    SELECT v.model, v.version INTO v_model, v_version FROM fashionrec.variant v
     WHERE v.experiment_id = v_exp.id AND v.name = declare_winner.variant;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'experiment "%" has no variant "%"', v_exp.name, declare_winner.variant
              USING ERRCODE = '42704',
                    HINT = 'SELECT * FROM fashionrec.experiment_variants lists the variants.';
    END IF;
    -- an unpinned variant served the model's active version
    IF v_version IS NULL THEN
        SELECT m.version INTO v_version FROM fashionrec.model m WHERE m.name = v_model AND m.active;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'model "%" has no active version to keep', v_model USING ERRCODE = '55000';
        END IF;
    END IF;
    PERFORM fashionrec.activate(v_model, v_version);
    UPDATE fashionrec.experiment x
       SET status = 'stopped',
           stopped_at = COALESCE(x.stopped_at, pg_catalog.now()),
           winner = declare_winner.variant,
           decided_at = pg_catalog.now(),
           decided_by = fashionrec._session_role()
     WHERE x.id = v_exp.id;
    RETURN v_version;
END
$$;
COMMENT ON FUNCTION fashionrec.declare_winner(text, text) IS
    'Stop the experiment (if running), record the winning variant and activate its model version; returns that version';

CREATE FUNCTION fashionrec.force_variant(experiment text, user_id bigint, variant text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_exp     fashionrec.experiment;
    v_variant integer;
BEGIN
    IF force_variant.user_id IS NULL THEN
        RAISE EXCEPTION 'user_id must not be NULL' USING ERRCODE = '22004';
    END IF;
    v_exp := fashionrec._ab_experiment(force_variant.experiment);
    IF v_exp.status = 'stopped' THEN
        RAISE EXCEPTION 'experiment "%" is stopped', v_exp.name USING ERRCODE = '55000';
    END IF;
    IF force_variant.variant IS NULL THEN
        -- lift the override: the user is hashed again at the next assign()
        DELETE FROM fashionrec.assignment a
         WHERE a.experiment_id = v_exp.id AND a.user_id = force_variant.user_id AND a.forced;
        RETURN;
    END IF;
    SELECT v.id INTO v_variant FROM fashionrec.variant v
     WHERE v.experiment_id = v_exp.id AND v.name = force_variant.variant;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'experiment "%" has no variant "%"', v_exp.name, force_variant.variant
              USING ERRCODE = '42704',
                    HINT = 'SELECT * FROM fashionrec.experiment_variants lists the variants.';
    END IF;
    INSERT INTO fashionrec.assignment AS a (experiment_id, user_id, variant_id, forced)
    VALUES (v_exp.id, force_variant.user_id, v_variant, true)
    ON CONFLICT ON CONSTRAINT assignment_pkey DO UPDATE
       SET variant_id = EXCLUDED.variant_id, forced = true, assigned_at = pg_catalog.now();
END
$$;
COMMENT ON FUNCTION fashionrec.force_variant(text, bigint, text) IS
    'QA override: put a user into a variant (also before the experiment starts); forced users are left out of the results. variant NULL lifts the override';

CREATE FUNCTION fashionrec.drop_experiment(experiment text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_exp fashionrec.experiment;
BEGIN
    v_exp := fashionrec._ab_experiment(drop_experiment.experiment, true);
    IF v_exp.status = 'running' THEN
        RAISE EXCEPTION 'experiment "%" is running', v_exp.name
              USING ERRCODE = '55000',
                    HINT = 'Stop it first; stopped experiments keep their history until dropped.';
    END IF;
    DELETE FROM fashionrec.event e WHERE e.experiment_id = v_exp.id;
    DELETE FROM fashionrec.assignment a WHERE a.experiment_id = v_exp.id;
    DELETE FROM fashionrec.experiment x WHERE x.id = v_exp.id;
END
$$;
COMMENT ON FUNCTION fashionrec.drop_experiment(text) IS
    'Delete a draft or stopped experiment with its variants, assignments and events';

-- ---- serving path (the application) ----------------------------------------

-- Everything the serving path needs in one call, read through the unique
-- indexes in C: no cached plan to go stale while the tables grow.
CREATE FUNCTION fashionrec._ab_state(experiment text, user_id bigint,
                                     OUT experiment_id integer, OUT status text, OUT salt text,
                                     OUT holdout double precision, OUT winner text,
                                     OUT variant_ids integer[], OUT variants text[], OUT models text[],
                                     OUT versions integer[], OUT weights double precision[],
                                     OUT control integer, OUT assigned integer, OUT forced boolean)
    AS 'MODULE_PATHNAME', 'fashionrec_ab_state'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec._ab_state(text, bigint) IS
    'Internal: an experiment, its variants in position order and a user''s recorded assignment (control and assigned are positions); NULLs for an unknown experiment';

-- What to serve a user: the recorded variant; for a new user of a running
-- experiment the hashed one, recorded now; for a held-out user the
-- control's model with variant NULL; once stopped, the winner (or the
-- control) for everybody.  in_experiment says whether events are recorded.
-- No SET search_path: only the SECURITY DEFINER functions below call it,
-- and they pin it; a second SET per call would cost as much as the lookup.
CREATE FUNCTION fashionrec._ab_assign(experiment text, user_id bigint, reassign boolean,
                                      OUT experiment_id integer, OUT variant_id integer,
                                      OUT variant text, OUT model text, OUT version integer,
                                      OUT in_experiment boolean)
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    s     record;
    v_pos integer;
BEGIN
    IF _ab_assign.experiment IS NULL OR _ab_assign.user_id IS NULL OR _ab_assign.reassign IS NULL THEN
        RAISE EXCEPTION 'experiment, user_id and reassign must not be NULL' USING ERRCODE = '22004';
    END IF;
    s := fashionrec._ab_state(_ab_assign.experiment, _ab_assign.user_id);
    IF s.experiment_id IS NULL THEN
        RAISE EXCEPTION 'experiment "%" does not exist', _ab_assign.experiment
              USING ERRCODE = '42704',
                    HINT = 'SELECT * FROM fashionrec.experiments lists the experiments.';
    END IF;
    experiment_id := s.experiment_id;
    in_experiment := false;

    IF s.status = 'stopped' THEN
        v_pos := COALESCE(pg_catalog.array_position(s.variants, s.winner), s.control);
    ELSIF s.status = 'draft' THEN
        IF s.assigned IS NULL OR NOT s.forced THEN
            RAISE EXCEPTION 'experiment "%" is not running', _ab_assign.experiment
                  USING ERRCODE = '55000',
                        HINT = 'Start it with fashionrec.start_experiment(); before that only users put into a variant with fashionrec.force_variant() are served.';
        END IF;
        v_pos := s.assigned;
        in_experiment := true;
    ELSIF s.assigned IS NOT NULL AND (NOT _ab_assign.reassign OR s.forced) THEN
        -- sticky; a QA override survives reassign: only force_variant(..., NULL) lifts it
        v_pos := s.assigned;
        in_experiment := true;
    ELSE
        -- running, and the user is new (or asked to be hashed again)
        v_pos := fashionrec._ab_choose(s.salt, _ab_assign.user_id, s.holdout / 100, s.weights);
        IF v_pos = 0 THEN
            IF _ab_assign.reassign AND s.assigned IS NOT NULL THEN
                DELETE FROM fashionrec.assignment a
                 WHERE a.experiment_id = s.experiment_id AND a.user_id = _ab_assign.user_id
                   AND NOT a.forced;
            END IF;
            -- held out: the control's model, outside the experiment
            model := s.models[s.control];
            version := s.versions[s.control];
            RETURN;
        END IF;
        IF _ab_assign.reassign THEN
            -- a QA override set since _ab_state() read the row stands
            INSERT INTO fashionrec.assignment AS a (experiment_id, user_id, variant_id)
            VALUES (s.experiment_id, _ab_assign.user_id, s.variant_ids[v_pos])
            ON CONFLICT ON CONSTRAINT assignment_pkey DO UPDATE
               SET variant_id = EXCLUDED.variant_id, assigned_at = pg_catalog.now()
             WHERE NOT a.forced;
        ELSE
            INSERT INTO fashionrec.assignment (experiment_id, user_id, variant_id)
            VALUES (s.experiment_id, _ab_assign.user_id, s.variant_ids[v_pos])
            ON CONFLICT ON CONSTRAINT assignment_pkey DO NOTHING;
        END IF;
        IF NOT FOUND THEN
            -- a concurrent session recorded (or forced) the user first: our insert
            -- waited for its commit, and this statement's snapshot sees it; its
            -- variant stands
            s := fashionrec._ab_state(_ab_assign.experiment, _ab_assign.user_id);
            v_pos := s.assigned;
        END IF;
        in_experiment := true;
    END IF;
    variant_id := s.variant_ids[v_pos];
    variant := s.variants[v_pos];
    model := s.models[v_pos];
    version := s.versions[v_pos];
END
$$;
COMMENT ON FUNCTION fashionrec._ab_assign(text, bigint, boolean) IS
    'Internal: the variant (and model) to serve a user, recording a first assignment; used by assign() and recommend_experiment()';

CREATE FUNCTION fashionrec.assign(experiment text, user_id bigint, reassign boolean DEFAULT false)
    RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s         record;
    v_variant text;
BEGIN
    -- the common case without a second PL/pgSQL call: a user already assigned
    IF assign.reassign IS FALSE AND assign.experiment IS NOT NULL AND assign.user_id IS NOT NULL THEN
        s := fashionrec._ab_state(assign.experiment, assign.user_id);
        IF s.status = 'running' AND s.assigned IS NOT NULL THEN
            RETURN s.variants[s.assigned];
        END IF;
    END IF;
    SELECT r.variant INTO v_variant
      FROM fashionrec._ab_assign(assign.experiment, assign.user_id, assign.reassign) r;
    RETURN v_variant;
END
$$;
COMMENT ON FUNCTION fashionrec.assign(text, bigint, boolean) IS
    'The variant of an experiment a user is in: hashed from (salt, user) into the weighted variants at the first call, then sticky. NULL for a held-out user. reassign => true hashes again with the current weights; a user forced into a variant stays there';

CREATE FUNCTION fashionrec.recommend_experiment(experiment text, user_id bigint, k integer DEFAULT 10,
                                                exclude_seen boolean DEFAULT true,
                                                candidates bigint[] DEFAULT NULL,
                                                exclude bigint[] DEFAULT NULL,
                                                context text DEFAULT NULL,
                                                log_exposure boolean DEFAULT true)
    RETURNS TABLE (variant text, item_id bigint, score real, rank integer)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    ROWS 10
AS $$
DECLARE
    s            record;
    v_fast       boolean := false;
    v_experiment integer;
    v_variant_id integer;
    v_variant    text;
    v_model      text;
    v_version    integer;
    v_in         boolean;
BEGIN
    IF recommend_experiment.experiment IS NOT NULL AND recommend_experiment.user_id IS NOT NULL THEN
        s := fashionrec._ab_state(recommend_experiment.experiment, recommend_experiment.user_id);
        v_fast := COALESCE(s.status = 'running' AND s.assigned IS NOT NULL, false);
    END IF;
    IF v_fast THEN
        -- a user already assigned: no second PL/pgSQL call
        v_experiment := s.experiment_id;
        v_variant_id := s.variant_ids[s.assigned];
        v_variant := s.variants[s.assigned];
        v_model := s.models[s.assigned];
        v_version := s.versions[s.assigned];
        v_in := true;
    ELSE
        SELECT r.experiment_id, r.variant_id, r.variant, r.model, r.version, r.in_experiment
          INTO v_experiment, v_variant_id, v_variant, v_model, v_version, v_in
          FROM fashionrec._ab_assign(recommend_experiment.experiment,
                                     recommend_experiment.user_id, false) r;
    END IF;
    RETURN QUERY
        SELECT v_variant, rec.item_id, rec.score, rec.rank
          FROM fashionrec.recommend(v_model, recommend_experiment.user_id, recommend_experiment.k,
                                    exclude_seen => recommend_experiment.exclude_seen,
                                    candidates => recommend_experiment.candidates,
                                    exclude => recommend_experiment.exclude,
                                    context => recommend_experiment.context,
                                    version => v_version) rec;
    IF recommend_experiment.log_exposure AND v_in THEN
        INSERT INTO fashionrec.event (experiment_id, variant_id, user_id, event_type)
        VALUES (v_experiment, v_variant_id, recommend_experiment.user_id, 'exposure');
    END IF;
END
$$;
COMMENT ON FUNCTION fashionrec.recommend_experiment(text, bigint, integer, boolean, bigint[], bigint[], text, boolean) IS
    'Recommendations from the model of the user''s variant, with the variant''s name (NULL for a held-out user, who gets the control''s); options as recommend(), the version is the variant''s; logs an exposure unless log_exposure => false';

CREATE FUNCTION fashionrec.track(experiment text, user_id bigint, event text,
                                 item_id bigint DEFAULT NULL, value double precision DEFAULT NULL)
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s record;
BEGIN
    IF track.experiment IS NULL OR track.user_id IS NULL OR track.event IS NULL THEN
        RAISE EXCEPTION 'experiment, user_id and event must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF track.event NOT IN ('exposure', 'click', 'cart', 'purchase') THEN
        RAISE EXCEPTION 'unknown event "%"', track.event
              USING ERRCODE = '22023',
                    HINT = 'Events are exposure, click, cart and purchase.';
    END IF;
    -- A bound rather than numeric aggregation in experiment_results(): its
    -- results (value per user, its variance, Welch's t) are double precision,
    -- so a mean or variance beyond 1.8e308 could not be reported even if
    -- numeric added it up, and a numeric sum is slower (4 times, summing 3
    -- million values on the development machine).  No order total comes near
    -- 1e15; with every value at most that, neither a user's sum nor the sums
    -- of squares in the variance can leave double's range for any number of
    -- events a bigint counts (1e15 x 9.2e18 = 9.2e33, squared 8.5e67).
    -- NaN sorts above every number: refused too.
    IF NOT (track.value >= 0 AND track.value <= 1e15::double precision) THEN
        RAISE EXCEPTION 'value must be a number from 0 to 1e15, not %', track.value
              USING ERRCODE = '22023',
                    HINT = 'value is what the event is worth, e.g. the order total of a purchase; larger values would overflow the statistics of the results.';
    END IF;
    s := fashionrec._ab_state(track.experiment, track.user_id);
    IF s.experiment_id IS NULL THEN
        RAISE EXCEPTION 'experiment "%" does not exist', track.experiment
              USING ERRCODE = '42704',
                    HINT = 'SELECT * FROM fashionrec.experiments lists the experiments.';
    END IF;
    IF s.status = 'stopped' THEN
        RETURN false;                   -- the page outlives the experiment: not an error
    END IF;
    IF s.assigned IS NOT NULL AND (s.status = 'running' OR s.forced) THEN
        INSERT INTO fashionrec.event (experiment_id, variant_id, user_id, event_type, item_id, value)
        VALUES (s.experiment_id, s.variant_ids[s.assigned], track.user_id, track.event,
                track.item_id, track.value);
        RETURN true;
    END IF;
    IF s.status = 'draft' THEN
        RAISE EXCEPTION 'experiment "%" is not running', track.experiment
              USING ERRCODE = '55000',
                    HINT = 'Start it with fashionrec.start_experiment(); before that only events of users put into a variant with fashionrec.force_variant() are recorded.';
    END IF;
    IF fashionrec._ab_choose(s.salt, track.user_id, s.holdout / 100, s.weights) = 0 THEN
        RETURN false;                   -- held out: not in the experiment
    END IF;
    RAISE EXCEPTION 'user % is not assigned in experiment "%"', track.user_id, track.experiment
          USING ERRCODE = '55000',
                DETAIL = 'An event can only be attributed to the variant the user was served.',
                HINT = 'Call fashionrec.assign() or fashionrec.recommend_experiment() for the user before tracking their events.';
END
$$;
COMMENT ON FUNCTION fashionrec.track(text, bigint, text, bigint, double precision) IS
    'Record an event (exposure, click, cart, purchase) of an assigned user with its variant; false when not recorded because the user is held out or the experiment has stopped';

-- ---- results (trainers) ----------------------------------------------------

CREATE FUNCTION fashionrec.experiment_results(experiment text, metric text DEFAULT NULL,
                                              segment_by text DEFAULT NULL,
                                              alpha double precision DEFAULT 0.05)
    RETURNS TABLE (segment text, variant text, is_control boolean, users bigint, exposures bigint,
                   conversions bigint, rate double precision, lift double precision,
                   relative_lift double precision, ci_low double precision, ci_high double precision,
                   p_value double precision, significant boolean, value_per_user double precision,
                   value_lift double precision, value_p_value double precision,
                   srm_p_value double precision, srm boolean)
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_exp      fashionrec.experiment;
    v_metric   text;
    v_segments text;
    v_dups     bigint;
BEGIN
    v_exp := fashionrec._ab_experiment(experiment_results.experiment);
    v_metric := COALESCE(experiment_results.metric, v_exp.primary_metric);
    IF v_metric NOT IN ('exposure', 'click', 'cart', 'purchase') THEN
        RAISE EXCEPTION 'unknown metric "%"', v_metric
              USING ERRCODE = '22023',
                    HINT = 'A metric is an event type: exposure, click, cart or purchase.';
    END IF;
    IF experiment_results.alpha IS NULL OR NOT (experiment_results.alpha > 0 AND experiment_results.alpha < 1) THEN
        RAISE EXCEPTION 'alpha must be between 0 and 1, not %', experiment_results.alpha
              USING ERRCODE = '22023',
                    HINT = 'alpha is the significance level, e.g. 0.05 for 95% confidence intervals.';
    END IF;

    -- segment_by: a table, view or query whose first two columns are (user id, segment),
    -- read under the caller's privileges
    IF experiment_results.segment_by IS NOT NULL THEN
        IF experiment_results.segment_by !~* '^\s*(select|with|values|table)\M'
           AND experiment_results.segment_by !~ '^\s*("[^"]+"|[A-Za-z_][A-Za-z0-9_$]*)(\.("[^"]+"|[A-Za-z_][A-Za-z0-9_$]*))?\s*$' THEN
            RAISE EXCEPTION 'segment_by must be a table or view name or a SELECT query'
                  USING ERRCODE = '22023',
                        HINT = 'Its first two columns are the user id and the segment, e.g. ''SELECT customer_id, gender FROM shop.customers''.';
        END IF;
        v_segments := pg_catalog.format(
            'SELECT g.u::bigint AS user_id, g.s::text AS segment FROM (%s) g(u, s)',
            CASE WHEN experiment_results.segment_by ~* '^\s*(select|with|values|table)\M'
                 THEN experiment_results.segment_by
                 ELSE 'SELECT * FROM ' || experiment_results.segment_by::regclass::text END);
        EXECUTE pg_catalog.format(
            'SELECT pg_catalog.count(*) - pg_catalog.count(DISTINCT s.user_id) FROM (%s) s WHERE s.user_id IS NOT NULL',
            v_segments) INTO v_dups;
        IF v_dups > 0 THEN
            RAISE EXCEPTION 'segment_by gives more than one segment for some users'
                  USING ERRCODE = '21000',
                        DETAIL = pg_catalog.format('%s rows repeat a user id.', v_dups),
                        HINT = 'Return one row per user, e.g. with SELECT DISTINCT ON (user_id).';
        END IF;
    END IF;

    RETURN QUERY EXECUTE pg_catalog.format($q$
        WITH enrolled AS (
            SELECT a.variant_id, a.user_id, %s AS segment
              FROM fashionrec.assignment a %s
             WHERE a.experiment_id = $1 AND NOT a.forced
        ),
        per_user AS (
            SELECT e.variant_id, e.user_id,
                   pg_catalog.count(*) FILTER (WHERE e.event_type = 'exposure') AS exposures,
                   pg_catalog.bool_or(e.event_type = $2) AS converted,
                   COALESCE(pg_catalog.sum(e.value), 0) AS value
              FROM fashionrec.event e
             WHERE e.experiment_id = $1
             GROUP BY e.variant_id, e.user_id
        ),
        cells AS (
            -- a user's events count only in the variant they are assigned to now
            SELECT u.segment, u.variant_id,
                   pg_catalog.count(*) AS users,
                   COALESCE(pg_catalog.sum(p.exposures), 0)::bigint AS exposures,
                   pg_catalog.count(*) FILTER (WHERE p.converted) AS conversions,
                   pg_catalog.avg(COALESCE(p.value, 0)) AS value_mean,
                   pg_catalog.var_samp(COALESCE(p.value, 0)) AS value_var
              FROM enrolled u
              LEFT JOIN per_user p ON p.variant_id = u.variant_id AND p.user_id = u.user_id
             GROUP BY u.segment, u.variant_id
        ),
        grid AS (
            -- every variant in every segment, also those nobody was assigned to
            SELECT s.segment, v.name, v.position, v.is_control, v.weight,
                   COALESCE(c.users, 0) AS users, COALESCE(c.exposures, 0) AS exposures,
                   COALESCE(c.conversions, 0) AS conversions, c.value_mean, c.value_var
              FROM (SELECT DISTINCT c0.segment FROM cells c0
                    UNION SELECT NULL::text WHERE NOT $4) s
             CROSS JOIN fashionrec.variant v
              LEFT JOIN cells c ON c.segment IS NOT DISTINCT FROM s.segment AND c.variant_id = v.id
             WHERE v.experiment_id = $1
        ),
        srm AS (
            SELECT g.segment,
                   fashionrec.srm_p_value(pg_catalog.array_agg(g.users ORDER BY g.position),
                                          pg_catalog.array_agg(g.weight ORDER BY g.position)) AS p
              FROM grid g GROUP BY g.segment
        )
        SELECT g.segment, g.name, g.is_control, g.users, g.exposures, g.conversions,
               CASE WHEN g.users > 0 THEN g.conversions::double precision / g.users END,
               pt.lift,
               CASE WHEN c.conversions > 0 THEN pt.lift / (c.conversions::double precision / c.users) END,
               pt.ci_low, pt.ci_high, pt.p_value, pt.p_value < $3,
               g.value_mean, wt.diff, wt.p_value,
               srm.p, srm.p < 0.001
          FROM grid g
          JOIN grid c ON c.segment IS NOT DISTINCT FROM g.segment AND c.is_control
          JOIN srm ON srm.segment IS NOT DISTINCT FROM g.segment
          LEFT JOIN LATERAL fashionrec.proportion_test(c.conversions, c.users, g.conversions,
                                                       g.users, $3) pt ON NOT g.is_control
          LEFT JOIN LATERAL fashionrec.welch_test(c.value_mean, c.value_var, c.users,
                                                  g.value_mean, g.value_var, g.users) wt ON NOT g.is_control
         ORDER BY g.segment NULLS FIRST, g.position
        $q$,
        CASE WHEN v_segments IS NULL THEN 'NULL::text' ELSE 'sg.segment' END,
        CASE WHEN v_segments IS NULL THEN ''
             ELSE pg_catalog.format('LEFT JOIN (%s) sg ON sg.user_id = a.user_id', v_segments) END)
    USING v_exp.id, v_metric, experiment_results.alpha, v_segments IS NOT NULL;
END
$$;
COMMENT ON FUNCTION fashionrec.experiment_results(text, text, text, double precision) IS
    'Per variant (and segment): users, exposures, converted users, rate, absolute and relative lift over the control with its (1 - alpha) interval and z-test p-value, value per user with Welch''s t-test, and the sample-ratio-mismatch p-value (srm when below 0.001)';
