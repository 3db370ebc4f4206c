/*
 * metrics_sql.c — SQL entry points of the evaluation metrics (metrics.c).
 *
 * Scalar functions take one user's recommendation list and relevant set (or
 * predicted and actual ratings) as arrays; avg() over users gives the usual
 * mean metric.  The aggregates cover what a per-row function cannot: RMSE
 * and MAE over a column pair, and catalog coverage over many lists.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/array.h"

#include "arrays.h"
#include "metrics.h"

static void
check_k(int32 k)
{
	if (k <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be positive, not %d", k),
				 errhint("k is the length of the recommendation list to score, e.g. 10.")));
}

/*
 * The shared body of the ranking metrics: false when the relevant set is
 * empty, where every ranking metric is undefined and the SQL result is NULL.
 */
static bool
rank_metrics(FunctionCallInfo fcinfo, FrRankMetrics *m)
{
	ArrayType  *rec_a = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *rel_a = PG_GETARG_ARRAYTYPE_P(1);
	int32		k = PG_GETARG_INT32(2);
	int			n_rec,
				n_rel;
	const int64 *rec;
	const int64 *rel_in;
	int64	   *rel;

	check_k(k);
	rec = fr_array_values(rec_a, INT8OID, "recommended", &n_rec);
	rel_in = fr_array_values(rel_a, INT8OID, "relevant", &n_rel);

	/* the kernel wants the relevant set sorted and distinct */
	rel = palloc(mul_size(Max(n_rel, 1), sizeof(int64)));
	memcpy(rel, rel_in, n_rel * sizeof(int64));
	n_rel = fr_sort_unique_ids(rel, n_rel);
	return fr_rank_metrics(rec, n_rec, rel, n_rel, k, m);
}

PG_FUNCTION_INFO_V1(fashionrec_precision_at_k);
Datum
fashionrec_precision_at_k(PG_FUNCTION_ARGS)
{
	FrRankMetrics m;

	if (!rank_metrics(fcinfo, &m))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(m.precision);
}

PG_FUNCTION_INFO_V1(fashionrec_recall_at_k);
Datum
fashionrec_recall_at_k(PG_FUNCTION_ARGS)
{
	FrRankMetrics m;

	if (!rank_metrics(fcinfo, &m))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(m.recall);
}

PG_FUNCTION_INFO_V1(fashionrec_ndcg_at_k);
Datum
fashionrec_ndcg_at_k(PG_FUNCTION_ARGS)
{
	FrRankMetrics m;

	if (!rank_metrics(fcinfo, &m))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(m.ndcg);
}

PG_FUNCTION_INFO_V1(fashionrec_map_at_k);
Datum
fashionrec_map_at_k(PG_FUNCTION_ARGS)
{
	FrRankMetrics m;

	if (!rank_metrics(fcinfo, &m))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(m.ap);
}

PG_FUNCTION_INFO_V1(fashionrec_hit_rate_at_k);
Datum
fashionrec_hit_rate_at_k(PG_FUNCTION_ARGS)
{
	FrRankMetrics m;

	if (!rank_metrics(fcinfo, &m))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(m.hit);
}

/* ---- rating errors ----------------------------------------------------- */

/* Error sums of two equally long float8[]; false when both are empty. */
static bool
error_sums(FunctionCallInfo fcinfo, FrErrorSums *sums)
{
	int			n_pred,
				n_act;
	const double *pred = fr_array_values(PG_GETARG_ARRAYTYPE_P(0), FLOAT8OID,
										"predicted", &n_pred);
	const double *act = fr_array_values(PG_GETARG_ARRAYTYPE_P(1), FLOAT8OID,
									   "actual", &n_act);

	if (n_pred != n_act)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("predicted and actual must have the same length"),
				 errdetail("predicted has %d elements, actual has %d.", n_pred, n_act),
				 errhint("Pass one prediction per actual rating.")));
	if (n_pred == 0)
		return false;
	fr_error_sums(pred, act, n_pred, sums);
	return true;
}

PG_FUNCTION_INFO_V1(fashionrec_rmse);
Datum
fashionrec_rmse(PG_FUNCTION_ARGS)
{
	FrErrorSums s;

	if (!error_sums(fcinfo, &s))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(fr_rmse(&s));
}

PG_FUNCTION_INFO_V1(fashionrec_mae);
Datum
fashionrec_mae(PG_FUNCTION_ARGS)
{
	FrErrorSums s;

	if (!error_sums(fcinfo, &s))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(fr_mae(&s));
}

/*
 * rmse_agg / mae_agg share a float8[3] state {n, sum of squared errors, sum
 * of absolute errors}, like float8_accum.  The state is an ordinary array so
 * parallel aggregation needs no serialisation; because anyone can call the
 * transition function with a hand-made array, its shape is checked.
 */
