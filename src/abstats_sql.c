/*
 * abstats_sql.c — SQL entry points of the A/B statistics (abstats.c).
 *
 * experiment_results() (src/sql/60_abtest.sql) aggregates with SQL and calls
 * these for the statistics; they are public too, so an analyst can test
 * numbers from elsewhere or plan an experiment.  Every argument is checked
 * here, with the SQLSTATE that says what to fix; results the maths leaves
 * undefined (no conversions anywhere, a group of one) are NULL.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "abstats.h"

static void
check_finite(double x, const char *name)
{
	if (isnan(x) || isinf(x))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite number", name)));
}

/* a probability strictly between 0 and 1: alpha, power, a rate */
static void
check_open_unit(double x, const char *name, const char *hint)
{
	if (isnan(x) || !(x > 0.0 && x < 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between 0 and 1, not %g", name, x),
				 errhint("%s", hint)));
}

static void
check_df(double df)
{
	if (isnan(df) || !(df > 0.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("degrees of freedom must be positive, not %g", df)));
}

static void
check_count(int64 x, const char *name)
{
	if (x < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be negative, not " INT64_FORMAT, name, x)));
}

static Datum
float_or_null(double x, bool *isnull)
{
	*isnull = isnan(x);
	return Float8GetDatum(*isnull ? 0.0 : x);
}

static TupleDesc
result_desc(FunctionCallInfo fcinfo)
{
	TupleDesc	desc;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "function returning a record called in a context that cannot accept one");
	return BlessTupleDesc(desc);
}

PG_FUNCTION_INFO_V1(fashionrec_normal_cdf);
Datum
fashionrec_normal_cdf(PG_FUNCTION_ARGS)
{
	double		x = PG_GETARG_FLOAT8(0);

	if (isnan(x))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("x must not be NaN")));
	PG_RETURN_FLOAT8(fr_normal_cdf(x));
}

PG_FUNCTION_INFO_V1(fashionrec_normal_quantile);
Datum
fashionrec_normal_quantile(PG_FUNCTION_ARGS)
{
	double		p = PG_GETARG_FLOAT8(0);

	if (isnan(p) || p < 0.0 || p > 1.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("p must be between 0 and 1, not %g", p),
				 errhint("normal_quantile(p) is the z with normal_cdf(z) = p, e.g. 0.975 gives 1.96.")));
	PG_RETURN_FLOAT8(fr_normal_quantile(p));
}

PG_FUNCTION_INFO_V1(fashionrec_t_cdf);
Datum
fashionrec_t_cdf(PG_FUNCTION_ARGS)
{
	double		t = PG_GETARG_FLOAT8(0);
	double		df = PG_GETARG_FLOAT8(1);

	if (isnan(t))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("t must not be NaN")));
	check_df(df);
	PG_RETURN_FLOAT8(fr_t_cdf(t, df));
}

PG_FUNCTION_INFO_V1(fashionrec_chisq_cdf);
Datum
fashionrec_chisq_cdf(PG_FUNCTION_ARGS)
{
	double		x = PG_GETARG_FLOAT8(0);
	double		df = PG_GETARG_FLOAT8(1);

	if (isnan(x))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("x must not be NaN")));
	check_df(df);
	PG_RETURN_FLOAT8(fr_chisq_cdf(x, df));
}

/*
 * proportion_test(control_conversions, control_users, conversions, users,
 *                 alpha) -> (diff, ci_low, ci_high, z, p_value)
 */
PG_FUNCTION_INFO_V1(fashionrec_proportion_test);
Datum
fashionrec_proportion_test(PG_FUNCTION_ARGS)
{
	int64		xa = PG_GETARG_INT64(0);
	int64		na = PG_GETARG_INT64(1);
	int64		xb = PG_GETARG_INT64(2);
	int64		nb = PG_GETARG_INT64(3);
	double		alpha = PG_GETARG_FLOAT8(4);
	FrProportionTest r;
	Datum		values[5];
	bool		nulls[5];

	check_count(xa, "control_conversions");
	check_count(na, "control_users");
	check_count(xb, "conversions");
	check_count(nb, "users");
	if (xa > na || xb > nb)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("conversions must not exceed users"),
				 errdetail("Control: " INT64_FORMAT " of " INT64_FORMAT ", variant: " INT64_FORMAT " of " INT64_FORMAT ".",
						   xa, na, xb, nb),
				 errhint("Count converted users, not conversion events.")));
	check_open_unit(alpha, "alpha", "alpha is the significance level, e.g. 0.05 for a 95% confidence interval.");

	fr_proportion_test(xa, na, xb, nb, alpha, &r);
	values[0] = float_or_null(r.diff, &nulls[0]);
	values[1] = float_or_null(r.ci_low, &nulls[1]);
	values[2] = float_or_null(r.ci_high, &nulls[2]);
	values[3] = float_or_null(r.z, &nulls[3]);
	values[4] = float_or_null(r.p_value, &nulls[4]);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(result_desc(fcinfo), values, nulls)));
}

/*
 * welch_test(control_mean, control_variance, control_n, mean, variance, n)
 *   -> (diff, t, df, p_value)
 */
