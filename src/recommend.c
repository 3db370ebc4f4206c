/*
 * recommend.c — the serving functions: recommend, similar_items,
 * recommend_for_items, predict, recommend_all, the embeddings; and what
 * every serving function shares (serving.h): the shape of its arguments,
 * their checks, the filters and the top-k rows.
 *
 * Each one opens the model (model.c: the active or a named version, cached),
 * asks the algorithm for a dense score vector over the model's items, and
 * selects the top k with topk.c after the filters: items the user already
 * has, an exclusion list, and an optional candidate list that restricts the
 * ranking to exactly those items.  recommend, similar_items and
 * recommend_for_items search a version's ANN index instead of scoring the
 * catalog when it has one (ann.c), with the same filters.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "ann.h"
#include "arrays.h"
#include "batch_sql.h"
#include "fashionrec.h"
#include "model.h"
#include "scratch.h"
#include "serving.h"
#include "skipmask.h"
#include "stats.h"
#include "topk.h"

char *
fr_arg_name(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name must not be NULL"),
				 errhint("Pass the name of a trained model; SELECT * FROM fashionrec.models lists them.")));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

int
fr_arg_k(FunctionCallInfo fcinfo, int argno)
{
	int			k;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("k must not be NULL"),
				 errhint("k is the number of items to return; leave it out for the default, 10.")));
	k = PG_GETARG_INT32(argno);
	if (k <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be positive, got %d", k),
				 errhint("k is the number of items to return, e.g. 10.")));
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
				 errmsg("version must be positive, got %d", version),
				 errhint("Pass a version number of the model, or NULL for its active version.")));
	return version;
}

/* the columns of (item_id, score, rank) and of recommend_all's rows */
enum
{
	TOPK_COL_ITEM_ID,
	TOPK_COL_SCORE,
	TOPK_COL_RANK,
	TOPK_COLS
};
enum
{
	ALL_COL_USER_ID,
	ALL_COL_ITEM_ID,
	ALL_COL_SCORE,
	ALL_COL_RANK,
	ALL_COLS
};

/* users per block of recommend_all's rows */
#define ALL_BLOCK 1024

/*
 * The serving functions' shapes (serving.h), one row each.  The 0.2 rows
 * follow the enums, which are the SQL signatures; the 0.1 rows are frozen:
 * they are how a database that has not yet run ALTER EXTENSION fashionrec
 * UPDATE calls this library (0.1's SQL names the unsuffixed C symbols).
 */