static double *
error_state(ArrayType *state)
{
	if (ARR_NDIM(state) != 1 || ARR_DIMS(state)[0] != 3 ||
		ARR_HASNULL(state) || ARR_ELEMTYPE(state) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid rating error state"),
				 errdetail("The state must be a float8[3] without NULLs: {n, sum_sq, sum_abs}.")));
	return (double *) ARR_DATA_PTR(state);
}

static ArrayType *
error_state_out(FunctionCallInfo fcinfo, ArrayType *state, const double *v)
{
	Datum		d[3];

	/* inside the aggregate the state is ours to update in place */
	if (AggCheckCallContext(fcinfo, NULL))
	{
		memcpy(ARR_DATA_PTR(state), v, 3 * sizeof(double));
		return state;
	}
	for (int i = 0; i < 3; i++)
		d[i] = Float8GetDatum(v[i]);
	return construct_array(d, 3, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

PG_FUNCTION_INFO_V1(fashionrec_rating_error_accum);
Datum
fashionrec_rating_error_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	const double *s = error_state(state);
	double		e = PG_GETARG_FLOAT8(1) - PG_GETARG_FLOAT8(2);
	double		v[3];

	v[0] = s[0] + 1.0;
	v[1] = s[1] + e * e;
	v[2] = s[2] + fabs(e);
	PG_RETURN_ARRAYTYPE_P(error_state_out(fcinfo, state, v));
}

PG_FUNCTION_INFO_V1(fashionrec_rating_error_combine);
Datum
fashionrec_rating_error_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	const double *a = error_state(state);
	const double *b = error_state(PG_GETARG_ARRAYTYPE_P(1));
	double		v[3];

	for (int i = 0; i < 3; i++)
		v[i] = a[i] + b[i];
	PG_RETURN_ARRAYTYPE_P(error_state_out(fcinfo, state, v));
}

/* The sums of a final state; false when no pair was seen. */
static bool
final_sums(FunctionCallInfo fcinfo, FrErrorSums *sums)
{
	const double *s = error_state(PG_GETARG_ARRAYTYPE_P(0));

	if (!(s[0] > 0))
		return false;
	sums->n = s[0];
	sums->sum_sq = s[1];
	sums->sum_abs = s[2];
	return true;
}

PG_FUNCTION_INFO_V1(fashionrec_rmse_final);
Datum
fashionrec_rmse_final(PG_FUNCTION_ARGS)
{
	FrErrorSums s;

	if (!final_sums(fcinfo, &s))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(fr_rmse(&s));
}

PG_FUNCTION_INFO_V1(fashionrec_mae_final);
Datum
fashionrec_mae_final(PG_FUNCTION_ARGS)
{
	FrErrorSums s;

	if (!final_sums(fcinfo, &s))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(fr_mae(&s));
}

/* ---- catalog coverage --------------------------------------------------- */

/*
 * The distinct items recommended so far.  Lists are appended and the array
 * is sorted and deduplicated whenever it fills, so memory stays within a
 * small multiple of the number of distinct items however many lists (one
 * per user) are aggregated.  The state is internal: SQL cannot forge it.
 */
typedef struct CoverageState
{
	int64		catalog_size;
	int64		n;				/* ids used */
	int64		n_unique;		/* ids[0..n_unique) are sorted and distinct */
	int64		cap;
	int64	   *ids;
} CoverageState;

#define COVERAGE_MIN_CAP 1024

static CoverageState *
coverage_new(MemoryContext cxt, int64 catalog_size, int64 cap)
{
	CoverageState *st = MemoryContextAllocZero(cxt, sizeof(CoverageState));

	st->catalog_size = catalog_size;
	st->cap = Max(cap, COVERAGE_MIN_CAP);
	st->ids = MemoryContextAllocHuge(cxt, mul_size(st->cap, sizeof(int64)));
	return st;
}

static void
coverage_compact(CoverageState *st)
{
	if (st->n > st->n_unique)
		st->n = st->n_unique = fr_sort_unique_ids(st->ids, st->n);
}

/* Append n ids, compacting and growing (in the state's context) as needed. */
static void
coverage_add(CoverageState *st, const int64 *ids, int64 n)
{
	while (n > 0)
	{
		int64		room = st->cap - st->n;
		int64		take = Min(room, n);

		memcpy(st->ids + st->n, ids, take * sizeof(int64));
		st->n += take;
		ids += take;
		n -= take;
		if (st->n < st->cap)
			break;
		coverage_compact(st);
		/* still more than half full after compaction: the distinct set grew */
		if (st->n > st->cap / 2)
		{
			st->cap = (int64) add_size(st->cap, st->cap);
			st->ids = repalloc_huge(st->ids, mul_size(st->cap, sizeof(int64)));
		}
	}
}

