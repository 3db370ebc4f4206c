/*
 * recommend.c — the serving functions: recommend, similar_items,
 * recommend_for_items, predict.
 *
 * Each one opens the model (model.c: the active or a named version, cached),
 * asks the algorithm for a dense score vector over the model's items, and
 * selects the top k with topk.c after the filters: items the user already
 * has, an exclusion list, and an optional candidate list that restricts the
 * ranking to exactly those items.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "fashionrec.h"
#include "model.h"
#include "serving.h"
#include "stats.h"
#include "topk.h"

char *
fr_arg_name(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name must not be NULL")));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

int
fr_arg_k(FunctionCallInfo fcinfo, int argno)
{
	int			k;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("k must not be NULL")));
	k = PG_GETARG_INT32(argno);
	if (k <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be positive, got %d", k)));
	if (k > fr_max_k)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("k = %d exceeds fashionrec.max_k (%d)", k, fr_max_k),
				 errhint("Ask for fewer, or have a superuser raise fashionrec.max_k.")));
	return k;
}

int
fr_clamp_k(const FrModel *model, int k)
{
	return Min(k, Max(model->n_items, 1));
}

int32
fr_arg_version(FunctionCallInfo fcinfo, int argno)
{
	int32		version;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return 0;
	version = PG_GETARG_INT32(argno);
	if (version <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("version must be positive, got %d", version)));
	return version;
}

int64 *
fr_bigint_array(ArrayType *arr, const char *what, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	int64	   *out;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", what)));
	deconstruct_array(arr, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, n);
	out = palloc(sizeof(int64) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULLs", what)));
		out[i] = DatumGetInt64(elems[i]);
	}
	return out;
}

/* Item ids to distinct model indices; ids the model does not know are dropped. */
static int32 *
item_indices(const FrModel *model, const int64 *ids, int n, int *n_out, uint8 *seen_buf)
{
	int32	   *idx = palloc(sizeof(int32) * Max(n, 1));
	int			m = 0;

	for (int i = 0; i < n; i++)
	{
		int32		j = fr_model_item_index(model, ids[i]);

		if (j >= 0 && !seen_buf[j])
		{
			seen_buf[j] = 1;
			idx[m++] = j;
		}
	}
	for (int i = 0; i < m; i++)
		seen_buf[idx[i]] = 0;
	*n_out = m;
	return idx;
}