const FrServingShape fr_recommend_shape = {
	.nargs = FR_RECOMMEND_NARGS, .subject = FR_ARG_SUBJECT, .k = FR_ARG_K,
	.exclude_seen = FR_RECOMMEND_EXCLUDE_SEEN, .candidates = FR_RECOMMEND_CANDIDATES,
	.exclude = FR_RECOMMEND_EXCLUDE, .context = FR_RECOMMEND_CONTEXT,
	.version = FR_RECOMMEND_VERSION, .weights = FR_ABSENT,
	.probes = FR_RECOMMEND_PROBES, .exact = FR_RECOMMEND_EXACT
};
const FrServingShape fr_similar_items_shape = {
	.nargs = FR_SIMILAR_NARGS, .subject = FR_ARG_SUBJECT, .k = FR_ARG_K,
	.exclude_seen = FR_ABSENT, .candidates = FR_SIMILAR_CANDIDATES,
	.exclude = FR_SIMILAR_EXCLUDE, .context = FR_ABSENT,
	.version = FR_SIMILAR_VERSION, .weights = FR_ABSENT,
	.probes = FR_SIMILAR_PROBES, .exact = FR_SIMILAR_EXACT
};
const FrServingShape fr_for_items_shape = {
	.nargs = FR_FOR_ITEMS_NARGS, .subject = FR_ARG_SUBJECT, .k = FR_ARG_K,
	.exclude_seen = FR_FOR_ITEMS_EXCLUDE_SEEN, .candidates = FR_FOR_ITEMS_CANDIDATES,
	.exclude = FR_FOR_ITEMS_EXCLUDE, .context = FR_FOR_ITEMS_CONTEXT,
	.version = FR_FOR_ITEMS_VERSION, .weights = FR_FOR_ITEMS_WEIGHTS,
	.probes = FR_FOR_ITEMS_PROBES, .exact = FR_FOR_ITEMS_EXACT
};
const FrServingShape fr_next_items_shape = {
	.nargs = FR_NEXT_NARGS, .subject = FR_ARG_SUBJECT, .k = FR_ARG_K,
	.exclude_seen = FR_NEXT_EXCLUDE_SEEN, .candidates = FR_NEXT_CANDIDATES,
	.exclude = FR_NEXT_EXCLUDE, .context = FR_ABSENT,
	.version = FR_NEXT_VERSION, .weights = FR_ABSENT
};
const FrServingShape fr_recommend_all_shape = {
	.nargs = FR_ALL_NARGS, .subject = FR_ARG_SUBJECT, .k = FR_ARG_K,
	.exclude_seen = FR_ALL_EXCLUDE_SEEN, .candidates = FR_ALL_CANDIDATES,
	.exclude = FR_ALL_EXCLUDE, .context = FR_ALL_CONTEXT,
	.version = FR_ALL_VERSION, .weights = FR_ABSENT
};
const FrServingShape fr_recommend_all_into_shape = {
	.nargs = FR_INTO_NARGS, .subject = FR_ARG_SUBJECT, .k = FR_ARG_K,
	.exclude_seen = FR_INTO_EXCLUDE_SEEN, .candidates = FR_INTO_CANDIDATES,
	.exclude = FR_INTO_EXCLUDE, .context = FR_INTO_CONTEXT,
	.version = FR_INTO_VERSION, .weights = FR_ABSENT
};
const FrServingShape fr_explain_shape = {
	.nargs = FR_EXPLAIN_NARGS, .subject = FR_ARG_SUBJECT, .k = FR_ARG_K,
	.exclude_seen = FR_EXPLAIN_EXCLUDE_SEEN, .candidates = FR_EXPLAIN_CANDIDATES,
	.exclude = FR_EXPLAIN_EXCLUDE, .context = FR_EXPLAIN_CONTEXT,
	.version = FR_EXPLAIN_VERSION, .weights = FR_ABSENT
};

/* 0.2's recommend(name, user_id, k, exclude_seen, candidates, exclude, context, version) */
const FrServingShape fr_recommend_shape_0_2 = {
	.nargs = 8, .subject = 1, .k = 2, .exclude_seen = 3, .candidates = 4,
	.exclude = 5, .context = 6, .version = 7, .weights = FR_ABSENT
};
/* 0.2's similar_items(name, item_id, k, candidates, exclude, version) */
const FrServingShape fr_similar_items_shape_0_2 = {
	.nargs = 6, .subject = 1, .k = 2, .exclude_seen = FR_ABSENT, .candidates = 3,
	.exclude = 4, .context = FR_ABSENT, .version = 5, .weights = FR_ABSENT
};
/* 0.2's recommend_for_items(name, item_ids, k, exclude_seen, candidates, exclude, context, version, weights) */
const FrServingShape fr_for_items_shape_0_2 = {
	.nargs = 9, .subject = 1, .k = 2, .exclude_seen = 3, .candidates = 4,
	.exclude = 5, .context = 6, .version = 7, .weights = 8
};

