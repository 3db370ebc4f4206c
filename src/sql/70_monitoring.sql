-- Monitoring: serving statistics (src/stats.c, in shared memory when
-- fashionrec is preloaded), their history, data drift against a model's
-- training data, anomaly flags on the history, evaluation by segment, and
-- automated retraining with pg_cron.  docs/operations.md is the guide.

-- ---- serving statistics --------------------------------------------------

CREATE FUNCTION fashionrec._serving_stats()
    RETURNS TABLE (model_id bigint, name text, version integer, function text,
                   calls bigint, rows bigint, errors bigint, cache_loads bigint,
                   shared_loads bigint, attaches bigint, total_ms double precision, mean_ms double precision,
                   p50_ms double precision, p95_ms double precision, p99_ms double precision,
                   max_ms double precision, load_ms double precision,
                   stats_since timestamptz, histogram bigint[], note text)
    AS 'MODULE_PATHNAME', 'fashionrec_serving_stats'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION fashionrec._serving_stats() IS
    'Internal: the serving statistics of this database with their latency histograms; use the view fashionrec.serving_stats';

CREATE VIEW fashionrec.serving_stats AS
SELECT s.name, s.version, s.function, s.calls, s.rows, s.errors, s.cache_loads,
       s.shared_loads, s.attaches, s.total_ms, s.mean_ms, s.p50_ms, s.p95_ms, s.p99_ms, s.max_ms, s.load_ms,
       s.stats_since, s.model_id, s.note
  FROM fashionrec._serving_stats() s;
COMMENT ON VIEW fashionrec.serving_stats IS
    'Serving calls per model version and function since the server started or the last reset: calls, rows, errors, loads (cache_loads into a backend''s private memory, shared_loads into the shared model store, attaches to the store''s copy), latency percentiles. One row with a note when fashionrec is not in shared_preload_libraries';

CREATE FUNCTION fashionrec.serving_stats_info(OUT enabled boolean, OUT tracking boolean,
                                              OUT max_entries integer, OUT entries integer,
                                              OUT evicted bigint, OUT reset_at timestamptz)
    AS 'MODULE_PATHNAME', 'fashionrec_serving_stats_info'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION fashionrec.serving_stats_info() IS
    'State of the serving statistics: enabled (preloaded), tracking (fashionrec.track_serving), capacity, entries in use (all databases), entries evicted, last reset';

CREATE FUNCTION fashionrec.reset_serving_stats(name text DEFAULT NULL) RETURNS bigint
    AS 'MODULE_PATHNAME', 'fashionrec_reset_serving_stats'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION fashionrec.reset_serving_stats(text) IS
    'Drop the serving statistics of this database, or of one model name; returns the number of entries dropped';

CREATE FUNCTION fashionrec.latency_quantile(histogram bigint[], q double precision)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'fashionrec_latency_quantile'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.latency_quantile(bigint[], double precision) IS
    'The q-quantile in milliseconds of a serving latency histogram (calls spread log-uniformly within a bucket); NULL when empty';

CREATE FUNCTION fashionrec.latency_buckets()
    RETURNS TABLE (bucket integer, lower_ms double precision, upper_ms double precision)
    AS 'MODULE_PATHNAME', 'fashionrec_latency_buckets'
    LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 218;
COMMENT ON FUNCTION fashionrec.latency_buckets() IS
    'The buckets of the serving latency histogram: eight per doubling from 1 microsecond, the last one open';

-- ---- history ---------------------------------------------------------------

-- The cumulative counters seen by the last snapshot, so that the next one
-- records what happened in between.  Not dumped: counters restart with the
-- server anyway.
CREATE TABLE fashionrec.stats_snapshot_state (
    model_id     bigint NOT NULL,
    function     text NOT NULL,
    stats_since  timestamptz NOT NULL,
    taken_at     timestamptz NOT NULL,
    calls        bigint NOT NULL,
    rows         bigint NOT NULL,
    errors       bigint NOT NULL,
    cache_loads  bigint NOT NULL,
    total_ms     double precision NOT NULL,
    histogram    bigint[] NOT NULL,
    PRIMARY KEY (model_id, function)
);
COMMENT ON TABLE fashionrec.stats_snapshot_state IS
    'Internal: the serving counters at the last snapshot_stats(), to record the next interval';

CREATE TABLE fashionrec.stats_history (
    id           bigserial PRIMARY KEY,
    taken_at     timestamptz NOT NULL,
    seconds      double precision NOT NULL CHECK (seconds >= 0),
    model        text,
    version      integer,
    model_id     bigint NOT NULL,
    function     text NOT NULL,
    calls        bigint NOT NULL,
    rows         bigint NOT NULL,
    errors       bigint NOT NULL,
    cache_loads  bigint NOT NULL,
    mean_ms      double precision,
    p50_ms       double precision,
    p95_ms       double precision,
    p99_ms       double precision
);
CREATE INDEX stats_history_by_series ON fashionrec.stats_history (model, version, function, taken_at);
CREATE INDEX stats_history_by_time ON fashionrec.stats_history (taken_at);
COMMENT ON TABLE fashionrec.stats_history IS
    'Serving statistics per interval between two snapshot_stats() calls: calls, errors, cache loads and latency percentiles of that interval';
SELECT pg_catalog.pg_extension_config_dump('fashionrec.stats_history', '');
SELECT pg_catalog.pg_extension_config_dump('fashionrec.stats_history_id_seq', '');

CREATE TABLE fashionrec.online_history (
    id              bigserial PRIMARY KEY,
    taken_at        timestamptz NOT NULL,
    seconds         double precision NOT NULL CHECK (seconds >= 0),
    experiment      text NOT NULL,
    variant         text NOT NULL,
    model           text,
    version         integer,
    users           bigint NOT NULL,
    exposures       bigint NOT NULL,
    clicks          bigint NOT NULL,
    purchases       bigint NOT NULL,
    revenue         double precision NOT NULL,
    ctr             double precision,
    conversion_rate double precision
);
CREATE INDEX online_history_by_series ON fashionrec.online_history (experiment, variant, taken_at);
COMMENT ON TABLE fashionrec.online_history IS
    'Online metrics per A/B variant and interval between two snapshot_stats() calls: exposures, clicks, purchases, revenue, CTR (clicks per exposure) and conversion rate (purchases per exposure)';
SELECT pg_catalog.pg_extension_config_dump('fashionrec.online_history', '');
SELECT pg_catalog.pg_extension_config_dump('fashionrec.online_history_id_seq', '');

-- Online metrics of the A/B events (src/sql/60_abtest.sql) of an interval.
-- Dynamic SQL, so that this file does not depend on that one.
CREATE FUNCTION fashionrec._snapshot_online(since timestamptz, taken_at timestamptz)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_rows bigint;
BEGIN
    IF pg_catalog.to_regclass('fashionrec.event') IS NULL
       OR pg_catalog.to_regclass('fashionrec.variant') IS NULL
       OR pg_catalog.to_regclass('fashionrec.experiment') IS NULL THEN
        RETURN 0;
    END IF;
    EXECUTE $q$
        INSERT INTO fashionrec.online_history (taken_at, seconds, experiment, variant, model, version,
                                               users, exposures, clicks, purchases, revenue,
                                               ctr, conversion_rate)
        SELECT $2, GREATEST(EXTRACT(epoch FROM $2 - GREATEST($1, x.started_at)), 0),
               x.name, v.name, v.model, v.version,
               count(DISTINCT e.user_id),
               count(*) FILTER (WHERE e.event_type = 'exposure'),
               count(*) FILTER (WHERE e.event_type = 'click'),
               count(*) FILTER (WHERE e.event_type = 'purchase'),
               COALESCE(sum(e.value) FILTER (WHERE e.event_type = 'purchase'), 0),
               count(*) FILTER (WHERE e.event_type = 'click')::float8
                   / NULLIF(count(*) FILTER (WHERE e.event_type = 'exposure'), 0),
               count(*) FILTER (WHERE e.event_type = 'purchase')::float8
                   / NULLIF(count(*) FILTER (WHERE e.event_type = 'exposure'), 0)
          FROM fashionrec.event e
          JOIN fashionrec.variant v ON v.id = e.variant_id
          JOIN fashionrec.experiment x ON x.id = e.experiment_id
         WHERE e.occurred_at > $1 AND e.occurred_at <= $2
         GROUP BY x.name, x.started_at, v.name, v.model, v.version
        $q$ USING since, taken_at;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END
$$;
COMMENT ON FUNCTION fashionrec._snapshot_online(timestamptz, timestamptz) IS
    'Internal: appends the A/B online metrics of an interval to online_history when the A/B tables exist';

CREATE FUNCTION fashionrec.snapshot_stats(retention interval DEFAULT '90 days')
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now    timestamptz := pg_catalog.clock_timestamp();
    v_since  timestamptz;
    v_rows   bigint := 0;
    v_online bigint;