static void
check_catalog_size(CoverageState *st, int64 catalog_size)
{
	if (catalog_size <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("catalog_size must be positive, not " INT64_FORMAT, catalog_size),
				 errhint("Pass the number of items that could have been recommended.")));
	if (st && st->catalog_size != catalog_size)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("catalog_size must be the same in every row"),
				 errdetail("It was " INT64_FORMAT " and then " INT64_FORMAT ".",
						   st->catalog_size, catalog_size)));
}

PG_FUNCTION_INFO_V1(fashionrec_coverage_accum);
Datum
fashionrec_coverage_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	CoverageState *st = PG_ARGISNULL(0) ? NULL : (CoverageState *) PG_GETARG_POINTER(0);
	int64		catalog_size;
	int			n;
	const int64 *ids;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "fashionrec_coverage_accum called in non-aggregate context");
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("catalog_size must not be NULL")));
	catalog_size = PG_GETARG_INT64(2);
	check_catalog_size(st, catalog_size);

	/* a NULL list is skipped, as avg() skips NULLs: only NULLs give NULL */
	if (PG_ARGISNULL(1))
	{
		if (st == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(st);
	}
	if (st == NULL)
		st = coverage_new(aggcxt, catalog_size, COVERAGE_MIN_CAP);
	ids = fr_array_values(PG_GETARG_ARRAYTYPE_P(1), INT8OID, "recommended", &n);
	coverage_add(st, ids, n);
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(fashionrec_coverage_combine);
Datum
fashionrec_coverage_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	CoverageState *a = PG_ARGISNULL(0) ? NULL : (CoverageState *) PG_GETARG_POINTER(0);
	CoverageState *b = PG_ARGISNULL(1) ? NULL : (CoverageState *) PG_GETARG_POINTER(1);

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "fashionrec_coverage_combine called in non-aggregate context");
	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
	{
		/* b may live in a shorter-lived context: copy it into ours */
		a = coverage_new(aggcxt, b->catalog_size, b->n);
	}
	check_catalog_size(a, b->catalog_size);
	coverage_add(a, b->ids, b->n);
	PG_RETURN_POINTER(a);
}

PG_FUNCTION_INFO_V1(fashionrec_coverage_serialize);
Datum
fashionrec_coverage_serialize(PG_FUNCTION_ARGS)
{
	CoverageState *st = (CoverageState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "fashionrec_coverage_serialize called in non-aggregate context");
	coverage_compact(st);
	pq_begintypsend(&buf);
	pq_sendint64(&buf, st->catalog_size);
	pq_sendint64(&buf, st->n);
	for (int64 i = 0; i < st->n; i++)
		pq_sendint64(&buf, st->ids[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(fashionrec_coverage_deserialize);
Datum
fashionrec_coverage_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	MemoryContext aggcxt;
	StringInfoData buf;
	CoverageState *st;
	int64		catalog_size,
				n;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "fashionrec_coverage_deserialize called in non-aggregate context");
	/* read in place, as initReadOnlyStringInfo() does from PostgreSQL 17 */
	buf.data = VARDATA_ANY(b);
	buf.len = VARSIZE_ANY_EXHDR(b);
	buf.maxlen = 0;
	buf.cursor = 0;
	catalog_size = pq_getmsgint64(&buf);
	n = pq_getmsgint64(&buf);
	if (n < 0 || n > (buf.len - buf.cursor) / (int64) sizeof(int64))
		elog(ERROR, "invalid coverage state");
	st = coverage_new(aggcxt, catalog_size, n);
	for (int64 i = 0; i < n; i++)
		st->ids[i] = pq_getmsgint64(&buf);
	st->n = st->n_unique = n;
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(fashionrec_coverage_final);
Datum
fashionrec_coverage_final(PG_FUNCTION_ARGS)
{
	CoverageState *st = PG_ARGISNULL(0) ? NULL : (CoverageState *) PG_GETARG_POINTER(0);

	if (st == NULL)
		PG_RETURN_NULL();
	coverage_compact(st);
	if (st->n > st->catalog_size)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("more distinct items were recommended than catalog_size allows"),
				 errdetail(INT64_FORMAT " distinct items, catalog_size " INT64_FORMAT ".",
						   st->n, st->catalog_size),
				 errhint("catalog_size must count every item that can be recommended.")));
	PG_RETURN_FLOAT8((double) st->n / (double) st->catalog_size);
}