/* recommend(name, user_id, k, exclude_seen, candidates, version, exclude, context) */
const FrServingShape fr_recommend_shape_0_1 = {
	.nargs = 8, .subject = 1, .k = 2, .exclude_seen = 3, .candidates = 4,
	.exclude = 6, .context = 7, .version = 5, .weights = FR_ABSENT
};
/* similar_items(name, item_id, k, candidates, version) */
const FrServingShape fr_similar_items_shape_0_1 = {
	.nargs = 5, .subject = 1, .k = 2, .exclude_seen = FR_ABSENT, .candidates = 3,
	.exclude = FR_ABSENT, .context = FR_ABSENT, .version = 4, .weights = FR_ABSENT
};
/* recommend_for_items(name, item_ids, k, weights, exclude_given, candidates, version) */
const FrServingShape fr_for_items_shape_0_1 = {
	.nargs = 7, .subject = 1, .k = 2, .exclude_seen = 4, .candidates = 5,
	.exclude = FR_ABSENT, .context = FR_ABSENT, .version = 6, .weights = 3
};
/* next_items(name, recent_item_ids, k, exclude_given, candidates, version) */
const FrServingShape fr_next_items_shape_0_1 = {
	.nargs = 6, .subject = 1, .k = 2, .exclude_seen = 3, .candidates = 4,
	.exclude = FR_ABSENT, .context = FR_ABSENT, .version = 5, .weights = FR_ABSENT
};
/* recommend_all(name, users, k, exclude_seen, candidates, exclude, version) */
const FrServingShape fr_recommend_all_shape_0_2 = {
	.nargs = 7, .subject = 1, .k = 2, .exclude_seen = 3, .candidates = 4,
	.exclude = 5, .context = FR_ABSENT, .version = 6, .weights = FR_ABSENT
};
/* recommend_all(name, k, users, exclude_seen, version) */
const FrServingShape fr_recommend_all_shape_0_1 = {
	.nargs = 5, .subject = 2, .k = 1, .exclude_seen = 3, .candidates = FR_ABSENT,
	.exclude = FR_ABSENT, .context = FR_ABSENT, .version = 4, .weights = FR_ABSENT
};
/* 0.2's explain(name, user_id, k, exclude_seen, candidates, exclude, version) */
const FrServingShape fr_explain_shape_0_2 = {
	.nargs = 7, .subject = 1, .k = 2, .exclude_seen = 3, .candidates = 4,
	.exclude = 5, .context = FR_ABSENT, .version = 6, .weights = FR_ABSENT
};
/* explain(name, user_id, k, candidates, version): seen items always excluded */
const FrServingShape fr_explain_shape_0_1 = {
	.nargs = 5, .subject = 1, .k = 2, .exclude_seen = FR_ABSENT, .candidates = 3,
	.exclude = FR_ABSENT, .context = FR_ABSENT, .version = 4, .weights = FR_ABSENT
};

void
fr_serving_args(FunctionCallInfo fcinfo, const FrServingShape *shape, FrServingArgs *args)
{
	/* a catalog entry and a shape that disagree would read the wrong Datums */
	if (PG_NARGS() != shape->nargs)
		elog(ERROR, "serving function called with %d arguments, its shape has %d",
			 PG_NARGS(), shape->nargs);
	memset(args, 0, sizeof(*args));
	args->name = fr_arg_name(fcinfo, FR_ARG_NAME);
	args->k = fr_arg_k(fcinfo, shape->k);
	args->version = shape->version == FR_ABSENT ? 0 : fr_arg_version(fcinfo, shape->version);
	args->exclude_seen = shape->exclude_seen == FR_ABSENT || PG_ARGISNULL(shape->exclude_seen)
		|| PG_GETARG_BOOL(shape->exclude_seen);
	args->candidates = fr_arg_int8_array(fcinfo, shape->candidates, "candidates", &args->n_candidates);
	args->exclude = fr_arg_int8_array(fcinfo, shape->exclude, "exclude", &args->n_exclude);
	if (shape->context != FR_ABSENT && !PG_ARGISNULL(shape->context))
		args->context = text_to_cstring(PG_GETARG_TEXT_PP(shape->context));
	args->probes = fr_ann_probes;
	if (shape->probes > 0 && !PG_ARGISNULL(shape->probes))
	{
		args->probes = PG_GETARG_INT32(shape->probes);
		if (args->probes < 1 || args->probes > FR_IVF_MAX_LISTS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("probes must be from 1 to %d, got %d", FR_IVF_MAX_LISTS, args->probes),
					 errhint("probes is how many lists of the version's approximate index a call scans: "
							 "more is slower and closer to exact; exact => true scans every item.")));
	}
	args->exact = shape->exact > 0 && !PG_ARGISNULL(shape->exact) && PG_GETARG_BOOL(shape->exact);
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

