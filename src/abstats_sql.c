/*
 * abstats_sql.c — SQL entry points of the A/B statistics (abstats.c).
 *
 * experiment_results() (src/sql/60_abtest.sql) aggregates with SQL and calls
 * these for the statistics; they are public too, so an analyst can test
 * numbers from elsewhere or plan an experiment.  Every argument is checked
 * here, with the SQLSTATE that says what to fix; results the maths leaves
 * undefined (no conversions anywhere, a group of one) are NULL.
 *
 * Also here: the assignment hash (ab_bucket, _ab_choose) and _ab_state, the
 * index reads of the serving path (see its comment).
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "abstats.h"
#include "arrays.h"

#define FR_AB_SCHEMA "fashionrec"

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
	const int64 *users = fr_array_values(PG_GETARG_ARRAYTYPE_P(0), INT8OID, "users", &n);
	const double *weights = fr_array_values(PG_GETARG_ARRAYTYPE_P(1), FLOAT8OID, "weights", &nw);
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
	const double *weights = fr_array_values(PG_GETARG_ARRAYTYPE_P(3), FLOAT8OID, "weights", &n);
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

/*
 * ---- the serving path's catalog reads ---------------------------------------
 *
 * assign(), track() and recommend_experiment() need an experiment, its
 * variants and one user's assignment on every call.  As SQL inside PL/pgSQL
 * those lookups run on plans cached per session; a plan made while the
 * tables were small (an experiment just started on freshly vacuumed, empty
 * tables) is a sequential scan, and it stays one until autovacuum analyzes
 * the table -- at serving rate, over a table growing by thousands of rows
 * a second.  Reading through the unique indexes directly cannot degrade,
 * and needs no planning at all.
 */

/* the most variants an experiment may have; add_variant() enforces it too */
#define AB_MAX_VARIANTS 64

typedef struct AbVariant
{
	int32		position;
	int32		id;
	Datum		name;
	Datum		model;
	int32		version;
	bool		version_null;
	float8		weight;
	bool		is_control;
} AbVariant;

/*
 * What _ab_state() looks up by name once per backend: the relations, their
 * indexes, column numbers and the result descriptor.  Any invalidation of
 * one of the relations (DROP EXTENSION, ALTER TABLE) or of all of them
 * resets it; the next call looks everything up again.
 */
typedef struct AbCatalog
{
	bool		valid;
	Oid			fn_oid;
	TupleDesc	desc;
	Oid			exp_rel,
				var_rel,
				asg_rel,
				exp_idx,
				var_idx,
				asg_idx;
	Oid			name_collation;
	AttrNumber	e_name,
				e_id,
				e_status,
				e_salt,
				e_holdout,
				e_winner;
	AttrNumber	v_experiment,
				v_position,
				v_id,
				v_name,
				v_model,
				v_version,
				v_weight,
				v_control;
	AttrNumber	a_experiment,
				a_user,
				a_variant,
				a_forced;
} AbCatalog;

static AbCatalog ab_catalog;
static bool ab_callback_registered = false;

static void
ab_catalog_invalidate(Datum arg, Oid relid)
{
	if (!ab_catalog.valid)
		return;
	if (relid == InvalidOid || relid == ab_catalog.exp_rel || relid == ab_catalog.var_rel ||
		relid == ab_catalog.asg_rel || relid == ab_catalog.exp_idx ||
		relid == ab_catalog.var_idx || relid == ab_catalog.asg_idx)
		ab_catalog.valid = false;
}

static Oid
ab_relid(Oid nsp, const char *name)
{
	Oid			relid = get_relname_relid(name, nsp);

	if (!OidIsValid(relid))
		elog(ERROR, "relation fashionrec.%s does not exist", name);
	return relid;
}

static AttrNumber
ab_attnum(Oid relid, const char *column)
{
	AttrNumber	attnum = get_attnum(relid, column);

	if (attnum == InvalidAttrNumber)
		elog(ERROR, "column %s of a fashionrec table does not exist", column);
	return attnum;
}

