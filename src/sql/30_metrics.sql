-- Evaluation metrics as plain SQL functions (metrics_sql.c, kernel metrics.c).
-- Ranking metrics score one user's list against that user's relevant items;
-- avg() over users gives the mean metric.  docs/evaluation.md has the formulas.

CREATE FUNCTION fashionrec.precision_at_k(recommended bigint[], relevant bigint[], k integer)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'fashionrec_precision_at_k'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.precision_at_k(bigint[], bigint[], integer) IS
    'Distinct relevant items among the first k recommended, divided by k; NULL when relevant is empty';

CREATE FUNCTION fashionrec.recall_at_k(recommended bigint[], relevant bigint[], k integer)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'fashionrec_recall_at_k'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.recall_at_k(bigint[], bigint[], integer) IS
    'Share of the distinct relevant items found among the first k recommended; NULL when relevant is empty';

CREATE FUNCTION fashionrec.ndcg_at_k(recommended bigint[], relevant bigint[], k integer)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'fashionrec_ndcg_at_k'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.ndcg_at_k(bigint[], bigint[], integer) IS
    'Normalised discounted cumulative gain at k, binary relevance, gain 1/log2(position + 1), ideal over min(|relevant|, k); NULL when relevant is empty';

CREATE FUNCTION fashionrec.map_at_k(recommended bigint[], relevant bigint[], k integer)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'fashionrec_map_at_k'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.map_at_k(bigint[], bigint[], integer) IS
    'Average precision at k (sum of precision at each hit, divided by min(|relevant|, k)); avg() over users gives MAP@k; NULL when relevant is empty';

CREATE FUNCTION fashionrec.hit_rate_at_k(recommended bigint[], relevant bigint[], k integer)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'fashionrec_hit_rate_at_k'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.hit_rate_at_k(bigint[], bigint[], integer) IS
    '1 if any of the first k recommended is relevant, else 0; avg() over users gives the hit rate; NULL when relevant is empty';

CREATE FUNCTION fashionrec.rmse(predicted double precision[], actual double precision[])
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'fashionrec_rmse'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.rmse(double precision[], double precision[]) IS
    'Root mean squared error of element-wise paired ratings; NULL for empty arrays; NaN propagates';

CREATE FUNCTION fashionrec.mae(predicted double precision[], actual double precision[])
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'fashionrec_mae'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.mae(double precision[], double precision[]) IS
    'Mean absolute error of element-wise paired ratings; NULL for empty arrays; NaN propagates';

-- RMSE and MAE over rows.  The transition function is STRICT, so a row with
-- a NULL predicted or actual value is skipped, as avg() skips NULLs.
CREATE FUNCTION fashionrec.rating_error_accum(state double precision[],
                                              predicted double precision,
                                              actual double precision)
    RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'fashionrec_rating_error_accum'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.rating_error_accum(double precision[], double precision, double precision) IS
    'Transition function of rmse_agg and mae_agg: state {n, sum of squared errors, sum of absolute errors}';

CREATE FUNCTION fashionrec.rating_error_combine(double precision[], double precision[])
    RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'fashionrec_rating_error_combine'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.rating_error_combine(double precision[], double precision[]) IS
    'Combine function of rmse_agg and mae_agg (parallel aggregation)';

CREATE FUNCTION fashionrec.rmse_final(double precision[])
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'fashionrec_rmse_final'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.rmse_final(double precision[]) IS
    'Final function of rmse_agg: NULL when no row was aggregated';

CREATE FUNCTION fashionrec.mae_final(double precision[])
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'fashionrec_mae_final'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.mae_final(double precision[]) IS
    'Final function of mae_agg: NULL when no row was aggregated';

CREATE AGGREGATE fashionrec.rmse_agg(predicted double precision, actual double precision) (
    SFUNC = fashionrec.rating_error_accum,
    STYPE = double precision[],
    FINALFUNC = fashionrec.rmse_final,
    COMBINEFUNC = fashionrec.rating_error_combine,
    INITCOND = '{0,0,0}',
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE fashionrec.rmse_agg(double precision, double precision) IS
    'Root mean squared error of (predicted, actual) rows; rows with a NULL are skipped; NULL without rows';

CREATE AGGREGATE fashionrec.mae_agg(predicted double precision, actual double precision) (
    SFUNC = fashionrec.rating_error_accum,
    STYPE = double precision[],
    FINALFUNC = fashionrec.mae_final,
    COMBINEFUNC = fashionrec.rating_error_combine,
    INITCOND = '{0,0,0}',
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE fashionrec.mae_agg(double precision, double precision) IS
    'Mean absolute error of (predicted, actual) rows; rows with a NULL are skipped; NULL without rows';

-- Catalog coverage: distinct items over all lists / catalog size.  Internal
-- state (the distinct ids), so the support functions are not callable from SQL.
CREATE FUNCTION fashionrec.catalog_coverage_accum(internal, bigint[], bigint)
    RETURNS internal
    AS 'MODULE_PATHNAME', 'fashionrec_coverage_accum'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.catalog_coverage_accum(internal, bigint[], bigint) IS
    'Transition function of catalog_coverage';

CREATE FUNCTION fashionrec.catalog_coverage_combine(internal, internal)
    RETURNS internal
    AS 'MODULE_PATHNAME', 'fashionrec_coverage_combine'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.catalog_coverage_combine(internal, internal) IS
    'Combine function of catalog_coverage (parallel aggregation)';

CREATE FUNCTION fashionrec.catalog_coverage_serialize(internal)
    RETURNS bytea
    AS 'MODULE_PATHNAME', 'fashionrec_coverage_serialize'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.catalog_coverage_serialize(internal) IS
    'Serialisation function of catalog_coverage (parallel aggregation)';

CREATE FUNCTION fashionrec.catalog_coverage_deserialize(bytea, internal)
    RETURNS internal
    AS 'MODULE_PATHNAME', 'fashionrec_coverage_deserialize'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.catalog_coverage_deserialize(bytea, internal) IS
    'Deserialisation function of catalog_coverage (parallel aggregation)';

CREATE FUNCTION fashionrec.catalog_coverage_final(internal)
    RETURNS double precision
    AS 'MODULE_PATHNAME', 'fashionrec_coverage_final'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION fashionrec.catalog_coverage_final(internal) IS
    'Final function of catalog_coverage';

CREATE AGGREGATE fashionrec.catalog_coverage(recommended bigint[], catalog_size bigint) (
    SFUNC = fashionrec.catalog_coverage_accum,
    STYPE = internal,
    FINALFUNC = fashionrec.catalog_coverage_final,
    COMBINEFUNC = fashionrec.catalog_coverage_combine,
    SERIALFUNC = fashionrec.catalog_coverage_serialize,
    DESERIALFUNC = fashionrec.catalog_coverage_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE fashionrec.catalog_coverage(bigint[], bigint) IS
    'Distinct items in all recommended lists divided by catalog_size (the same in every row); NULL lists are skipped; NULL without rows';