BEGIN
    -- one snapshot at a time, so each interval is recorded once
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('fashionrec.snapshot_stats'), 0);
    SELECT pg_catalog.max(h.taken_at) INTO v_since
      FROM (SELECT s.taken_at FROM fashionrec.stats_history s
            UNION ALL SELECT o.taken_at FROM fashionrec.online_history o
            UNION ALL SELECT st.taken_at FROM fashionrec.stats_snapshot_state st) h;

    IF (SELECT i.enabled FROM fashionrec.serving_stats_info() i) THEN
        WITH cur AS MATERIALIZED (
            SELECT s.model_id, s.name, s.version, s.function, s.stats_since,
                   -- the history counts loads wherever they went: private or the shared store
                   s.calls, s.rows, s.errors, s.cache_loads + s.shared_loads AS cache_loads,
                   s.total_ms, s.histogram,
                   -- a new entry, or one reset since the last snapshot, counts from its start
                   (st.model_id IS NULL OR st.stats_since <> s.stats_since OR st.calls > s.calls) AS fresh,
                   st.taken_at AS prev_taken_at, st.calls AS prev_calls, st.rows AS prev_rows,
                   st.errors AS prev_errors, st.cache_loads AS prev_loads,
                   st.total_ms AS prev_total_ms, st.histogram AS prev_histogram
              FROM fashionrec._serving_stats() s
              LEFT JOIN fashionrec.stats_snapshot_state st
                     ON st.model_id = s.model_id AND st.function = s.function
             WHERE s.note IS NULL),
        delta AS (
            SELECT c.*,
                   CASE WHEN c.fresh THEN c.stats_since ELSE c.prev_taken_at END AS interval_start,
                   c.calls - CASE WHEN c.fresh THEN 0 ELSE c.prev_calls END AS d_calls,
                   c.rows - CASE WHEN c.fresh THEN 0 ELSE c.prev_rows END AS d_rows,
                   c.errors - CASE WHEN c.fresh THEN 0 ELSE c.prev_errors END AS d_errors,
                   c.cache_loads - CASE WHEN c.fresh THEN 0 ELSE c.prev_loads END AS d_loads,
                   c.total_ms - CASE WHEN c.fresh THEN 0 ELSE c.prev_total_ms END AS d_total_ms,
                   CASE WHEN c.fresh THEN c.histogram
                        ELSE ARRAY(SELECT GREATEST(h.now_n - h.prev_n, 0)
                                     FROM unnest(c.histogram, c.prev_histogram) WITH ORDINALITY
                                          AS h(now_n, prev_n, bucket)
                                    ORDER BY h.bucket) END AS d_histogram
              FROM cur c),
        history AS (
            INSERT INTO fashionrec.stats_history (taken_at, seconds, model, version, model_id, function,
                                                  calls, rows, errors, cache_loads,
                                                  mean_ms, p50_ms, p95_ms, p99_ms)
            SELECT v_now, GREATEST(EXTRACT(epoch FROM v_now - d.interval_start), 0),
                   d.name, d.version, d.model_id, d.function,
                   d.d_calls, d.d_rows, d.d_errors, d.d_loads,
                   d.d_total_ms / NULLIF(d.d_calls, 0),
                   fashionrec.latency_quantile(d.d_histogram, 0.5),
                   fashionrec.latency_quantile(d.d_histogram, 0.95),
                   fashionrec.latency_quantile(d.d_histogram, 0.99)
              FROM delta d
            RETURNING 1),
        gone AS (
            DELETE FROM fashionrec.stats_snapshot_state st
             WHERE NOT EXISTS (SELECT FROM cur c WHERE c.model_id = st.model_id AND c.function = st.function)),
        state AS (
            INSERT INTO fashionrec.stats_snapshot_state AS st (model_id, function, stats_since, taken_at, calls,
                                                               rows, errors, cache_loads, total_ms, histogram)
            SELECT c.model_id, c.function, c.stats_since, v_now, c.calls, c.rows, c.errors,
                   c.cache_loads, c.total_ms, c.histogram
              FROM cur c
            ON CONFLICT (model_id, function) DO UPDATE
               SET stats_since = EXCLUDED.stats_since, taken_at = EXCLUDED.taken_at,
                   calls = EXCLUDED.calls, rows = EXCLUDED.rows, errors = EXCLUDED.errors,
                   cache_loads = EXCLUDED.cache_loads, total_ms = EXCLUDED.total_ms,
                   histogram = EXCLUDED.histogram)
        SELECT pg_catalog.count(*) INTO v_rows FROM history;
    END IF;

    v_online := fashionrec._snapshot_online(COALESCE(v_since, '-infinity'), v_now);

    IF snapshot_stats.retention IS NOT NULL THEN
        DELETE FROM fashionrec.stats_history h WHERE h.taken_at < v_now - snapshot_stats.retention;
        DELETE FROM fashionrec.online_history o WHERE o.taken_at < v_now - snapshot_stats.retention;
    END IF;
    RETURN v_rows + v_online;
END
$$;
COMMENT ON FUNCTION fashionrec.snapshot_stats(interval) IS
    'Append what was served since the last snapshot (per model version and function) and the A/B online metrics to the history tables; drops history older than retention. Schedule it with pg_cron, e.g. every 5 minutes';

-- ---- anomalies -------------------------------------------------------------

CREATE VIEW fashionrec.metric_series AS
SELECT h.taken_at, 'serving'::text AS source,
       CASE WHEN h.model IS NULL THEN '(no model) ' || h.function
            ELSE pg_catalog.format('%s v%s %s', h.model, h.version, h.function) END AS series,
       m.metric, m.value
  FROM fashionrec.stats_history h
 CROSS JOIN LATERAL (VALUES ('calls_per_second', h.calls / NULLIF(h.seconds, 0)),
                            ('error_rate', h.errors::float8 / NULLIF(h.calls, 0)),
                            ('mean_ms', h.mean_ms),
                            ('p95_ms', h.p95_ms),
                            ('p99_ms', h.p99_ms)) AS m(metric, value)
 WHERE m.value IS NOT NULL
UNION ALL
SELECT o.taken_at, 'online'::text,
       pg_catalog.format('%s / %s', o.experiment, o.variant),
       m.metric, m.value
  FROM fashionrec.online_history o
 CROSS JOIN LATERAL (VALUES ('exposures_per_second', o.exposures / NULLIF(o.seconds, 0)),
                            ('ctr', o.ctr),
                            ('conversion_rate', o.conversion_rate)) AS m(metric, value)
 WHERE m.value IS NOT NULL;
COMMENT ON VIEW fashionrec.metric_series IS
    'The history tables as series of (time, value): per model version and function calls per second, error rate, latencies; per A/B variant exposures per second, CTR, conversion rate';

-- Modified z-score (Iglewicz and Hoaglin): distance from the trailing median
-- in units of 1.4826 * MAD, the standard deviation for normal data, robust to
-- the outliers it is looking for.  MAD = 0 (most of the window equal) falls
-- back to 1.2533 * mean absolute deviation; the scale is never below 5% of
-- the median, so a very steady series is not flagged for a change nobody
-- would act on.  A flat series of zeros (no errors) flags any non-zero value
-- with an infinite z.
CREATE FUNCTION fashionrec.robust_zscore(value double precision, earlier double precision[],
                                         OUT median double precision, OUT scale double precision,
                                         OUT z double precision)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH m AS (
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY t.v) AS med
          FROM unnest(earlier) AS t(v) WHERE t.v IS NOT NULL),
    d AS (
        SELECT m.med,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(t.v - m.med)) AS mad,
               avg(abs(t.v - m.med)) AS meanad
          FROM m, unnest(earlier) AS t(v)
         WHERE t.v IS NOT NULL
         GROUP BY m.med),
    s AS (
        SELECT d.med,
               GREATEST(CASE WHEN d.mad > 0 THEN 1.4826 * d.mad ELSE 1.2533 * d.meanad END,
                        0.05 * abs(d.med)) AS scale
          FROM d)
    SELECT s.med, s.scale,
           CASE WHEN value IS NULL THEN NULL
                WHEN value = s.med THEN 0
                WHEN s.scale > 0 THEN (value - s.med) / s.scale
                WHEN value > s.med THEN 'Infinity'::float8
                ELSE '-Infinity'::float8 END
      FROM s
$$;
COMMENT ON FUNCTION fashionrec.robust_zscore(double precision, double precision[]) IS
    'Modified z-score of a value against a window of earlier values: (value - median) / (1.4826 MAD), with fallbacks for a constant window';

CREATE FUNCTION fashionrec.detect_anomalies(since timestamptz DEFAULT pg_catalog.now() - interval '1 day',
                                            window_size integer DEFAULT 24,
                                            threshold double precision DEFAULT 3.5,
                                            min_points integer DEFAULT 8)
    RETURNS TABLE (taken_at timestamptz, source text, series text, metric text,
                   value double precision, median double precision, scale double precision,
                   z double precision, direction text, points bigint)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF window_size IS NULL OR window_size < 3 OR window_size > 10000 THEN
        RAISE EXCEPTION 'window_size must be between 3 and 10000, got %', window_size
              USING ERRCODE = '22023';
    END IF;
    IF threshold IS NULL OR NOT threshold > 0 OR threshold = 'Infinity' THEN
        RAISE EXCEPTION 'threshold must be a positive number, got %', threshold
              USING ERRCODE = '22023';
    END IF;
    IF min_points IS NULL OR min_points < 3 OR min_points > window_size THEN
        RAISE EXCEPTION 'min_points must be between 3 and window_size (%), got %', window_size, min_points
              USING ERRCODE = '22023';
    END IF;
    RETURN QUERY EXECUTE pg_catalog.format($q$
        SELECT w.taken_at, w.source, w.series, w.metric, w.value, r.median, r.scale, r.z,
               CASE WHEN r.z > 0 THEN 'high' ELSE 'low' END, w.points
          FROM (SELECT s.taken_at, s.source, s.series, s.metric, s.value,
                       array_agg(s.value) OVER win AS earlier,
                       count(*) OVER win AS points
                  FROM fashionrec.metric_series s
                WINDOW win AS (PARTITION BY s.source, s.series, s.metric ORDER BY s.taken_at
                               ROWS BETWEEN %s PRECEDING AND 1 PRECEDING)) w
         CROSS JOIN LATERAL fashionrec.robust_zscore(w.value, w.earlier) r
         WHERE w.taken_at >= $1 AND w.points >= $2 AND abs(r.z) > $3
         ORDER BY w.taken_at DESC, abs(r.z) DESC, w.series, w.metric
        $q$, window_size)
      USING COALESCE(since, '-infinity'), min_points, threshold;