static void
ab_catalog_load(FunctionCallInfo fcinfo)
{
	AbCatalog  *c = &ab_catalog;
	Oid			nsp = get_namespace_oid(FR_AB_SCHEMA, false);
	TupleDesc	desc;
	MemoryContext old;
	Relation	idx;

	if (!ab_callback_registered)
	{
		CacheRegisterRelcacheCallback(ab_catalog_invalidate, (Datum) 0);
		ab_callback_registered = true;
	}
	if (c->desc != NULL)
		FreeTupleDesc(c->desc);
	c->desc = NULL;

	c->exp_rel = ab_relid(nsp, "experiment");
	c->var_rel = ab_relid(nsp, "variant");
	c->asg_rel = ab_relid(nsp, "assignment");
	c->exp_idx = ab_relid(nsp, "experiment_name_key");
	c->var_idx = ab_relid(nsp, "variant_experiment_name_key");
	c->asg_idx = ab_relid(nsp, "assignment_pkey");

	/* the btree compares names with the index's collation: the scan key must use it */
	idx = index_open(c->exp_idx, AccessShareLock);
	c->name_collation = idx->rd_indcollation[0];
	index_close(idx, AccessShareLock);

	c->e_name = ab_attnum(c->exp_rel, "name");
	c->e_id = ab_attnum(c->exp_rel, "id");
	c->e_status = ab_attnum(c->exp_rel, "status");
	c->e_salt = ab_attnum(c->exp_rel, "salt");
	c->e_holdout = ab_attnum(c->exp_rel, "holdout");
	c->e_winner = ab_attnum(c->exp_rel, "winner");
	c->v_experiment = ab_attnum(c->var_rel, "experiment_id");
	c->v_position = ab_attnum(c->var_rel, "position");
	c->v_id = ab_attnum(c->var_rel, "id");
	c->v_name = ab_attnum(c->var_rel, "name");
	c->v_model = ab_attnum(c->var_rel, "model");
	c->v_version = ab_attnum(c->var_rel, "version");
	c->v_weight = ab_attnum(c->var_rel, "weight");
	c->v_control = ab_attnum(c->var_rel, "is_control");
	c->a_experiment = ab_attnum(c->asg_rel, "experiment_id");
	c->a_user = ab_attnum(c->asg_rel, "user_id");
	c->a_variant = ab_attnum(c->asg_rel, "variant_id");
	c->a_forced = ab_attnum(c->asg_rel, "forced");

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "function returning a record called in a context that cannot accept one");
	old = MemoryContextSwitchTo(TopMemoryContext);
	c->desc = CreateTupleDescCopy(desc);
	MemoryContextSwitchTo(old);
	BlessTupleDesc(c->desc);
	c->fn_oid = fcinfo->flinfo->fn_oid;
	c->valid = true;
}

/* the caller's right to read a table; inside the SECURITY DEFINER functions, the owner's */
static void
ab_check_select(Oid relid)
{
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, get_rel_name(relid));
}

/* sort variants by position: a handful of them, insertion sort */
static void
ab_sort_variants(AbVariant *v, int n)
{
	for (int i = 1; i < n; i++)
	{
		AbVariant	x = v[i];
		int			j = i - 1;

		while (j >= 0 && v[j].position > x.position)
		{
			v[j + 1] = v[j];
			j--;
		}
		v[j + 1] = x;
	}
}

static Datum
ab_copy_text(HeapTuple tup, AttrNumber attnum, TupleDesc td, bool *isnull)
{
	Datum		d = heap_getattr(tup, attnum, td, isnull);

	return *isnull ? (Datum) 0 : PointerGetDatum(PG_DETOAST_DATUM_COPY(d));
}

/*
 * _ab_state(experiment text, user_id bigint)
 *   -> (experiment_id, status, salt, holdout, winner, variant_ids int[],
 *       variants text[], models text[], versions int[], weights float8[],
 *       control int, assigned int, forced bool)
 * Variants in position order; control and assigned are 1-based positions in
 * those arrays.  Everything NULL when the experiment does not exist,
 * assigned and forced NULL when the user has no recorded assignment.
 */