void
fr_emit_topk(FunctionCallInfo fcinfo, const FrModel *model, const float *scores,
		  const int32 *subset, int n_subset, const uint8 *skip, int k)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			m = fr_clamp_k(model, k);
	int32	   *items = palloc(sizeof(int32) * m);
	float	   *best = palloc(sizeof(float) * m);
	int			n = fr_topk(scores, model->n_items, subset, n_subset, skip, m, items, best);

	for (int r = 0; r < n; r++)
	{
		Datum		values[3];
		bool		nulls[3] = {0};

		values[0] = Int64GetDatum(model->item_ids[items[r]]);
		values[1] = Float4GetDatum(best[r]);
		values[2] = Int32GetDatum(r + 1);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* Mark the excluded items, and build the candidate subset (or NULL = all). */
int32 *
fr_apply_filters(FunctionCallInfo fcinfo, const FrModel *model, uint8 *skip,
			  int candidates_arg, int exclude_arg, int *n_subset)
{
	int32	   *subset = NULL;
	uint8	   *scratch = palloc0(Max(model->n_items, 1));

	*n_subset = 0;
	if (exclude_arg >= 0 && PG_NARGS() > exclude_arg && !PG_ARGISNULL(exclude_arg))
	{
		int			n,
					m;
		int64	   *ids = fr_bigint_array(PG_GETARG_ARRAYTYPE_P(exclude_arg), "exclude", &n);
		int32	   *idx = item_indices(model, ids, n, &m, scratch);

		for (int i = 0; i < m; i++)
			skip[idx[i]] = 1;
	}
	if (candidates_arg >= 0 && PG_NARGS() > candidates_arg && !PG_ARGISNULL(candidates_arg))
	{
		int			n;
		int64	   *ids = fr_bigint_array(PG_GETARG_ARRAYTYPE_P(candidates_arg), "candidates", &n);

		subset = item_indices(model, ids, n, n_subset, scratch);
	}
	return subset;
}

/*
 * The user's history as stored by refresh_user() for this model version:
 * known item indices and weights; returns -1 when there is none.
 */
static int
refreshed_history(const FrModel *model, int64 user_id, int32 **items, float **weights)
{
	static SPIPlanPtr plan = NULL;
	MemoryContext caller = CurrentMemoryContext;
	Datum		values[2] = {Int64GetDatum(model->model_id), Int64GetDatum(user_id)};
	int			n = -1;

	SPI_connect();
	if (plan == NULL)
	{
		Oid			argtypes[2] = {INT8OID, INT8OID};
		SPIPlanPtr	p = SPI_prepare("SELECT item_ids, weights FROM fashionrec.user_refresh"
									" WHERE model_id = $1 AND user_id = $2", 2, argtypes);

		if (p == NULL)
			elog(ERROR, "could not prepare refresh lookup: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		plan = p;
	}
	if (SPI_execute_plan(plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "refresh lookup failed");
	if (SPI_processed == 1)
	{
		bool		isnull;
		MemoryContext old = MemoryContextSwitchTo(caller);
		ArrayType  *ids = DatumGetArrayTypePCopy(SPI_getbinval(SPI_tuptable->vals[0],
															 SPI_tuptable->tupdesc, 1, &isnull));
		ArrayType  *ws = DatumGetArrayTypePCopy(SPI_getbinval(SPI_tuptable->vals[0],
															SPI_tuptable->tupdesc, 2, &isnull));
		int			n_ids;
		int64	   *id_values = fr_bigint_array(ids, "item_ids", &n_ids);
		float	   *w_values;

		/* the weights are read as a plain float array: refresh_user() never stores NULLs */
		if (ARR_NDIM(ws) > 1 || ARR_HASNULL(ws) || ARR_ELEMTYPE(ws) != FLOAT4OID)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("the refreshed history of user %lld for model \"%s\" version %d is corrupt",
							(long long) user_id, model->name, model->version),
					 errhint("Store it again with fashionrec.refresh_user('%s', %lld).",
							 model->name, (long long) user_id)));
		w_values = (float *) ARR_DATA_PTR(ws);

		*items = palloc(sizeof(int32) * Max(n_ids, 1));
		*weights = palloc(sizeof(float) * Max(n_ids, 1));
		n = 0;
		for (int i = 0; i < n_ids && i < ArrayGetNItems(ARR_NDIM(ws), ARR_DIMS(ws)); i++)
		{
			int32		j = fr_model_item_index(model, id_values[i]);

			if (j >= 0)
			{
				(*items)[n] = j;
				(*weights)[n++] = w_values[i];
			}
		}
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return n;
}

/*
 * recommend(name, user_id, k, exclude_seen, candidates, version, exclude, context)
 */
FR_SERVING_FUNCTION(fashionrec_recommend, FR_FN_RECOMMEND)
{
	char	   *name = fr_arg_name(fcinfo, 0);
	int			k = fr_arg_k(fcinfo, 2);
	bool		exclude_seen = PG_ARGISNULL(3) ? true : PG_GETARG_BOOL(3);
	int32		version = fr_arg_version(fcinfo, 5);
	FrModel    *model;
	int64		user_id;
	int32		user;
	float	   *scores;
	uint8	   *skip;
	int32	   *subset;
	int			n_subset;
	int32	   *refreshed = NULL;
	float	   *refreshed_weights = NULL;
	int			n_refreshed = -1;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("user_id must not be NULL"),
				 errhint("For an anonymous visitor use fashionrec.recommend_for_items() with the items of the session.")));
	user_id = PG_GETARG_INT64(1);

	InitMaterializedSRF(fcinfo, 0);
	model = fr_model_open(name, version);
	user = fr_model_user_index(model, user_id);
	if (model->algo->score_items)
		n_refreshed = refreshed_history(model, user_id, &refreshed, &refreshed_weights);

	scores = palloc_extended(mul_size(Max(model->n_items, 1), sizeof(float)), MCXT_ALLOC_HUGE);
	skip = palloc0(Max(model->n_items, 1));
	subset = fr_apply_filters(fcinfo, model, skip, 4, 6, &n_subset);

	if (!PG_ARGISNULL(7) && model->algo->score_context == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("algorithm \"%s\" of model \"%s\" does not use a context",
						model->algo->name, name),
				 errhint("Train a \"popularity\" model with a \"context_column\", or filter with candidates.")));
	if (!PG_ARGISNULL(7) &&
		model->algo->score_context(model, text_to_cstring(PG_GETARG_TEXT_PP(7)), scores))
		;						/* an unknown context falls through to the plain scores */
	else if (n_refreshed > 0)
		model->algo->score_items(model, refreshed, refreshed_weights, n_refreshed, scores);
	else if (user >= 0 && n_refreshed < 0 && subset && model->algo->score_user_items &&
			 n_subset < model->n_items / 4)
	{
		/* few candidates: score only those */
		float	   *part = palloc(sizeof(float) * Max(n_subset, 1));

		model->algo->score_user_items(model, user, subset, n_subset, part);
		for (int i = 0; i < n_subset; i++)
			scores[subset[i]] = part[i];
	}
	else if (user >= 0 && n_refreshed < 0)
		model->algo->score_user(model, user, scores);
	else
	{
		/* unknown user: the model's own popularity is the documented fallback */
		memcpy(scores, model->item_popularity, sizeof(float) * model->n_items);
	}

	if (exclude_seen && n_refreshed >= 0)
		for (int i = 0; i < n_refreshed; i++)
			skip[refreshed[i]] = 1;
	else if (exclude_seen && user >= 0)
		for (int64 j = model->seen_indptr[user]; j < model->seen_indptr[user + 1]; j++)
			skip[model->seen_indices[j]] = 1;
	fr_emit_topk(fcinfo, model, scores, subset, n_subset, skip, k);
	return (Datum) 0;
}