/* n ranked items as (item_id, score, rank) rows */
static void
emit_rows(FunctionCallInfo fcinfo, const FrModel *model, const int32 *items, const float *best, int n)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	Assert(rsinfo->setDesc->natts == TOPK_COLS);
	for (int r = 0; r < n; r++)
	{
		Datum		values[TOPK_COLS];
		bool		nulls[TOPK_COLS] = {0};

		values[TOPK_COL_ITEM_ID] = Int64GetDatum(model->item_ids[items[r]]);
		values[TOPK_COL_SCORE] = Float4GetDatum(best[r]);
		values[TOPK_COL_RANK] = Int32GetDatum(r + 1);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

void
fr_emit_topk(FunctionCallInfo fcinfo, const FrModel *model, const float *scores,
			 const int32 *subset, int n_subset, const uint8 *skip, int k)
{
	int			m = fr_clamp_k(model, k);
	int32	   *items = palloc(sizeof(int32) * m);
	float	   *best = palloc(sizeof(float) * m);
	int			n = fr_topk(scores, model->n_items, subset, n_subset, skip, m, items, best);

	emit_rows(fcinfo, model, items, best, n);
}

/*
 * The version's ANN index answers unless the call asks for exact scores or
 * restricts the ranking to candidates (always scored exactly: a short list
 * costs less exactly than probing), or ranks by a context.
 */
static bool
use_ann(const FrModel *model, const FrServingArgs *args)
{
	return model->ann != NULL && !args->exact && args->candidates == NULL && args->context == NULL;
}

/* A query vector of the index's dimension, for the algorithm to fill. */
static float *
ann_query(const FrModel *model)
{
	return palloc(sizeof(float) * model->ann->ivf.dim);
}

/*
 * The top k by the index for query q, whose inner products (cosine: their
 * cosines) with the item vectors are the algorithm's scores; skipped items
 * cost no recall, as probing goes on until k others are found.
 */
static void
emit_ann(FunctionCallInfo fcinfo, const FrModel *model, const FrServingArgs *args,
		 const float *q, bool cosine, const uint8 *skip)
{
	int			m = fr_clamp_k(model, args->k);
	int32	   *items = palloc(sizeof(int32) * m);
	float	   *best = palloc(sizeof(float) * m);
	int			n = fr_ann_topk(model, q, cosine, args->probes, skip, m, items, best);

	emit_rows(fcinfo, model, items, best, n);
}

int32 *
fr_apply_filters(const FrModel *model, const FrServingArgs *args, uint8 *skip, int *n_subset)
{
	int32	   *subset = NULL;
	uint8	   *scratch;

	*n_subset = 0;
	if (args->exclude == NULL && args->candidates == NULL)
		return NULL;
	/* item_indices() leaves it zeroed, as it found it */
	scratch = fr_skip_acquire(model->n_items);
	if (args->exclude)
	{
		int			m;
		int32	   *idx = item_indices(model, args->exclude, args->n_exclude, &m, scratch);

		for (int i = 0; i < m; i++)
			fr_skip_set(skip, idx[i]);
	}
	if (args->candidates)
		subset = item_indices(model, args->candidates, args->n_candidates, n_subset, scratch);
	fr_skip_release(scratch);
	return subset;
}

bool
fr_context_scores(const FrModel *model, const FrServingArgs *args, int32 user,
				  const int32 *items, const float *weights, int n,
				  const int32 *subset, int n_subset, float *scores)
{
	if (args->context == NULL)
		return false;
	if (model->algo->score_in_context)
		return model->algo->score_in_context(model, user, items, weights, n, args->context,
											 subset, subset ? n_subset : 0, scores);
	if (model->algo->score_context == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("algorithm \"%s\" of model \"%s\" does not use a context",
						model->algo->name, args->name),
				 errhint("Train a \"popularity\" model with a \"context_column\", or filter with candidates.")));
	return model->algo->score_context(model, args->context, scores);
}

/*
 * The user's history as stored by refresh_user() for this model version:
 * known item indices and weights; returns -1 when there is none.
 */
static int
refreshed_history(const FrModel *model, int64 user_id, int32 **items, float **weights)
{
	ArrayType  *ids;
	ArrayType  *ws;
	int			n_ids;
	int64	   *id_values;
	float	   *w_values;
	int			n = 0;

	if (!fr_model_refreshed(model, user_id, &ids, &ws))
		return -1;
	id_values = fr_int8_array(ids, "item_ids", &n_ids);
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
	for (int i = 0; i < n_ids && i < ArrayGetNItems(ARR_NDIM(ws), ARR_DIMS(ws)); i++)
	{
		int32		j = fr_model_item_index(model, id_values[i]);

		if (j >= 0)
		{
			(*items)[n] = j;
			(*weights)[n++] = w_values[i];
		}
	}
	return n;
}

/*
 * recommend(name, user_id, k, exclude_seen, candidates, exclude, context,
 * version): the user's top k.  A known context ranks by it; else a history
 * stored by refresh_user() is folded in; else the user's trained scores; an
 * unknown user gets the model's popularity.
 */