END
$$;
COMMENT ON FUNCTION fashionrec.detect_anomalies(timestamptz, integer, double precision, integer) IS
    'Points of the history series (metric_series) since a time whose modified z-score against the previous window_size points exceeds threshold';

CREATE VIEW fashionrec.anomalies AS
SELECT a.taken_at, a.source, a.series, a.metric, a.value, a.median, a.z, a.direction
  FROM fashionrec.detect_anomalies() a;
COMMENT ON VIEW fashionrec.anomalies IS
    'History points of the last 24 hours that stand out from the previous 24 snapshots of their series (|modified z| > 3.5): latency jumps, error bursts, traffic or CTR drops';

-- ---- drift -------------------------------------------------------------------

CREATE FUNCTION fashionrec._item_popularity(model_id bigint)
    RETURNS TABLE (item_id bigint, weight double precision)
    AS 'MODULE_PATHNAME', 'fashionrec_item_popularity'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec._item_popularity(bigint) IS
    'Internal: the items of a model row and their summed training weight (its item_popularity artifact)';

CREATE FUNCTION fashionrec._user_activity(model_id bigint)
    RETURNS TABLE (user_id bigint, items bigint)
    AS 'MODULE_PATHNAME', 'fashionrec_user_activity'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec._user_activity(bigint) IS
    'Internal: the users of a model row and how many distinct items each had in the training data';

CREATE FUNCTION fashionrec._training_pairs(model_id bigint)
    RETURNS TABLE (user_id bigint, item_id bigint)
    AS 'MODULE_PATHNAME', 'fashionrec_training_pairs'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec._training_pairs(bigint) IS
    'Internal: the (user, item) pairs a model row was trained on';

-- The model row of a name and version (NULL: the active one), or the error
-- recommend() gives for it.
CREATE FUNCTION fashionrec._model_row(name text, version integer)
    RETURNS fashionrec.model
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_model fashionrec.model%ROWTYPE;
BEGIN
    IF _model_row.name IS NULL THEN
        RAISE EXCEPTION 'model name must not be NULL' USING ERRCODE = '22004';
    END IF;
    SELECT m.* INTO v_model FROM fashionrec.model m
     WHERE m.name = _model_row.name AND m.status <> 'training'
       AND CASE WHEN _model_row.version IS NULL THEN m.active ELSE m.version = _model_row.version END;
    IF NOT FOUND THEN
        PERFORM fashionrec.recommend(_model_row.name, 0, 1, version => _model_row.version);
        RAISE EXCEPTION 'model "%" has no version to use', _model_row.name USING ERRCODE = '42704';
    END IF;
    RETURN v_model;
END
$$;
COMMENT ON FUNCTION fashionrec._model_row(text, integer) IS
    'Internal: the registry row of a model version (the active one when version is NULL), with recommend()''s errors';

-- A table or view name as a query; anything else is taken as a query.  Not
-- pinned to a search_path: names resolve as the caller expects, and the
-- result is schema-qualified so that it means the same anywhere.
CREATE FUNCTION fashionrec._as_query(source text) RETURNS text
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_rel regclass;
BEGIN
    IF source ~* '^\s*(select|with|values|table)\M' THEN
        RETURN pg_catalog.regexp_replace(source, ';\s*$', '');
    END IF;
    v_rel := pg_catalog.to_regclass(source);
    IF v_rel IS NULL THEN
        RAISE EXCEPTION 'relation or query "%" is not valid', source
              USING ERRCODE = '22023',
                    HINT = 'Pass a table or view name, or a query starting with SELECT, WITH, VALUES or TABLE.';
    END IF;
    RETURN (SELECT pg_catalog.format('TABLE %I.%I', n.nspname, c.relname)
              FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE c.oid = v_rel);
END
$$;
COMMENT ON FUNCTION fashionrec._as_query(text) IS
    'Internal: a table or view name as TABLE name, a query as itself (trailing semicolon removed)';

-- Divergences of a set of distributions: rows (signal, bucket, training
-- share, recent share, recent interactions) in, per signal PSI and KL out.
-- Shares below 1e-4 count as 1e-4, so an empty bucket gives a large but
-- finite divergence.  Not pinned to a search_path: an attributes query
-- resolves its names as the caller expects.
CREATE FUNCTION fashionrec._divergence(dist_query text)
    RETURNS TABLE (signal text, psi double precision, kl double precision, n bigint,
                   buckets bigint, top_bucket text, top_train double precision,
                   top_recent double precision)
    LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    RETURN QUERY EXECUTE pg_catalog.format($q$
        SELECT d.signal,
               pg_catalog.sum((f.r - f.t) * pg_catalog.ln(f.r / f.t)),
               pg_catalog.sum(f.r * pg_catalog.ln(f.r / f.t)),
               pg_catalog.max(d.n)::bigint,
               pg_catalog.count(*),
               (pg_catalog.array_agg(d.bucket ORDER BY pg_catalog.abs(COALESCE(d.r, 0) - COALESCE(d.t, 0)) DESC, d.bucket))[1],
               (pg_catalog.array_agg(d.t ORDER BY pg_catalog.abs(COALESCE(d.r, 0) - COALESCE(d.t, 0)) DESC, d.bucket))[1],
               (pg_catalog.array_agg(d.r ORDER BY pg_catalog.abs(COALESCE(d.r, 0) - COALESCE(d.t, 0)) DESC, d.bucket))[1]
          FROM (%s) AS d(signal, bucket, t, r, n)
         CROSS JOIN LATERAL (SELECT CASE WHEN d.t IS NOT NULL THEN GREATEST(d.t, 1e-4) END::float8 AS t,
                                    CASE WHEN d.r IS NOT NULL THEN GREATEST(d.r, 1e-4) END::float8 AS r) f
         GROUP BY d.signal
        $q$, dist_query);
END
$$;
COMMENT ON FUNCTION fashionrec._divergence(text) IS
    'Internal: PSI and KL divergence per signal of (signal, bucket, training share, recent share, n) rows';

CREATE FUNCTION fashionrec.drift(name text, recent_source text,
                                 version integer DEFAULT NULL,
                                 attributes text DEFAULT NULL,
                                 bins integer DEFAULT 10,
                                 thresholds jsonb DEFAULT '{}',
                                 params jsonb DEFAULT NULL)
    RETURNS TABLE (signal text, measure text, value double precision,
                   warning double precision, alert double precision,
                   verdict text, detail text)
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_model    fashionrec.model%ROWTYPE;
    v_query    text;
    v_t        jsonb := '{"psi_warning": 0.1, "psi_alert": 0.25,
                          "kl_warning": 0.05, "kl_alert": 0.125,
                          "unknown_users_warning": 0.2, "unknown_users_alert": 0.5,
                          "unknown_items_warning": 0.05, "unknown_items_alert": 0.2,
                          "min_interactions": 500}';
    v_key      text;
    v_val      jsonb;
    v_dist     text;
    v_attrs    text;
    d          jsonb;
    v_res      jsonb;
    v_n        bigint;
    v_users    bigint;
    v_unknown_users bigint;
    v_rows     bigint;
    v_unknown_rows bigint;
    v_signals  text[] := ARRAY['item_popularity', 'user_activity'];
    v_sig      text;