PG_FUNCTION_INFO_V1(fashionrec_ab_state);
Datum
fashionrec_ab_state(PG_FUNCTION_ARGS)
{
	text	   *exp_name = PG_GETARG_TEXT_PP(0);
	int64		user_id = PG_GETARG_INT64(1);
	AbCatalog  *c = &ab_catalog;
	Snapshot	snapshot = GetActiveSnapshot();
	Datum		values[13];
	bool		nulls[13];
	Relation	rel;
	TupleDesc	td;
	SysScanDesc scan;
	ScanKeyData keys[2];
	HeapTuple	tup;
	int32		exp_id;
	bool		isnull;
	AbVariant	vars[AB_MAX_VARIANTS];
	int			nvars = 0;

	if (!c->valid || c->fn_oid != fcinfo->flinfo->fn_oid)
		ab_catalog_load(fcinfo);
	ab_check_select(c->exp_rel);
	ab_check_select(c->var_rel);
	ab_check_select(c->asg_rel);
	memset(nulls, true, sizeof(nulls));

	/* the experiment, by its unique name */
	rel = table_open(c->exp_rel, AccessShareLock);
	td = RelationGetDescr(rel);
	ScanKeyInit(&keys[0], c->e_name, BTEqualStrategyNumber, F_TEXTEQ, PointerGetDatum(exp_name));
	keys[0].sk_collation = c->name_collation;
	scan = systable_beginscan(rel, c->exp_idx, true, snapshot, 1, keys);
	tup = systable_getnext(scan);
	if (!HeapTupleIsValid(tup))
	{
		systable_endscan(scan);
		table_close(rel, AccessShareLock);
		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(c->desc, values, nulls)));
	}
	exp_id = DatumGetInt32(heap_getattr(tup, c->e_id, td, &isnull));
	values[0] = Int32GetDatum(exp_id);
	nulls[0] = false;
	values[1] = ab_copy_text(tup, c->e_status, td, &nulls[1]);
	values[2] = ab_copy_text(tup, c->e_salt, td, &nulls[2]);
	values[3] = heap_getattr(tup, c->e_holdout, td, &nulls[3]);
	values[4] = ab_copy_text(tup, c->e_winner, td, &nulls[4]);
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	/* its variants, by the leading column of the (experiment_id, name) key */
	rel = table_open(c->var_rel, AccessShareLock);
	td = RelationGetDescr(rel);
	ScanKeyInit(&keys[0], c->v_experiment, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(exp_id));
	scan = systable_beginscan(rel, c->var_idx, true, snapshot, 1, keys);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		AbVariant  *v;

		if (nvars >= AB_MAX_VARIANTS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("experiment has more than %d variants", AB_MAX_VARIANTS)));
		v = &vars[nvars++];
		v->position = DatumGetInt32(heap_getattr(tup, c->v_position, td, &isnull));
		v->id = DatumGetInt32(heap_getattr(tup, c->v_id, td, &isnull));
		v->name = ab_copy_text(tup, c->v_name, td, &isnull);
		v->model = ab_copy_text(tup, c->v_model, td, &isnull);
		v->version = DatumGetInt32(heap_getattr(tup, c->v_version, td, &v->version_null));
		v->weight = DatumGetFloat8(heap_getattr(tup, c->v_weight, td, &isnull));
		v->is_control = DatumGetBool(heap_getattr(tup, c->v_control, td, &isnull));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	ab_sort_variants(vars, nvars);

	if (nvars > 0)
	{
		Datum		ids[AB_MAX_VARIANTS],
					names[AB_MAX_VARIANTS],
					models[AB_MAX_VARIANTS],
					versions[AB_MAX_VARIANTS],
					weights[AB_MAX_VARIANTS];
		bool		version_nulls[AB_MAX_VARIANTS];
		int			dims[1] = {nvars};
		int			lbs[1] = {1};

		for (int i = 0; i < nvars; i++)
		{
			ids[i] = Int32GetDatum(vars[i].id);
			names[i] = vars[i].name;
			models[i] = vars[i].model;
			versions[i] = Int32GetDatum(vars[i].version);
			version_nulls[i] = vars[i].version_null;
			weights[i] = Float8GetDatum(vars[i].weight);
			if (vars[i].is_control)
			{
				values[10] = Int32GetDatum(i + 1);
				nulls[10] = false;
			}
		}
		values[5] = PointerGetDatum(construct_array(ids, nvars, INT4OID, 4, true, TYPALIGN_INT));
		values[6] = PointerGetDatum(construct_array(names, nvars, TEXTOID, -1, false, TYPALIGN_INT));
		values[7] = PointerGetDatum(construct_array(models, nvars, TEXTOID, -1, false, TYPALIGN_INT));
		values[8] = PointerGetDatum(construct_md_array(versions, version_nulls, 1, dims, lbs,
													   INT4OID, 4, true, TYPALIGN_INT));
		values[9] = PointerGetDatum(construct_array(weights, nvars, FLOAT8OID, 8, FLOAT8PASSBYVAL,
													TYPALIGN_DOUBLE));
		for (int i = 5; i <= 9; i++)
			nulls[i] = false;
	}

	/* the user's assignment, by the primary key */
	rel = table_open(c->asg_rel, AccessShareLock);
	td = RelationGetDescr(rel);
	ScanKeyInit(&keys[0], c->a_experiment, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(exp_id));
	ScanKeyInit(&keys[1], c->a_user, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(user_id));
	scan = systable_beginscan(rel, c->asg_idx, true, snapshot, 2, keys);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		int32		variant_id = DatumGetInt32(heap_getattr(tup, c->a_variant, td, &isnull));

		for (int i = 0; i < nvars; i++)
			if (vars[i].id == variant_id)
			{
				values[11] = Int32GetDatum(i + 1);
				nulls[11] = false;
			}
		values[12] = heap_getattr(tup, c->a_forced, td, &nulls[12]);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(c->desc, values, nulls)));
}