static Datum
recommend_serve(FunctionCallInfo fcinfo, const FrServingShape *shape)
{
	FrServingArgs args;
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

	fr_serving_args(fcinfo, shape, &args);
	if (PG_ARGISNULL(shape->subject))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("user_id must not be NULL"),
				 errhint("For an anonymous visitor use fashionrec.recommend_for_items() with the items of the session.")));
	user_id = PG_GETARG_INT64(shape->subject);

	InitMaterializedSRF(fcinfo, 0);
	model = fr_model_open(args.name, args.version);
	user = fr_model_user_index(model, user_id);
	if (model->algo->score_items)
		n_refreshed = refreshed_history(model, user_id, &refreshed, &refreshed_weights);

	skip = fr_skip_acquire(model->n_items);
	subset = fr_apply_filters(model, &args, skip, &n_subset);
	if (args.exclude_seen && n_refreshed >= 0)
		for (int i = 0; i < n_refreshed; i++)
			fr_skip_set(skip, refreshed[i]);
	else if (args.exclude_seen && user >= 0)
		for (int64 j = model->seen_indptr[user]; j < model->seen_indptr[user + 1]; j++)
			fr_skip_set(skip, model->seen_indices[j]);

	if (use_ann(model, &args) && (n_refreshed > 0 || (user >= 0 && n_refreshed < 0)))
	{
		float	   *q = ann_query(model);

		if (n_refreshed > 0)
			model->algo->fold_in_vector(model, refreshed, refreshed_weights, n_refreshed, q);
		else
			model->algo->embedding(model, true, user, q);
		emit_ann(fcinfo, model, &args, q, false, skip);
		fr_skip_release(skip);
		return (Datum) 0;
	}

	scores = fr_scratch_floats(model->n_items);
	if (fr_context_scores(model, &args, n_refreshed < 0 ? user : -1, refreshed, refreshed_weights,
						  Max(n_refreshed, 0), subset, n_subset, scores))
		;
	else if (n_refreshed > 0)
		model->algo->score_items(model, refreshed, refreshed_weights, n_refreshed, scores);
	else if (user >= 0 && n_refreshed < 0 && subset && model->algo->score_user_items &&
			 (n_subset < model->n_items / 4 || model->algo->candidates_exact))
	{
		/* few candidates, or ones score_user would not score exactly: score only those */
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
	fr_emit_topk(fcinfo, model, scores, subset, n_subset, skip, args.k);
	fr_skip_release(skip);
	fr_scratch_release(scores);
	return (Datum) 0;
}

FR_SERVING_FUNCTION(fashionrec_recommend_0_3, FR_FN_RECOMMEND)
{
	return recommend_serve(fcinfo, &fr_recommend_shape);
}

/* 0.2's recommend(), until ALTER EXTENSION fashionrec UPDATE */
FR_SERVING_FUNCTION(fashionrec_recommend_0_2, FR_FN_RECOMMEND)
{
	return recommend_serve(fcinfo, &fr_recommend_shape_0_2);
}

/* 0.1's recommend(), until ALTER EXTENSION fashionrec UPDATE */
FR_SERVING_FUNCTION(fashionrec_recommend, FR_FN_RECOMMEND)
{
	return recommend_serve(fcinfo, &fr_recommend_shape_0_1);
}

/*
 * similar_items(name, item_id, k, candidates, exclude, version): the item's
 * neighbours, never the item itself; no rows for an item the model never saw.
 */
static Datum
similar_items_serve(FunctionCallInfo fcinfo, const FrServingShape *shape)
{
	FrServingArgs args;
	FrModel    *model;
	int32		item;
	float	   *scores;
	uint8	   *skip;
	int32	   *subset;
	int			n_subset;

	fr_serving_args(fcinfo, shape, &args);
	if (PG_ARGISNULL(shape->subject))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("item_id must not be NULL"),
				 errhint("Pass the id of an item of the model's catalogue.")));

	InitMaterializedSRF(fcinfo, 0);
	model = fr_model_open(args.name, args.version);
	if (model->algo->score_similar == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("algorithm \"%s\" of model \"%s\" has no notion of item similarity",
						model->algo->name, args.name),
				 errhint("Use a model trained with als, itemknn, ease, svd or a content algorithm.")));
	item = fr_model_item_index(model, PG_GETARG_INT64(shape->subject));
	if (item < 0)
		return (Datum) 0;		/* an item the model never saw: no neighbours */

	skip = fr_skip_acquire(model->n_items);
	fr_skip_set(skip, item);
	subset = fr_apply_filters(model, &args, skip, &n_subset);
	if (use_ann(model, &args))
	{
		float	   *q = ann_query(model);

		model->algo->embedding(model, false, item, q);
		emit_ann(fcinfo, model, &args, q, model->algo->similar_cosine, skip);
		fr_skip_release(skip);
		return (Datum) 0;
	}
	scores = fr_scratch_floats(model->n_items);
	model->algo->score_similar(model, item, scores);
	fr_emit_topk(fcinfo, model, scores, subset, n_subset, skip, args.k);
	fr_skip_release(skip);
	fr_scratch_release(scores);
	return (Datum) 0;
}