PG_FUNCTION_INFO_V1(fashionrec_welch_test);
Datum
fashionrec_welch_test(PG_FUNCTION_ARGS)
{
	double		ma = PG_GETARG_FLOAT8(0);
	double		va = PG_GETARG_FLOAT8(1);
	int64		na = PG_GETARG_INT64(2);
	double		mb = PG_GETARG_FLOAT8(3);
	double		vb = PG_GETARG_FLOAT8(4);
	int64		nb = PG_GETARG_INT64(5);
	FrWelchTest r;
	Datum		values[4];
	bool		nulls[4];

	check_finite(ma, "control_mean");
	check_finite(va, "control_variance");
	check_finite(mb, "mean");
	check_finite(vb, "variance");
	if (va < 0.0 || vb < 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("variances must not be negative")));
	check_count(na, "control_n");
	check_count(nb, "n");

	fr_welch_test(ma, va, (double) na, mb, vb, (double) nb, &r);
	values[0] = float_or_null(r.diff, &nulls[0]);
	values[1] = float_or_null(r.t, &nulls[1]);
	values[2] = float_or_null(r.df, &nulls[2]);
	values[3] = float_or_null(r.p_value, &nulls[3]);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(result_desc(fcinfo), values, nulls)));
}

/* a 1-D array without NULLs of a fixed-width element type, as a C array */
static void *
array_values(ArrayType *a, Oid elemtype, const char *name, int *n)
{
	if (ARR_ELEMTYPE(a) != elemtype)
		elog(ERROR, "%s: unexpected array element type %u", name, ARR_ELEMTYPE(a));
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional array", name)));
	if (array_contains_nulls(a))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not contain NULL elements", name)));
	*n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	return ARR_DATA_PTR(a);
}

static void
check_weights(const double *w, int n)
{
	for (int i = 0; i < n; i++)
		if (isnan(w[i]) || isinf(w[i]) || !(w[i] > 0.0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("weights must be positive finite numbers, not %g", w[i])));
}

/* srm_p_value(users bigint[], weights float8[]) -> float8 */
PG_FUNCTION_INFO_V1(fashionrec_srm_p_value);
Datum
fashionrec_srm_p_value(PG_FUNCTION_ARGS)
{
	int			n,
				nw;
	const int64 *users = array_values(PG_GETARG_ARRAYTYPE_P(0), INT8OID, "users", &n);
	const double *weights = array_values(PG_GETARG_ARRAYTYPE_P(1), FLOAT8OID, "weights", &nw);
	double		chi2,
				p;

	if (n != nw)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("users and weights must have the same length"),
				 errdetail("users has %d elements, weights %d.", n, nw)));
	for (int i = 0; i < n; i++)
		check_count(users[i], "users");
	check_weights(weights, n);
	p = fr_srm_p_value(users, weights, n, &chi2);
	if (isnan(p))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(p);
}

/*
 * required_sample_size(baseline_rate, mde, alpha, power, relative) -> bigint
 * users per variant.
 */
PG_FUNCTION_INFO_V1(fashionrec_required_sample_size);
Datum
fashionrec_required_sample_size(PG_FUNCTION_ARGS)
{
	double		p1 = PG_GETARG_FLOAT8(0);
	double		mde = PG_GETARG_FLOAT8(1);
	double		alpha = PG_GETARG_FLOAT8(2);
	double		power = PG_GETARG_FLOAT8(3);
	bool		relative = PG_GETARG_BOOL(4);
	double		p2,
				n;

	check_open_unit(p1, "baseline_rate", "The baseline rate is the control's conversion rate, e.g. 0.05 for 5%.");
	if (isnan(mde) || isinf(mde) || !(mde > 0.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("mde must be a positive number, not %g", mde),
				 errhint("mde is the smallest lift worth detecting: 0.1 for +10%% of the baseline, or 0.01 for one point with relative => false.")));
	check_open_unit(alpha, "alpha", "alpha is the significance level, e.g. 0.05.");
	check_open_unit(power, "power", "power is the chance of detecting a true effect of size mde, e.g. 0.8.");
	p2 = relative ? p1 * (1.0 + mde) : p1 + mde;
	if (!(p2 < 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("baseline_rate plus the lift must stay below 1"),
				 errdetail("The rate to detect would be %g.", p2)));
	n = ceil(fr_sample_size(p1, p2, alpha, power));
	if (!(n < 1e15))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the required sample size is too large to compute"),
				 errhint("Detecting so small an effect is not practical; choose a larger mde.")));
	PG_RETURN_INT64((int64) n);
}

/* ab_bucket(salt text, user_id bigint) -> float8 in [0, 1) */
PG_FUNCTION_INFO_V1(fashionrec_ab_bucket);
Datum
fashionrec_ab_bucket(PG_FUNCTION_ARGS)
{
	text	   *salt = PG_GETARG_TEXT_PP(0);
	int64		user_id = PG_GETARG_INT64(1);

	PG_RETURN_FLOAT8(fr_ab_unit(fr_ab_hash(VARDATA_ANY(salt), VARSIZE_ANY_EXHDR(salt), user_id)));
}

/*
 * _ab_choose(salt text, user_id bigint, holdout float8, weights float8[])
 *   -> integer: 0 for the holdout, else the 1-based position of the weight
 */
PG_FUNCTION_INFO_V1(fashionrec_ab_choose);
Datum
fashionrec_ab_choose(PG_FUNCTION_ARGS)
{
	text	   *salt = PG_GETARG_TEXT_PP(0);
	int64		user_id = PG_GETARG_INT64(1);
	double		holdout = PG_GETARG_FLOAT8(2);
	int			n;
	const double *weights = array_values(PG_GETARG_ARRAYTYPE_P(3), FLOAT8OID, "weights", &n);
	double		u;

	if (isnan(holdout) || holdout < 0.0 || holdout >= 1.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("holdout must be in [0, 1), not %g", holdout)));
	if (n < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("weights must not be empty")));
	check_weights(weights, n);
	u = fr_ab_unit(fr_ab_hash(VARDATA_ANY(salt), VARSIZE_ANY_EXHDR(salt), user_id));
	PG_RETURN_INT32(fr_ab_choose(u, holdout, weights, n) + 1);
}