/*
 * similar_items(name, item_id, k, candidates, version)
 */
FR_SERVING_FUNCTION(fashionrec_similar_items, FR_FN_SIMILAR_ITEMS)
{
	char	   *name = fr_arg_name(fcinfo, 0);
	int			k = fr_arg_k(fcinfo, 2);
	int32		version = fr_arg_version(fcinfo, 4);
	FrModel    *model;
	int32		item;
	float	   *scores;
	uint8	   *skip;
	int32	   *subset;
	int			n_subset;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("item_id must not be NULL")));

	InitMaterializedSRF(fcinfo, 0);
	model = fr_model_open(name, version);
	if (model->algo->score_similar == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("algorithm \"%s\" of model \"%s\" has no notion of item similarity",
						model->algo->name, name),
				 errhint("Use a model trained with als, itemknn, ease, svd or a content algorithm.")));
	item = fr_model_item_index(model, PG_GETARG_INT64(1));
	if (item < 0)
		return (Datum) 0;		/* an item the model never saw: no neighbours */

	scores = palloc_extended(mul_size(Max(model->n_items, 1), sizeof(float)), MCXT_ALLOC_HUGE);
	skip = palloc0(Max(model->n_items, 1));
	model->algo->score_similar(model, item, scores);
	skip[item] = 1;
	subset = fr_apply_filters(fcinfo, model, skip, 3, -1, &n_subset);
	fr_emit_topk(fcinfo, model, scores, subset, n_subset, skip, k);
	return (Datum) 0;
}

/*
 * recommend_for_items(name, item_ids, k, weights, exclude_given, candidates, version)
 */