FR_SERVING_FUNCTION(fashionrec_similar_items_0_3, FR_FN_SIMILAR_ITEMS)
{
	return similar_items_serve(fcinfo, &fr_similar_items_shape);
}

/* 0.2's similar_items(), until ALTER EXTENSION fashionrec UPDATE */
FR_SERVING_FUNCTION(fashionrec_similar_items_0_2, FR_FN_SIMILAR_ITEMS)
{
	return similar_items_serve(fcinfo, &fr_similar_items_shape_0_2);
}

/* 0.1's similar_items(), until ALTER EXTENSION fashionrec UPDATE */
FR_SERVING_FUNCTION(fashionrec_similar_items, FR_FN_SIMILAR_ITEMS)
{
	return similar_items_serve(fcinfo, &fr_similar_items_shape_0_1);
}

/*
 * The weights argument of recommend_for_items, one per item id, finite and
 * non-negative; NULL when it is NULL (equal weights).
 */
static float *
given_weights(FunctionCallInfo fcinfo, const FrServingShape *shape, int n_ids)
{
	const float *w;
	int			n;

	if (PG_ARGISNULL(shape->weights))
		return NULL;
	w = fr_array_values(PG_GETARG_ARRAYTYPE_P(shape->weights), FLOAT4OID, "weights", &n);
	if (n != n_ids)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("weights has %d elements but item_ids has %d", n, n_ids),
				 errhint("Give one weight per item, or NULL for equal weights.")));
	for (int i = 0; i < n; i++)
		if (!isfinite(w[i]) || w[i] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("weights must be finite and non-negative, got %g", w[i]),
					 errhint("A weight says how much an item counts, e.g. 3 for a purchase and 1 for a view.")));
	return (float *) w;
}

/*
 * The known items of ids as distinct model indices with their weights
 * (weights NULL: 1 each); a repeated item adds its weights.  Returns how many.
 */
static int
fold_items(const FrModel *model, const int64 *ids, const float *weights, int n_ids,
		   int32 *items, float *item_weights)
{
	int			n = 0;

	for (int i = 0; i < n_ids; i++)
	{
		int32		j = fr_model_item_index(model, ids[i]);
		float		w = weights ? weights[i] : 1.0f;
		int			found = -1;

		if (j < 0)
			continue;
		for (int m = 0; m < n && found < 0; m++)
			if (items[m] == j)
				found = m;
		if (found >= 0)
			item_weights[found] += w;
		else
		{
			items[n] = j;
			item_weights[n++] = w;
		}
	}
	return n;
}

/*
 * recommend_for_items(name, item_ids, k, exclude_seen, candidates, exclude,
 * context, version, weights): the top k for an anonymous history, folded in
 * without retraining; the given items are the ones "seen".  A known context
 * ranks by it, as in recommend(); no known item, the popularity ranking.
 */