BEGIN
    IF drift.recent_source IS NULL OR drift.bins IS NULL THEN
        RAISE EXCEPTION 'recent_source and bins must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF drift.bins < 2 OR drift.bins > 1000 THEN
        RAISE EXCEPTION 'bins must be between 2 and 1000, got %', drift.bins USING ERRCODE = '22023';
    END IF;
    IF drift.thresholds IS NOT NULL THEN
        IF pg_catalog.jsonb_typeof(drift.thresholds) <> 'object' THEN
            RAISE EXCEPTION 'thresholds must be a JSON object' USING ERRCODE = '22023';
        END IF;
        FOR v_key, v_val IN SELECT e.key, e.value FROM pg_catalog.jsonb_each(drift.thresholds) e LOOP
            IF NOT v_t ? v_key THEN
                RAISE EXCEPTION 'unknown threshold "%"', v_key
                      USING ERRCODE = '22023',
                            HINT = 'Known thresholds: ' || (SELECT pg_catalog.string_agg(k, ', ' ORDER BY k)
                                                              FROM pg_catalog.jsonb_object_keys(v_t) k) || '.';
            END IF;
            IF pg_catalog.jsonb_typeof(v_val) <> 'number' OR v_val::text::float8 < 0 THEN
                RAISE EXCEPTION 'threshold "%" must be a non-negative number, got %', v_key, v_val
                      USING ERRCODE = '22023';
            END IF;
        END LOOP;
        v_t := v_t || drift.thresholds;
    END IF;

    v_model := fashionrec._model_row(drift.name, drift.version);
    v_query := fashionrec.source_query(drift.recent_source,
                                       COALESCE(drift.params, fashionrec._column_params(v_model.params)));

    -- unknown users (share of distinct users) and items (share of interactions)
    EXECUTE pg_catalog.format($q$
        WITH recent AS (SELECT r.user_id, r.item_id FROM (%s) r
                         WHERE r.user_id IS NOT NULL AND r.item_id IS NOT NULL)
        SELECT (SELECT pg_catalog.count(DISTINCT r.user_id) FROM recent r),
               (SELECT pg_catalog.count(DISTINCT r.user_id) FROM recent r
                 WHERE NOT EXISTS (SELECT FROM fashionrec._user_activity($1) u WHERE u.user_id = r.user_id)),
               (SELECT pg_catalog.count(*) FROM recent r),
               (SELECT pg_catalog.count(*) FROM recent r
                 WHERE NOT EXISTS (SELECT FROM fashionrec._item_popularity($1) i WHERE i.item_id = r.item_id))
        $q$, v_query)
      INTO v_users, v_unknown_users, v_rows, v_unknown_rows
      USING v_model.id;

    -- Popularity and activity: training items (users) ranked by their
    -- training mass and cut into bins of equal mass; compared is the share
    -- of the recent window's mass that falls on each bin.  Only known items
    -- (users) count; the unknown ones are the signals above.  Equal-mass bins
    -- of the reference make the measure independent of the window's length.
    v_dist := pg_catalog.format($q$
        WITH recent AS MATERIALIZED (
            SELECT r.user_id, r.item_id, r.weight FROM (%1$s) r
             WHERE r.user_id IS NOT NULL AND r.item_id IS NOT NULL),
        items AS MATERIALIZED (
            SELECT p.item_id, p.weight AS mass,
                   GREATEST(LEAST(pg_catalog.floor((pg_catalog.sum(p.weight) OVER w - p.weight)
                                   / NULLIF(pg_catalog.sum(p.weight) OVER (), 0) * %2$s)::int, %2$s - 1), 0) AS bin
              FROM fashionrec._item_popularity(%3$s) p
            WINDOW w AS (ORDER BY p.weight DESC, p.item_id ROWS UNBOUNDED PRECEDING)),
        users AS MATERIALIZED (
            SELECT a.user_id, a.items::float8 AS mass,
                   GREATEST(LEAST(pg_catalog.floor((pg_catalog.sum(a.items) OVER w - a.items)
                                   / NULLIF(pg_catalog.sum(a.items) OVER (), 0) * %2$s)::int, %2$s - 1), 0) AS bin
              FROM fashionrec._user_activity(%3$s) a
            WINDOW w AS (ORDER BY a.items DESC, a.user_id ROWS UNBOUNDED PRECEDING)),
        item_train AS (
            SELECT i.bin, pg_catalog.sum(i.mass) / NULLIF(pg_catalog.sum(pg_catalog.sum(i.mass)) OVER (), 0) AS t
              FROM items i WHERE i.bin IS NOT NULL GROUP BY i.bin),
        item_recent AS (
            SELECT i.bin, pg_catalog.sum(r.weight) AS mass, pg_catalog.count(*) AS n
              FROM recent r JOIN items i ON i.item_id = r.item_id GROUP BY i.bin),
        user_train AS (
            SELECT u.bin, pg_catalog.sum(u.mass) / NULLIF(pg_catalog.sum(pg_catalog.sum(u.mass)) OVER (), 0) AS t
              FROM users u WHERE u.bin IS NOT NULL GROUP BY u.bin),
        user_recent AS (
            SELECT u.bin, pg_catalog.count(*)::float8 AS mass, pg_catalog.count(*) AS n
              FROM (SELECT DISTINCT r.user_id, r.item_id FROM recent r) r
              JOIN users u ON u.user_id = r.user_id GROUP BY u.bin)
        SELECT 'item_popularity', (t.bin + 1)::text, t.t,
               COALESCE(r.mass, 0) / NULLIF(pg_catalog.sum(COALESCE(r.mass, 0)) OVER (), 0),
               pg_catalog.sum(COALESCE(r.n, 0)) OVER ()
          FROM item_train t LEFT JOIN item_recent r ON r.bin = t.bin
        UNION ALL
        SELECT 'user_activity', (t.bin + 1)::text, t.t,
               COALESCE(r.mass, 0) / NULLIF(pg_catalog.sum(COALESCE(r.mass, 0)) OVER (), 0),
               pg_catalog.sum(COALESCE(r.n, 0)) OVER ()
          FROM user_train t LEFT JOIN user_recent r ON r.bin = t.bin
        $q$, v_query, drift.bins, v_model.id);

    -- Attributes: the query's first column is the item id, every further
    -- column an attribute; training shares are weighted by training
    -- popularity, recent shares by the recent weight of all recent items,
    -- known or not (a new season's items still have a category).
    IF drift.attributes IS NOT NULL THEN
        v_attrs := pg_catalog.format($q$
            WITH recent AS MATERIALIZED (
                SELECT r.item_id, r.weight FROM (%1$s) r
                 WHERE r.user_id IS NOT NULL AND r.item_id IS NOT NULL),
            attrs AS MATERIALIZED (
                SELECT a.fr_key::bigint AS item_id, e.key AS attribute, e.n,
                       COALESCE(e.value, '(null)') AS value
                  FROM (%2$s) AS a(fr_key),
                       LATERAL pg_catalog.json_each_text(pg_catalog.row_to_json(a)) WITH ORDINALITY AS e(key, value, n)
                 WHERE e.n > 1),
            names AS (SELECT DISTINCT x.attribute FROM attrs x),
            train AS (
                SELECT nm.attribute, COALESCE(x.value, '(none)') AS bucket, pg_catalog.sum(p.weight) AS mass
                  FROM fashionrec._item_popularity(%3$s) p CROSS JOIN names nm
                  LEFT JOIN attrs x ON x.item_id = p.item_id AND x.attribute = nm.attribute
                 GROUP BY 1, 2),
            rec AS (
                SELECT nm.attribute, COALESCE(x.value, '(none)') AS bucket, pg_catalog.sum(r.weight) AS mass,
                       pg_catalog.count(*) AS n
                  FROM recent r CROSS JOIN names nm
                  LEFT JOIN attrs x ON x.item_id = r.item_id AND x.attribute = nm.attribute
                 GROUP BY 1, 2),
            joined AS (
                SELECT COALESCE(t.attribute, r.attribute) AS attribute, COALESCE(t.bucket, r.bucket) AS bucket,
                       COALESCE(t.mass, 0) AS tm, COALESCE(r.mass, 0) AS rm, COALESCE(r.n, 0) AS n
                  FROM train t FULL JOIN rec r ON r.attribute = t.attribute AND r.bucket = t.bucket)
            SELECT 'attribute:' || j.attribute, j.bucket,
                   j.tm / NULLIF(pg_catalog.sum(j.tm) OVER (PARTITION BY j.attribute), 0),
                   j.rm / NULLIF(pg_catalog.sum(j.rm) OVER (PARTITION BY j.attribute), 0),
                   pg_catalog.sum(j.n) OVER (PARTITION BY j.attribute)
              FROM joined j
            $q$, v_query, fashionrec._as_query(drift.attributes), v_model.id);
    END IF;

    -- one row per divergence, in a fixed order (attributes alphabetically)
    SELECT pg_catalog.jsonb_object_agg(x.signal, pg_catalog.to_jsonb(x)) INTO v_res
      FROM (SELECT * FROM fashionrec._divergence(v_dist)
            UNION ALL
            SELECT * FROM fashionrec._divergence(v_attrs) WHERE v_attrs IS NOT NULL) x;
    v_res := COALESCE(v_res, '{}');
    IF v_attrs IS NOT NULL THEN
        v_signals := v_signals || ARRAY(SELECT k FROM pg_catalog.jsonb_object_keys(v_res) k
                                         WHERE k LIKE 'attribute:%' ORDER BY k);
        IF pg_catalog.cardinality(v_signals) = 2 THEN
            RAISE EXCEPTION 'attributes must return an item id and at least one attribute column'
                  USING ERRCODE = '22023',
                        HINT = 'For example ''SELECT product_id, category, colour FROM products''.';
        END IF;
    END IF;

    FOREACH v_sig IN ARRAY v_signals LOOP
        d := v_res -> v_sig;
        v_n := COALESCE((d ->> 'n')::bigint, 0);
        FOR measure, value IN SELECT 'psi', (d ->> 'psi')::float8 UNION ALL SELECT 'kl', (d ->> 'kl')::float8 LOOP
            signal := v_sig;
            warning := (v_t ->> (measure || '_warning'))::float8;
            alert := (v_t ->> (measure || '_alert'))::float8;
            verdict := CASE WHEN value IS NULL OR v_n < (v_t ->> 'min_interactions')::float8
                                 THEN 'insufficient data'
                            WHEN value >= alert THEN 'drift'
                            WHEN value >= warning THEN 'warning'
                            ELSE 'ok' END;
            detail := CASE WHEN v_n = 0
                                THEN 'no recent interactions with known ' ||
                                     CASE WHEN v_sig = 'user_activity' THEN 'users' ELSE 'items' END
                           ELSE pg_catalog.format('%s recent interactions over %s %s; largest shift: %s %s, %s%% of training, %s%% recent',
                                    v_n, d ->> 'buckets',
                                    CASE WHEN v_sig LIKE 'attribute:%' THEN 'values' ELSE 'bins' END,
                                    CASE WHEN v_sig LIKE 'attribute:%' THEN 'value' ELSE 'bin' END,
                                    d ->> 'top_bucket',
                                    pg_catalog.round(((d ->> 'top_train')::numeric * 100), 1),
                                    pg_catalog.round((COALESCE((d ->> 'top_recent')::numeric, 0) * 100), 1)) END;
            RETURN NEXT;
        END LOOP;
    END LOOP;

    signal := 'unknown_users';
    measure := 'share';
    value := v_unknown_users::float8 / NULLIF(v_users, 0);
    warning := (v_t ->> 'unknown_users_warning')::float8;
    alert := (v_t ->> 'unknown_users_alert')::float8;
    verdict := CASE WHEN value IS NULL THEN 'insufficient data' WHEN value >= alert THEN 'drift'
                    WHEN value >= warning THEN 'warning' ELSE 'ok' END;
    detail := pg_catalog.format('%s of %s recent users are not in the model', v_unknown_users, v_users);
    RETURN NEXT;

    signal := 'unknown_items';
    value := v_unknown_rows::float8 / NULLIF(v_rows, 0);
    warning := (v_t ->> 'unknown_items_warning')::float8;
    alert := (v_t ->> 'unknown_items_alert')::float8;
    verdict := CASE WHEN value IS NULL THEN 'insufficient data' WHEN value >= alert THEN 'drift'
                    WHEN value >= warning THEN 'warning' ELSE 'ok' END;
    detail := pg_catalog.format('%s of %s recent interactions are on items not in the model', v_unknown_rows, v_rows);
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION fashionrec.drift(text, text, integer, text, integer, jsonb, jsonb) IS
    'Compare a model version''s training data with a recent window: PSI and KL divergence of item popularity, user activity and optional item attributes, shares of unknown users and items, each with thresholds and a verdict';

-- ---- evaluation by segment ---------------------------------------------------

CREATE FUNCTION fashionrec.evaluate_segments(name text, test_source text,
                                             segment_by text DEFAULT 'user_activity',
                                             k integer DEFAULT 10,
                                             version integer DEFAULT NULL,
                                             segment_query text DEFAULT NULL,
                                             exclude_seen boolean DEFAULT true,
                                             params jsonb DEFAULT '{}')
    RETURNS TABLE (segment text, users bigint, relevant bigint,
                   precision_at_k double precision, recall_at_k double precision,
                   ndcg_at_k double precision, map_at_k double precision,
                   hit_rate double precision)
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_model  fashionrec.model%ROWTYPE;
    v_query  text;
    v_seg    text;
    v_by_item boolean;
BEGIN
    IF evaluate_segments.test_source IS NULL OR evaluate_segments.k IS NULL
       OR evaluate_segments.segment_by IS NULL THEN
        RAISE EXCEPTION 'test_source, segment_by and k must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF evaluate_segments.k <= 0 THEN
        RAISE EXCEPTION 'k must be positive, got %', evaluate_segments.k USING ERRCODE = '22023';
    END IF;
    IF evaluate_segments.segment_by NOT IN ('user_activity', 'item_popularity', 'users', 'items') THEN
        RAISE EXCEPTION 'unknown segment_by "%"', evaluate_segments.segment_by
              USING ERRCODE = '22023',
                    HINT = 'Use user_activity, item_popularity, or users/items with a segment_query.';
    END IF;
    IF evaluate_segments.segment_by IN ('users', 'items') AND evaluate_segments.segment_query IS NULL THEN
        RAISE EXCEPTION 'segment_by "%" needs a segment_query', evaluate_segments.segment_by
              USING ERRCODE = '22023',
                    HINT = CASE WHEN evaluate_segments.segment_by = 'users'
                                THEN 'For example segment_query => ''SELECT customer_id, gender FROM customers''.'
                                ELSE 'For example segment_query => ''SELECT product_id, category FROM products''.' END;
    END IF;
    IF evaluate_segments.segment_by IN ('user_activity', 'item_popularity')
       AND evaluate_segments.segment_query IS NOT NULL THEN
        RAISE EXCEPTION 'segment_by "%" takes no segment_query', evaluate_segments.segment_by
              USING ERRCODE = '22023',
                    HINT = 'Use segment_by => ''users'' or ''items'' for segments of your own.';
    END IF;

    v_model := fashionrec._model_row(evaluate_segments.name, evaluate_segments.version);
    v_query := fashionrec.source_query(evaluate_segments.test_source, COALESCE(evaluate_segments.params, '{}'));
    v_by_item := evaluate_segments.segment_by IN ('item_popularity', 'items');

    -- (user_id, item_id) of the truth -> (segment, sort key)
    v_seg := CASE evaluate_segments.segment_by
        WHEN 'user_activity' THEN pg_catalog.format($s$
            SELECT t.user_id, t.item_id, b.label, b.ord
              FROM truth t
              LEFT JOIN fashionrec._user_activity(%s) a ON a.user_id = t.user_id
             CROSS JOIN LATERAL (SELECT CASE WHEN a.items IS NULL THEN 'new user'
                                             WHEN a.items <= 2 THEN '1-2 items'
                                             WHEN a.items <= 5 THEN '3-5 items'
                                             WHEN a.items <= 10 THEN '6-10 items'
                                             WHEN a.items <= 20 THEN '11-20 items'
                                             WHEN a.items <= 50 THEN '21-50 items'
                                             WHEN a.items <= 100 THEN '51-100 items'
                                             ELSE 'over 100 items' END AS label,
                                        CASE WHEN a.items IS NULL THEN 0
                                             WHEN a.items <= 2 THEN 1 WHEN a.items <= 5 THEN 2
                                             WHEN a.items <= 10 THEN 3 WHEN a.items <= 20 THEN 4
                                             WHEN a.items <= 50 THEN 5 WHEN a.items <= 100 THEN 6
                                             ELSE 7 END AS ord) b
            $s$, v_model.id)
        WHEN 'item_popularity' THEN pg_catalog.format($s$
            SELECT t.user_id, t.item_id,
                   CASE WHEN p.item_id IS NULL THEN 'new item' WHEN p.third = 0 THEN 'head'
                        WHEN p.third = 1 THEN 'torso' ELSE 'tail' END,
                   COALESCE(p.third, 3)
              FROM truth t
              LEFT JOIN (SELECT i.item_id,
                                LEAST(pg_catalog.floor((pg_catalog.sum(i.weight) OVER w - i.weight)
                                      / NULLIF(pg_catalog.sum(i.weight) OVER (), 0) * 3)::int, 2) AS third
                           FROM fashionrec._item_popularity(%s) i
                         WINDOW w AS (ORDER BY i.weight DESC, i.item_id ROWS UNBOUNDED PRECEDING)) p
                     ON p.item_id = t.item_id
            $s$, v_model.id)
        WHEN 'users' THEN pg_catalog.format($s$
            SELECT t.user_id, t.item_id, COALESCE(s.segment::text, '(none)'), 0
              FROM truth t
              LEFT JOIN (SELECT q.fr_key::bigint AS user_id, q.fr_segment AS segment FROM (%s) AS q(fr_key, fr_segment)) s
                     ON s.user_id = t.user_id
            $s$, fashionrec._as_query(evaluate_segments.segment_query))
        ELSE pg_catalog.format($s$
            SELECT t.user_id, t.item_id, COALESCE(s.segment::text, '(none)'), 0
              FROM truth t
              LEFT JOIN (SELECT q.fr_key::bigint AS item_id, q.fr_segment AS segment FROM (%s) AS q(fr_key, fr_segment)) s
                     ON s.item_id = t.item_id
            $s$, fashionrec._as_query(evaluate_segments.segment_query))
        END;

    -- Item segments: each user is scored against their test items in the
    -- segment, with the same list; user segments: against all their items.
    RETURN QUERY EXECUTE pg_catalog.format($q$
        WITH test AS (%s),
        truth AS (SELECT t.user_id, t.item_id FROM test t
                   WHERE t.user_id IS NOT NULL AND t.item_id IS NOT NULL GROUP BY 1, 2),
        lists AS MATERIALIZED (
            SELECT u.user_id,
                   ARRAY(SELECT r.item_id FROM fashionrec.recommend($1, u.user_id, $2, $3, version => $4) r
                          ORDER BY r.rank) AS recommended
              FROM (SELECT DISTINCT tr.user_id FROM truth tr) u),
        seg AS (%s),
        grouped AS (
            SELECT s.label, s.ord, s.user_id,
                   CASE WHEN $5 THEN pg_catalog.array_agg(s.item_id)
                        ELSE (SELECT pg_catalog.array_agg(tr.item_id) FROM truth tr WHERE tr.user_id = s.user_id) END
                       AS relevant
              FROM seg AS s(user_id, item_id, label, ord)
             GROUP BY s.label, s.ord, s.user_id
            UNION ALL
            SELECT 'all', -1, tr.user_id, pg_catalog.array_agg(tr.item_id)
              FROM truth tr GROUP BY tr.user_id)
        SELECT g.label, pg_catalog.count(*), pg_catalog.sum(pg_catalog.cardinality(g.relevant))::bigint,
               pg_catalog.avg(fashionrec.precision_at_k(l.recommended, g.relevant, $2)),
               pg_catalog.avg(fashionrec.recall_at_k(l.recommended, g.relevant, $2)),
               pg_catalog.avg(fashionrec.ndcg_at_k(l.recommended, g.relevant, $2)),
               pg_catalog.avg(fashionrec.map_at_k(l.recommended, g.relevant, $2)),
               pg_catalog.avg(fashionrec.hit_rate_at_k(l.recommended, g.relevant, $2))
          FROM grouped g JOIN lists l ON l.user_id = g.user_id
         GROUP BY g.label, g.ord
         ORDER BY g.ord, g.label
        $q$, v_query, v_seg)
      USING v_model.name, evaluate_segments.k, evaluate_segments.exclude_seen, v_model.version, v_by_item;
END
$$;
COMMENT ON FUNCTION fashionrec.evaluate_segments(text, text, text, integer, integer, text, boolean, jsonb) IS
    'evaluate() broken down by segment: user activity in the training data, item popularity (head/torso/tail/new), or segments of users or items from a query; first row "all"';

-- ---- automated retraining ------------------------------------------------------

CREATE TABLE fashionrec.retrain_log (
    id                 bigserial PRIMARY KEY,
    name               text NOT NULL,
    started_at         timestamptz NOT NULL,
    finished_at        timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    decision           text NOT NULL CHECK (decision IN ('promoted', 'kept', 'skipped', 'failed')),
    reason             text NOT NULL,
    champion_version   integer,
    challenger_version integer,
    promoted_version   integer,
    metric             text,
    k                  integer,
    margin             double precision,
    champion_score     double precision,
    challenger_score   double precision,
    test_users         bigint,
    test_interactions  bigint,
    source             text,
    details            jsonb NOT NULL DEFAULT '{}',
    run_by             name NOT NULL DEFAULT CURRENT_USER
);
CREATE INDEX retrain_log_by_name ON fashionrec.retrain_log (name, started_at);
COMMENT ON TABLE fashionrec.retrain_log IS
    'Every retrain() run: the decision (promoted, kept, skipped, failed), why, and the scores and versions behind it';
SELECT pg_catalog.pg_extension_config_dump('fashionrec.retrain_log', '');
SELECT pg_catalog.pg_extension_config_dump('fashionrec.retrain_log_id_seq', '');

-- retrain() runs as its caller; appending its log row is this function's one
-- job, with the owner's rights (no role writes the table).
CREATE FUNCTION fashionrec._log_retrain(entry jsonb) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO fashionrec.retrain_log (name, started_at, decision, reason, champion_version,
                                        challenger_version, promoted_version, metric, k, margin,
                                        champion_score, challenger_score, test_users, test_interactions,
                                        source, details, run_by)
    SELECT r.name, r.started_at, r.decision, r.reason, r.champion_version,
           r.challenger_version, r.promoted_version, r.metric, r.k, r.margin,
           r.champion_score, r.challenger_score, r.test_users, r.test_interactions,
           r.source, COALESCE(r.details, '{}'), fashionrec._session_role()
      FROM pg_catalog.jsonb_populate_record(NULL::fashionrec.retrain_log, $1) r;
$$;
COMMENT ON FUNCTION fashionrec._log_retrain(jsonb) IS
    'Internal: appends a retrain() run to fashionrec.retrain_log';

-- Champion/challenger on data neither has seen.  The source is split per
-- user by time (fashionrec.split 'temporal', the last holdout share of each
-- user's events).  The challenger -- the champion's algorithm and parameters,
-- with params merged over them -- is trained on the earlier part.  The test
-- set is the held-out (user, item) pairs that are "fresh": new to the user
-- before the holdout and not among the pairs the champion was trained on, so
-- neither model has seen them (the champion was trained on other, older
-- data; evaluating it on pairs it was trained on would only measure that its
-- exclude_seen filter works).  Both are evaluated on that set with the same
-- k and metric.  The challenger wins when its metric beats the champion's by
-- the relative margin; then the winning configuration is trained on the
-- whole source and activated (promote => 'retrain'), or the evaluated
-- challenger itself is (promote => 'challenger').  Content models (tfidf,
-- attributes, embedding, features) keep their catalogue as their source and
-- read interactions from params.interactions: for them that is what is split
-- and retrained, over the same catalogue.  A hybrid splits its
-- interactions: its challenger is trained over components retrained on their
-- own sources without the held-out pairs (params {"components": "active"}:
-- their active versions as they are), its learned fusion refitted by stacking
-- (fashionrec._hybrid_train); the held-out pairs any component of the
-- champion (or an active component taken) was trained on are not fresh.
-- The versions of the components go to retrain_log.details.
-- No fresh pairs means
-- nothing new since the champion was trained: it is kept.  A failure is
-- logged, committed and raised (a WARNING inside a transaction block).
-- docs/operations.md discusses the protocol.
CREATE FUNCTION fashionrec._outside_transaction_block() RETURNS boolean
    AS 'MODULE_PATHNAME', 'fashionrec_outside_transaction_block'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION fashionrec._outside_transaction_block() IS
    'Internal: whether a procedure called now may commit (no transaction block is open)';

CREATE PROCEDURE fashionrec.retrain(name text,
                                    source text DEFAULT NULL,
                                    margin double precision DEFAULT 0.0,
                                    metric text DEFAULT 'ndcg',
                                    k integer DEFAULT 10,
                                    holdout double precision DEFAULT 0.2,
                                    params jsonb DEFAULT NULL,
                                    on_drift boolean DEFAULT false,
                                    promote text DEFAULT 'retrain',
                                    keep_challenger boolean DEFAULT false)
    LANGUAGE plpgsql
AS $$
DECLARE
    v_started   timestamptz := pg_catalog.clock_timestamp();
    v_champ     fashionrec.model%ROWTYPE;
    v_source    text;
    v_all       jsonb;
    v_cols      jsonb;
    v_algo_params jsonb;
    v_lower     boolean := retrain.metric IN ('rmse', 'mae');
    v_test_users bigint;
    v_test_rows bigint;
    v_challenger integer;
    v_promoted  integer;
    v_champ_score float8;
    v_chall_score float8;
    v_decision  text;
    v_reason    text;
    v_details   jsonb := '{}';
    v_drifted   text[];
    v_better    boolean;
    v_catalog   text;           -- content models: the catalogue source, kept as it is
    v_challenger_params jsonb;
    v_components text;          -- a hybrid: 'retrain' its components or take the 'active' ones
    v_pins      jsonb;          -- a hybrid: the champion's component versions
    v_seen      bigint[];       -- models whose training pairs are not fresh
    v_hybrid    jsonb;
    v_full      jsonb;
    e           record;
    v_msg       text;
    v_state     text;
    v_ctx       text;
    v_train_rows text;          -- the challenger's training rows: the split's earlier part
BEGIN
    IF retrain.name IS NULL OR retrain.metric IS NULL OR retrain.k IS NULL OR retrain.margin IS NULL
       OR retrain.holdout IS NULL OR retrain.on_drift IS NULL OR retrain.promote IS NULL
       OR retrain.keep_challenger IS NULL THEN
        RAISE EXCEPTION 'only source and params may be NULL' USING ERRCODE = '22004';
    END IF;
    IF retrain.metric NOT IN ('ndcg', 'precision', 'recall', 'map', 'hit_rate', 'rmse', 'mae') THEN
        RAISE EXCEPTION 'unknown metric "%"', retrain.metric
              USING ERRCODE = '22023', HINT = 'Use ndcg, precision, recall, map, hit_rate, rmse or mae.';
    END IF;
    IF NOT (retrain.margin >= 0 AND retrain.margin < 'Infinity') THEN
        RAISE EXCEPTION 'margin must be a non-negative number, got %', retrain.margin USING ERRCODE = '22023';
    END IF;
    IF retrain.k <= 0 THEN
        RAISE EXCEPTION 'k must be positive, got %', retrain.k USING ERRCODE = '22023';
    END IF;
    IF NOT (retrain.holdout > 0 AND retrain.holdout < 1) THEN
        RAISE EXCEPTION 'holdout must be between 0 and 1, got %', retrain.holdout USING ERRCODE = '22023';
    END IF;
    IF retrain.promote NOT IN ('retrain', 'challenger') THEN
        RAISE EXCEPTION 'promote must be ''retrain'' or ''challenger'', got "%"', retrain.promote
              USING ERRCODE = '22023';
    END IF;
    IF retrain.params IS NOT NULL AND pg_catalog.jsonb_typeof(retrain.params) <> 'object' THEN
        RAISE EXCEPTION 'params must be a JSON object' USING ERRCODE = '22023';
    END IF;
    v_champ := fashionrec._model_row(retrain.name, NULL);

    -- one retraining of a name at a time: an overlapping run is logged and skipped
    IF NOT fashionrec._queue(retrain.name, 'retrain', wait => false) THEN
        PERFORM fashionrec._log_retrain(pg_catalog.jsonb_build_object(
            'name', retrain.name, 'started_at', v_started, 'decision', 'skipped',
            'reason', 'another retrain of this model is running',
            'champion_version', v_champ.version, 'source', COALESCE(retrain.source, v_champ.source)));
        RETURN;
    END IF;

    v_all := v_champ.params || COALESCE(retrain.params, '{}');
    IF v_champ.algorithm IN ('tfidf', 'attributes', 'embedding', 'features') THEN
        v_catalog := v_champ.source;
        v_source := COALESCE(retrain.source, v_all ->> 'interactions');
        v_all := v_all - 'interactions';
    ELSIF v_champ.algorithm = 'hybrid' THEN
        v_source := COALESCE(retrain.source, v_all ->> 'interactions');
        v_components := COALESCE(v_all ->> 'components', 'retrain');
        v_all := v_all - ARRAY['interactions', 'components'];
        -- a component named in params overrides the champion's pin
        v_pins := v_champ.info - ARRAY(SELECT pg_catalog.jsonb_object_keys(COALESCE(retrain.params, '{}')));
    ELSE
        v_source := COALESCE(retrain.source, v_champ.source);
    END IF;
    v_cols := fashionrec._column_params(v_all);
    v_algo_params := v_all - ARRAY['user_column', 'item_column', 'weight_column', 'time_column'];

    BEGIN
        -- what the champion stored was written by its author: run only as them
        -- (featurefm's item_features / user_features are stored queries too)
        IF retrain.source IS NULL OR v_catalog IS NOT NULL
           OR v_champ.params ?| ARRAY['item_features', 'user_features'] THEN
            PERFORM fashionrec._check_author(v_champ.created_by,
                                             pg_catalog.format('the source of model "%s"', retrain.name));
        END IF;
        IF v_components NOT IN ('retrain', 'active') THEN
            RAISE EXCEPTION 'params "components" must be "retrain" or "active", got "%"', v_components
                  USING ERRCODE = '22023',
                        HINT = '"retrain" trains each component again on the new window; "active" takes each one''s active version.';
        END IF;
        -- a component dropped, archived or whose source would run as a role
        -- more privileged than its author fails the run before any work
        IF v_components = 'retrain' THEN
            PERFORM fashionrec._check_author((fashionrec._hybrid_component_row(h.component, h.version)).created_by,
                                             pg_catalog.format('the source of model "%s"', h.component))
               FROM fashionrec._hybrid_components(v_all, v_pins) h;
        END IF;
        IF v_source IS NULL THEN
            RAISE EXCEPTION 'model "%" has no %source to retrain from', retrain.name,
                            CASE WHEN v_catalog IS NOT NULL THEN 'interactions ' ELSE '' END
                  USING ERRCODE = '22023', HINT = 'Pass source => ''...''.';
        END IF;

        IF pg_catalog.to_regclass('pg_temp.fr_retrain_split') IS NOT NULL THEN
            DROP TABLE pg_temp.fr_retrain_split;
        END IF;
        IF pg_catalog.to_regclass('pg_temp.fr_retrain_test') IS NOT NULL THEN
            DROP TABLE pg_temp.fr_retrain_test;
        END IF;
        -- a model trained with a context_column is retrained on rows that carry it
        EXECUTE pg_catalog.format(
            'CREATE TEMP TABLE fr_retrain_split ON COMMIT DROP AS
             SELECT sp.user_id, sp.item_id, sp.weight, sp.event_time, sp.is_test, sp.context
               FROM fashionrec._split_context(%L, ''temporal'', %s, %L, %L) sp',
            v_source, retrain.holdout, v_cols, v_all ->> 'context_column');
        v_train_rows := 'SELECT s.user_id, s.item_id, s.weight, s.event_time'
            || CASE WHEN v_all ? 'context_column'
                    THEN pg_catalog.format(', s.context AS %I', v_all ->> 'context_column') ELSE '' END
            || ' FROM pg_temp.fr_retrain_split s WHERE NOT s.is_test';
        -- fresh: held out, new to the user before the holdout, and not among
        -- the pairs the champion (a hybrid: its components too) was trained
        -- on: neither model has seen them
        v_seen := ARRAY[v_champ.id];
        IF v_components IS NOT NULL THEN
            v_seen := v_seen || ARRAY(
                SELECT m.id FROM fashionrec._hybrid_components(v_all, v_pins) h
                  JOIN fashionrec.model m ON m.name = h.component
                   AND (m.version = h.version OR (v_components = 'active' AND m.active)));
        END IF;
        CREATE TEMP TABLE fr_retrain_test ON COMMIT DROP AS
        SELECT s.user_id, s.item_id, pg_catalog.sum(s.weight) AS weight
          FROM pg_temp.fr_retrain_split s
         WHERE s.is_test
           AND NOT EXISTS (SELECT FROM pg_temp.fr_retrain_split p
                            WHERE NOT p.is_test AND p.user_id = s.user_id AND p.item_id = s.item_id)
           AND NOT EXISTS (SELECT FROM pg_catalog.unnest(v_seen) AS sm(id),
                                       LATERAL fashionrec._training_pairs(sm.id) c
                            WHERE c.user_id = s.user_id AND c.item_id = s.item_id)
         GROUP BY s.user_id, s.item_id;
        SELECT pg_catalog.count(DISTINCT t.user_id), pg_catalog.count(*)
          INTO v_test_users, v_test_rows FROM pg_temp.fr_retrain_test t;
        v_details := pg_catalog.jsonb_build_object(
            'split_rows', (SELECT pg_catalog.count(*) FROM pg_temp.fr_retrain_split),
            'held_out', (SELECT pg_catalog.count(*) FROM pg_temp.fr_retrain_split s WHERE s.is_test));

        IF v_test_rows = 0 THEN
            v_decision := 'kept';
            v_reason := 'no fresh interactions: every held-out (user, item) pair was in the champion''s training data or earlier in the user''s history';
        END IF;

        IF v_decision IS NULL AND retrain.on_drift THEN
            SELECT pg_catalog.array_agg(d.signal || ' ' || d.measure ORDER BY d.signal, d.measure)
              INTO v_drifted
              FROM fashionrec.drift(retrain.name, 'SELECT user_id, item_id, weight FROM pg_temp.fr_retrain_test') d
             WHERE d.verdict = 'drift';
            IF v_drifted IS NULL THEN
                v_decision := 'skipped';
                v_reason := 'no drift signal on the fresh interactions (on_drift)';
            ELSE
                v_details := v_details || pg_catalog.jsonb_build_object('drift', v_drifted);
            END IF;
        END IF;

        IF v_decision IS NULL AND v_components IS NOT NULL THEN
            v_hybrid := fashionrec._hybrid_train(retrain.name, v_algo_params, v_pins, v_train_rows,
                v_source, 'SELECT t.user_id, t.item_id FROM pg_temp.fr_retrain_test t', v_components,
                -- active components may have seen any validation tail: the champion's fusion is kept
                fusion_from => CASE WHEN v_components = 'active' AND v_champ.info ->> 'fusion' IN ('logistic', 'mlp')
                                    THEN retrain.name || '@' || v_champ.version END);
            v_challenger := (v_hybrid ->> 'version')::integer;
            PERFORM fashionrec._drop_versions(v_hybrid -> 'fitted');
            v_details := v_details || pg_catalog.jsonb_build_object(
                'components', v_components,
                'champion_components', (SELECT pg_catalog.jsonb_object_agg(h.signal, h.component || '@' || h.version)
                                          FROM fashionrec._hybrid_components(v_all, v_pins) h),
                'challenger_components', v_hybrid -> 'components');
        ELSIF v_decision IS NULL THEN
            IF v_catalog IS NULL THEN
                v_challenger := fashionrec.train(retrain.name, v_champ.algorithm, v_train_rows,
                    v_algo_params, activate => false);
            ELSE
                v_challenger := fashionrec.train(retrain.name, v_champ.algorithm, v_catalog,
                    v_algo_params || pg_catalog.jsonb_build_object('interactions',
                        'SELECT s.user_id, s.item_id, s.weight FROM pg_temp.fr_retrain_split s WHERE NOT s.is_test'),
                    activate => false);
            END IF;
            -- its source and parameters as a retraining would read them again (the split is gone)
            v_challenger_params := CASE WHEN v_catalog IS NULL THEN NULL
                                        ELSE v_all || pg_catalog.jsonb_build_object('interactions', v_source) END;
            PERFORM fashionrec._model_restate(
                (SELECT m.id FROM fashionrec.model m WHERE m.name = retrain.name AND m.version = v_challenger),
                COALESCE(v_catalog, v_source), v_challenger_params,
                pg_catalog.jsonb_build_object('retrain_challenger', pg_catalog.format(
                    'trained on the source without each user''s last %s%% of events', retrain.holdout * 100)));
        END IF;

        IF v_decision IS NULL THEN
            SELECT * INTO e FROM fashionrec.evaluate(retrain.name, 'SELECT user_id, item_id, weight FROM pg_temp.fr_retrain_test',
                                                     retrain.k, version => v_champ.version);
            v_champ_score := fashionrec._metric_of(e, retrain.metric);
            SELECT * INTO e FROM fashionrec.evaluate(retrain.name, 'SELECT user_id, item_id, weight FROM pg_temp.fr_retrain_test',
                                                     retrain.k, version => v_challenger);
            v_chall_score := fashionrec._metric_of(e, retrain.metric);

            IF v_champ_score IS NULL OR v_chall_score IS NULL THEN
                RAISE EXCEPTION 'metric "%" is not available for model "%"', retrain.metric, retrain.name
                      USING ERRCODE = '22023',
                            HINT = 'rmse and mae need a rating model (mf); ranking metrics need test users.';
            END IF;
            v_better := CASE WHEN v_lower THEN v_chall_score < v_champ_score * (1 - retrain.margin)
                             ELSE v_chall_score > v_champ_score * (1 + retrain.margin) END;
            v_reason := pg_catalog.format('%s@%s on %s fresh interactions of %s users: challenger %s, champion %s',
                                          retrain.metric, retrain.k, v_test_rows, v_test_users,
                                          pg_catalog.round(v_chall_score::numeric, 4),
                                          pg_catalog.round(v_champ_score::numeric, 4));
            IF v_better THEN
                v_decision := 'promoted';
                IF retrain.promote = 'retrain' AND v_components IS NOT NULL THEN
                    v_full := fashionrec._hybrid_train(retrain.name, v_all, v_pins, v_source, v_source, NULL,
                        v_components,
                        fusion_from => CASE WHEN (SELECT m.info ->> 'fusion' FROM fashionrec.model m
                                                   WHERE m.name = retrain.name AND m.version = v_challenger)
                                                 IN ('logistic', 'mlp')
                                            THEN retrain.name || '@' || v_challenger END,
                        activate => true);
                    v_promoted := (v_full ->> 'version')::integer;
                    v_details := v_details || pg_catalog.jsonb_build_object('promoted_components', v_full -> 'components');
                    v_reason := v_reason || pg_catalog.format('; better by more than %s%%, retrained on the whole source as version %s',
                                                              retrain.margin * 100, v_promoted);
                ELSIF retrain.promote = 'retrain' THEN
                    v_promoted := CASE WHEN v_catalog IS NULL
                        THEN fashionrec.train(retrain.name, v_champ.algorithm, v_source, v_all, activate => true)
                        ELSE fashionrec.train(retrain.name, v_champ.algorithm, v_catalog,
                                              v_all || pg_catalog.jsonb_build_object('interactions', v_source),
                                              activate => true) END;
                    v_reason := v_reason || pg_catalog.format('; better by more than %s%%, retrained on the whole source as version %s',
                                                              retrain.margin * 100, v_promoted);
                ELSE
                    PERFORM fashionrec.activate(retrain.name, v_challenger);
                    v_promoted := v_challenger;
                    v_reason := v_reason || pg_catalog.format('; better by more than %s%%, challenger version %s activated',
                                                              retrain.margin * 100, v_promoted);
                END IF;
            ELSE
                v_decision := 'kept';
                v_reason := v_reason || pg_catalog.format('; not better by more than %s%%, champion kept',
                                                          retrain.margin * 100);
            END IF;
            IF NOT retrain.keep_challenger AND v_promoted IS DISTINCT FROM v_challenger THEN
                PERFORM fashionrec.drop_model(retrain.name, v_challenger);
                PERFORM fashionrec._drop_versions(v_hybrid -> 'trained');
                v_details := v_details || '{"challenger_dropped": true}';
            END IF;
        END IF;

        DROP TABLE pg_temp.fr_retrain_split, pg_temp.fr_retrain_test;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT, v_state = RETURNED_SQLSTATE, v_ctx = PG_EXCEPTION_CONTEXT;
        v_decision := 'failed';
        v_reason := v_msg;
        v_details := pg_catalog.jsonb_build_object('sqlstate', v_state, 'context', v_ctx);
        v_challenger := NULL;
        v_promoted := NULL;
    END;

    PERFORM fashionrec._log_retrain(pg_catalog.jsonb_build_object(
        'name', retrain.name, 'started_at', v_started, 'decision', v_decision, 'reason', v_reason,
        'champion_version', v_champ.version, 'challenger_version', v_challenger,
        'promoted_version', v_promoted, 'metric', retrain.metric, 'k', retrain.k,
        'margin', retrain.margin, 'champion_score', v_champ_score, 'challenger_score', v_chall_score,
        'test_users', v_test_users, 'test_interactions', v_test_rows, 'source', v_source,
        'details', v_details));
    IF v_decision = 'failed' THEN
        -- a failed run must look failed (pg_cron's job_run_details) and stay
        -- logged: commit the log row, then raise; a caller's transaction
        -- block cannot be committed, so there it is a warning
        IF fashionrec._outside_transaction_block() THEN
            COMMIT;
            RAISE EXCEPTION 'retraining of model "%" failed: %', retrain.name, v_msg
                  USING ERRCODE = v_state, DETAIL = 'The attempt is recorded in fashionrec.retrain_log.';
        END IF;
        RAISE WARNING 'retraining of model "%" failed: %', retrain.name, v_msg
              USING DETAIL = 'The attempt is recorded in fashionrec.retrain_log.';
    END IF;
END
$$;
COMMENT ON PROCEDURE fashionrec.retrain(text, text, double precision, text, integer, double precision, jsonb, boolean, text, boolean) IS
    'Champion/challenger retraining: train the champion''s configuration on fresh data, compare both on held-out interactions the champion never saw, promote only a challenger better by the margin; every run is recorded in fashionrec.retrain_log';

-- pg_cron keeps its jobs in the database named by cron.database_name; its
-- functions exist only there.  Outside that database the error says what to
-- run where.
CREATE FUNCTION fashionrec._cron_schedule(job_name text, schedule text, command text)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_db    text := pg_catalog.current_setting('cron.database_name', true);
    v_job   bigint;
BEGIN
    IF job_name IS NULL OR schedule IS NULL OR command IS NULL THEN
        RAISE EXCEPTION 'schedule must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_proc p
                     JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                    WHERE n.nspname = 'cron' AND p.proname = 'schedule' AND p.pronargs = 3) THEN
        IF v_db IS NULL THEN
            RAISE EXCEPTION 'pg_cron is not installed'
                  USING ERRCODE = '55000',
                        HINT = 'Install pg_cron (1.3 or later), add it to shared_preload_libraries, restart, and CREATE EXTENSION pg_cron; '
                               'or run ' || command || ' from any scheduler.';
        ELSIF v_db <> pg_catalog.current_database() THEN
            RAISE EXCEPTION 'pg_cron runs its jobs from database "%", not "%"', v_db, pg_catalog.current_database()
                  USING ERRCODE = '55000',
                        HINT = pg_catalog.format('Connect to database %s and run: SELECT cron.schedule_in_database(%L, %L, %L, %L);',
                                                 v_db, job_name, schedule, command, pg_catalog.current_database());
        ELSE
            RAISE EXCEPTION 'pg_cron is not installed in this database'
                  USING ERRCODE = '55000', HINT = 'Run CREATE EXTENSION pg_cron; first.';
        END IF;
    END IF;
    -- a job of the same name and user is replaced, so scheduling again reschedules
    EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO v_job USING job_name, schedule, command;
    RETURN v_job;
END
$$;
COMMENT ON FUNCTION fashionrec._cron_schedule(text, text, text) IS
    'Internal: cron.schedule() with an explanatory error when pg_cron is not available in this database';

CREATE FUNCTION fashionrec.schedule_retraining(name text, schedule text DEFAULT '0 3 * * *',
                                               source text DEFAULT NULL,
                                               margin double precision DEFAULT 0.0,
                                               metric text DEFAULT 'ndcg',
                                               k integer DEFAULT 10,
                                               on_drift boolean DEFAULT false)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF schedule_retraining.name IS NULL THEN
        RAISE EXCEPTION 'model name must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF NOT EXISTS (SELECT FROM fashionrec.model m WHERE m.name = schedule_retraining.name) THEN
        RAISE EXCEPTION 'model "%" does not exist', schedule_retraining.name
              USING ERRCODE = '42704', HINT = 'Train a first version; retraining starts from the active one.';
    END IF;
    IF schedule_retraining.margin IS NULL OR schedule_retraining.metric IS NULL
       OR schedule_retraining.k IS NULL OR schedule_retraining.on_drift IS NULL THEN
        RAISE EXCEPTION 'only source may be NULL' USING ERRCODE = '22004';
    END IF;
    RETURN fashionrec._cron_schedule(
        'fashionrec-retrain-' || schedule_retraining.name,
        schedule_retraining.schedule,
        pg_catalog.format('CALL fashionrec.retrain(%L, source => %L, margin => %s, metric => %L, k => %s, on_drift => %L)',
                          schedule_retraining.name, schedule_retraining.source,
                          schedule_retraining.margin, schedule_retraining.metric,
                          schedule_retraining.k, schedule_retraining.on_drift));
END
$$;
COMMENT ON FUNCTION fashionrec.schedule_retraining(text, text, text, double precision, text, integer, boolean) IS
    'Schedule CALL fashionrec.retrain(name, ...) with pg_cron (job "fashionrec-retrain-<name>", replaced when scheduled again); returns the job id';

CREATE FUNCTION fashionrec.schedule_snapshots(schedule text DEFAULT '*/5 * * * *',
                                              retention interval DEFAULT '90 days')
    RETURNS bigint
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT fashionrec._cron_schedule(
        'fashionrec-snapshot-' || current_database(), schedule,
        format('SELECT fashionrec.snapshot_stats(%L)', retention))
$$;
COMMENT ON FUNCTION fashionrec.schedule_snapshots(text, interval) IS
    'Schedule fashionrec.snapshot_stats() with pg_cron (job "fashionrec-snapshot-<database>"); returns the job id';

CREATE FUNCTION fashionrec._cron_unschedule(job_name text) RETURNS boolean
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_db     text := pg_catalog.current_setting('cron.database_name', true);
    v_exists boolean;
BEGIN
    IF pg_catalog.to_regclass('cron.job') IS NULL THEN
        IF v_db IS NOT NULL AND v_db <> pg_catalog.current_database() THEN
            RAISE EXCEPTION 'pg_cron runs its jobs from database "%", not "%"', v_db, pg_catalog.current_database()
                  USING ERRCODE = '55000',
                        HINT = pg_catalog.format('Connect to database %s and run: SELECT cron.unschedule(%L);',
                                                 v_db, job_name);
        END IF;
        RAISE EXCEPTION 'pg_cron is not installed in this database' USING ERRCODE = '55000';
    END IF;
    EXECUTE 'SELECT EXISTS (SELECT FROM cron.job j WHERE j.jobname = $1 AND j.username = CURRENT_USER)'
       INTO v_exists USING job_name;
    IF NOT v_exists THEN
        RETURN false;
    END IF;
    EXECUTE 'SELECT cron.unschedule($1)' INTO v_exists USING job_name;
    RETURN v_exists;
END
$$;
COMMENT ON FUNCTION fashionrec._cron_unschedule(text) IS
    'Internal: remove a pg_cron job of the current user by name; false when there is none';

CREATE FUNCTION fashionrec.unschedule_retraining(name text) RETURNS boolean
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT fashionrec._cron_unschedule('fashionrec-retrain-' || name)
$$;
COMMENT ON FUNCTION fashionrec.unschedule_retraining(text) IS
    'Remove the pg_cron job of schedule_retraining(name); false when there is none';

CREATE FUNCTION fashionrec.unschedule_snapshots() RETURNS boolean
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT fashionrec._cron_unschedule('fashionrec-snapshot-' || current_database())
$$;
COMMENT ON FUNCTION fashionrec.unschedule_snapshots() IS
    'Remove the pg_cron job of schedule_snapshots(); false when there is none';