FR_SERVING_FUNCTION(fashionrec_recommend_for_items, FR_FN_RECOMMEND_FOR_ITEMS)
{
	char	   *name = fr_arg_name(fcinfo, 0);
	int			k = fr_arg_k(fcinfo, 2);
	bool		exclude_given = PG_ARGISNULL(4) ? true : PG_GETARG_BOOL(4);
	int32		version = fr_arg_version(fcinfo, 6);
	FrModel    *model;
	int64	   *ids;
	int			n_ids;
	float	   *given_weights = NULL;
	int32	   *items;
	float	   *weights;
	int			n = 0;
	float	   *scores;
	uint8	   *skip;
	int32	   *subset;
	int			n_subset;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("item_ids must not be NULL"),
				 errhint("Pass an empty array for a visitor with no history.")));
	ids = fr_bigint_array(PG_GETARG_ARRAYTYPE_P(1), "item_ids", &n_ids);
	if (!PG_ARGISNULL(3))
	{
		ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(3);
		Datum	   *elems;
		bool	   *nulls;
		int			nw;

		if (ARR_NDIM(arr) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("weights must be a one-dimensional array")));
		deconstruct_array(arr, FLOAT4OID, 4, true, TYPALIGN_INT, &elems, &nulls, &nw);
		if (nw != n_ids)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("weights has %d elements but item_ids has %d", nw, n_ids),
					 errhint("Give one weight per item, or NULL for equal weights.")));
		given_weights = palloc(sizeof(float) * Max(nw, 1));
		for (int i = 0; i < nw; i++)
		{
			if (nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("weights must not contain NULLs")));
			given_weights[i] = DatumGetFloat4(elems[i]);
			if (!isfinite(given_weights[i]) || given_weights[i] < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("weights must be finite and non-negative, got %g", given_weights[i])));
		}
	}

	InitMaterializedSRF(fcinfo, 0);
	model = fr_model_open(name, version);

	/* known items only; repeated items add their weights */
	items = palloc(sizeof(int32) * Max(n_ids, 1));
	weights = palloc(sizeof(float) * Max(n_ids, 1));
	for (int i = 0; i < n_ids; i++)
	{
		int32		j = fr_model_item_index(model, ids[i]);
		float		w = given_weights ? given_weights[i] : 1.0f;
		int			found = -1;

		if (j < 0)
			continue;
		for (int m = 0; m < n; m++)
			if (items[m] == j)
				found = m;
		if (found >= 0)
			weights[found] += w;
		else
		{
			items[n] = j;
			weights[n++] = w;
		}
	}

	scores = palloc_extended(mul_size(Max(model->n_items, 1), sizeof(float)), MCXT_ALLOC_HUGE);
	skip = palloc0(Max(model->n_items, 1));
	if (n > 0 && model->algo->score_items)
		model->algo->score_items(model, items, weights, n, scores);
	else if (n > 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("algorithm \"%s\" of model \"%s\" cannot fold in a list of items",
						model->algo->name, name)));
	else
		memcpy(scores, model->item_popularity, sizeof(float) * model->n_items);
	if (exclude_given)
		for (int i = 0; i < n; i++)
			skip[items[i]] = 1;
	subset = fr_apply_filters(fcinfo, model, skip, 5, -1, &n_subset);
	fr_emit_topk(fcinfo, model, scores, subset, n_subset, skip, k);
	return (Datum) 0;
}

/*
 * predict(name, user_id, item_id, version) returns real; NULL for an unknown
 * user or item.
 */
FR_SERVING_FUNCTION(fashionrec_predict, FR_FN_PREDICT)
{
	char	   *name = fr_arg_name(fcinfo, 0);
	int32		version = fr_arg_version(fcinfo, 3);
	FrModel    *model;
	int32		user,
				item;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	model = fr_model_open(name, version);
	user = fr_model_user_index(model, PG_GETARG_INT64(1));
	item = fr_model_item_index(model, PG_GETARG_INT64(2));
	if (user < 0 || item < 0)
		PG_RETURN_NULL();
	if (model->algo->predict)
		PG_RETURN_FLOAT4(model->algo->predict(model, user, item));
	else
	{
		float	   *scores = palloc_extended(mul_size(model->n_items, sizeof(float)), MCXT_ALLOC_HUGE);

		model->algo->score_user(model, user, scores);
		PG_RETURN_FLOAT4(scores[item]);
	}
}

/*
 * recommend_all(name, k, users, exclude_seen, version) returns
 * table(user_id bigint, item_id bigint, score real, rank int): top k for many
 * users at once (e-mail campaigns), scored in blocks of users.
 */