static Datum
recommend_for_items_serve(FunctionCallInfo fcinfo, const FrServingShape *shape)
{
	FrServingArgs args;
	FrModel    *model;
	int64	   *ids;
	int			n_ids;
	float	   *weights_in;
	int32	   *items;
	float	   *weights;
	int			n;
	float	   *scores;
	uint8	   *skip;
	int32	   *subset;
	int			n_subset;

	fr_serving_args(fcinfo, shape, &args);
	if (PG_ARGISNULL(shape->subject))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("item_ids must not be NULL"),
				 errhint("Pass an empty array for a visitor with no history.")));
	ids = fr_int8_array(PG_GETARG_ARRAYTYPE_P(shape->subject), "item_ids", &n_ids);
	weights_in = given_weights(fcinfo, shape, n_ids);

	InitMaterializedSRF(fcinfo, 0);
	model = fr_model_open(args.name, args.version);
	items = palloc(sizeof(int32) * Max(n_ids, 1));
	weights = palloc(sizeof(float) * Max(n_ids, 1));
	n = fold_items(model, ids, weights_in, n_ids, items, weights);

	skip = fr_skip_acquire(model->n_items);
	subset = fr_apply_filters(model, &args, skip, &n_subset);
	if (args.exclude_seen)
		for (int i = 0; i < n; i++)
			fr_skip_set(skip, items[i]);
	if (use_ann(model, &args) && n > 0)
	{
		float	   *q = ann_query(model);

		model->algo->fold_in_vector(model, items, weights, n, q);
		emit_ann(fcinfo, model, &args, q, false, skip);
		fr_skip_release(skip);
		return (Datum) 0;
	}

	scores = fr_scratch_floats(model->n_items);
	if (fr_context_scores(model, &args, -1, items, weights, n, subset, n_subset, scores))
		;
	else if (n > 0 && model->algo->score_items)
		model->algo->score_items(model, items, weights, n, scores);
	else if (n > 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("algorithm \"%s\" of model \"%s\" cannot fold in a list of items",
						model->algo->name, args.name),
				 errhint("Serve the list with a model of another algorithm; fashionrec.algorithms() lists them.")));
	else
		memcpy(scores, model->item_popularity, sizeof(float) * model->n_items);
	fr_emit_topk(fcinfo, model, scores, subset, n_subset, skip, args.k);
	fr_skip_release(skip);
	fr_scratch_release(scores);
	return (Datum) 0;
}

FR_SERVING_FUNCTION(fashionrec_recommend_for_items_0_3, FR_FN_RECOMMEND_FOR_ITEMS)
{
	return recommend_for_items_serve(fcinfo, &fr_for_items_shape);
}

/* 0.2's recommend_for_items(), until ALTER EXTENSION fashionrec UPDATE */
FR_SERVING_FUNCTION(fashionrec_recommend_for_items_0_2, FR_FN_RECOMMEND_FOR_ITEMS)
{
	return recommend_for_items_serve(fcinfo, &fr_for_items_shape_0_2);
}

/* 0.1's recommend_for_items(), until ALTER EXTENSION fashionrec UPDATE */
FR_SERVING_FUNCTION(fashionrec_recommend_for_items, FR_FN_RECOMMEND_FOR_ITEMS)
{
	return recommend_for_items_serve(fcinfo, &fr_for_items_shape_0_1);
}

/*
 * predict(name, user_id, item_id, version) returns real; NULL for an unknown
 * user or item.
 */