FR_SERVING_FUNCTION(fashionrec_recommend_all, FR_FN_RECOMMEND_ALL)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name = fr_arg_name(fcinfo, 0);
	int			k = fr_arg_k(fcinfo, 1);
	bool		exclude_seen = PG_ARGISNULL(3) ? true : PG_GETARG_BOOL(3);
	int32		version = fr_arg_version(fcinfo, 4);
	FrModel    *model;
	int64	   *user_ids;
	int			n_users;
	int32	   *users;
	int			block;
	float	   *scores;
	uint8	   *skip;
	int32	   *items;
	float	   *best;
	double		started = fr_now(),
				reported = started;

	InitMaterializedSRF(fcinfo, 0);
	model = fr_model_open(name, version);
	k = fr_clamp_k(model, k);
	items = palloc(sizeof(int32) * k);
	best = palloc(sizeof(float) * k);

	if (PG_ARGISNULL(2))
	{
		n_users = model->n_users;
		user_ids = model->user_ids;
	}
	else
		user_ids = fr_bigint_array(PG_GETARG_ARRAYTYPE_P(2), "users", &n_users);
	users = palloc(sizeof(int32) * Max(n_users, 1));
	for (int i = 0; i < n_users; i++)
		users[i] = PG_ARGISNULL(2) ? i : fr_model_user_index(model, user_ids[i]);

	/* about 32 MB of scores per block */
	block = Max(1, Min(1024, (int) ((size_t) 8 * 1024 * 1024 / Max(model->n_items, 1))));
	scores = palloc_extended(mul_size(mul_size(block, Max(model->n_items, 1)), sizeof(float)),
							 MCXT_ALLOC_HUGE);
	skip = palloc0(Max(model->n_items, 1));

	for (int start = 0; start < n_users; start += block)
	{
		int			n = Min(block, n_users - start);
		int			known = 0;

		CHECK_FOR_INTERRUPTS();
		/* known users of the block scored together, unknown ones get popularity */
		for (int b = 0; b < n && users[start + b] >= 0; b++)
			known++;
		if (known == n && model->algo->score_users)
			model->algo->score_users(model, users + start, n, scores);
		else
			for (int b = 0; b < n; b++)
			{
				float	   *row = scores + (size_t) b * model->n_items;

				if (users[start + b] >= 0)
					model->algo->score_user(model, users[start + b], row);
				else
					memcpy(row, model->item_popularity, sizeof(float) * model->n_items);
			}

		for (int b = 0; b < n; b++)
		{
			int32		u = users[start + b];
			int			got;

			/* a block's top-k lists and rows can take a second at large k */
			CHECK_FOR_INTERRUPTS();
			if (exclude_seen && u >= 0)
				for (int64 j = model->seen_indptr[u]; j < model->seen_indptr[u + 1]; j++)
					skip[model->seen_indices[j]] = 1;
			got = fr_topk(scores + (size_t) b * model->n_items, model->n_items, NULL, 0,
						  skip, k, items, best);
			if (exclude_seen && u >= 0)
				for (int64 j = model->seen_indptr[u]; j < model->seen_indptr[u + 1]; j++)
					skip[model->seen_indices[j]] = 0;
			for (int r = 0; r < got; r++)
			{
				Datum		values[4];
				bool		nulls[4] = {0};

				values[0] = Int64GetDatum(user_ids[start + b]);
				values[1] = Int64GetDatum(model->item_ids[items[r]]);
				values[2] = Float4GetDatum(best[r]);
				values[3] = Int32GetDatum(r + 1);
				tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			}
		}
		if (fr_now() - reported >= 10.0)
		{
			reported = fr_now();
			ereport(NOTICE,
					(errmsg("recommend_all: %d of %d users in %.1f s",
							start + n, n_users, reported - started)));
		}
	}
	return (Datum) 0;
}

static Datum
embedding_datum(FunctionCallInfo fcinfo, bool of_user)
{
	char	   *name = fr_arg_name(fcinfo, 0);
	int32		version = fr_arg_version(fcinfo, 2);
	FrModel    *model;
	int32		index;
	int32		dim;
	float	   *vec;
	Datum	   *elems;

	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	model = fr_model_open(name, version);
	dim = model->algo->embedding ? model->algo->embedding(model, of_user, 0, NULL) : 0;
	if (dim <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("algorithm \"%s\" of model \"%s\" has no %s embeddings",
						model->algo->name, name, of_user ? "user" : "item"),
				 errhint("Factor models (als, mf, svd) and embedding models have them.")));
	index = of_user ? fr_model_user_index(model, PG_GETARG_INT64(1))
		: fr_model_item_index(model, PG_GETARG_INT64(1));
	if (index < 0)
		PG_RETURN_NULL();
	vec = palloc(sizeof(float) * dim);
	model->algo->embedding(model, of_user, index, vec);
	elems = palloc(sizeof(Datum) * dim);
	for (int i = 0; i < dim; i++)
		elems[i] = Float4GetDatum(vec[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, dim, FLOAT4OID, 4, true, TYPALIGN_INT));
}

/* user_embedding(name, user_id, version) returns real[]; NULL for an unknown user */
FR_SERVING_FUNCTION(fashionrec_user_embedding, FR_FN_USER_EMBEDDING)
{
	return embedding_datum(fcinfo, true);
}

/* item_embedding(name, item_id, version) returns real[]; NULL for an unknown item */
FR_SERVING_FUNCTION(fashionrec_item_embedding, FR_FN_ITEM_EMBEDDING)
{
	return embedding_datum(fcinfo, false);
}