FR_SERVING_FUNCTION(fashionrec_predict, FR_FN_PREDICT)
{
	char	   *name = fr_arg_name(fcinfo, FR_ARG_NAME);
	int32		version = fr_arg_version(fcinfo, FR_PREDICT_VERSION);
	FrModel    *model;
	int32		user,
				item;

	if (PG_ARGISNULL(FR_ARG_SUBJECT) || PG_ARGISNULL(FR_PREDICT_ITEM_ID))
		PG_RETURN_NULL();
	model = fr_model_open(name, version);
	user = fr_model_user_index(model, PG_GETARG_INT64(FR_ARG_SUBJECT));
	item = fr_model_item_index(model, PG_GETARG_INT64(FR_PREDICT_ITEM_ID));
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
 * recommend_all(name, users, k, exclude_seen, candidates, exclude, version,
 * shard, shards, context) returns table(user_id bigint, item_id bigint, score
 * real, rank int): top k for many users at once (e-mail campaigns), of the
 * share shard of shards when given, scored in blocks (batch_sql.c).
 * candidates, exclude and context are the same for every user.
 */
static Datum
recommend_all_serve(FunctionCallInfo fcinfo, const FrServingShape *shape, bool sharing)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	FrServingArgs args;
	bool		all_users = PG_ARGISNULL(shape->subject);
	int32		shard = 0,
				shards = 1;
	FrModel    *model;
	int64	   *given = NULL;
	int			n_given = 0;
	int64	   *user_ids;
	int32	   *users;
	int			n_users = 0;
	FrBatchPlan plan;
	int32	   *items;
	float	   *best;
	int32	   *counts;
	int			block;
	double		started = fr_now(),
				reported = started;

	fr_serving_args(fcinfo, shape, &args);
	if (sharing)
		fr_arg_share(fcinfo, FR_ALL_SHARD, FR_ALL_SHARDS, &shard, &shards);
	if (!all_users)
		given = fr_int8_array(PG_GETARG_ARRAYTYPE_P(shape->subject), "users", &n_given);

	InitMaterializedSRF(fcinfo, 0);
	model = fr_model_open(args.name, args.version);
	if (all_users)
	{
		n_given = model->n_users;
		given = model->user_ids;
	}
	user_ids = palloc(sizeof(int64) * Max(n_given, 1));
	users = palloc(sizeof(int32) * Max(n_given, 1));
	for (int i = 0; i < n_given; i++)
		if (shards == 1 || fr_user_shard(given[i], shards) == shard)
		{
			user_ids[n_users] = given[i];
			users[n_users++] = all_users ? i : fr_model_user_index(model, given[i]);
		}

	fr_batch_plan(&plan, model, &args, fr_clamp_k(model, args.k));
	/* the lists of a block, sized for the users there are: k may be a whole catalogue */
	block = Max(Min(ALL_BLOCK, n_users), 1);
	items = palloc_extended(mul_size(mul_size(block, plan.k), sizeof(int32)), MCXT_ALLOC_HUGE);
	best = palloc_extended(mul_size(mul_size(block, plan.k), sizeof(float)), MCXT_ALLOC_HUGE);
	counts = palloc(sizeof(int32) * block);
	Assert(rsinfo->setDesc->natts == ALL_COLS);

	for (int start = 0; start < n_users; start += block)
	{
		int			n = Min(block, n_users - start);

		CHECK_FOR_INTERRUPTS();
		fr_batch_score(&plan, users + start, n, items, best, counts);
		for (int b = 0; b < n; b++)
			for (int r = 0; r < counts[b]; r++)
			{
				Datum		values[ALL_COLS];
				bool		nulls[ALL_COLS] = {0};

				values[ALL_COL_USER_ID] = Int64GetDatum(user_ids[start + b]);
				values[ALL_COL_ITEM_ID] = Int64GetDatum(model->item_ids[items[(size_t) b * plan.k + r]]);
				values[ALL_COL_SCORE] = Float4GetDatum(best[(size_t) b * plan.k + r]);
				values[ALL_COL_RANK] = Int32GetDatum(r + 1);
				tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
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

FR_SERVING_FUNCTION(fashionrec_recommend_all_0_3, FR_FN_RECOMMEND_ALL)
{
	return recommend_all_serve(fcinfo, &fr_recommend_all_shape, true);
}

/* 0.2's recommend_all(), until ALTER EXTENSION fashionrec UPDATE */
FR_SERVING_FUNCTION(fashionrec_recommend_all_0_2, FR_FN_RECOMMEND_ALL)
{
	return recommend_all_serve(fcinfo, &fr_recommend_all_shape_0_2, false);
}

/* 0.1's recommend_all(name, k, users, ...), until ALTER EXTENSION fashionrec UPDATE */
FR_SERVING_FUNCTION(fashionrec_recommend_all, FR_FN_RECOMMEND_ALL)
{
	return recommend_all_serve(fcinfo, &fr_recommend_all_shape_0_1, false);
}

static Datum
embedding_datum(FunctionCallInfo fcinfo, bool of_user)
{
	char	   *name = fr_arg_name(fcinfo, FR_ARG_NAME);
	int32		version = fr_arg_version(fcinfo, FR_EMBEDDING_VERSION);
	FrModel    *model;
	int32		index;
	int32		dim;
	float	   *vec;
	Datum	   *elems;

	if (PG_ARGISNULL(FR_ARG_SUBJECT))
		PG_RETURN_NULL();
	model = fr_model_open(name, version);
	dim = model->algo->embedding ? model->algo->embedding(model, of_user, 0, NULL) : 0;
	if (dim <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("algorithm \"%s\" of model \"%s\" has no %s embeddings",
						model->algo->name, name, of_user ? "user" : "item"),
				 errhint("Factor models (als, mf, svd) and embedding models have them.")));
	index = of_user ? fr_model_user_index(model, PG_GETARG_INT64(FR_ARG_SUBJECT))
		: fr_model_item_index(model, PG_GETARG_INT64(FR_ARG_SUBJECT));
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
